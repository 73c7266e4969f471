# ClinAudio: two commands do all set-up on a fresh Debian/Ubuntu machine.
#   make run   - set up, then open the app on a bundled example recording
#   make test  - set up, then run the whole test suite headless
SHELL := /bin/bash
PY ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
EXAMPLE := resources/examples/40638274_9.7_1_p2_1801.flac

.PHONY: run test test-all test-bundle setup deps venv bench bundle clean lint-layers

run: setup
	$(VPY) -m clinaudio_gui $(EXAMPLE)

test: setup
	bash scripts/run_tests.sh

test-all: setup
	bash scripts/run_tests.sh -m ""

test-bundle: setup bundle
	bash scripts/run_tests.sh -m slow tests/test_bundle.py

bench: setup
	for b in bench/*_bench.py; do echo "== $$b"; $(VPY) $$b || exit 1; done

bundle: setup
	$(VPY) -m pip install -q 'pyinstaller>=6.0'
	$(VPY) -m PyInstaller --noconfirm --clean --distpath dist --workpath build/pyinstaller packaging/clinaudio-gui.spec

setup: deps $(STAMP)

deps:
	@bash scripts/install_system_deps.sh

$(STAMP): pyproject.toml scripts/install_python_deps.sh
	bash scripts/install_python_deps.sh $(PY) $(VENV)
	touch $(STAMP)

clean:
	rm -rf $(VENV) build dist .pytest_cache
