"""A learning-rate schedule over wall-clock time (training on a lent machine of unknown speed)."""
from __future__ import annotations

import math
import time


class TimedOneCycle:
    """OneCycleLR's shape (cosine warm-up over the first 20 %, cosine annealing, the same start
    and final factors) over wall-clock time instead of steps."""

    def __init__(self, opt, max_lr: float, t_start: float, budget_s: float, pct_start: float = 0.2):
        self.opt, self.max_lr, self.t0, self.budget, self.pct = opt, max_lr, t_start, budget_s, pct_start
        self._set(self.lr_at(0.0))

    def lr_at(self, frac: float) -> float:
        lo, end = self.max_lr / 25.0, self.max_lr / 25.0 / 1e4
        if frac < self.pct:
            a, b, x = lo, self.max_lr, frac / self.pct
        else:
            a, b, x = self.max_lr, end, min(1.0, (frac - self.pct) / (1.0 - self.pct))
        return b + (a - b) * (1.0 + math.cos(math.pi * x)) / 2.0

    def fraction(self) -> float:
        return (time.time() - self.t0) / self.budget

    def spent(self) -> bool:
        return self.fraction() >= 1.0

    def _set(self, lr: float) -> None:
        for g in self.opt.param_groups:
            g["lr"] = lr

    def step(self) -> None:
        self._set(self.lr_at(self.fraction()))
