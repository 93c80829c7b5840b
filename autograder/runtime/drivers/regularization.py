"""Drivers for inverted dropout (a4_regularization): raw outputs, judged by statistics.

A correct dropout may draw its mask in its own way, so the judge computes behavioural statistics
(kept fraction, scale of the kept units, independence across examples, reproducibility, test
mode) from the raw arrays returned here.
"""
from __future__ import annotations

import numpy as np

from autograder.runtime.drivers import Session, driver, pair


def _forward(s: Session, x, p, mode, seed=None):
    param = {"p": p, "mode": mode}
    if seed is not None:
        param["seed"] = seed
    return pair(s.call("dropout_forward", ("x", x), ("dropout_param", param)), "dropout_forward")


@driver("dropout_forward")
def dropout_forward(s: Session, a):
    x, p, seed = a["x"], a["p"], a["seed"]
    out, _ = _forward(s, x, p, "train", seed)
    again, _ = _forward(s, x, p, "train", seed)
    other, _ = _forward(s, x, p, "train", seed + 1)
    fresh = [_forward(s, x, p, "train")[0] for _ in range(2)]  # no seed: a new mask each call
    test, _ = _forward(s, x, p, "test")
    return {"out": out, "again": again, "other seed": other, "no seed": fresh[0], "no seed again": fresh[1], "test": test}


@driver("dropout_backward")
def dropout_backward(s: Session, a):
    x, p, dout = a["x"], a["p"], a["dout"]
    out, cache = _forward(s, x, p, "train", a["seed"])
    dx = s.call("dropout_backward", ("dout", dout), ("cache", cache))
    _, test_cache = _forward(s, x, p, "test")
    dx_test = s.call("dropout_backward", ("dout", dout), ("cache", test_cache))
    return {"out": out, "dx": dx, "dx_test": dx_test}
