"""Learning-rate schedules as multipliers of the base learning rate.

Every schedule is a callable `factor(t) -> float` where t = 0, 1, 2, ... counts optimizer steps
(iterations, not epochs; multiply by iterations-per-epoch to schedule in epochs). The trainer
sets `lr = base_lr * factor(t)` before each step, so schedules compose with any update rule.
"""
from __future__ import annotations

import math
from typing import Callable

Schedule = Callable[[int], float]


def constant() -> Schedule:
    """factor(t) = 1."""
    return lambda t: 1.0


def step_decay(step_size: int, gamma: float = 0.1) -> Schedule:
    """Multiply by gamma every `step_size` steps: factor(t) = gamma ** floor(t / step_size)."""
    _require_positive(step_size=step_size)
    return lambda t: gamma ** (t // step_size)


def exponential(gamma: float) -> Schedule:
    """factor(t) = gamma ** t."""
    return lambda t: gamma**t


def inverse_time(decay: float) -> Schedule:
    """The 1/t schedule: factor(t) = 1 / (1 + decay * t)."""
    return lambda t: 1.0 / (1.0 + decay * t)


def cosine(total_steps: int, min_factor: float = 0.0) -> Schedule:
    """Half a cosine from 1 down to `min_factor` over `total_steps`, then flat (Loshchilov & Hutter, 2017)."""
    _require_positive(total_steps=total_steps)

    def factor(t: int) -> float:
        progress = min(t, total_steps) / total_steps
        return min_factor + (1.0 - min_factor) * 0.5 * (1.0 + math.cos(math.pi * progress))

    return factor


def warmup(warmup_steps: int, then: Schedule | None = None) -> Schedule:
    """Ramp linearly from 1/warmup_steps up to 1 over `warmup_steps`, then follow `then` (restarted at 0).

    Warmup keeps the first, badly-scaled updates of adaptive methods and large batches small
    (Goyal et al., 2017).
    """
    _require_positive(warmup_steps=warmup_steps)
    after = then or constant()

    def factor(t: int) -> float:
        if t < warmup_steps:
            return (t + 1) / warmup_steps
        return after(t - warmup_steps)

    return factor


def _require_positive(**values: int) -> None:
    for name, value in values.items():
        if value <= 0:
            raise ValueError(f"{name} must be positive, got {value}")
