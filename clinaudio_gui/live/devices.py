"""Audio input devices through sounddevice / PortAudio, with clear errors.

``import sounddevice`` raises OSError (not ImportError) when the PortAudio library is missing;
every entry point here turns that, "no input device" and "no such device" into a
:class:`LiveAudioError` whose message says what to do, so the rest of the app keeps working.
"""
from __future__ import annotations

from dataclasses import dataclass

from clinaudio_gui.core.errors import ClinAudioError

# rates tried, in order, after the device's own default rate
COMMON_RATES_HZ = (48000, 44100, 32000, 22050, 16000, 11025, 8000)


class LiveAudioError(ClinAudioError):
    """Live audio is unavailable: PortAudio missing, no input device, a device that vanished."""


_sd = None


def sounddevice():
    """The sounddevice module, or LiveAudioError when PortAudio cannot be loaded."""
    global _sd
    if _sd is None:
        try:
            import sounddevice as sd
        except OSError as e:  # PortAudio library not found
            raise LiveAudioError(f"audio input unavailable: PortAudio could not be loaded ({e}); "
                                 "install the PortAudio library (Debian: apt-get install libportaudio2)"
                                 ) from None
        except ImportError as e:
            raise LiveAudioError(f"audio input unavailable: the sounddevice package is missing ({e})") from None
        _sd = sd
    return _sd


@dataclass(frozen=True)
class InputDevice:
    index: int
    name: str
    hostapi: str
    max_input_channels: int
    default_samplerate_hz: float
    is_default: bool

    @property
    def label(self) -> str:
        """What a chooser shows: name, host API, channels."""
        return f"{self.name} ({self.hostapi}, {self.max_input_channels} ch)"


def rescan_devices() -> None:
    """Re-read PortAudio's device list (devices plugged in, or a sound server started, later)."""
    sd = sounddevice()
    try:
        sd._terminate()
        sd._initialize()
    except Exception as e:  # PortAudio itself failing is a user-visible problem
        raise LiveAudioError(f"audio input unavailable: PortAudio could not be re-initialised ({e})") from None


def list_input_devices(*, rescan: bool = False) -> list[InputDevice]:
    """All devices with at least one input channel, in PortAudio's order."""
    sd = sounddevice()
    if rescan:
        rescan_devices()
    try:
        devices = sd.query_devices()
        apis = sd.query_hostapis()
        default_in = sd.default.device[0]
    except Exception as e:
        raise LiveAudioError(f"cannot list audio devices: {e}") from None
    out = []
    for i, d in enumerate(devices):
        if int(d["max_input_channels"]) <= 0:
            continue
        api = apis[d["hostapi"]]["name"] if 0 <= d["hostapi"] < len(apis) else "?"
        out.append(InputDevice(index=i, name=str(d["name"]), hostapi=str(api),
                               max_input_channels=int(d["max_input_channels"]),
                               default_samplerate_hz=float(d["default_samplerate"]),
                               is_default=(i == default_in)))
    return out


def find_input_device(name: str | int | None = None, *, rescan: bool = False) -> InputDevice:
    """The device called ``name`` (exact name first, then a case-insensitive substring, or an
    index); with ``name=None`` the system's default input (or the first input device)."""
    devices = list_input_devices(rescan=rescan)
    if not devices:
        raise LiveAudioError("no audio input device found (connect a microphone or stethoscope, "
                             "or check that the sound server is running)")
    if name is None or (isinstance(name, str) and not name.strip()):
        for d in devices:
            if d.is_default:
                return d
        return devices[0]
    if isinstance(name, int) or (isinstance(name, str) and name.strip().isdigit()):
        idx = int(name)
        for d in devices:
            if d.index == idx:
                return d
        raise LiveAudioError(f"no input device with index {idx} "
                             f"(available: {', '.join(f'{d.index}: {d.name}' for d in devices)})")
    for d in devices:
        if d.name == name:
            return d
    matches = [d for d in devices if name.lower() in d.name.lower()]
    if len(matches) >= 1:
        return matches[0]
    raise LiveAudioError(f"no input device named {name!r} "
                         f"(available: {', '.join(repr(d.name) for d in devices)})")


def supported_input_rate(device: InputDevice, *, preferred_hz: int | None = None,
                         channels: int = 1) -> int:
    """A rate the device accepts: ``preferred_hz`` if it works, else the device's default
    rate, else the first common rate that works. LiveAudioError if none does."""
    sd = sounddevice()
    tried = []
    candidates = [preferred_hz] if preferred_hz else []
    candidates += [int(round(device.default_samplerate_hz))] + list(COMMON_RATES_HZ)
    for rate in candidates:
        if not rate or rate in tried:
            continue
        tried.append(rate)
        try:
            sd.check_input_settings(device=device.index, samplerate=rate, channels=channels,
                                    dtype="float32")
            return int(rate)
        except Exception:
            continue
    raise LiveAudioError(f"input device {device.name!r} accepts none of the sample rates {tried} "
                         f"with {channels} channel(s)")
