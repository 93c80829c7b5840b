"""Checks for inverted dropout (a4_regularization).

A correct dropout may draw its mask in any way, so the outputs compared are behavioural statistics
computed here from the student's raw arrays: whether anything is nan or inf (reported first: a
division by zero at p = 1 would otherwise read as broken seeding), the fraction of units kept, the
factor applied to the kept units, whether two examples share one mask, whether the same seed gives
the same mask, and whether test mode is the identity. The backward pass is checked against the
student's own forward mask.
"""
from __future__ import annotations

import numpy as np

from autograder.spec.checks import CASE_SECONDS, LARGE_CASE_SECONDS, LARGE_NOTE, Case, Check, Rule, register, rng_for

SHAPE = (400, 50)  # 20,000 units: the kept fraction's standard error is at most 0.0035
DROP_PROBABILITIES = [0.3, 0.5, 0.0, 1.0]
LARGE_SHAPE = (500, 200)  # for the backward pass: 100,000 units


def _cases(name: str, large: bool = False) -> list[Case]:
    cases = []
    table = [(SHAPE, p) for p in DROP_PROBABILITIES] + ([(LARGE_SHAPE, 0.4)] if large else [])
    for i, (shape, p) in enumerate(table):
        rng = rng_for(name, i)
        x = 1.0 + rng.random(shape)  # strictly positive: a kept unit is never mistaken for a dropped one
        is_large = shape == LARGE_SHAPE
        cases.append(Case(f"x {shape}, p={p}" + (LARGE_NOTE if is_large else ""),
                          {"x": x, "p": p, "seed": 100 + i, "dout": rng.standard_normal(shape)},
                          LARGE_CASE_SECONDS if is_large else CASE_SECONDS, edge=p in (0.0, 1.0)))
    return cases


def _finite(*arrays) -> float:
    return float(all(np.all(np.isfinite(a)) for a in arrays))


def _kept(x, out) -> dict:
    if out.shape != x.shape:
        raise ValueError(f"dropout_forward returned shape {out.shape} for x of shape {x.shape}")
    kept = out != 0
    ratio = out[kept] / x[kept] if kept.any() else np.array([0.0])
    rows = kept.reshape(len(kept), -1)
    # Independent masks: each row should differ from the first about 2 p (1 - p) of the time.
    shared = float(np.mean(np.all(rows == rows[0], axis=1))) if 0 < kept.mean() < 1 else 0.0
    return {
        "kept fraction": float(kept.mean()),
        "scale of kept units": float(np.median(ratio)),  # 1/(1-p) for inverted dropout; 0 when all dropped
        "spread of the scale": float(np.max(np.abs(ratio - np.median(ratio)))),
        "fraction of examples sharing the first example's mask": shared,
    }


def _forward_statistics(raw, inputs) -> dict:
    x, out, p = inputs["x"], raw["out"], inputs["p"]
    if not _finite(out, raw["again"], raw["test"], raw["other seed"], raw["no seed"], raw["no seed again"]):
        return {"all outputs finite": 0.0}
    random = 0 < p < 1  # at p = 0 or 1 every mask is the same
    return {"all outputs finite": 1.0, **_kept(x, out),
            "same seed, same mask": float(np.array_equal(out, raw["again"])),
            "other seed, other mask": float(not random or not np.array_equal(out != 0, raw["other seed"] != 0)),
            "no seed, a new mask each call": float(not random or not np.array_equal(raw["no seed"] != 0, raw["no seed again"] != 0)),
            "test-mode change": float(np.max(np.abs(raw["test"] - x)))}


def _backward_statistics(raw, inputs) -> dict:
    out, dx, dx_test, dout = raw["out"], raw["dx"], raw["dx_test"], inputs["dout"]
    if not _finite(out, dx, dx_test):
        return {"all outputs finite": 0.0}
    if dx.shape != dout.shape or dx_test.shape != dout.shape:
        raise ValueError(f"dropout_backward returned shape {dx.shape} for dout of shape {dout.shape}")
    kept = out != 0
    ratio = dx[kept] / dout[kept] if kept.any() else np.array([0.0])
    return {
        "all outputs finite": 1.0,
        "gradient scale of kept units": float(np.median(ratio)),
        "gradient through dropped units": float(np.max(np.abs(dx[~kept]))) if (~kept).any() else 0.0,
        "test-mode gradient change": float(np.max(np.abs(dx_test - dout))),
    }


_ZERO = Rule("absolute", 1e-12)
_SCALE = Rule("relative", 1e-9)

register(Check(
    "dropout_forward", "dropout_forward", cases=lambda: _cases("dropout_forward"), derive=_forward_statistics,
    rules={"all outputs finite": _ZERO, "kept fraction": Rule("absolute", 0.02),  # > 5 standard errors
           "scale of kept units": _SCALE, "spread of the scale": Rule("absolute", 1e-9),
           "fraction of examples sharing the first example's mask": Rule("absolute", 0.01),
           "same seed, same mask": _ZERO, "other seed, other mask": _ZERO, "no seed, a new mask each call": _ZERO,
           "test-mode change": _ZERO},
))
register(Check(
    "dropout_backward", "dropout_backward", cases=lambda: _cases("dropout_backward", large=True), derive=_backward_statistics,
    rules={"all outputs finite": _ZERO, "gradient scale of kept units": _SCALE, "gradient through dropped units": _ZERO,
           "test-mode gradient change": _ZERO},
    uses=("dropout_forward",),
))
