"""Audio reading/writing on real files and on files written here in every supported container."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from clinaudio_gui.core import AudioFileError
from clinaudio_gui.io import audio_info, open_audio, read_audio, resample, write_audio


def tone(sr: int, seconds: float, hz: float = 440.0, channels: int = 1) -> np.ndarray:
    t = np.arange(int(sr * seconds)) / sr
    y = 0.5 * np.sin(2 * np.pi * hz * t)
    if channels == 1:
        return y.astype(np.float32)
    return np.stack([y * (c + 1) / channels for c in range(channels)], axis=1).astype(np.float32)


@pytest.mark.parametrize("ext, sr, exact", [(".wav", 44100, True), (".flac", 8000, True), (".ogg", 22050, False),
                                            (".mp3", 22050, False)])
def test_write_then_read_every_container(tmp_path, ext, sr, exact):
    y = tone(sr, 1.0)
    p = write_audio(tmp_path / f"t{ext}", y, sr)
    info = audio_info(p)
    assert info["sample_rate_hz"] == sr and info["channels"] == 1 and info["format"] == ext[1:]
    z, sr2 = read_audio(p)
    assert sr2 == sr and z.dtype == np.float32 and z.ndim == 1
    if exact:   # PCM_16: quantisation only
        assert z.shape == y.shape and np.max(np.abs(z - y)) < 1.0 / 32768 + 1e-7
    else:       # lossy codecs: same length +- codec padding, same tone
        assert abs(len(z) - len(y)) < 0.1 * sr
        spec = np.abs(np.fft.rfft(z[: sr // 2]))
        assert abs(np.argmax(spec) * 2 - 440) <= 4


def test_real_files(sprsound_dir, icbhi_dir, esc10_dir):
    info = audio_info(sprsound_dir / "40069321_15.3_0_p1_981.flac")
    assert (info["sample_rate_hz"], info["channels"], info["format"]) == (8000, 1, "flac")
    y, sr = read_audio(sprsound_dir / "40069321_15.3_0_p1_981.flac")
    assert sr == 8000 and len(y) == info["frames"]
    w = next(icbhi_dir.glob("*.wav"))
    assert audio_info(w)["sample_rate_hz"] in (4000, 44100)
    ogg = next(esc10_dir.rglob("*.ogg"))
    y, sr = read_audio(ogg)
    assert sr == 44100 and 4.5 < len(y) / sr < 5.5


def test_multichannel_mixdown_channel_choice_and_keep(tmp_path):
    y = tone(8000, 0.5, channels=3)
    p = write_audio(tmp_path / "m.wav", y, 8000, subtype="FLOAT")
    assert audio_info(p)["channels"] == 3
    mono, _ = read_audio(p)
    np.testing.assert_allclose(mono, y.mean(axis=1), atol=1e-6)
    ch2, _ = read_audio(p, channel=2)
    np.testing.assert_allclose(ch2, y[:, 2], atol=1e-7)
    allc, _ = read_audio(p, mono=False)
    assert allc.shape == y.shape
    with pytest.raises(AudioFileError, match="channel=3 out of range"):
        read_audio(p, channel=3)
    rec = open_audio(p)
    np.testing.assert_allclose(rec.read(0.1, 0.2, channel=1), y[800:1600, 1], atol=1e-7)


def test_range_reads_are_exact_and_lazy(tmp_path):
    sr = 16000
    y = (np.arange(sr * 3) % 1000 / 1000.0 - 0.5).astype(np.float32)
    p = write_audio(tmp_path / "r.wav", y, sr, subtype="FLOAT")
    part, _ = read_audio(p, start_s=1.25, end_s=1.5)
    np.testing.assert_array_equal(part, y[20000:24000])
    tail, _ = read_audio(p, start_s=2.9, end_s=99.0)     # clipped at the end
    np.testing.assert_array_equal(tail, y[46400:])
    rec = open_audio(p)
    assert rec.duration_s == 3.0 and rec._cache is None
    np.testing.assert_array_equal(rec.read(0.5, 0.75), y[8000:12000])
    assert rec._cache is None                              # a range read loads nothing else
    with pytest.raises(ValueError, match="end_s=0.1 must be"):
        read_audio(p, start_s=0.5, end_s=0.1)


def test_resampling(tmp_path):
    sr = 44100
    y = tone(sr, 1.0, hz=1000.0)
    p = write_audio(tmp_path / "h.flac", y, sr)
    z, sr2 = read_audio(p, target_sr=8000)
    assert sr2 == 8000 and len(z) == 8000
    spec = np.abs(np.fft.rfft(z))
    assert np.argmax(spec) == 1000                      # 1 Hz bins over 1 s
    # anti-aliasing: a 6 kHz tone must vanish when going to 8 kHz (Nyquist 4 kHz)
    hi = resample(tone(sr, 1.0, hz=6000.0), orig_sr=sr, target_sr=8000)
    assert np.sqrt(np.mean(hi[400:-400] ** 2)) < 0.01
    assert resample(y, orig_sr=sr, target_sr=sr) is y
    with pytest.raises(ValueError):
        resample(y, orig_sr=0, target_sr=8000)


def test_bad_files_raise_audio_file_error(tmp_path):
    cases = {"missing.wav": None, "empty.wav": b"", "garbage.wav": b"RIFF\x00\x01garbage" * 10,
             "text.flac": b"hello world\n" * 20}
    for name, data in cases.items():
        p = tmp_path / name
        if data is not None:
            p.write_bytes(data)
        with pytest.raises(AudioFileError) as e:
            audio_info(p)
        assert name in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(AudioFileError, match="folder"):
        audio_info(tmp_path)


def test_truncated_files(tmp_path):
    sr = 8000
    y = tone(sr, 2.0)
    for ext in (".wav", ".flac"):
        p = write_audio(tmp_path / f"full{ext}", y, sr)
        cut = tmp_path / f"cut{ext}"
        cut.write_bytes(p.read_bytes()[: p.stat().st_size // 2])
        with pytest.raises(AudioFileError, match="truncated|corrupt|cannot read|lost sync"):
            read_audio(cut)


def test_write_audio_is_atomic_and_validates(tmp_path):
    p = tmp_path / "a.wav"
    write_audio(p, tone(8000, 0.1), 8000)
    before = p.read_bytes()
    for bad in (np.zeros((0,), np.float32), np.full(10, np.nan, np.float32), np.zeros((2, 2, 2), np.float32)):
        with pytest.raises(AudioFileError):
            write_audio(p, bad, 8000)
    with pytest.raises(AudioFileError, match="cannot write audio of type"):
        write_audio(tmp_path / "a.xyz", tone(8000, 0.1), 8000)
    assert p.read_bytes() == before
    assert [q.name for q in tmp_path.iterdir()] == ["a.wav"]    # no temp files left behind


def test_mp3_read_multichannel(tmp_path):
    """libsndfile 1.1+ writes MP3 (MPEG Layer III); read one back by range and channel."""
    y = tone(22050, 1.0, channels=2)
    p = write_audio(tmp_path / "s.mp3", y, 22050)
    info = audio_info(p)
    assert (info["format"], info["channels"]) == ("mp3", 2)
    full, _ = read_audio(p, mono=False)
    left, _ = read_audio(p, channel=0, start_s=0.25, end_s=0.5)
    right, _ = read_audio(p, channel=1, start_s=0.25, end_s=0.5)
    a, b = round(0.25 * 22050), round(0.5 * 22050)
    assert len(left) == len(right) == b - a
    # a range read is the same as that part of a whole read (libsndfile's own MP3 seek is not)
    np.testing.assert_array_equal(left, full[a:b, 0])
    np.testing.assert_array_equal(right, full[a:b, 1])
    assert np.max(np.abs(right - y[a:b, 1])) < 0.02     # and close to what was encoded
    assert 1.5 < np.std(right) / np.std(left) < 2.5     # channel 1 was written twice as loud
    assert sf.info(str(p)).subtype == "MPEG_LAYER_III"
