"""io: audio files and annotation formats. No Qt, no torch."""
from clinaudio_gui.io.audacity import dumps_audacity, parse_audacity, read_audacity, write_audacity
from clinaudio_gui.io.audio import (AUDIO_SUFFIXES, audio_info, is_audio_path, open_audio, read_audio,
                                    resample, write_audio)
from clinaudio_gui.io.csvfmt import dumps_csv, parse_csv, read_csv, write_csv
from clinaudio_gui.io.formats import (ALL_FORMATS, CARRIES_BOX, CARRIES_RECORD_LABEL, FORMATS, NATIVE_FORMAT,
                                      annotation_candidates, detect_format, dumps_annotations,
                                      find_annotation_for, guess_format, read_annotations, sniff_text,
                                      write_annotations)
from clinaudio_gui.io.hflung import dumps_hflung, parse_hflung, read_hflung, write_hflung
from clinaudio_gui.io.labelmap import DEFAULT_SCHEMA, label_message, map_to_schema, mapping_message
from clinaudio_gui.io.icbhi import dumps_icbhi, icbhi_label, icbhi_mapping, parse_icbhi, read_icbhi, write_icbhi
from clinaudio_gui.io.native import dumps_native, parse_native, read_native, write_native
from clinaudio_gui.io.raven import dumps_raven, parse_raven, read_raven, write_raven
from clinaudio_gui.io.sprsound import (dumps_sprsound, file_stem, parse_icbhi_name, parse_sprsound,
                                       parse_sprsound_name, patient_of, read_sprsound, write_sprsound)
from clinaudio_gui.io.textgrid import dumps_textgrid, parse_textgrid, read_textgrid, write_textgrid
from clinaudio_gui.io.dataset import LabeledItem, scan_labeled
