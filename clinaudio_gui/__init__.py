"""ClinAudio: a desktop workbench for clinical (first of all lung) audio."""
__version__ = "0.1.0"
