"""The detector on a live stream: the same network over a sliding context, only new frames kept.

Every ``step_s`` the network runs on the last ``context_s`` seconds (its own quality check and
standardisation, as a block of a file). Frames older than ``lookahead_s`` (so each has at least
that much right-hand context) and not yet emitted join a growing probability track; frames of
a context that fails the quality gate join it as "no event". The decoder of the package runs on
the open tail of the track; an event is final (reported once, with onset and offset) when the
track has moved past its end by more than the decoder's settling distance
(``DecoderParams.settle_frames``: its gap and smoothing; for the proposal decoder, its largest
shift and edge context, about 1.5 s). ``flush`` finishes the stream.

``LiveDetector`` wraps this for :class:`clinaudio_gui.live.session.LiveSession` (the
``predict(y, sr, end_s=...)`` protocol): a per-window record verdict with probabilities, or
"no signal" / the quality verdict when there is nothing to hear, or "no breathing cycle found" when
the signal passes but no event was decoded in the last ``context_s`` seconds.
"""
from __future__ import annotations

import numpy as np

from clinaudio_gui.dsp.quality import assess_quality
from clinaudio_gui.engine.detector import scoring as S
from clinaudio_gui.engine.detector.decode import decode
from clinaudio_gui.engine.detector.infer import Detector


class StreamingDetector:
    def __init__(self, det: Detector, *, context_s: float = 8.0, step_s: float = 0.5, lookahead_s: float = 1.5):
        if not (0 < step_s <= context_s and 0 <= lookahead_s < context_s):
            raise ValueError(f"need 0 < step_s <= context_s and 0 <= lookahead_s < context_s "
                             f"(step_s={step_s}, context_s={context_s}, lookahead_s={lookahead_s})")
        self.det = det
        self.sr = det.sr
        self.hop = det.hop_samples
        self.context = int(round(context_s / det.hop_s)) * self.hop
        self.step = max(self.hop, int(round(step_s / det.hop_s)) * self.hop)
        self.lookahead_frames = int(round(lookahead_s / det.hop_s))
        self.k = 1 + len(det.event_classes)
        self._audio = np.zeros(0, np.float32)   # the last `context` samples
        self.total = 0                          # samples received
        self._since_run = 0
        self.track = np.zeros((0, self.k))      # emitted frame probabilities (from frame `track_start`)
        self.edge_track = np.zeros((0, 2)) if det.has_edges else None   # the edge head's activity, same frames
        self.track_start = 0
        self.emitted_frames = 0
        self.events: list[dict] = []
        self._final_until_frame = 0             # frames before this are decoded for good
        self.last_quality = None
        self.last_record_probs: np.ndarray | None = None
        self.open_events: list[dict] = []        # decoded in the open tail, not final yet

    # ---- feeding --------------------------------------------------------------------------
    def push(self, y: np.ndarray) -> list[dict]:
        """Add samples (mono, at the detector's rate); returns events that became final."""
        y = np.asarray(y, np.float32).reshape(-1)
        self._audio = np.concatenate([self._audio, y])[-self.context:]
        self.total += len(y)
        self._since_run += len(y)
        new: list[dict] = []
        while self._since_run >= self.step:
            self._since_run -= self.step
            new += self._run(self.total - self._since_run, final=False)
        return new

    def flush(self) -> list[dict]:
        """End of stream: emit the remaining frames and finish every open event."""
        return self._run(self.total, final=True)

    def _run(self, end: int, *, final: bool) -> list[dict]:
        n_have = min(len(self._audio), self.context) - (self.total - end)
        if n_have < 64:
            return []
        window = self._audio[len(self._audio) - (self.total - end) - n_have: len(self._audio) - (self.total - end)]
        start = end - len(window)
        q = assess_quality(window, self.sr)
        self.last_quality = q
        n_frames_end = int(np.ceil(end / self.hop))
        upto = n_frames_end if final else max(0, n_frames_end - self.lookahead_frames)
        a = self.emitted_frames
        if upto <= a:
            return self._decode_tail(final)
        if q.ok:
            fp, rl, _, _, eb = self.det._block(window)
            self.last_record_probs = S.softmax(rl / self.det.t_record)
            off = start // self.hop          # frame index of the window's first frame
            rows = fp[max(0, a - off): upto - off]
            erows = None if eb is None else eb[max(0, a - off): upto - off]
            if len(rows) < upto - a:          # frames before this window (never happens after warm-up)
                pad = np.zeros((upto - a - len(rows), self.k))
                pad[:, 0] = 1.0
                rows = np.concatenate([pad, rows])
                if erows is not None:
                    erows = np.concatenate([np.zeros((len(pad), 2)), erows])
        else:
            self.last_record_probs = None
            rows = np.zeros((upto - a, self.k))
            rows[:, 0] = 1.0
            erows = np.zeros((upto - a, 2))
        self.track = np.concatenate([self.track, rows])
        if self.edge_track is not None:
            self.edge_track = np.concatenate([self.edge_track, erows])
        self.emitted_frames = upto
        return self._decode_tail(final)

    def _decode_tail(self, final: bool) -> list[dict]:
        hop_s = self.det.hop_s
        evs = decode(self.track, self.det.event_classes, hop_s, self.det.decoder,
                     offset_s=self.track_start * hop_s, edges=self.edge_track)
        gap = self.det.decoder.settle_frames(hop_s)
        limit_s = (self.emitted_frames - gap - 1) * hop_s
        new = []
        on, off = self.det.decoder.onset_shift_s, self.det.decoder.offset_shift_s   # compare unshifted frames
        for e in evs:
            if e["start_s"] - on < self._final_until_frame * hop_s - 1e-9:
                continue
            if final or e["end_s"] - off < limit_s:
                new.append(e)
        if new and (on or off):
            from clinaudio_gui.engine.detector.decode import no_overlap
            no_overlap(new, hop_s, float("inf"), self.events[-1]["end_s"] if self.events else None)
        if new:
            self.events += new
            self._final_until_frame = int(round((new[-1]["end_s"] - off) / hop_s))
        self.open_events = [e for e in evs if e["start_s"] - on >= self._final_until_frame * hop_s - 1e-9]
        # keep the track bounded: drop what lies well before the open tail
        keep_from = min(self._final_until_frame, self.emitted_frames - gap - 1) - 4 * gap
        if keep_from > self.track_start:
            self.track = self.track[keep_from - self.track_start:]
            if self.edge_track is not None:
                self.edge_track = self.edge_track[keep_from - self.track_start:]
            self.track_start = keep_from
        return new

    def cycle_seen(self, within_s: float) -> bool:
        """Has any event (final or open, Normal cycles included) ended within the last ``within_s``
        seconds of the probability track? No: whatever passes the signal gate, the detector hears
        no lung sound in it (docs/rules/session20_live_breath_evidence.txt)."""
        since = self.emitted_frames * self.det.hop_s - within_s
        last = self.open_events[-1:] or self.events[-1:]   # both in time order: the latest ends last
        return bool(last) and last[0]["end_s"] > since


class LiveDetector:
    """The detector as the live session's window model (record verdict per window + events)."""

    level = "record"
    streaming = True

    def __init__(self, det: Detector, *, context_s: float = 8.0, step_s: float = 0.5, window_s: float = 2.0):
        self.det = det
        self.sample_rate_hz = det.sr
        # the session's window only carries the new samples here (the stream keeps its own
        # context), so a short one gives the first verdict after 2 s instead of after 8 s
        self.window_s = window_s
        self.context_s = context_s
        self.labels = list(det.record_classes)
        self.name = det.version
        self.stream = StreamingDetector(det, context_s=context_s, step_s=step_s)
        self._fed = 0
        self.no_cycle_rule = True   # "no breathing cycle found" while no event in the context

    def reset(self) -> None:
        self.stream = StreamingDetector(self.det, context_s=self.context_s,
                                        step_s=self.stream.step / self.det.sr)
        self._fed = 0

    def finish(self) -> list[dict]:
        """End of the session: every open event becomes final."""
        return self.stream.flush()

    @property
    def events(self) -> list[dict]:
        return list(self.stream.events)

    def predict(self, y: np.ndarray, sr: int, *, end_s: float | None = None):
        """(label, confidence, probabilities or None) of the window ending now; feeds the stream
        with the samples it has not seen (``end_s`` = the window's end in stream time)."""
        if sr != self.sample_rate_hz:
            raise ValueError(f"sr={sr} differs from the detector's {self.sample_rate_hz} Hz")
        y = np.asarray(y, np.float32)
        end = len(y) if end_s is None else int(round(end_s * sr))
        n_new = end - self._fed
        if n_new > 0:
            self.stream.push(y[-min(n_new, len(y)):] if n_new <= len(y) else
                             np.concatenate([np.zeros(n_new - len(y), np.float32), y]))
            self._fed = end
        q = self.stream.last_quality
        if q is None:
            q = assess_quality(y, sr)
        if not q.ok or self.stream.last_record_probs is None:
            return (q.status if not q.ok else "no signal"), 1.0, None
        if self.no_cycle_rule and not self.stream.cycle_seen(self.context_s):
            return S.NO_CYCLE, 1.0, None
        rp = self.stream.last_record_probs
        lp = np.log(np.clip(rp, 1e-9, 1)) + self.det.record_offsets
        k = int(np.argmax(lp))
        return self.labels[k], float(rp[k]), rp


def load_live_model(choice: str | None = None):
    """What the live panel and `clinaudio live` run: "detector" (default: the bundled detector),
    "task:X" (the bundled window classifier of task X), or a package folder (detector or
    classifier, by its manifest). Warmed up, so the stream does not pay for lazy set-up."""
    from clinaudio_gui.engine.common.package import read_manifest
    from clinaudio_gui.engine.detector.infer import load_detector
    choice = choice or "detector"
    if choice == "detector" or (not choice.startswith("task:") and read_manifest(choice)["kind"] == "detector"):
        det = load_detector(None if choice == "detector" else choice)
        det._block(np.zeros(det.sr * 2, np.float32))
        return LiveDetector(det)
    from clinaudio_gui.engine.classifier.inference import Classifier
    clf = Classifier.load(task=choice[5:], device="cpu") if choice.startswith("task:") else \
        Classifier.load(choice, device="cpu")
    w = clf.window_s or 10.0
    clf.predict(np.zeros(int(w * clf.sample_rate_hz), np.float32), clf.sample_rate_hz)
    return clf
