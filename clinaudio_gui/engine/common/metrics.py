"""The SPRSound challenge score, macro F1 and the confusion matrix. No torch (plain numpy)."""
from __future__ import annotations

import numpy as np


def confusion_matrix(y_true, y_pred, n_classes: int) -> np.ndarray:
    """rows = true class, columns = predicted class."""
    cm = np.zeros((n_classes, n_classes), dtype=np.int64)
    for t, p in zip(y_true, y_pred):
        cm[int(t), int(p)] += 1
    return cm


def sprsound_scores(cm, *, normal_index: int = 0) -> dict:
    """SP = correct Normal / all Normal; SE = correct non-Normal (exact class) / all non-Normal;
    AS = (SE+SP)/2; HS = 2 SE SP / (SE+SP); Score = (AS+HS)/2. Empty parts count as 0."""
    cm = np.asarray(cm, dtype=np.float64)
    n = cm.shape[0]
    normal_total = cm[normal_index].sum()
    sp = cm[normal_index, normal_index] / normal_total if normal_total > 0 else 0.0
    others = [i for i in range(n) if i != normal_index]
    abn_total = sum(cm[i].sum() for i in others)
    se = sum(cm[i, i] for i in others) / abn_total if abn_total > 0 else 0.0
    as_ = (se + sp) / 2
    hs = 2 * se * sp / (se + sp) if (se + sp) > 0 else 0.0
    return {"se": float(se), "sp": float(sp), "as": float(as_), "hs": float(hs), "score": float((as_ + hs) / 2)}


def macro_f1(cm) -> float:
    """Mean F1 over the classes that occur (true or predicted); absent classes are skipped."""
    cm = np.asarray(cm, dtype=np.float64)
    f1s = []
    for k in range(cm.shape[0]):
        tp = cm[k, k]
        support = cm[k].sum()
        predicted = cm[:, k].sum()
        if support == 0 and predicted == 0:
            continue
        prec = tp / predicted if predicted > 0 else 0.0
        rec = tp / support if support > 0 else 0.0
        f1s.append(2 * prec * rec / (prec + rec) if (prec + rec) > 0 else 0.0)
    return float(np.mean(f1s)) if f1s else 0.0


def all_metrics(y_true, y_pred, labels: list[str]) -> dict:
    cm = confusion_matrix(y_true, y_pred, len(labels))
    out = sprsound_scores(cm, normal_index=labels.index("Normal") if "Normal" in labels else 0)
    out["macro_f1"] = macro_f1(cm)
    out["accuracy"] = float(np.trace(cm) / max(1, cm.sum()))
    out["labels"] = list(labels)
    out["confusion"] = cm.tolist()
    out["n"] = int(cm.sum())
    return out
