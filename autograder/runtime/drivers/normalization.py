"""Drivers for batch and layer normalization (a3_normalization).

batchnorm_forward is called the way a network uses it: two training batches (the running
statistics must follow), then one test batch with the same bn_param.
"""
from __future__ import annotations

import numpy as np

from autograder.runtime.drivers import Session, driver, pair, triple


@driver("batchnorm_forward")
def batchnorm_forward(s: Session, a):
    bn_param = {"mode": "train", **a["extras"]}
    args = (("gamma", a["gamma"]), ("beta", a["beta"]), ("bn_param", bn_param))
    out, _ = pair(s.call("batchnorm_forward", ("x", a["x1"]), *args), "batchnorm_forward")
    pair(s.call("batchnorm_forward", ("x", a["x2"]), *args), "batchnorm_forward")
    for key in ("running_mean", "running_var"):
        if key not in bn_param:
            raise KeyError(f"batchnorm_forward did not store bn_param['{key}'] in train mode")
    running = {key: np.array(bn_param[key], dtype=np.float64) for key in ("running_mean", "running_var")}
    bn_param["mode"] = "test"
    out_test, _ = pair(s.call("batchnorm_forward", ("x", a["x_test"]), *args), "batchnorm_forward")
    return {"out": out, **running, "out_test": out_test}


def _backward(norm: str, backward: str):
    forward = f"{norm}_forward"

    @driver(backward)
    def run(s: Session, a):
        param = {"mode": "train", **a["extras"]} if norm == "batchnorm" else dict(a["extras"])
        _, cache = pair(s.call(forward, ("x", a["x"]), ("gamma", a["gamma"]), ("beta", a["beta"]), ("bn_param" if norm == "batchnorm" else "ln_param", param)), forward)
        result = triple(s.call(backward, ("dout", a["dout"]), ("cache", cache)), backward, "(dx, dgamma, dbeta)")
        return dict(zip(("dx", "dgamma", "dbeta"), result))


_backward("batchnorm", "batchnorm_backward")
_backward("batchnorm", "batchnorm_backward_alt")
_backward("layernorm", "layernorm_backward")


@driver("layernorm_forward")
def layernorm_forward(s: Session, a):
    out, _ = pair(s.call("layernorm_forward", ("x", a["x"]), ("gamma", a["gamma"]), ("beta", a["beta"]),
                         ("ln_param", dict(a["extras"]))), "layernorm_forward")
    return {"out": out}
