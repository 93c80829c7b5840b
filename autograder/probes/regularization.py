"""Probes for inverted dropout (a4_regularization).

A correct dropout may draw its mask in any way, so the outputs compared are behavioural
statistics of the student's own result: the fraction of units kept, the factor applied to the
kept units, whether dropped units are exactly zero, whether the same seed gives the same mask,
and whether test mode is the identity. The backward pass is checked against the student's own
forward mask.
"""
from __future__ import annotations

import numpy as np

from autograder.probes import Case, Probe, Rule, call_pair, need, register, rng_for

SHAPE = (400, 50)  # 20,000 units: the kept fraction's standard error is at most 0.0035
DROP_PROBABILITIES = [0.3, 0.5, 0.0, 1.0]


def _cases(name: str) -> list[Case]:
    cases = []
    for i, p in enumerate(DROP_PROBABILITIES):
        rng = rng_for(name, i)
        # Strictly positive inputs, so a kept unit is never mistaken for a dropped one.
        x = 1.0 + rng.random(SHAPE)
        cases.append(Case(f"x {SHAPE}, p={p}", {"x": x, "p": p, "seed": 100 + i, "dout": rng.standard_normal(SHAPE)}))
    return cases


def _forward(ns, x, p, mode, seed=None):
    param = {"p": p, "mode": mode}
    if seed is not None:
        param["seed"] = seed
    return call_pair(need(ns, "dropout_forward")(x, param), "dropout_forward")


def _kept_statistics(x, out, p):
    out = np.asarray(out, dtype=np.float64)
    if out.shape != x.shape:
        raise ValueError(f"dropout_forward returned shape {out.shape} for x of shape {x.shape}")
    kept = out != 0
    ratio = out[kept] / x[kept] if kept.any() else np.array([0.0])
    return {
        "kept fraction": kept.mean(),
        # 1/(1-p) for inverted dropout; 0 when everything is dropped.
        "scale of kept units": float(np.median(ratio)),
        "spread of the scale": float(np.max(np.abs(ratio - np.median(ratio)))),
    }


def _run_forward(ns, a):
    x, p, seed = a["x"], a["p"], a["seed"]
    out, _ = _forward(ns, x, p, "train", seed)
    again, _ = _forward(ns, x, p, "train", seed)
    test, _ = _forward(ns, x, p, "test")
    return {
        **_kept_statistics(x, out, p),
        "same seed, same mask": float(np.array_equal(np.asarray(out), np.asarray(again))),
        "test-mode change": float(np.max(np.abs(np.asarray(test, dtype=np.float64) - x))),
    }


def _run_backward(ns, a):
    x, p, dout = a["x"], a["p"], a["dout"]
    out, cache = _forward(ns, x, p, "train", a["seed"])
    dx = np.asarray(need(ns, "dropout_backward")(dout, cache), dtype=np.float64)
    _, test_cache = _forward(ns, x, p, "test")
    dx_test = np.asarray(need(ns, "dropout_backward")(dout, test_cache), dtype=np.float64)
    if dx.shape != x.shape:
        raise ValueError(f"dropout_backward returned shape {dx.shape} for dout of shape {dout.shape}")
    kept = np.asarray(out) != 0
    ratio = dx[kept] / dout[kept] if kept.any() else np.array([0.0])
    return {
        "gradient scale of kept units": float(np.median(ratio)),
        "gradient through dropped units": float(np.max(np.abs(dx[~kept]))) if (~kept).any() else 0.0,
        "test-mode gradient change": float(np.max(np.abs(dx_test - dout))),
    }


_KEPT = Rule("absolute", 0.02)  # > 5 standard errors of the kept fraction
_SCALE = Rule("relative", 1e-9)
_ZERO = Rule("absolute", 1e-12)

register(Probe(
    "dropout_forward", "dropout_forward", cases=lambda: _cases("dropout_forward"), run=_run_forward,
    rules={"kept fraction": _KEPT, "scale of kept units": _SCALE, "spread of the scale": Rule("absolute", 1e-9),
           "same seed, same mask": _ZERO, "test-mode change": _ZERO},
))
register(Probe(
    "dropout_backward", "dropout_backward", cases=lambda: _cases("dropout_backward"), run=_run_backward,
    rules={"gradient scale of kept units": _SCALE, "gradient through dropped units": _ZERO,
           "test-mode gradient change": _ZERO},
))
