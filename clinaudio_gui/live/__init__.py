"""live: audio input stream, ring buffer, streaming resampler, live classification loop.

sounddevice (PortAudio) is imported lazily through :func:`devices.sounddevice`, so importing
this package never fails on a machine without PortAudio; using it raises LiveAudioError.
"""
from clinaudio_gui.live.capture import AudioCapture, open_stream_count
from clinaudio_gui.live.devices import (InputDevice, LiveAudioError, find_input_device, list_input_devices,
                                        rescan_devices, supported_input_rate)
from clinaudio_gui.live.resample import StreamingResampler
from clinaudio_gui.live.ring import RingBuffer, RingReader
from clinaudio_gui.live.session import LivePrediction, LiveSession, WindowClassifier

__all__ = ["AudioCapture", "open_stream_count", "InputDevice", "LiveAudioError", "find_input_device",
           "list_input_devices", "rescan_devices", "supported_input_rate", "StreamingResampler",
           "RingBuffer", "RingReader", "LivePrediction", "LiveSession", "WindowClassifier"]
