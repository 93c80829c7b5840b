"""Drivers for the weight initializers of a2_optimizers: three draws, as raw arrays.

The judge computes every statistic (standard deviation, tails, orthogonality, reproducibility)
from these arrays itself; nothing here decides whether a draw is right.
"""
from __future__ import annotations

import numpy as np

from autograder.runtime.drivers import Session, driver

INITIALIZERS = ("xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal", "orthogonal")


def _draw(s: Session, name: str, a, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    fn, shape = s.need(name), tuple(a["shape"])
    w = fn(shape, rng=rng) if a["gain"] is None else fn(shape, gain=a["gain"], rng=rng)
    w = np.asarray(w, dtype=np.float64)
    if w.shape != tuple(a["shape"]):
        raise ValueError(f"{name} returned shape {w.shape}, expected {tuple(a['shape'])}")
    return w


def _initializer(name: str):
    @driver(name)
    def run(s: Session, a):
        return {"w": _draw(s, name, a, a["seed"]), "same seed": _draw(s, name, a, a["seed"]),
                "other seed": _draw(s, name, a, a["seed"] + 1)}


for _name in INITIALIZERS:
    _initializer(_name)
