"""From the detector's outputs to the four SPRSound tasks and to calibration figures (numpy only).

* Event tasks 1-1 / 1-2 (classify a given event): the mean calibrated frame probability of each
  event class over the event's frames (renormalised over the 7 event classes), plus per-class
  log-prior offsets chosen on validation patients to maximise the SPRSound Score.
* Record tasks 2-1 / 2-2: the record head's calibrated probabilities (+ offsets), or the record
  label implied by the decoded events (CAS if a continuous event, DAS if a discontinuous one,
  both: CAS & DAS); which one is used is chosen on validation patients.
* Calibration: temperature scaling (one scalar per head, fitted by NLL on validation) and the
  expected calibration error (15 equal-width bins of the top probability).
"""
from __future__ import annotations

import numpy as np

from clinaudio_gui.engine.common.data import EVENT_LABELS, RECORD_LABELS, TASKS
from clinaudio_gui.engine.common.metrics import all_metrics, confusion_matrix, sprsound_scores

CAS_EVENTS = {"Wheeze", "Rhonchi", "Stridor", "Wheeze+Crackle"}
DAS_EVENTS = {"Fine Crackle", "Coarse Crackle", "Wheeze+Crackle"}
NO_CYCLE = "no breathing cycle found"   # the model's own gate: the signal passed, no event decoded


def softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    z = z - z.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def fit_temperature(logits: np.ndarray, targets: np.ndarray) -> float:
    """The T > 0 minimising the NLL of softmax(logits / T) (a 1-D search on log T)."""
    logits = np.asarray(logits, np.float64)
    targets = np.asarray(targets, np.int64)
    if len(targets) == 0:
        return 1.0

    def nll(t):
        p = softmax(logits / t)
        return -np.mean(np.log(np.clip(p[np.arange(len(targets)), targets], 1e-12, 1)))

    grid = np.exp(np.linspace(np.log(0.25), np.log(8.0), 61))
    vals = [nll(t) for t in grid]
    i = int(np.argmin(vals))
    lo, hi = grid[max(0, i - 1)], grid[min(len(grid) - 1, i + 1)]
    fine = np.exp(np.linspace(np.log(lo), np.log(hi), 41))
    return float(fine[int(np.argmin([nll(t) for t in fine]))])


def ece(probs: np.ndarray, targets: np.ndarray, n_bins: int = 15) -> float:
    """Expected calibration error of the top-1 probability."""
    probs = np.asarray(probs, np.float64)
    if len(probs) == 0:
        return float("nan")
    conf = probs.max(axis=1)
    correct = (probs.argmax(axis=1) == np.asarray(targets)).astype(np.float64)
    edges = np.linspace(0, 1, n_bins + 1)
    e = 0.0
    for a, b in zip(edges[:-1], edges[1:]):
        m = (conf > a) & (conf <= b)
        if m.any():
            e += m.mean() * abs(conf[m].mean() - correct[m].mean())
    return float(e)


def event_class_probs(frame_probs: np.ndarray, events, hop_s: float) -> np.ndarray:
    """(n_events, 7): mean probability of each event class over each event's frames."""
    out = np.zeros((len(events), len(EVENT_LABELS)))
    n = len(frame_probs)
    for k, (s, e, *_rest) in enumerate(events):
        a = min(n - 1, max(0, int(np.ceil(s / hop_s))))
        b = min(n, max(a + 1, int(np.ceil(e / hop_s))))
        p = frame_probs[a:b, 1:].mean(axis=0)
        out[k] = p / max(p.sum(), 1e-12)
    return out


def task_labels(task: str) -> list[str]:
    return list(TASKS[task]["labels"])


def merge_to_task(probs: np.ndarray, task: str) -> np.ndarray:
    """Fine-class probabilities (7 events or 5 records) -> the task's classes (summed)."""
    spec = TASKS[task]
    fine = EVENT_LABELS if spec["level"] == "event" else RECORD_LABELS
    out = np.zeros((len(probs), len(spec["labels"])))
    for j, lab in enumerate(spec["labels"]):
        for f in spec["merge"][lab]:
            out[:, j] += probs[:, fine.index(f)]
    return out


def predict_with_offsets(probs: np.ndarray, offsets: np.ndarray | None) -> np.ndarray:
    lp = np.log(np.clip(probs, 1e-9, 1))
    if offsets is not None:
        lp = lp + offsets
    return lp.argmax(axis=1)


OFFSET_MODES = ("per-class", "shared", "none")
# Tasks 1-2, 2-1 and 2-2 without offsets: chosen among the modes by cross-fitted inner validation,
# the rules in docs/rules/session16_offsets_1_2.txt and session16_offsets_records.txt
# (scripts/detector_offset_variants.py); 1-1 (one offset: Normal / adventitious) per class.
TASK_OFFSET_MODES = {"1-2": "none", "2-1": "none", "2-2": "none"}


def offset_mode(task: str) -> str:
    """The ``fit_offsets`` mode that calibration uses for a task."""
    return TASK_OFFSET_MODES.get(task, "per-class")


def fit_offsets(probs: np.ndarray, y: np.ndarray, labels: list[str], *, rounds: int = 3,
                mode: str = "per-class") -> np.ndarray:
    """Additive log-probability offsets maximising the SPRSound Score on (probs, y), Normal's
    fixed at 0, chosen on validation patients. ``mode``: "per-class" (coordinate ascent over a
    grid, one offset per class), "shared" (one offset for every non-Normal class: only the
    Normal / adventitious trade-off moves, the adventitious classes keep their order) or "none"
    (zeros)."""
    if mode not in OFFSET_MODES:
        raise ValueError(f"offset mode {mode!r}: one of {', '.join(OFFSET_MODES)}")
    k = probs.shape[1]
    off = np.zeros(k)
    if len(y) == 0 or mode == "none":
        return off
    normal = labels.index("Normal") if "Normal" in labels else 0

    def score(o):
        cm = confusion_matrix(y, predict_with_offsets(probs, o), k)
        s = sprsound_scores(cm, normal_index=normal)["score"]
        return s

    best = score(off)
    grid = np.linspace(-2.0, 3.0, 21)
    if mode == "shared":
        for g in grid:
            o = np.full(k, g)
            o[normal] = 0.0
            s = score(o)
            if s > best + 1e-9:
                best, off = s, o
        return off
    for _ in range(rounds):
        changed = False
        for j in range(k):
            if j == normal:
                continue
            for g in grid:
                o = off.copy()
                o[j] = g
                s = score(o)
                if s > best + 1e-9:
                    best, off, changed = s, o, True
        if not changed:
            break
    return off


def record_from_events(events: list[dict], poor_quality: bool) -> str:
    if poor_quality:
        return "Poor Quality"
    labels = {e["label"] for e in events}
    cas, das = bool(labels & CAS_EVENTS), bool(labels & DAS_EVENTS)
    return "CAS & DAS" if cas and das else "CAS" if cas else "DAS" if das else "Normal"


def task_targets(y_fine, task: str) -> np.ndarray:
    """Fine labels (event or record classes) as indices into the task's labels (merged classes)."""
    labels, merge = task_labels(task), TASKS[task]["merge"]
    return np.array([labels.index(next(k for k, v in merge.items() if t in v)) for t in y_fine], dtype=np.int64)


def task_metrics(y_true_fine: list[str], pred_probs_fine: np.ndarray, task: str,
                 offsets: np.ndarray | None = None) -> dict:
    """SPRSound metrics of a task from fine-class probabilities (merged into the task's classes)."""
    labels = task_labels(task)
    p = merge_to_task(pred_probs_fine, task)
    y = task_targets(y_true_fine, task)
    pred = predict_with_offsets(p, offsets)
    return all_metrics(y, pred, labels)


def task_view(result: dict, task: str) -> dict:
    """A detector result seen through one SPRSound task: record probabilities merged into the
    task's classes (2-1: Normal / Adventitious / Poor Quality), event labels merged for 1-1
    (Normal / Adventitious). Keeps the fine record label and probabilities beside them."""
    spec = TASKS[task]
    out = dict(result)
    out["task"] = task
    rp = np.array([[result["record_probabilities"][c] for c in RECORD_LABELS]])
    fine_label = result["record_label"]
    if spec["level"] == "record":
        merged = merge_to_task(rp, task)[0]
        labels = spec["labels"]
        out["probabilities"] = {c: round(float(p), 4) for c, p in zip(labels, merged)}
        out["record_label"] = next(k for k, v in spec["merge"].items() if fine_label in v)
    else:
        merged = merge_to_task(rp, "2-2")[0]
        out["probabilities"] = {c: round(float(p), 4) for c, p in zip(RECORD_LABELS, merged)}
    out["confidence"] = float(max(out["probabilities"].values()))
    out["record_label_fine"] = fine_label
    if task == "1-1":
        out["events"] = [dict(e, label="Normal" if e["label"] == "Normal" else "Adventitious")
                         for e in result["events"]]
    return out


def uncertainty(result: dict) -> tuple[float, str]:
    """How unsure the detector is about a recording, in [0, 1], and why, for ranking a labeling
    queue: 1 - (top-1 minus top-2 record probability), raised to the least sure decoded event's
    1 - confidence when that is higher. A recording failing the quality gate ranks last (0)."""
    if result.get("quality") not in (None, "ok"):
        return 0.0, gate_reason(result.get("quality"))
    probs = sorted(result.get("record_probabilities", {}).items(), key=lambda kv: -kv[1])
    if len(probs) < 2:
        return 0.0, "no probabilities"
    (l1, p1), (l2, p2) = probs[0], probs[1]
    u = 1.0 - (p1 - p2)
    reason = f"model unsure: {l1} {p1:.2f} / {l2} {p2:.2f}"
    adv = [e for e in result.get("events", []) if e["label"] != "Normal"]
    if adv:
        e = min(adv, key=lambda e: e["confidence"])
        if 1.0 - e["confidence"] > u:
            u = 1.0 - e["confidence"]
            reason = f"unsure event: {e['label']} {e['confidence']:.2f} at {e['start_s']:.1f} s"
    return round(float(u), 4), reason


def gate_reason(quality: str | None) -> str:
    """Why a recording has no model label, in a queue's reason column."""
    return "no breathing cycle found (no model label)" if quality == NO_CYCLE else f"signal quality: {quality}"


def gate_text(quality: str) -> str:
    """The Classify panel's line for a recording given no label: stopped by the signal gate, or
    the signal passed and the decoder found no event at all (``NO_CYCLE``)."""
    if quality == NO_CYCLE:
        return ("<b>No breathing cycle found</b>: the signal passed the quality gate, but the detector "
                "recognises no lung sound in it (not even a normal breathing cycle); no model label. ")
    return f"<b>Signal quality: {quality}</b>: stopped by the quality gate, no model label. "


def record_event_note(result: dict) -> str:
    """A line for when the record label names continuous (CAS) or discontinuous (DAS) adventitious
    sounds but the decoder found no event of that kind: the two come from different heads (the
    record head pools the whole recording; an event needs its frames above the decoder's
    threshold), and a clinician should not go looking for a marked wheeze that is not there."""
    want = {"CAS": ["CAS"], "DAS": ["DAS"], "CAS & DAS": ["CAS", "DAS"]}.get(result.get("record_label") or "", [])
    labels = {e["label"] for e in result.get("events") or []}
    missing = [k for k in want if not labels & (CAS_EVENTS if k == "CAS" else DAS_EVENTS)]
    if not missing:
        return ""
    kinds = " or ".join({"CAS": "continuous (wheeze, stridor, rhonchi)",
                         "DAS": "discontinuous (crackle)"}[k] for k in missing)
    return (f"No {kinds} event was found: the record label weighs the whole recording, "
            "an event needs frames above the detector's threshold. Listen before you accept it.")
