"""The headless CLI: `clinaudio <command> ...`.

Each area owns one module here that exposes ``register(subparsers)``; the module adds its
sub-command(s) and sets ``func`` (a callable taking the parsed args, returning an exit code).
Heavy imports (torch, librosa) happen inside the command functions, so `clinaudio info`
starts fast.

Errors: a :class:`~clinaudio_gui.core.errors.ClinAudioError` (or a ValueError about a
setting) becomes exit code 2 and one line on stderr naming the file and the problem.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from clinaudio_gui import __version__
from clinaudio_gui.core.errors import ClinAudioError

# module name -> owner area; a module that does not exist yet is skipped.
COMMAND_MODULES = ("files", "augment_cmd", "engine_cmd", "detect_cmd", "gan_cmd", "live_cmd", "project_cmd",
                   "learn_cmd")


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line (exit 2), like every other error of the CLI."""

    def error(self, message: str):  # noqa: D401
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="clinaudio", description="ClinAudio command line")
    parser.add_argument("--version", action="version", version=f"clinaudio {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            mod = importlib.import_module(f"clinaudio_gui.cli.{name}")
        except ModuleNotFoundError as e:
            if e.name == f"clinaudio_gui.cli.{name}":
                continue
            raise
        mod.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        rc = args.func(args)
        return int(rc or 0)
    except ClinAudioError as e:
        print(f"clinaudio: error: {e.format()}", file=sys.stderr)
        return 2
    except ValueError as e:
        print(f"clinaudio: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("clinaudio: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
