"""Live classification: capture -> ring -> (worker) resample -> sliding windows -> classifier.

One :class:`LiveSession` is one run from :meth:`start` to :meth:`stop`. The worker thread is
the ring's classification consumer: it reads whole new blocks, resamples them (with state) to
the model's rate, keeps the session's audio, and classifies every complete window (window /
hop configurable). For each prediction it records when the window's last sample reached the
process and when the prediction was ready, so the end-to-end latency is measured, not guessed.

No Qt here: the panel and the CLI both drive this class.
"""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from clinaudio_gui.core.annotations import AnnotationSet
from clinaudio_gui.core.atomic import atomic_write_text
from clinaudio_gui.core.segment import Segment
from clinaudio_gui.live.capture import AudioCapture
from clinaudio_gui.live.devices import InputDevice, LiveAudioError
from clinaudio_gui.live.resample import StreamingResampler
from clinaudio_gui.live.ring import RingReader


RECORD_MODEL_WINDOW_S = 10.0  # record-level models have no window of their own


class WindowClassifier(Protocol):
    """What the live loop needs from a classifier (engine.classifier.inference.Classifier has it)."""
    sample_rate_hz: int
    window_s: float
    labels: list[str]

    def predict(self, y: np.ndarray, sr: int) -> tuple[str, float, Any]: ...


@dataclass(frozen=True)
class LivePrediction:
    index: int
    start_s: float          # window start, seconds since the session started (audio time)
    end_s: float            # window end = the time of its last sample
    label: str
    confidence: float
    probs: tuple[float, ...]
    captured_at: float      # time.monotonic() when the window's last sample reached the process
    ready_at: float         # time.monotonic() when the prediction was ready
    started_at: float = 0.0  # time.monotonic() when the worker began this window (wait | compute)

    @property
    def latency_ms(self) -> float:
        return (self.ready_at - self.captured_at) * 1000.0

    @property
    def compute_ms(self) -> float:
        """The classifier's share of the latency (the rest: waiting for the block, the worker)."""
        return (self.ready_at - self.started_at) * 1000.0 if self.started_at else 0.0

    def to_json(self) -> dict:
        return {"t_s": round(self.end_s, 4), "start_s": round(self.start_s, 4), "label": self.label,
                "confidence": round(float(self.confidence), 4),
                "latency_ms": round(self.latency_ms, 2)}


def percentile_ms(values: list[float], q: float) -> float | None:
    return float(np.percentile(np.asarray(values, dtype=np.float64), q)) if values else None


class _AudioStore:
    """Growing float32 buffer of the session's audio at the model rate (amortised O(1) append)."""

    def __init__(self, initial: int = 1 << 16):
        self._buf = np.zeros(initial, dtype=np.float32)
        self.total = 0

    def append(self, y: np.ndarray) -> None:
        n = len(y)
        if self.total + n > len(self._buf):
            new = np.zeros(max(2 * len(self._buf), self.total + n), dtype=np.float32)
            new[:self.total] = self._buf[:self.total]
            self._buf = new
        self._buf[self.total:self.total + n] = y
        self.total += n

    def slice(self, start: int, stop: int) -> np.ndarray:
        return self._buf[start:stop].copy()


class LiveSession:
    """Capture from ``device`` and (if a classifier is given) classify sliding windows.

    The whole session's audio is kept at the model's rate (32 kB/s at 8 kHz: ~115 MB an hour)
    so that it can be saved as a recording with its predictions."""

    def __init__(self, classifier: WindowClassifier | None = None, *,
                 device: str | int | InputDevice | None = None, window_s: float | None = None,
                 hop_s: float = 0.5, sample_rate_hz: int | None = None,
                 capture_rate_hz: int | None = None, block_s: float = 0.02, latency_s: float = 0.05,
                 ring_s: float = 60.0,
                 max_backlog_s: float = 2.0, poll_s: float = 0.005, stall_s: float = 1.5):
        self.classifier = classifier
        if classifier is not None:
            self.sample_rate_hz = int(classifier.sample_rate_hz)
            own = getattr(classifier, "window_s", None) or RECORD_MODEL_WINDOW_S
            self.window_s = float(window_s if window_s is not None else own)
        else:
            self.sample_rate_hz = int(sample_rate_hz or 8000)
            self.window_s = float(window_s if window_s is not None else 2.0)
        if sample_rate_hz is not None and classifier is not None and int(sample_rate_hz) != self.sample_rate_hz:
            raise ValueError(f"sample_rate_hz={sample_rate_hz} differs from the model's "
                             f"{self.sample_rate_hz} Hz")
        if not self.window_s > 0:
            raise ValueError(f"window_s={window_s} must be > 0")
        if not hop_s > 0:
            raise ValueError(f"hop_s={hop_s} must be > 0")
        self.hop_s = float(hop_s)
        self.device_request = device
        self.capture_rate_request = capture_rate_hz
        self.block_s = block_s
        self.latency_s = latency_s
        self.ring_s = ring_s
        self.max_backlog_s = float(max_backlog_s)
        self.poll_s = float(poll_s)
        self.stall_s = float(stall_s)
        self.capture: AudioCapture | None = None
        self._thread: threading.Thread | None = None
        self._stop_evt = threading.Event()
        self._lock = threading.Lock()
        self._reset()

    def _reset(self) -> None:
        self._predictions: list[LivePrediction] = []
        self._audio = _AudioStore()
        self._reader: RingReader | None = None
        self.error: str | None = None
        self.skipped_windows = 0
        self.started_utc: str | None = None
        self._prob_sum: np.ndarray | None = None
        self._n_prob = 0
        if hasattr(self.classifier, "reset"):
            self.classifier.reset()

    # ---- control ---------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Open the device and start the worker. LiveAudioError if the device cannot be used."""
        if self._thread is not None and self._thread.is_alive():
            raise LiveAudioError("live session already running")
        if self._thread is not None or (self.capture is not None and self.capture.running):
            self.stop()  # ended by itself (device gone): release it before starting again
        self._reset()
        cap = AudioCapture(self.device_request, capture_rate_hz=self.capture_rate_request,
                           ring_s=self.ring_s, block_s=self.block_s, latency_s=self.latency_s,
                           stall_s=self.stall_s)
        self._reader = cap.reader(from_start=True)
        self._resampler = StreamingResampler(orig_sr=cap.capture_rate_hz, target_sr=self.sample_rate_hz)
        cap.start()
        self.capture = cap
        self.started_utc = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self._stop_evt.clear()
        self._thread = threading.Thread(target=self._run, name="clinaudio-live-worker", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the worker and release the device; the session's audio and predictions stay."""
        self._stop_evt.set()
        t, self._thread = self._thread, None
        try:
            if t is not None:
                t.join(timeout=10.0)
        finally:
            if self.capture is not None:
                self.capture.stop()
        if self._reader is not None:  # take in what arrived after the worker's last read
            try:
                self._ingest()
            except Exception:
                pass
        if hasattr(self.classifier, "finish"):  # the detector: close the events still open
            try:
                self.classifier.finish()
            except Exception as e:  # noqa: BLE001 - a broken model must not take the app down
                self.error = f"live detection failed at stop: {type(e).__name__}: {e}"

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def reader(self) -> RingReader:
        """A new consumer of the captured audio (capture rate), e.g. for the display."""
        if self.capture is None:
            raise LiveAudioError("live session not started")
        return self.capture.reader()

    # ---- the worker -----------------------------------------------------------
    def _ingest(self) -> None:
        _, raw = self._reader.read()
        if len(raw):
            y = self._resampler.process(raw)
            with self._lock:
                self._audio.append(y)

    def _run(self) -> None:
        sr = self.sample_rate_hz
        win = max(1, int(round(self.window_s * sr)))
        hop = max(1, int(round(self.hop_s * sr)))
        backlog = int(self.max_backlog_s * sr)
        next_end = win
        catch_up = int(2 * self.block_s * sr) + 1
        index = 0
        cap = self.capture
        ratio = cap.capture_rate_hz / sr
        try:
            while not self._stop_evt.wait(self.poll_s):
                problem = cap.health()
                if problem:
                    self.error = problem
                    return
                self._ingest()
                if self.classifier is None:
                    continue
                total = self._audio.total
                while next_end <= total and not self._stop_evt.is_set():
                    if total - next_end > backlog:  # fell behind: jump to the newest window
                        n_skip = (total - next_end) // hop
                        next_end += n_skip * hop
                        self.skipped_windows += n_skip
                    # On time: end the window at the newest sample (at most a block past the
                    # planned end), so it never waits for a block that the resampler's
                    # look-ahead needs. Behind: keep the planned grid.
                    end = total if total - next_end < catch_up else next_end
                    with self._lock:
                        y = self._audio.slice(end - win, end)
                    captured = cap.arrival_time(int(round((end - 1) * ratio)))
                    t_start = time.monotonic()
                    if getattr(self.classifier, "streaming", False):   # the detector: feeds its stream too
                        label, conf, probs = self.classifier.predict(y, sr, end_s=end / sr)
                    else:
                        label, conf, probs = self.classifier.predict(y, sr)
                    ready = time.monotonic()
                    probs_t = self._probs_tuple(probs)
                    p = LivePrediction(index=index, start_s=(end - win) / sr, end_s=end / sr,
                                       label=str(label), confidence=float(conf), probs=probs_t,
                                       captured_at=captured if captured is not None else ready,
                                       ready_at=ready, started_at=t_start)
                    with self._lock:
                        self._predictions.append(p)
                        if probs_t:  # windows without probabilities (no signal) never count
                            v = np.asarray(probs_t, dtype=np.float64)
                            self._prob_sum = v if self._prob_sum is None else self._prob_sum + v
                            self._n_prob += 1
                    index += 1
                    next_end += hop
        except Exception as e:  # a broken model must not take the app down
            self.error = f"live classification failed: {type(e).__name__}: {e}"

    def _probs_tuple(self, probs) -> tuple[float, ...]:
        if probs is None:
            return ()
        if isinstance(probs, dict):
            labels = list(self.classifier.labels)
            return tuple(float(probs.get(lab, 0.0)) for lab in labels)
        return tuple(float(v) for v in np.asarray(probs, dtype=np.float64).ravel())

    # ---- results ---------------------------------------------------------------
    @property
    def predictions(self) -> list[LivePrediction]:
        with self._lock:
            return list(self._predictions)

    def predictions_since(self, n_seen: int) -> list[LivePrediction]:
        with self._lock:
            return self._predictions[n_seen:]

    @property
    def overruns(self) -> int:
        """Audio lost anywhere on the way: PortAudio input overflows + ring overruns."""
        if self.capture is None:
            return 0
        return int(self.capture.input_overflows + (self._reader.overruns if self._reader else 0))

    @property
    def duration_s(self) -> float:
        return self._audio.total / self.sample_rate_hz

    def audio(self) -> np.ndarray:
        with self._lock:
            return self._audio.slice(0, self._audio.total)

    def verdict(self) -> tuple[str | None, float, tuple[float, ...]]:
        """Record-level verdict so far: the mean of the window probabilities over the windows
        that had something to hear (majority vote when the classifier gives no probabilities;
        the quality verdict, e.g. "no signal", while no window passed the quality gate)."""
        with self._lock:
            preds = list(self._predictions)
            s = None if self._prob_sum is None else self._prob_sum.copy()
            n_prob = self._n_prob
        if not preds:
            return None, 0.0, ()
        labels = list(getattr(self.classifier, "labels", []) or [])
        if getattr(self.classifier, "streaming", False) and n_prob == 0:
            return preds[-1].label, 1.0, ()
        if s is not None and labels and len(s) == len(labels):
            mean = s / max(1, n_prob)
            k = int(np.argmax(mean))
            return labels[k], float(mean[k]), tuple(float(v) for v in mean)
        names, counts = np.unique([p.label for p in preds], return_counts=True)
        k = int(np.argmax(counts))
        return str(names[k]), float(counts[k] / len(preds)), ()

    def latency_stats(self) -> dict:
        preds = self.predictions
        lat = [p.latency_ms for p in preds]
        comp = [p.compute_ms for p in preds]
        return {"n": len(lat), "latency_p50_ms": percentile_ms(lat, 50),
                "latency_p95_ms": percentile_ms(lat, 95),
                "latency_max_ms": float(max(lat)) if lat else None,
                "compute_p50_ms": percentile_ms(comp, 50), "compute_p95_ms": percentile_ms(comp, 95)}

    def summary(self) -> dict:
        label, conf, _ = self.verdict()
        d = {"predictions": len(self.predictions), "duration_s": round(self.duration_s, 3),
             "overruns": self.overruns,
             "input_overflows": self.capture.input_overflows if self.capture else 0,
             "ring_overruns": self._reader.overruns if self._reader else 0,
             "skipped_windows": self.skipped_windows,
             "verdict": label, "verdict_confidence": round(conf, 4)}
        for k, v in self.latency_stats().items():
            d[k] = round(v, 2) if isinstance(v, float) else v
        if self.capture is not None:
            d["device"] = self.capture.device.name
            d["capture_rate_hz"] = self.capture.capture_rate_hz
            d["input_latency_ms"] = round(self.capture.input_latency_s * 1000.0, 2)
            sd_ = self.capture.start_delay_s
            d["start_delay_ms"] = None if sd_ is None else round(sd_ * 1000.0, 1)
        d["sample_rate_hz"] = self.sample_rate_hz
        if self.error:
            d["error"] = self.error
        return d

    def suggestions(self, *, annotator: str = "live") -> AnnotationSet:
        """The predictions as source="model" suggestions. Event models: segments, where each
        prediction owns the newest hop of its window (the first its whole window) and
        neighbours with the same label merge; the verdict stays in the metadata (an event class
        is not a record label). Record models: the verdict as the record label, no segments."""
        preds = self.predictions
        label, conf, _ = self.verdict()
        meta = {"source": "live", "window_s": self.window_s, "hop_s": self.hop_s}
        if label is not None:
            meta["verdict"] = label
            meta["verdict_confidence"] = round(conf, 4)
        if getattr(self.classifier, "streaming", False):   # the detector: its decoded events
            segs = [Segment(start_s=e["start_s"], end_s=e["end_s"], label=e["label"], annotator=annotator,
                            source="model", confidence=e["confidence"]) for e in self.classifier.events]
            return AnnotationSet(segs, record_label=label if label in self.classifier.labels else None,
                                 metadata=meta)
        if getattr(self.classifier, "level", "event") == "record":
            return AnnotationSet([], record_label=label, metadata=meta)
        segs: list[Segment] = []
        run: list[LivePrediction] = []
        run_start = 0.0

        def flush():
            if run:
                c = min(1.0, max(0.0, float(np.mean([p.confidence for p in run]))))
                segs.append(Segment(start_s=round(run_start, 4), end_s=round(run[-1].end_s, 4),
                                    label=run[0].label, annotator=annotator, source="model",
                                    confidence=round(c, 4)))
        for i, p in enumerate(preds):
            own_start = p.start_s if i == 0 else max(p.start_s, preds[i - 1].end_s)
            if run and p.label == run[-1].label and abs(own_start - run[-1].end_s) < 1e-9:
                run.append(p)
                continue
            flush()
            run, run_start = [p], own_start
        flush()
        return AnnotationSet(segs, record_label=None, metadata=meta)

    def save_recording(self, path: str | Path) -> tuple[Path, Path]:
        """Write the session's audio (at the model rate) and ``<stem>.live.json`` with the
        predictions, the suggestion segments and the session's figures. Both atomic."""
        from clinaudio_gui.io.audio import write_audio
        path = Path(path)
        y = self.audio()
        if len(y) == 0:
            raise LiveAudioError("nothing recorded yet: the live session has no audio", path=path)
        write_audio(path, y, self.sample_rate_hz)
        side = path.with_name(path.name[: len(path.name) - len(path.suffix)] + ".live.json")
        doc = {"format": "clinaudio-live-session", "version": 1, "audio": path.name,
               "started_utc": self.started_utc, "window_s": self.window_s, "hop_s": self.hop_s,
               "model": getattr(self.classifier, "name", None) or (type(self.classifier).__name__
                                                                   if self.classifier else None),
               "labels": list(getattr(self.classifier, "labels", []) or []),
               "summary": self.summary(),
               "predictions": [dict(p.to_json(), probs=[round(v, 5) for v in p.probs])
                               for p in self.predictions],
               "suggestions": self.suggestions().to_dict()}
        atomic_write_text(side, json.dumps(doc, indent=1) + "\n")
        return path, side
