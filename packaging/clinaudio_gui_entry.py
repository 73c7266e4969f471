"""Entry point frozen by PyInstaller: the ClinAudio desktop app."""
import sys

from clinaudio_gui.ui.app import main

if __name__ == "__main__":
    sys.exit(main())
