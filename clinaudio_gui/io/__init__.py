"""io: audio files and annotation formats. No Qt, no torch."""
from clinaudio_gui.io.audio import (AUDIO_SUFFIXES, audio_info, is_audio_path, open_audio, read_audio,
                                    resample, write_audio)
from clinaudio_gui.io.sprsound import (file_stem, parse_icbhi_name, parse_sprsound_name, patient_of, read_sprsound,
                                       write_sprsound)
