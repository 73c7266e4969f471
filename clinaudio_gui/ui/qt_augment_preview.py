"""The augmentation panel's live preview and A/B playback (a mixin of QtAugmentPanel).

The preview of a draw is computed in a one-thread pool (``compute_preview``: pure numpy, no Qt);
only the latest request waits while one computes, and ``QtPreviewRelay`` carries the result back
to the GUI thread. A/B playback plays the original or the augmented clip through the main window and
keeps the position (scaled by the length ratio) when switching.
"""
from __future__ import annotations

import json
import time

import numpy as np
from PySide6.QtCore import QObject, Signal

from clinaudio_gui.augment import AUDIO
from clinaudio_gui.augment.compose import applied_names
from clinaudio_gui.augment.recipes import DEFAULT_FEATURES

PREVIEW_MAX_S = 30.0          # the whole-recording preview shows at most this much


def _preview_image(y: np.ndarray, sr: int) -> tuple[np.ndarray, float, float]:
    """(image_db, seconds per column, Hz per row) for the preview of audio ``y``."""
    from clinaudio_gui.augment.vocoder import fft_size_for
    from clinaudio_gui.dsp import stft_db
    n_fft = max(64, fft_size_for(sr) // 2)
    hop = n_fft // 4
    img, _, _ = stft_db(y, sample_rate_hz=sr, n_fft=n_fft, hop=hop)
    return np.asarray(img, np.float32), hop / sr, sr / n_fft


def compute_preview(job: dict) -> dict:
    """The preview of one draw: pure numpy work, run in the preview thread (no Qt here)."""
    pipe, params, y, sr = job["pipeline"], job["params"], job["original"], job["sample_rate_hz"]
    res = {"token": job["token"], "pipeline": pipe, "params": params}
    if job["domain"] == AUDIO:
        out = pipe.apply(y, sr, params)
        res["augmented"] = out
        res["image"], res["dt_s"], res["df_hz"] = _preview_image(out, sr)
        res["orig_image"] = job["orig_image"] if job["orig_image"] is not None else _preview_image(y, sr)[0]
    else:
        from clinaudio_gui.augment.features import features_image
        orig = job["orig_image"] if job["orig_image"] is not None else features_image(y, sr, DEFAULT_FEATURES)
        res["orig_image"] = orig
        res["augmented"] = pipe.apply(orig, sr, params)
        res["dt_s"] = DEFAULT_FEATURES["hop"] / sr
    return res


def warm_preview_thread() -> None:
    """First FFTs in a new thread build their plans: do it before the first slider move."""
    from clinaudio_gui.augment.vocoder import pitch_shift
    y = np.zeros(8000, np.float32)
    y[::97] = 0.1
    for sr in (8000, 16000, 44100):
        _preview_image(pitch_shift(y, semitones=1.0, sample_rate_hz=sr), sr)


class QtPreviewRelay(QObject):
    """Carries a finished preview from the worker thread to the GUI thread (queued signal)."""

    done = Signal(object)


class QtAugmentPreviewMixin:
    """Preview and A/B playback for QtAugmentPanel (which owns the plots, the pool and the draw)."""

    # ------------------------------------------------------------------ the clip and the preview
    def reload_clip(self) -> None:
        rec = self.mw.current_recording() if hasattr(self.mw, "current_recording") else None
        self.original = None
        if rec is None:
            self._clear_plots()
            return
        sr = int(rec.sample_rate_hz)
        start, end = 0.0, min(rec.duration_s, PREVIEW_MAX_S)
        if self.scope_sel.isChecked():
            sel = self.mw.selection_range_s()
            if sel is None:
                self.info.setText("no segment selected: previewing the whole recording")
            else:
                start, end = float(sel[0]), float(sel[1])
        y = rec.read(start, end)
        if len(y) < 16:
            self.info.setText(f"the clip {start:.2f}-{end:.2f} s is too short to augment")
            self._clear_plots()
            return
        self.original, self.sample_rate_hz, self.clip_start_s = np.ascontiguousarray(y, np.float32), sr, start
        self._orig_image = None
        self._redraw()

    def _clear_plots(self) -> None:
        self.wave_a.setData([], [])
        self.wave_b.setData([], [])
        self.spec_img.clear()

    def _redraw(self) -> None:
        self._redraw_timer.start()      # coalesce: several slider moves in one event-loop pass = one frame

    def _make_job(self) -> dict:
        if self.params is None:
            self.params = self._draw()
            self._sync_slider()
        self._token += 1
        return {"token": self._token, "pipeline": self.pipeline(), "params": json.loads(json.dumps(self.params)),
                "original": self.original, "sample_rate_hz": self.sample_rate_hz, "domain": self.domain,
                "orig_image": self._orig_image}

    def _request_preview(self) -> None:
        """Compute the preview in the worker thread; while one runs, only the latest request
        waits (stale intermediate states are never computed)."""
        if self.original is None:
            return
        if self._busy:
            self._pending = True
            return
        job = self._make_job()
        self._busy = True
        self._t_request = time.perf_counter()
        fut = self._pool.submit(compute_preview, job)
        fut.add_done_callback(self._relay_result)

    def _relay_result(self, fut) -> None:      # worker thread
        try:
            self._relay.done.emit(fut)
        except RuntimeError:                     # the panel is gone
            pass

    def _on_computed(self, fut) -> None:
        self._busy = False
        try:
            res = fut.result()
        except ValueError as e:
            self.info.setText(str(e))
            res = None
        if res is not None and res["token"] == self._token:
            self._show(res, (time.perf_counter() - self._t_request) * 1000.0)
        if self._pending:
            self._pending = False
            self._request_preview()

    def _show(self, res: dict, elapsed_ms: float) -> None:
        sr = self.sample_rate_hz
        self._orig_image = res["orig_image"]
        out = res["augmented"]
        self.augmented = out
        hi = float(self._orig_image.max())
        self.wave_a.setData(np.arange(len(self.original)) / sr, self.original)
        if self.domain == AUDIO:
            self.wave_b.setData(np.arange(len(out)) / sr, out)
            img, dt, df = res["image"], res["dt_s"], res["df_hz"]
            self.spec_plot.setLabel("left", "frequency", units="Hz")
        else:
            self.wave_b.setData([], [])
            img, dt, df = out, res["dt_s"], 1.0
            self.spec_plot.setLabel("left", "mel band")
        self.spec_img.setImage(img, autoLevels=False, levels=(hi - 80.0, hi))
        self.spec_img.setRect(0.0, 0.0, img.shape[1] * dt, img.shape[0] * df)
        self.last_preview_ms = elapsed_ms
        names = applied_names(res["pipeline"], res["params"])
        self.timing_label.setText(f"preview {self.last_preview_ms:.0f} ms")
        self.info.setText("applied: " + (", ".join(names) if names else "nothing (all skipped by p)"))
        self.previewUpdated.emit(self.last_preview_ms)

    def _recompute(self) -> None:
        self._request_preview()

    def recompute_now(self) -> None:
        """Compute and show the preview synchronously (tests, and before saving); any result
        still on its way from the worker is then stale and dropped."""
        self._redraw_timer.stop()
        self._pending = False
        if self.original is None:
            return
        t0 = time.perf_counter()
        job = self._make_job()
        try:
            res = compute_preview(job)
        except ValueError as e:
            self.info.setText(str(e))
            return
        self._show(res, (time.perf_counter() - t0) * 1000.0)

    # ------------------------------------------------------------------ A/B playback
    def current_position_s(self) -> float:
        """Position in the clip now playing (its own time axis)."""
        if not self._playing:
            return self._play_from_s
        return self._play_from_s + self._play_timer.elapsed() / 1000.0

    def _signal(self, b: bool) -> np.ndarray | None:
        return self.augmented if (b and self.domain == AUDIO) else self.original

    def toggle_play(self) -> None:
        if self._playing:
            self._play_from_s = self.current_position_s()
            self._playing = False
            self.play_button.setText("Play")
            player = getattr(self.mw, "player", None)
            if player is not None and hasattr(player, "stop"):
                player.stop()
            return
        self._play_from_s = 0.0 if self._play_from_s <= 0 else self._play_from_s
        self._start_play(self.ab_b.isChecked(), self._play_from_s)

    def _start_play(self, b: bool, pos_s: float) -> None:
        y = self._signal(b)
        if y is None:
            return
        sr = self.sample_rate_hz
        pos_s = min(max(0.0, pos_s), len(y) / sr)
        self.mw.play_samples(y[int(pos_s * sr):], sr, start_s=self.clip_start_s + pos_s)
        self._play_from_s = pos_s
        self._play_timer.restart()
        self._playing = True
        self.play_button.setText("Stop")

    def _ab_switched(self, b_checked: bool) -> None:
        if not self._playing or self.original is None or self.augmented is None:
            return
        pos = self.current_position_s()
        la, lb = len(self.original), len(self.augmented) if self.domain == AUDIO else len(self.original)
        # same position: the same moment of the sound (durations differ after a stretch or trim)
        pos = pos * lb / la if b_checked else pos * la / lb
        self._start_play(b_checked, pos)
