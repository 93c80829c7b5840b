"""Drivers for the layers and losses of a1_backprop."""
from __future__ import annotations

from autograder.runtime.drivers import Session, driver, pair, triple


@driver("affine_forward")
def affine_forward(s: Session, a):
    out, _ = pair(s.call("affine_forward", ("x", a["x"]), ("w", a["w"]), ("b", a["b"])), "affine_forward")
    return {"out": out}


@driver("affine_backward")
def affine_backward(s: Session, a):
    _, cache = pair(s.call("affine_forward", ("x", a["x"]), ("w", a["w"]), ("b", a["b"])), "affine_forward")
    dx, dw, db = triple(s.call("affine_backward", ("dout", a["dout"]), ("cache", cache)), "affine_backward", "(dx, dw, db)")
    return {"dx": dx, "dw": dw, "db": db}


def _forward(s: Session, name: str, a):
    alpha = a.get("alpha")
    args = [("x", a["x"])] + ([] if alpha in (None, "default") else [("alpha", alpha)])
    return pair(s.call(f"{name}_forward", *args), f"{name}_forward")


def _activation(name: str):
    @driver(f"{name}_forward")
    def forward(s: Session, a):
        return {"out": _forward(s, name, a)[0]}

    @driver(f"{name}_backward")
    def backward(s: Session, a):
        _, cache = _forward(s, name, a)
        return {"dx": s.call(f"{name}_backward", ("dout", a["dout"]), ("cache", cache))}


for _name in ("relu", "leaky_relu", "sigmoid", "tanh"):
    _activation(_name)


def _loss(name: str):
    @driver(name)
    def run(s: Session, a):
        loss, dx = pair(s.call(name, ("x", a["x"]), ("y", a["y"])), name, "(loss, dx)")
        return {"loss": loss, "dx": dx}


_loss("softmax_loss")
_loss("mse_loss")
