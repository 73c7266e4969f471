"""`python -m clinaudio_gui` opens the app."""
from clinaudio_gui.ui.app import main

if __name__ == "__main__":
    raise SystemExit(main())
