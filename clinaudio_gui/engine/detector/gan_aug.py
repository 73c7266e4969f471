"""GAN items for the detector (issue #15, "Use"): synthetic training recordings in which one or
two of a real training recording's Normal breathing cycles carry a generated adventitious sound.

The class-conditional generator (engine/gan) makes log-mel patches of an event class; Griffin-Lim
(its ``to_audio``) turns a patch as long as the host cycle into audio, which is added over that
cycle (Hann-faded edges, at a random level relative to the cycle's own RMS), and the cycle is
relabelled with the generated class; the record label follows the new events. The detector's
features of the mixed recording are computed by the same front end as for real recordings, so
the network sees a synthetic event exactly as it would see a real one, with strong labels.

Leak rule: a generator may augment a fold's training only if none of the patients that fold is
chosen on (inner validation) or scored on (test) were among its training patients
(``check_generator_patients``); ``clinaudio gan train --exclude-patients-of FOLD_DIR`` trains one
that way. A generator that does not list its training patients is refused.
"""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np

from clinaudio_gui.core.errors import ClinAudioError

CAS = ("Wheeze", "Rhonchi", "Stridor")
DAS = ("Fine Crackle", "Coarse Crackle")


def fold_patients_to_exclude(fold_dir: str | Path) -> tuple[set[str], str]:
    """The test and inner-validation patients of a detector fold package (its manifest's
    ``split``) and a description of the source, for ``gan train --exclude-patients-of``."""
    p = Path(fold_dir) / "manifest.json"
    try:
        m = json.loads(p.read_text())
        split = m["split"]
        pats = set(split["test_patients"]) | set(split["inner_val_patients"])
    except FileNotFoundError:
        raise ClinAudioError("no manifest.json: not a detector fold package", path=fold_dir) from None
    except (KeyError, TypeError, json.JSONDecodeError) as e:
        raise ClinAudioError(f"manifest has no detector split (test_patients, inner_val_patients): {e}",
                             path=p) from None
    return pats, f"{Path(fold_dir)} (split fold {split.get('fold')}: test + inner validation)"


def check_generator_patients(manifest: dict, forbidden: set[str], *, model_dir: str | Path, what: str) -> None:
    """Refuse a generator whose training patients include any of ``forbidden`` (or that does not
    list them): its samples would carry those patients' sounds into a fold that is chosen or
    scored on them."""
    seen = manifest.get("training_patients")
    if not seen:
        raise ClinAudioError("the generator's manifest does not list its training patients, so it cannot be shown "
                             f"to have left out {what}; train one with `clinaudio gan train --exclude-patients-of`",
                             path=model_dir)
    both = sorted(set(seen) & set(forbidden))
    if both:
        raise ClinAudioError(f"the generator was trained on {len(both)} of the {len(forbidden)} patients of {what} "
                             f"(e.g. {', '.join(both[:3])}): its samples would leak them into training; train one "
                             "with `clinaudio gan train --exclude-patients-of` that fold's package",
                             path=model_dir)


def record_label_of(events, base: str) -> str:
    """The SPRSound record label implied by a recording's events (CAS, DAS, CAS & DAS, Normal);
    a Poor Quality record stays Poor Quality."""
    if base == "Poor Quality":
        return base
    labels = {e[2] for e in events}
    cas = bool(labels & set(CAS)) or "Wheeze+Crackle" in labels
    das = bool(labels & set(DAS)) or "Wheeze+Crackle" in labels
    if cas and das:
        return "CAS & DAS"
    if cas:
        return "CAS"
    if das:
        return "DAS"
    return "Normal"


def share_weights(sw: np.ndarray, synthetic: np.ndarray, share: float) -> np.ndarray:
    """Draw probabilities from per-recording weights ``sw``: with synthetic recordings
    (``synthetic`` mask), they get ``share`` of the draws in all and the real ones the rest (each
    group keeping its relative weights); without any, ``sw`` normalised."""
    sw = np.asarray(sw, np.float64).copy()
    if synthetic.any():
        if not 0.0 < share < 1.0:
            raise ValueError(f"synthetic recordings in training need a share in (0, 1); got {share}")
        if synthetic.all():
            raise ValueError("training needs real recordings, not only synthetic ones")
        sw[~synthetic] *= (1.0 - share) / sw[~synthetic].sum()
        sw[synthetic] *= share / sw[synthetic].sum()
    return sw / sw.sum()


def _fade(n: int, edge: int) -> np.ndarray:
    w = np.ones(n, np.float32)
    e = min(edge, n // 2)
    if e > 0:
        ramp = np.hanning(2 * e + 2)[1:e + 1].astype(np.float32)
        w[:e], w[n - e:] = ramp, ramp[::-1]
    return w


def mix_event(y: np.ndarray, start_s: float, end_s: float, event_audio: np.ndarray, sr: int, gain_db: float,
              fade_s: float = 0.03) -> np.ndarray:
    """``y`` with ``event_audio`` added over [start_s, end_s) at ``gain_db`` relative to the RMS of
    ``y`` there (Hann-faded edges); the event audio is cut or repeated to the span's length."""
    a, b = int(round(start_s * sr)), min(len(y), int(round(end_s * sr)))
    n = b - a
    if n <= 0 or len(event_audio) == 0:
        return y
    ev = np.resize(np.asarray(event_audio, np.float32), n)
    ev = ev * _fade(n, int(fade_s * sr))
    host_rms = float(np.sqrt(np.mean(np.square(y[a:b], dtype=np.float64)))) or 1e-4
    ev_rms = float(np.sqrt(np.mean(np.square(ev, dtype=np.float64)))) or 1.0
    out = np.array(y, np.float32, copy=True)
    out[a:b] += ev * (host_rms / ev_rms) * 10.0 ** (gain_db / 20.0)
    peak = float(np.max(np.abs(out)))
    if peak > 0.999:
        out *= 0.999 / peak
    return out


def synthetic_recordings(recs, tr_idx, sampler, n: int, *, seed: int = 0, classes=None,
                         gain_db: tuple[float, float] = (-6.0, 6.0), max_events: int = 2,
                         max_cycle_s: float = 4.0, progress=None) -> list:
    """``n`` synthetic training recordings (``data.Recording`` with features and target; their
    ``audio`` names the host and ``patient`` is the host's, prefixed "gan:"). Each takes a training
    recording (``tr_idx``) with at least one Normal cycle (not Poor Quality), draws one to
    ``max_events`` of its Normal cycles no longer than ``max_cycle_s`` and, for each, a class of
    ``classes`` (default: the generator's classes other than Normal, drawn uniformly: the rare ones
    are where augmentation can matter), a patch as long as the cycle (``sample_long``), its
    Griffin-Lim audio mixed in at a level uniform in ``gain_db``; the cycle gets that label."""
    from clinaudio_gui.engine.common.frontend import compute_features
    from clinaudio_gui.engine.detector import data as D
    cls = list(classes) if classes else [c for c in sampler.classes if c != "Normal"]
    for c in cls:
        if c not in D.EVENT_LABELS or c not in sampler.classes:
            raise ValueError(f"class {c!r} is not both a detector event class and a class of the generator "
                             f"({', '.join(sampler.classes)})")
    if int(sampler.features["sample_rate_hz"]) != D.SAMPLE_RATE_HZ:
        raise ValueError(f"the generator makes {sampler.features['sample_rate_hz']} Hz audio; the detector needs "
                         f"{D.SAMPLE_RATE_HZ} Hz")
    hosts = [int(i) for i in tr_idx if recs[i].record_label != "Poor Quality" and any(
        e[2] == "Normal" and 0.2 <= e[1] - e[0] <= max_cycle_s for e in recs[i].events)]
    if not hosts:
        raise ValueError("no training recording has a Normal cycle to carry a synthetic event")
    rng = np.random.default_rng(seed)
    settings = D.detector_settings()
    sr = D.SAMPLE_RATE_HZ
    out = []
    for j in range(int(n)):
        h = recs[hosts[int(rng.integers(len(hosts)))]]
        normal = [e for e in h.events if e[2] == "Normal" and 0.2 <= e[1] - e[0] <= max_cycle_s]
        k = int(rng.integers(1, min(max_events, len(normal)) + 1))
        chosen = sorted(rng.choice(len(normal), size=k, replace=False).tolist())
        y = D.load_audio_8k(h.audio)
        events = list(h.events)
        for ci in chosen:
            s, e, _ = normal[ci]
            label = cls[int(rng.integers(len(cls)))]
            img = sampler.sample_long(label, 1, e - s, seed=int(rng.integers(1 << 31)))[0]
            ev = sampler.to_audio(img, vocoder="griffin-lim")   # the recipe measured in session 23
            y = mix_event(y, s, e, ev, sr, float(rng.uniform(*gain_db)))
            events[events.index(normal[ci])] = (s, e, label)
        feats = compute_features(y, settings).astype(np.float16)
        r = replace(h, audio=f"{h.audio}#gan{j}", patient=f"gan:{h.patient}", events=events,
                    record_label=record_label_of(events, h.record_label), features=feats,
                    target=D.frame_target(events, feats.shape[-1], settings.hop_s), synthetic=True)
        out.append(r)
        if progress is not None:
            progress(j + 1, n)
    return out


def with_gan_recordings(recs, tr_idx, va_idx, test_idx, k: int, gan_model, n: int | None, share: float,
                        seed: int, log):
    """(recordings, training indices, manifest note) with a fold's synthetic recordings added
    (gan_aug), after checking that the generator never saw the fold's validation or test patients."""
    import time
    from clinaudio_gui.engine.gan.sampler import GanSampler
    if not 0.0 < share < 1.0:
        raise ValueError(f"gan share {share}: the share of training crops from synthetic recordings, in (0, 1)")
    sampler = GanSampler.load(gan_model, device="cpu")
    forbidden = {recs[i].patient for i in np.concatenate([va_idx, test_idx])}
    check_generator_patients(sampler.manifest, forbidden, model_dir=gan_model,
                             what=f"fold {k}'s inner-validation and test patients")
    n = int(n) if n is not None else max(1, len(tr_idx) // 2)
    t0 = time.time()
    syn = synthetic_recordings(recs, tr_idx, sampler, n, seed=seed)
    counts: dict[str, int] = {}
    host = {r.audio: r for r in recs}
    for r in syn:
        before = host[r.audio.rsplit("#gan", 1)[0]].events
        for e_new, e_old in zip(r.events, before):
            if e_new != e_old:
                counts[e_new[2]] = counts.get(e_new[2], 0) + 1
    log(f"  {n} synthetic recordings from {gan_model} in {time.time() - t0:.0f} s: "
        + ", ".join(f"{c} {v}" for c, v in sorted(counts.items())))
    all_recs = list(recs) + syn
    idx = np.concatenate([np.asarray(tr_idx, np.int64), np.arange(len(recs), len(all_recs), dtype=np.int64)])
    info = {"model": str(gan_model), "weights_sha256": sampler.manifest.get("weights_sha256"),
            "recordings": n, "share_of_crops": share, "seed": seed, "events_by_class": counts,
            "leak_check": "the generator's training patients hold none of this fold's inner-validation or "
                          "test patients"}
    return all_recs, idx, info
