"""Frame-level sound event detector for whole lung recordings (SED), decoder, streaming."""
