"""Training the detector with patient-wise k-fold cross-validation.

For every outer fold k: the other folds' patients are split (by patient) into training and an
inner validation part; the network trains on the first; the inner part picks the epoch, fits
the temperatures, the decoder parameters and the Score offsets; the outer fold's patients are
only ever used to report. Each fold's model is a complete package (``fold{k}/``) whose manifest
holds its test figures; ``cv.json`` has every fold and the mean +- std. The bundled model is
the package of one fold fixed in advance (``--bundle-fold``), so its reported figures come from
patients it never saw and were never used to choose anything.
"""
from __future__ import annotations

import json
import math
import shlex
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np
import torch

from clinaudio_gui.core.atomic import atomic_write_text
from clinaudio_gui.engine.common.data import EVENT_LABELS, RECORD_LABELS
from clinaudio_gui.engine.common.package import STAMP_KEYS, save_model_package
from clinaudio_gui.engine.detector import data as D
from clinaudio_gui.engine.detector import scoring as S
from clinaudio_gui.engine.detector.calibrate import (_decode_all, _ref_events, _val_criterion,  # noqa: F401
                                                     evaluate_outputs, fit_calibration, tune_decoder)
from clinaudio_gui.engine.detector.event_fit import _arr, event_probs, fit_event_head, with_event_head  # noqa: F401
from clinaudio_gui.engine.detector.mixup import ALPHA as MIXUP_ALPHA, mix_batch, mixed_loss
from clinaudio_gui.engine.detector.model import DetectorConfig, DetectorNet, detector_loss
from clinaudio_gui.engine.detector.proposal_fit import TARGETS, ProposalSearch, decoder_params, fit_proposal_decoder
from clinaudio_gui.engine.detector.schedule import TimedOneCycle
from clinaudio_gui.engine.detector.summary import KIND, aggregate, bundle_fold, summarize  # noqa: F401 (re-exported)

RARE = {"Stridor": 4.0, "Rhonchi": 4.0, "Wheeze+Crackle": 4.0, "Coarse Crackle": 3.0, "Wheeze": 1.5,
        "Fine Crackle": 1.2}


def _weights_from_counts(counts: np.ndarray) -> torch.Tensor:
    w = 1.0 / np.sqrt(np.maximum(counts, 1))
    w = w / (w * counts).sum() * counts.sum()
    return torch.tensor(w, dtype=torch.float32)


def _spec_augment(x: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    B, C, F, T = x.shape
    for b in range(B):
        for c in range(C):
            f = int(rng.integers(0, 9))
            f0 = int(rng.integers(0, F - f + 1))
            x[b, c, f0:f0 + f] = 0
        t = int(rng.integers(0, max(1, T // 20)))
        t0 = int(rng.integers(0, T - t + 1))
        x[b, :, :, t0:t0 + t] = 0
    return x


def boundary_weights(target: np.ndarray, weight: float, sigma_frames: float = 6.0) -> np.ndarray:
    """Per-frame loss weights 1 + weight * exp(-d^2 / 2 sigma^2), d = frames to the nearest change
    of the frame target (an event's onset or offset): the loss insists on where events begin and
    end, which is what the event metric's 0.2 s collar judges."""
    n = len(target)
    ch = np.flatnonzero(np.diff(target) != 0) + 0.5
    if weight <= 0 or n == 0 or len(ch) == 0:
        return np.ones(n, np.float32)
    pos = np.arange(n)
    j = np.clip(np.searchsorted(ch, pos), 1, len(ch)) - 1
    d = np.minimum(np.abs(pos - ch[j]), np.abs(pos - ch[np.minimum(j + 1, len(ch) - 1)]))
    return (1.0 + weight * np.exp(-0.5 * (d / sigma_frames) ** 2)).astype(np.float32)


def _batch(recs, idx, crop: int, rng: np.random.Generator | None, boundary_weight: float = 0.0,
           offsets: list | None = None):
    """A training batch of random crops; ``offsets`` (a list): each crop's first frame is appended."""
    B = len(idx)
    lens = [recs[i].features.shape[-1] for i in idx]
    L = crop if crop else max(lens)
    x = np.zeros((B, 2, recs[idx[0]].features.shape[1], L), np.float32)
    yt = np.zeros((B, L), np.int64)
    m = np.zeros((B, L), bool)
    w = np.ones((B, L), np.float32)
    for b, i in enumerate(idx):
        f, t = recs[i].features, recs[i].target
        n = f.shape[-1]
        a = int(rng.integers(0, n - L + 1)) if (rng is not None and n > L) else 0
        if offsets is not None:
            offsets.append(a)
        k = min(L, n - a)
        x[b, :, :, :k] = f[:, :, a:a + k]
        yt[b, :k] = t[a:a + k]
        m[b, :k] = True
        if boundary_weight > 0:
            w[b, :k] = boundary_weights(t, boundary_weight)[a:a + k]
    r = np.array([recs[i].record_index for i in idx], np.int64)
    return tuple(torch.from_numpy(a) for a in ((x, yt, m, r, w) if boundary_weight > 0 else (x, yt, m, r)))


@torch.inference_mode()
def predict(net: DetectorNet, recs, idx, seqs: list | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """(frame logits (T, 8), record logits (5,)) per recording, whole recording at once; with
    ``seqs`` (a list) the sequences the event head pools are appended to it (``return_seq``)."""
    net.eval()
    dev = next(net.parameters()).device
    out = []
    with torch.no_grad():
        for i in idx:
            x = torch.from_numpy(recs[i].features.astype(np.float32))[None].to(dev)
            f, r, _, _, *h = net(x, return_seq=seqs is not None)
            out.append((f[0].cpu().numpy(), r[0].cpu().numpy()))
            if seqs is not None:
                seqs.append(h[0][0].cpu().numpy())
    return out


def _sampling_weights(recs, tr_idx, synthetic_share: float = 0.0) -> np.ndarray:
    """How often training draws each recording: by its rarest event's class (``RARE``). With
    synthetic recordings among ``tr_idx`` (``gan_aug``) and ``synthetic_share`` > 0, they get that
    share of the draws in all and the real ones the rest (each group weighted by ``RARE`` within)."""
    from clinaudio_gui.engine.detector.gan_aug import share_weights
    sw = np.array([max([RARE.get(e[2], 1.0) for e in recs[i].events], default=1.0) for i in tr_idx])
    return share_weights(sw, np.array([bool(recs[i].synthetic) for i in tr_idx], bool), synthetic_share)


@torch.no_grad()
def update_batchnorm(net: DetectorNet, recs, tr_idx, *, crop: int = 384, seed: int = 0, batch: int = 16,
                     augment: bool = True) -> int:
    """Re-estimate every BatchNorm layer's running mean and variance on training data, as
    stochastic weight averaging does after averaging weights (torch.optim.swa_utils.update_bn):
    the statistics are reset, then accumulated as an equal-weight average (momentum None) over
    one epoch of the batches training draws (the same sampling by rare class, random crops of
    ``crop`` frames and, with ``augment``, the same SpecAugment). Only the running statistics
    change; the weights do not. Returns the number of batches."""
    bns = [m for m in net.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not bns:
        raise ValueError("the network has no BatchNorm layer")
    in_branches = {id(m) for m in net.branches.modules()}
    if any(id(b) not in in_branches for b in bns):
        raise ValueError("a BatchNorm layer outside the convolutional branches: update_batchnorm runs only those")
    momenta = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None
    rng = np.random.default_rng(seed)
    dev = next(net.parameters()).device
    order = rng.choice(tr_idx, size=len(tr_idx), replace=True, p=_sampling_weights(recs, tr_idx))
    was_training = net.training
    net.train()
    n = 0
    try:
        for s in range(0, len(order), batch):
            x, *_ = _batch(recs, order[s:s + batch], crop, rng)
            if augment:
                x = _spec_augment(x, rng)
            x = x.to(dev)
            for i, br in enumerate(net.branches):   # the BatchNorm layers are all in the branches
                br(x[:, i:i + 1])
            n += 1
    finally:
        for m, mo in zip(bns, momenta):
            m.momentum = mo
        net.train(was_training)
    return n


def train_network(recs, tr_idx, va_idx, cfg: DetectorConfig, *, epochs: int, seed: int, crop: int = 448,
                  batch: int = 16, lr: float = 3e-3, log=print, device="cpu", eval_from: int | None = 4,
                  ckpt: Path | None = None, init_state: dict | None = None,
                  should_stop=None, progress=None, freeze_bn: bool = False, train_encoder: bool = True,
                  frame_weights: torch.Tensor | None = None, record_weights: torch.Tensor | None = None,
                  boundary_weight: float = 0.0, time_budget_s: float | None = None,
                  edge_weight: float = 0.0, swa: bool = False, extra_loss=None,
                  snapshots: list | None = None, synthetic_share: float = 0.0,
                  mixup: float = 0.0) -> tuple[DetectorNet, list[dict]]:
    """Train (or, with ``init_state``, continue training / fine-tune) a detector network.
    The epoch kept is the best on ``va_idx`` by the validation criterion (``eval_from=None``: no
    validation, the last epoch is kept); ``should_stop()`` (optional) is polled between steps and
    ends training early (the best state so far is kept); ``progress(step, total_steps)``;
    ``boundary_weight`` > 0 weighs the frames near onsets / offsets more (``boundary_weights``);
    ``time_budget_s``: the one-cycle schedule runs over that much wall-clock time instead of
    ``epochs`` (then a ceiling) and training stops when it is spent (e.g. on a lent GPU whose
    speed is not known in advance); validation time counts. ``edge_weight`` > 0: an onset / offset
    head is trained with the network (``edges.joint_edge_loss`` x the weight joins the loss), so that
    the encoder learns the experts' boundaries; the head itself is not kept.

    ``swa``: stochastic weight averaging by design (Izmailov et al. 2018, cyclical schedule): the
    learning rate follows a cosine from ``lr`` at every epoch's first step to ``lr`` / 100 at its
    last (``_cycle_factor``, one cycle per epoch), the weights at every epoch's end (the
    low point of its cycle) join a uniform average (``torch.optim.swa_utils.AveragedModel``), returned with
    BatchNorm statistics re-estimated on ``tr_idx`` (``update_batchnorm``); no epoch picked; ``snapshots``
    (a list, optional) receives each epoch end's parameters (CPU copies), e.g. to check the average.

    ``synthetic_share``: the share of draws from ``tr_idx``'s synthetic recordings (gan_aug); loss
    class weights, epoch length and BatchNorm re-estimation come from the real ones alone.
    ``extra_loss(frame logits, recording indices, crop offsets, mask, target)`` joins the loss (distill).
    ``mixup``: the share of batches mixed with a shuffled copy of themselves (``mixup.mix_batch``)."""
    if swa and time_budget_s is not None:
        raise ValueError("swa averages whole epochs: it cannot run over a time budget")
    if mixup and (edge_weight > 0 or extra_loss is not None):
        raise ValueError("mixup mixes the inputs: the edge head's or an extra loss's targets would not be mixed")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    hop_s = D.detector_settings().hop_s
    net = DetectorNet(cfg).to(device)
    if init_state is not None:
        net.load_state_dict(init_state)
    real_idx = np.array([i for i in tr_idx if not recs[i].synthetic], np.int64)
    fc = np.bincount(np.concatenate([recs[i].target for i in real_idx]), minlength=cfg.n_frame_classes)
    rc = np.bincount([recs[i].record_index for i in real_idx], minlength=cfg.n_record_classes)
    fw = (frame_weights if frame_weights is not None else _weights_from_counts(fc)).to(device)
    rw = (record_weights if record_weights is not None else _weights_from_counts(rc)).to(device)
    if not train_encoder:   # fine-tuning on few recordings: the convolutional branches stay as they are
        for p in net.branches.parameters():
            p.requires_grad_(False)
    sw = _sampling_weights(recs, tr_idx, synthetic_share)
    steps_per_epoch = int(math.ceil(len(real_idx) / batch))
    edge_head = None
    if edge_weight > 0:
        from clinaudio_gui.engine.detector.edges import joint_edge_head, joint_edge_loss
        edge_head = joint_edge_head(cfg).to(device).train()
    params = [p for p in net.parameters() if p.requires_grad] + ([] if edge_head is None else list(edge_head.parameters()))
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=1e-3)
    t_start = time.time()
    swa_model = None
    if swa:
        from torch.optim.swa_utils import AveragedModel
        sched = torch.optim.lr_scheduler.LambdaLR(opt, partial(_cycle_factor, steps=steps_per_epoch))
        swa_model = AveragedModel(net)
        eval_from = None
    elif time_budget_s is None:
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * steps_per_epoch,
                                                    pct_start=0.2)
    else:
        sched = TimedOneCycle(opt, lr, t_start, time_budget_s)
    history, best, best_state = [], -1.0, None

    def validate(row: dict) -> None:
        """The validation criterion into ``row``; the weights kept when it is the best so far."""
        nonlocal best, best_state
        crit, f, sc = _val_criterion(predict(net, recs, va_idx), va_idx, recs, hop_s)
        row.update({"val_event_f": round(f, 4), "val_2_2_score": round(sc, 4), "val_criterion": round(crit, 4)})
        if crit > best:
            best = crit
            best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
            row["best"] = True
    for ep in range(1, epochs + 1):
        net.train()
        if freeze_bn:   # small fine-tuning batches must not overwrite the batch-norm statistics
            for mod in net.modules():
                if isinstance(mod, torch.nn.modules.batchnorm._BatchNorm):
                    mod.eval()
        t0 = time.time()
        losses, edge_losses = [], []
        order = rng.choice(tr_idx, size=len(real_idx), replace=True, p=sw)
        for s in range(steps_per_epoch):
            bidx = order[s * batch:(s + 1) * batch]
            if len(bidx) == 0:
                continue
            if should_stop is not None and should_stop():
                break
            if time_budget_s is not None and sched.spent():
                break
            offs = [] if edge_head is not None or extra_loss is not None else None
            x, yt, m, r, *bw = _batch(recs, bidx, crop, rng, boundary_weight, offsets=offs)
            bw = bw[0].to(device) if bw else None
            x, mix = mix_batch(_spec_augment(x, rng), rng, mixup)
            x, yt, m, r = x.to(device), yt.to(device), m.to(device), r.to(device)
            f, rl, aux, _, *seq = net(x, m, return_seq=edge_head is not None)
            loss, parts = mixed_loss(detector_loss, mix, f, rl, aux, yt, r, m, frame_weights=fw, record_weights=rw,
                                     frame_loss_weights=bw)
            if edge_head is not None:
                el = joint_edge_loss(edge_head, seq[0], f, [recs[i].events for i in bidx], offs, m, hop_s)
                loss = loss + edge_weight * el
                edge_losses.append(float(el.detach()))
            loss = loss if extra_loss is None else loss + extra_loss(f, bidx, offs, m, yt)
            lr_used = opt.param_groups[0]["lr"]
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 5.0)   # (the joint edge head's too, when there is one)
            opt.step()
            sched.step()
            losses.append(float(loss.detach()))
            if progress is not None:
                progress((ep - 1) * steps_per_epoch + s + 1, epochs * steps_per_epoch)
        stopped = should_stop is not None and should_stop()
        out_of_time = time_budget_s is not None and sched.spent()
        if not losses and history and (stopped or out_of_time):
            # stopped before this epoch's first step: no new epoch, but the last one is validated
            # if it was not (the weights are its weights)
            last = history[-1]
            if eval_from is not None and not stopped and "val_criterion" not in last:
                validate(last)
                log(f"  epoch {last['epoch']}/{epochs} (validated at the stop) {json.dumps(last)}")
            break
        row = {"epoch": ep, "loss": round(float(np.mean(losses)) if losses else float("nan"), 4),
               "seconds": round(time.time() - t0, 1)}
        if edge_losses:
            row["edge_loss"] = round(float(np.mean(edge_losses)), 4)
        if swa_model is not None and losses:
            row["last_step_lr"] = float(f"{lr_used:.3g}")
            swa_model.update_parameters(net)
            row["averaged"] = int(swa_model.n_averaged)
            if snapshots is not None:
                snapshots.append({k: v.detach().cpu().clone() for k, v in net.named_parameters()})
            best_state = _with_parameters(net, swa_model.module)   # the checkpoint holds the average so far
        late = time_budget_s is None or out_of_time or sched.fraction() >= 0.5   # timed: no checks near the peak
        if eval_from is not None and not stopped and late and (ep >= eval_from or ep == epochs or out_of_time):
            validate(row)
        history.append(row)
        log(f"  epoch {ep}/{epochs} {json.dumps(row)}")
        if ckpt is not None and best_state is not None:
            from safetensors.torch import save_file  # a checkpoint is tensors too: no pickle
            save_file({k: v.contiguous() for k, v in best_state.items()}, str(ckpt))
            atomic_write_text(ckpt.with_suffix(".json"), json.dumps(history) + "\n")
        if stopped or out_of_time:
            break
    if best_state is not None:
        net.load_state_dict(best_state)
    if swa_model is not None and best_state is not None:
        update_batchnorm(net, recs, real_idx, crop=crop, seed=seed, batch=batch)
        history[-1]["bn_reestimated"] = True
        log(f"  weights averaged over {int(swa_model.n_averaged)} epoch ends; BatchNorm statistics re-estimated "
            f"on {len(real_idx)} training recordings")
    return net.eval(), history


def _cycle_factor(step: int, steps: int, low: float = 0.01) -> float:
    """SWA's cyclical schedule as a factor of the peak learning rate: a cosine from 1 at an
    epoch's first step to ``low`` at its last (``steps`` steps an epoch), then again."""
    i = step % steps
    return 1.0 if steps < 2 else low + (1.0 - low) * (1.0 + math.cos(math.pi * i / (steps - 1))) / 2.0


def _with_parameters(net: torch.nn.Module, src: torch.nn.Module) -> dict:
    """``net``'s state with the parameters of ``src`` (same architecture); buffers are ``net``'s."""
    state = {k: v.detach().clone() for k, v in net.state_dict().items()}
    for k, v in src.named_parameters():
        state[k] = v.detach().clone()
    return state


def package_tensors(net: DetectorNet) -> dict[str, torch.Tensor]:
    return {k: v for k, v in net.state_dict().items()}


def fold_indices(recs, m: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(training, inner-validation, test) indices into ``recs`` of a fold package's split
    (manifest ``m``): its test and inner-validation patients, and everyone else for training."""
    test_p, val_p = set(m["split"]["test_patients"]), set(m["split"]["inner_val_patients"])
    va_idx = np.array([i for i, r in enumerate(recs) if r.patient in val_p])
    te_idx = np.array([i for i, r in enumerate(recs) if r.patient in test_p])
    tr_idx = np.array([i for i, r in enumerate(recs) if r.patient not in test_p and r.patient not in val_p])
    return tr_idx, va_idx, te_idx


def package_task_probs(net: DetectorNet, calib: dict, recs, idx, hop_s: float,
                       task: str = "1-2") -> tuple[list, np.ndarray, list]:
    """What a fold package decides a task from, on recordings ``idx``: (fine labels, fine-class
    probabilities, patient of each item). Event tasks (1-1 / 1-2): the expert events, (n, 7)
    probabilities from ``event_probs`` with the package's calibration; record tasks (2-1 / 2-2):
    the recordings, (n, 5) temperature-scaled record-head probabilities."""
    seqs = []
    outs = predict(net, recs, idx, seqs)
    labels, probs, who = [], [], []
    if S.TASKS[task]["level"] == "record":
        for (_, rl), i in zip(outs, idx):
            probs.append(S.softmax(rl / calib["t_record"])[None])
            labels.append(recs[i].record_label)
            who.append(recs[i].patient)
        return labels, (np.concatenate(probs) if probs else np.zeros((0, len(RECORD_LABELS)))), who
    for (fl, rl), h, i in zip(outs, seqs, idx):
        r = recs[i]
        if r.events:
            probs.append(event_probs(net, calib, S.softmax(fl / calib["t_frame"]), S.softmax(rl / calib["t_record"]),
                                     h, r.events, hop_s))
            labels += [e[2] for e in r.events]
            who += [r.patient] * len(r.events)
    return labels, (np.concatenate(probs) if probs else np.zeros((0, len(EVENT_LABELS)))), who


def untuned_manifest(m: dict, **training_notes) -> dict:
    """A fold package's manifest for changed weights that the retune must refit (soup, BatchNorm
    update): no stamps, no figures, ``needs_retune``; ``training_notes`` join ``training``."""
    out = {k: v for k, v in m.items() if k not in STAMP_KEYS + ("metrics", "metrics_full", "validation_metrics")}
    out["training"] = {**{k: v for k, v in m.get("training", {}).items() if k != "retuned"}, **training_notes}
    out["needs_retune"] = True
    out["metrics"] = {}
    return out


def fit_and_score(net, recs, va_idx, test_idx, hop_s: float, log=print, tr_idx=None, keep: dict | None = None,
                  proposals=False, edges: bool = False):
    """Calibration, decoder and record-label source chosen on the validation recordings only,
    then every figure of the test recordings: (calib, decoder, record_source, test, validation,
    network; the network carries the proposal scorer when one was fitted and kept).
    With ``tr_idx`` and an event head, the head is fitted on those recordings' events. ``keep``
    (a fold manifest): its temperatures, offsets and decoder stay (they were chosen on the same
    validation patients with the same weights), only the event head is fitted. ``proposals`` (with
    ``tr_idx``): the proposal decoder is fitted and replaces the decoder where validation prefers it
    (a tuple: the training targets to try, proposal_fit.TARGETS by default; a ProposalSearch: the
    narrowed search, proposal_fit.ProposalSearch); with ``edges`` an edge
    head is fitted first and the proposal scorers see its activity (edges.py)."""
    va_seqs: list = []
    va_out = predict(net, recs, va_idx, seqs=va_seqs)
    if keep is not None:
        calib = {k: v for k, v in keep["calibration"].items() if k in ("t_frame", "t_record", "proposals")}
        calib["offsets"] = dict(keep["calibration"]["offsets"])
        params = decoder_params(net, keep["decoder"])
    else:
        calib, params = fit_calibration(va_out, va_idx, recs, hop_s, log=log)
    tr_out = tr_seqs = None
    if tr_idx is not None and (hasattr(net, "event_head") or (proposals and edges)):
        tr_seqs = []
        tr_out = predict(net, recs, tr_idx, seqs=tr_seqs)
    if tr_idx is not None and hasattr(net, "event_head"):
        calib["event_head"] = fit_event_head(net, recs, tr_idx, tr_out, tr_seqs, va_out, va_seqs, va_idx, calib,
                                             hop_s, log=log)
    if proposals and tr_idx is not None:
        net, params, calib["proposals"] = fit_proposal_decoder(
            net, recs, tr_idx, tr_out if tr_out is not None else predict(net, recs, tr_idx), va_idx, va_out,
            calib["t_frame"], params, hop_s, log=log, targets=proposals if isinstance(proposals, tuple) else TARGETS,
            search=proposals if isinstance(proposals, ProposalSearch) else None,
            tr_seqs=tr_seqs if edges else None, va_seqs=va_seqs if edges else None)
    te_seqs: list = []
    te_out = predict(net, recs, test_idx, seqs=te_seqs)
    metrics = evaluate_outputs(te_out, test_idx, recs, calib, params, hop_s, seqs=te_seqs, net=net)
    val_metrics = evaluate_outputs(va_out, va_idx, recs, calib, params, hop_s, seqs=va_seqs, net=net)
    # record labels: head or decoded events, whichever scores higher on validation
    head = val_metrics["tasks"]["2-2"]["score"]
    from_ev = val_metrics["tasks_record_from_events"]["2-2"]["score"]
    record_source = "head" if head >= from_ev else "events"
    metrics["record_source"] = record_source
    return calib, params, record_source, metrics, val_metrics, net


def run_cv(data_dir: str | Path, out_dir: str | Path, *, folds: int = 5, epochs: int = 14, seed: int = 0,
           threads: int = 2, cache_dir: str | Path | None = "runs/cache", only_folds=None,
           widths=(12, 24, 32), crop: int = 448, lr: float = 3e-3, init_from: str | Path | None = None,
           boundary_weight: float = 0.0, device: str = "cpu", time_budget_s: float | None = None,
           train_only: bool = False, workers: int = 1, edges: bool = False, inner: str = "random",
           edge_weight: float = 0.0, swa: bool = False, gan_model: str | Path | None = None,
           gan_recordings: int | None = None, gan_share: float = 0.25, train_seed: int | None = None,
           mixup: float = 0.0, log=print) -> dict:
    """``train_only``: each fold's package holds the trained network and its split, not yet
    calibrated or scored (``retune_cv`` with ``event_head`` and ``proposals`` does that search
    later, e.g. on another machine); ``time_budget_s``: see ``train_network``; ``inner``: the
    inner validation split (``data.inner_split``'s ``kind``); ``edge_weight``, ``swa``, ``mixup``:
    ``train_network``'s. ``gan_model``, ``gan_recordings``, ``gan_share``: GAN items (``gan_aug.with_gan_recordings``);
    ``train_seed``: the network's seed (+ fold) when it should differ from the split's ``seed``."""
    torch.set_num_threads(threads)
    from clinaudio_gui.metrics.events import _sed_eval
    _sed_eval()   # import sed_eval now: a package manager touching site-packages later cannot break the run
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    recs = D.scan_recordings(data_dir)
    D.load_features(recs, cache_dir=cache_dir, workers=workers)
    fold = D.patient_kfold(recs, folds, seed=seed)
    hop_s = D.detector_settings().hop_s
    cfg = DetectorConfig(widths=tuple(widths))
    command = "clinaudio detect-train " + " ".join(shlex.quote(a) for a in sys.argv[2:]) \
        if len(sys.argv) > 1 and sys.argv[1] == "detect-train" else " ".join(shlex.quote(a) for a in sys.argv)
    results = {}
    for k in range(folds):
        if only_folds is not None and k not in only_folds:
            continue
        fdir = out / f"fold{k}"
        if (fdir / "manifest.json").is_file():
            log(f"fold {k}: already trained, reading {fdir}")
            results[k] = json.loads((fdir / "manifest.json").read_text())["metrics"]
            continue
        test_idx = np.flatnonzero(fold == k)
        rest = np.flatnonzero(fold != k)
        tr_idx, va_idx = D.inner_split(recs, rest, seed=seed + k, kind=inner)
        log(f"fold {k}: train {len(tr_idx)} rec / val {len(va_idx)} / test {len(test_idx)} "
            f"({len({recs[i].patient for i in test_idx})} test patients)")
        t0 = time.time()
        init_state = None
        if init_from is not None:   # continue the same fold's model (trained on the same patients)
            init_net, init_m = _load_net(Path(init_from) / f"fold{k}")
            if sorted(init_m["split"]["test_patients"]) != sorted({recs[i].patient for i in test_idx}):
                raise ValueError(f"{init_from}/fold{k} was trained with another split: cannot continue it")
            cfg = DetectorConfig.from_dict(init_m["architecture"])
            init_state = init_net.state_dict()
            log(f"  continuing from {init_from}/fold{k} ({init_m['training']['epochs']} epochs)")
        train_recs, train_idx, gan_info = recs, tr_idx, None
        if gan_model is not None:
            from clinaudio_gui.engine.detector.gan_aug import with_gan_recordings
            train_recs, train_idx, gan_info = with_gan_recordings(recs, tr_idx, va_idx, test_idx, k, gan_model,
                                                                  gan_recordings, gan_share, seed + k, log)
        ts = seed if train_seed is None else train_seed
        net, history = train_network(train_recs, train_idx, va_idx, cfg, epochs=epochs, seed=ts + k, crop=crop,
                                     log=log, ckpt=out / f"fold{k}.ckpt.safetensors", lr=lr, init_state=init_state,
                                     boundary_weight=boundary_weight, device=device,
                                     eval_from=1 if init_state is not None else 4, time_budget_s=time_budget_s,
                                     edge_weight=edge_weight, swa=swa, mixup=mixup,
                                     synthetic_share=gan_share if gan_info else 0.0)
        del train_recs
        net = net.cpu()   # calibration, heads and decoders are fitted on the CPU
        training = {"data": str(data_dir), "epochs": len(history), "crop_frames": crop, "history": history,
                    "lr": lr, "continued_from": None if init_from is None else str(init_from),
                    "boundary_weight": boundary_weight, "edge_loss_weight": edge_weight, "device": device,
                    "time_budget_s": time_budget_s, "gan_augment": gan_info, "train_seed": ts + k,
                    "mixup": None if not mixup else {"batch_share": mixup, "beta_alpha": MIXUP_ALPHA},
                    "swa": None if not swa else {"schedule": "cosine lr -> lr/100 within every epoch",
                                                 "averaged_epoch_ends": len(history),
                                                 "batchnorm": "re-estimated on the training patients"},
                    "minutes": round((time.time() - t0) / 60, 1), "command": command}
        split = {"kind": "patient-wise k-fold (StratifiedGroupKFold)", "folds": folds, "fold": k,
                 "seed": seed, "inner_split": inner, "test_patients": sorted({recs[i].patient for i in test_idx}),
                 "inner_val_patients": sorted({recs[i].patient for i in va_idx})}
        if train_only:
            manifest = {"kind": KIND, "name": f"detector-fold{k}", "frame_classes": D.FRAME_CLASSES,
                        "event_classes": list(EVENT_LABELS), "record_classes": list(RECORD_LABELS),
                        "features": D.detector_settings().to_dict(), "architecture": net.cfg.to_dict(),
                        "fusion_weights": net.fusion_weights().detach().tolist(), "split": split,
                        "training": training, "metrics": {}, "needs_retune": True}
            save_model_package(fdir, package_tensors(net), manifest)
            log(f"fold {k}: trained ({len(history)} epochs, {training['minutes']} min); not yet calibrated")
            results[k] = {}
            continue
        net = with_event_head(net)
        calib, params, record_source, metrics, val_metrics, net = fit_and_score(net, recs, va_idx, test_idx, hop_s, log,
                                                                           tr_idx=tr_idx, proposals=True, edges=edges)
        summary = summarize(metrics)
        log(f"fold {k} test: {json.dumps(summary)} ({(time.time() - t0) / 60:.1f} min)")
        manifest = {
            "kind": KIND, "name": f"detector-fold{k}",
            "frame_classes": D.FRAME_CLASSES, "event_classes": list(EVENT_LABELS),
            "record_classes": list(RECORD_LABELS),
            "features": D.detector_settings().to_dict(), "architecture": net.cfg.to_dict(),
            "fusion_weights": net.fusion_weights().detach().tolist(),
            "calibration": calib, "decoder": params.to_dict(), "record_source": record_source,
            "window": {"max_frames": 1024, "hop_frames": 512},
            "split": split, "training": {**training, "minutes": round((time.time() - t0) / 60, 1)},
            "metrics": summary, "metrics_full": metrics, "validation_metrics": summarize(val_metrics),
        }
        save_model_package(fdir, package_tensors(net), manifest)
        results[k] = summary
    cv = aggregate(results)
    atomic_write_text(out / "cv.json", json.dumps({"folds": results, "mean_std": cv}, indent=2) + "\n")
    return {"folds": results, "mean_std": cv}


def _load_net(fdir: Path) -> tuple[DetectorNet, dict]:
    from clinaudio_gui.engine.common.package import load_model_package
    tensors, m = load_model_package(fdir, kind=KIND)
    net = DetectorNet(DetectorConfig.from_dict(m["architecture"]))
    net.load_state_dict(tensors)
    return net.eval(), m


def retune_cv(data_dir: str | Path, out_dir: str | Path, *, threads: int = 2, cache_dir="runs/cache",
              only_folds=None, event_head: bool = False, keep_decoder: bool = False, proposals=False,
              edges: bool = False, log=print) -> dict:
    """Refit calibration and decoder of trained fold packages on their own inner-validation
    patients (the weights stay) and re-score their test patients: for decoder changes that need
    no retraining. Same selection rule as training: nothing is chosen on test patients.
    ``event_head``: add an event head to packages without one (a package with one is refitted);
    ``keep_decoder``: keep the temperatures, offsets and decoder of the manifest (same weights,
    same validation patients: the search would choose them again), only fit the event head;
    ``proposals``: fit the proposal decoder (kept where validation prefers it; a tuple: the targets;
    a ProposalSearch: the narrowed search);
    ``edges`` (with ``proposals``): with an edge head (edges.py) whose activity its scorers see."""
    torch.set_num_threads(threads)
    from clinaudio_gui.metrics.events import _sed_eval
    _sed_eval()
    out = Path(out_dir)
    recs = D.scan_recordings(data_dir)
    D.load_features(recs, cache_dir=cache_dir)
    hop_s = D.detector_settings().hop_s
    results = {}
    for fdir in sorted(out.glob("fold*/manifest.json")):
        fdir = fdir.parent
        k = int(fdir.name[4:])
        if only_folds is not None and k not in only_folds:
            results[k] = json.loads((fdir / "manifest.json").read_text())["metrics"]
            continue
        net, m = _load_net(fdir)
        tr_idx, va_idx, te_idx = fold_indices(recs, m)
        if event_head:
            net = with_event_head(net)
        log(f"fold {k}: retune on {len(va_idx)} validation recordings, score {len(te_idx)} test recordings")
        calib, params, record_source, metrics, val_metrics, net = fit_and_score(
            net, recs, va_idx, te_idx, hop_s, log,
            tr_idx=tr_idx if (hasattr(net, "event_head") or proposals) else None,
            keep=m if keep_decoder else None, proposals=proposals, edges=edges)
        summary = summarize(metrics)
        log(f"fold {k} test: {json.dumps(summary)}")
        m = {key: v for key, v in m.items() if key not in STAMP_KEYS}
        m.update({"calibration": calib, "decoder": params.to_dict(), "record_source": record_source,
                  "architecture": net.cfg.to_dict(), "metrics": summary, "metrics_full": metrics, "validation_metrics": summarize(val_metrics)})
        m.setdefault("training", {})["retuned"] = True
        m.pop("needs_retune", None)
        save_model_package(fdir, package_tensors(net), m)
        results[k] = summary
    cv = aggregate(results)
    atomic_write_text(out / "cv.json", json.dumps({"folds": results, "mean_std": cv}, indent=2) + "\n")
    return {"folds": results, "mean_std": cv}
