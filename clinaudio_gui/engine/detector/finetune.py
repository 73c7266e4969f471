"""Fine-tuning the detector on a project's own labels, judged on the project's held-back patients.

A round: the project's finished labels (a folder project's "done" recordings, or a team
project's consensus / annotators' majority) are split by patient into training and held-back
judging recordings. The held-back patients are fixed per patient (a hash of the patient id, so a
patient stays on its side in every round; the set is written in the registry). The model in use
is adapted to the training recordings (``adapt``: by default the decoder's thresholds, smoothing
and boundary shifts are chosen again on them; with ``mode="weights"`` the network is fine-tuned
first; temperatures and Score offsets are inherited: nothing is chosen on the judging
patients), both models are scored there (event micro F with the sed_eval protocol of
``clinaudio evaluate --task events``, and the SPRSound 2-2 Score; criterion = their mean, as in
training), and the new version is put in use only if it scores higher. Either way it is kept with its manifest (``versions.ModelVersions``).
"""
from __future__ import annotations

import hashlib
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from clinaudio_gui.core.errors import ClinAudioError
from clinaudio_gui.engine.common.data import EVENT_LABELS, normalize_record_label
from clinaudio_gui.engine.common.package import STAMP_KEYS, save_model_package
from clinaudio_gui.engine.detector import data as D
from clinaudio_gui.engine.detector import scoring as S
from clinaudio_gui.engine.detector.decode import DecoderParams
from clinaudio_gui.engine.detector.model import DetectorConfig, DetectorNet
from clinaudio_gui.engine.detector.versions import ModelVersions



@dataclass
class LabeledItem:
    audio: str
    patient: str
    events: list = field(default_factory=list)      # [(start_s, end_s, SPRSound event label)]
    record_label: str = "Normal"


def _item(audio, annotations, patient: str | None = None) -> LabeledItem | None:
    events = [(float(s.start_s), float(s.end_s), s.label) for s in annotations.sorted_segments()
              if s.label in EVENT_LABELS and s.end_s - s.start_s > 0.01]
    rl = annotations.record_label
    if rl:
        try:
            rl = normalize_record_label(rl, audio)
        except ClinAudioError:
            rl = None
    if not rl:
        rl = S.record_from_events([{"label": e[2]} for e in events], False)
    from clinaudio_gui.io import file_stem, patient_of
    return LabeledItem(str(audio), patient or patient_of(audio) or file_stem(audio), events, rl)


def collect_folder_labels(folder: str | Path) -> list[LabeledItem]:
    """The finished labels of a folder project: recordings whose saved sidecar is marked done,
    or that have a labeled dataset file beside them (SPRSound JSON, ICBHI, ...) and no sidecar.
    Unsaved edits (autosave) are not used. An unreadable label file is skipped (it is named by
    the dataset list; fine-tuning must not stop on it)."""
    from clinaudio_gui.core import Project, sidecar_path
    from clinaudio_gui.io import find_annotation_for, read_annotations
    proj = Project(folder)
    out = []
    for audio in proj.recordings():
        try:
            if sidecar_path(audio).exists():
                a = proj.load(audio, prefer_autosave=False)
                if a is None or a.metadata.get("status") != "done":
                    continue
            else:
                ext = find_annotation_for(audio)
                if ext is None:
                    continue
                a = read_annotations(ext)
                if a.metadata.get("status") not in (None, "done") or not (len(a) or a.record_label):
                    continue
        except (ClinAudioError, ValueError):
            continue
        it = _item(audio, a)
        if it is not None:
            out.append(it)
    return out


def _majority(sets, duration_s: float, hop_s: float):
    """Frame-wise majority of several annotators' events (a frame needs more than half of them)
    and the majority record label (ties: the first annotator's)."""
    n = max(1, int(np.ceil(duration_s / hop_s)))
    targets = np.stack([D.frame_target([(s.start_s, s.end_s, s.label) for s in a.segments
                                        if s.label in EVENT_LABELS], n, hop_s) for a in sets])
    maj = np.zeros(n, np.int64)
    for t in range(n):
        c = Counter(targets[:, t].tolist()).most_common(1)[0]
        maj[t] = c[0] if c[1] * 2 > len(sets) else 0
    events = D.target_events(maj, hop_s)
    labels = [a.record_label for a in sets if a.record_label]
    rl = Counter(labels).most_common(1)[0][0] if labels else None
    return events, rl


def collect_team_labels(service, media_root) -> list[LabeledItem]:
    """A team project's labels for fine-tuning (needs a reviewer or admin connection): the
    consensus set where reviewers made one, otherwise the frame-wise majority of the annotators'
    sets, and only when every annotator assigned to the recording has marked theirs done: a
    recording still under blind labeling is never trained on."""
    from clinaudio_gui.core import AnnotationSet, Segment
    from clinaudio_gui.store.media import audio_path
    from clinaudio_gui.store.models import CONSENSUS
    hop_s = D.detector_settings().hop_s
    sets = service.load_all()
    assigned = service.assignments()
    out = []
    for rec in service.recordings():
        cons = sets.get((rec.id, CONSENSUS))
        who = assigned.get(rec.id, [])
        if cons is not None and cons.status == "done":
            a = cons.annotations
        else:
            mine = [sets.get((rec.id, w)) for w in who]
            if not who or any(x is None or x.status != "done" for x in mine):
                continue    # not labeled yet, or still under blind labeling
            dur = rec.duration_s or max((s.end_s for x in mine for s in x.annotations.segments), default=1.0)
            events, rl = _majority([x.annotations for x in mine], float(dur), hop_s)
            a = AnnotationSet([Segment(s, e, lab) for s, e, lab in events], record_label=rl)
        it = _item(audio_path(rec, media_root), a)
        if it is not None:
            out.append(it)
    return out


def is_holdout(patient: str, fraction: float) -> bool:
    h = int(hashlib.sha1(patient.encode("utf-8")).hexdigest()[:8], 16) / 0xFFFFFFFF
    return h < fraction


def _recordings(items: list[LabeledItem], cache_dir: Path | None) -> list[D.Recording]:
    """Detector inputs of labeled recordings, each cached on disk by path, size and mtime."""
    s = D.detector_settings()
    key = D._feature_key(s)
    recs = []
    for it in items:
        p = Path(it.audio)
        try:
            st = p.stat()
        except OSError as e:
            raise ClinAudioError(f"recording not readable: {e.strerror}", path=p) from None
        r = D.Recording(str(p), it.patient, it.record_label, 0.0, list(it.events))
        f = None
        if cache_dir is not None:
            h = hashlib.sha1(f"{p.resolve()}|{st.st_size}|{st.st_mtime_ns}|{key}".encode()).hexdigest()[:20]
            cf = cache_dir / f"{h}.npy"
            if cf.is_file():
                f = np.load(cf, allow_pickle=False)
        if f is None:
            f = _block_features(p, s)
            if cache_dir is not None:
                cache_dir.mkdir(parents=True, exist_ok=True)
                tmp = cf.with_name(cf.stem + f".{np.random.randint(1 << 30)}.tmp.npy")
                np.save(tmp, f)
                tmp.replace(cf)
        r.features = f
        r.target = D.frame_target(r.events, f.shape[-1], s.hop_s)
        r.duration_s = f.shape[-1] * s.hop_s
        recs.append(r)
    return recs


BLOCK_FRAMES = 1024   # as the detector reads long files (16.4 s), each block standardised on its own


def _block_features(path: Path, s) -> np.ndarray:
    """The detector's inputs of a recording of any length, computed block by block (memory stays
    bounded on hour-long files; per-block standardisation as at inference)."""
    from clinaudio_gui.engine.common.frontend import compute_features
    from clinaudio_gui.io import audio_info, read_audio
    info = audio_info(path)
    dur = float(info["frames"]) / float(info["sample_rate_hz"])
    block_s = BLOCK_FRAMES * s.hop_s
    if dur <= block_s:
        return compute_features(D.load_audio_8k(path), s).astype(np.float16)
    parts, start = [], 0.0
    while start < dur - 1e-6:
        y, _ = read_audio(path, start_s=start, end_s=min(dur, start + block_s), target_sr=D.SAMPLE_RATE_HZ)
        if len(y) >= 64:
            n = int(round(min(block_s, dur - start) / s.hop_s))
            parts.append(compute_features(y, s).astype(np.float16)[:, :, :max(1, n)])
        start += block_s
    return np.concatenate(parts, axis=-1)


@torch.inference_mode()
def predict_blocks(net: DetectorNet, recs, idx, seqs: list | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """(frame logits, record logits) per recording; a long one in blocks of BLOCK_FRAMES with
    half-block hops, each keeping its central half (record logits averaged over blocks). With
    ``seqs`` (a list) each recording's encoder sequence (32 ms) is appended to it, stitched alike."""
    net.eval()
    out = []
    want = seqs is not None
    for i in idx:
        f = recs[i].features
        T = f.shape[-1]
        starts = [0] if T <= BLOCK_FRAMES else list(range(0, T - BLOCK_FRAMES, BLOCK_FRAMES // 2)) + [T - BLOCK_FRAMES]
        fl = np.zeros((T, net.cfg.n_frame_classes), np.float32)
        rls = []
        sq = None
        q = BLOCK_FRAMES // 4
        for k, a in enumerate(starts):
            x = torch.from_numpy(f[:, :, a:a + BLOCK_FRAMES].astype(np.float32))[None]
            fb, rb, _, _, *h = net(x, return_seq=want)
            fb = fb[0].numpy()
            lo = 0 if k == 0 else q
            hi = len(fb) if k == len(starts) - 1 else len(fb) - q
            fl[a + lo:a + hi] = fb[lo:hi]
            if want:
                hb = h[0][0].numpy()
                if sq is None:
                    sq = np.zeros(((T + 1) // 2, hb.shape[1]), np.float32)
                a2, lo2, hi2 = a // 2, lo // 2, min(len(hb), (hi + 1) // 2)
                hi2 = min(hi2, len(sq) - a2)
                sq[a2 + lo2:a2 + hi2] = hb[lo2:hi2]
            rls.append(rb[0].numpy())
        out.append((fl, np.mean(rls, axis=0)))
        if want:
            seqs.append(sq)
    return out


def load_net(model_dir: Path) -> tuple[DetectorNet, dict]:
    """(network in eval mode, manifest) of a detector package (the trainer's loader)."""
    from clinaudio_gui.engine.detector.train import _load_net
    return _load_net(Path(model_dir))


def judge(net: DetectorNet, manifest: dict, recs, idx) -> dict:
    """Event micro F, 2-2 Score and their mean (the criterion) with the package's own settings."""
    from clinaudio_gui.engine.detector.train import evaluate_outputs
    calib = manifest.get("calibration") or {"t_frame": 1.0, "t_record": 1.0, "offsets": {}}
    from clinaudio_gui.engine.detector.proposal_fit import decoder_params
    params = decoder_params(net, manifest.get("decoder", {}))
    seqs: list | None = [] if params.needs_edges else None
    outs = predict_blocks(net, recs, idx, seqs=seqs)
    r = evaluate_outputs(outs, idx, recs, calib, params, D.detector_settings().hop_s,
                         seqs=seqs, net=net if seqs is not None else None)
    f = r["events"]["event_based"]["micro"]["f"] or 0.0
    sc = r["tasks"]["2-2"]["score"]
    return {"event_f": round(float(f), 4), "score_2_2": round(float(sc), 4),
            "criterion": round(0.5 * (f + sc), 4), "recordings": len(idx)}


ADAPT_MODES = ("decoder", "weights")


def adapt(net: DetectorNet, manifest: dict, recs, tr_idx, *, mode: str = "decoder", epochs: int = 4,
          seed: int = 0, lr: float = 1e-4, batch: int = 8, should_stop=None, progress=None):
    """A candidate model adapted to labeled recordings ``tr_idx``: (network, manifest, history).

    ``decoder``: the network stays; the decoder (thresholds, smoothing, boundary shifts) is chosen
    again on the labeled recordings. ``weights``: the network is fine-tuned first (batch-norm
    statistics frozen, AdamW at ``lr``, ``epochs`` epochs, as in training otherwise), then the
    decoder is chosen again. The temperatures and Score offsets are inherited."""
    import copy

    from clinaudio_gui.engine.detector.train import train_network, tune_decoder
    if mode not in ADAPT_MODES:
        raise ValueError(f"adapt mode {mode!r} must be one of {', '.join(ADAPT_MODES)}")
    prog = progress or (lambda f, s: None)
    history: list[dict] = []
    if mode == "weights":
        cfg = DetectorConfig.from_dict(manifest["architecture"])
        net, history = train_network(recs, np.asarray(tr_idx), np.zeros(0, np.int64), cfg, epochs=epochs, seed=seed,
                                     crop=384, batch=batch, lr=lr, log=lambda m: None, eval_from=None,
                                     init_state=net.state_dict(), should_stop=should_stop, freeze_bn=True,
                                     progress=lambda s, n: prog(0.8 * s / n, "fine-tuning the network"))
    if should_stop is not None and should_stop():
        return net, manifest, history
    prog(0.8, "choosing the decoder on the labeled recordings")
    t_frame = float((manifest.get("calibration") or {}).get("t_frame", 1.0))
    params, _ = tune_decoder(predict_blocks(net, recs, tr_idx), tr_idx, recs, t_frame, D.detector_settings().hop_s,
                             log=lambda m: None)
    m = copy.deepcopy(manifest)
    m["decoder"] = params.to_dict()
    if mode == "weights" and (m.get("calibration") or {}).get("event_source") == "head":
        # the event head was fitted on the old encoder's features: given events are classified by
        # the frame average until the head is refitted (detect-train --retune --event-head)
        m["calibration"]["event_source"] = "frames"
    return net, m, history


def finetune_round(versions: ModelVersions, items: list[LabeledItem], *, epochs: int = 4, seed: int = 0,
                   holdout_fraction: float = 0.3, lr: float = 1e-4, batch: int = 8, progress=None,
                   should_stop=None, threads: int = 1, cache_dir: str | Path | None = None,
                   mode: str = "decoder") -> dict:
    """One fine-tuning round; see the module docstring. ``progress(fraction, stage)``."""
    from clinaudio_gui.engine.detector.train import train_network
    t0 = time.time()
    torch.set_num_threads(max(1, threads))
    prog = progress or (lambda f, s: None)
    if not items:
        raise ClinAudioError("no finished labels to fine-tune on (mark recordings done first)",
                             path=versions.root)
    patients = sorted({it.patient for it in items})
    hold = {p for p in patients if is_holdout(p, holdout_fraction)}
    if not hold and len(patients) > 1:    # too few patients for the hash: hold back one, always the same
        hold = {min(patients, key=lambda p: hashlib.sha1(p.encode()).hexdigest())}
    if not hold or hold == set(patients):
        raise ClinAudioError(f"fine-tuning needs finished labels from at least 2 patients (one is held back "
                             f"to judge the new model); have {len(patients)}", path=versions.root)
    prog(0.02, "reading recordings")
    cache = Path(cache_dir) if cache_dir else versions.root / "features"
    recs = _recordings(items, cache)
    tr_idx = np.array([i for i, r in enumerate(recs) if r.patient not in hold], np.int64)
    ho_idx = np.array([i for i, r in enumerate(recs) if r.patient in hold], np.int64)
    cur_name = versions.current()
    cur_net, cur_m = load_net(versions.current_dir())
    prog(0.1, f"scoring {cur_name} on {len(ho_idx)} held-back recordings")
    current = judge(cur_net, cur_m, recs, ho_idx)
    if should_stop is not None and should_stop():
        return {"cancelled": True, "seconds": round(time.time() - t0, 1)}
    prog(0.15, f"adapting ({mode}) on {len(tr_idx)} recordings")
    net, cand_m, history = adapt(cur_net, cur_m, recs, tr_idx, mode=mode, epochs=epochs, seed=seed, lr=lr,
                                 batch=batch, should_stop=should_stop,
                                 progress=lambda f, st: prog(0.15 + 0.77 * f, st))
    if should_stop is not None and should_stop():
        return {"cancelled": True, "seconds": round(time.time() - t0, 1)}
    prog(0.92, "scoring the new model")
    candidate = judge(net, cand_m, recs, ho_idx)
    accepted = candidate["criterion"] > current["criterion"] + 1e-9
    version = versions.next_version()
    decision = (f"{version} in use: criterion {current['criterion']:.3f} -> {candidate['criterion']:.3f} "
                f"(event F {current['event_f']:.3f} -> {candidate['event_f']:.3f})" if accepted else
                f"{version} kept aside: it scored {candidate['criterion']:.3f}, not above "
                f"{current['criterion']:.3f} of {cur_name}")
    entry = {"base": cur_m.get("name"), "n_labels": len(tr_idx), "labels": [recs[i].audio for i in tr_idx],
             "holdout_patients": sorted(hold), "n_holdout": len(ho_idx),
             "scores": {"candidate": candidate, "current": current}, "decision": decision,
             "training": {"mode": mode, "epochs": epochs if mode == "weights" else 0, "lr": lr, "batch": batch,
                          "seed": seed, "history": history, "decoder": cand_m["decoder"],
                          "seconds": round(time.time() - t0, 1)}}
    m = {k: v for k, v in cand_m.items() if k not in STAMP_KEYS}
    base = str(cur_m.get("name", "detector")).split("+ft-")[0]
    m["name"] = f"{base}+ft-{version}"
    m["fine_tuned"] = {"parent": cur_name, "parent_name": cur_m.get("name"), **entry}
    m["fusion_weights"] = net.fusion_weights().detach().tolist()
    save_model_package(versions.root / version, {k: v for k, v in net.state_dict().items()}, m)
    versions.add(version, entry, accepted=accepted)
    versions.set_holdout_patients(set(versions.holdout_patients()) | hold)
    prog(1.0, decision)
    return {"version": version, "accepted": accepted, "candidate": candidate, "current": current,
            "current_version": cur_name, "decision": decision, "cancelled": False,
            "n_train": int(len(tr_idx)), "n_holdout": int(len(ho_idx)), "seconds": round(time.time() - t0, 1)}

