"""Probes for the layers and losses of a1_backprop, with their PyTorch oracles."""
from __future__ import annotations

import numpy as np

from autograder.probes import Case, Probe, call_pair, need, register, rng_for, shapes_label

# (N, trailing input dims, M, scale): N = 1, extra trailing dims, and large magnitudes.
AFFINE_SHAPES = [(4, (5,), 3, 1.0), (1, (6,), 4, 1.0), (3, (2, 3, 2), 5, 1.0), (10, (8,), 6, 1e3)]
# Elementwise layers must accept any shape; the last case has large magnitudes.
ELEMENTWISE_SHAPES = [((4, 5), 1.0), ((1, 7), 1.0), ((3, 4, 2), 2.0), ((6, 5), 400.0)]


def _torch():
    import torch

    from course.torch_bridge import oracle

    return torch, oracle()


def _affine_cases(name: str, with_dout: bool) -> list[Case]:
    cases = []
    for i, (n, dims, m, scale) in enumerate(AFFINE_SHAPES):
        rng = rng_for(name, i)
        d = int(np.prod(dims))
        inputs = {
            "x": scale * rng.standard_normal((n, *dims)),
            "w": rng.standard_normal((d, m)),
            "b": rng.standard_normal(m),
        }
        if with_dout:
            inputs["dout"] = rng.standard_normal((n, m))
        cases.append(Case(shapes_label(x=inputs["x"], w=inputs["w"]) + (", large values" if scale > 1 else ""), inputs))
    return cases


def _affine_torch(inputs):
    torch, o = _torch()
    x, w, b = (o.tensor(inputs[k], requires_grad=True) for k in ("x", "w", "b"))
    out = x.reshape(x.shape[0], -1) @ w + b
    result = {"out": out}
    if "dout" in inputs:
        out.backward(o.tensor(inputs["dout"]))
        result = {"dx": x.grad, "dw": w.grad, "db": b.grad}
    return {k: v.detach().cpu().numpy() for k, v in result.items()}


register(Probe(
    "affine_forward", "affine_forward",
    cases=lambda: _affine_cases("affine_forward", with_dout=False),
    run=lambda ns, a: {"out": call_pair(need(ns, "affine_forward")(a["x"], a["w"], a["b"]), "affine_forward")[0]},
    torch=_affine_torch,
))


def _run_affine_backward(ns, a):
    _, cache = call_pair(need(ns, "affine_forward")(a["x"], a["w"], a["b"]), "affine_forward")
    dx, dw, db = _triple(need(ns, "affine_backward")(a["dout"], cache), "affine_backward", "(dx, dw, db)")
    return {"dx": dx, "dw": dw, "db": db}


def _triple(result, name, what):
    if not isinstance(result, tuple) or len(result) != 3:
        raise TypeError(f"{name} must return a tuple {what}, got {type(result).__name__}")
    return result


register(Probe(
    "affine_backward", "affine_backward",
    cases=lambda: _affine_cases("affine_backward", with_dout=True),
    run=_run_affine_backward,
    torch=_affine_torch,
))


# ------------------------------------------------------------------ elementwise activations

def _elementwise_cases(name: str, with_dout: bool, alphas=(None,)) -> list[Case]:
    cases = []
    for i, (shape, scale) in enumerate(ELEMENTWISE_SHAPES):
        for j, alpha in enumerate(alphas):
            rng = rng_for(name, 10 * i + j)
            inputs = {"x": scale * rng.standard_normal(shape)}
            if with_dout:
                inputs["dout"] = rng.standard_normal(shape)
            label = shapes_label(x=inputs["x"]) + (", large values" if scale > 100 else "")
            if alpha is not None:
                inputs["alpha"] = alpha
                label += ", default alpha" if alpha == "default" else f", alpha={alpha}"
            cases.append(Case(label, inputs))
    return cases


def _activation_probes(name: str, torch_fn, alphas=(None,)):
    forward, backward = f"{name}_forward", f"{name}_backward"

    def call_forward(ns, a):
        fn = need(ns, forward)
        alpha = a.get("alpha")
        result = fn(a["x"]) if alpha in (None, "default") else fn(a["x"], alpha)
        return call_pair(result, forward)

    def run_forward(ns, a):
        return {"out": call_forward(ns, a)[0]}

    def run_backward(ns, a):
        _, cache = call_forward(ns, a)
        return {"dx": need(ns, backward)(a["dout"], cache)}

    def oracle(a):
        torch, o = _torch()
        x = o.tensor(a["x"], requires_grad=True)
        alpha = 0.01 if a.get("alpha") in (None, "default") else a["alpha"]
        out = torch_fn(torch, x, alpha)
        if "dout" not in a:
            return {"out": out.detach().cpu().numpy()}
        out.backward(o.tensor(a["dout"]))
        return {"dx": x.grad.cpu().numpy()}

    register(Probe(forward, forward, cases=lambda: _elementwise_cases(forward, False, alphas), run=run_forward, torch=oracle))
    register(Probe(backward, backward, cases=lambda: _elementwise_cases(backward, True, alphas), run=run_backward, torch=oracle))


_activation_probes("relu", lambda torch, x, _: torch.relu(x))
_activation_probes("leaky_relu", lambda torch, x, alpha: torch.nn.functional.leaky_relu(x, alpha), alphas=("default", 0.2))
_activation_probes("sigmoid", lambda torch, x, _: torch.sigmoid(x))
_activation_probes("tanh", lambda torch, x, _: torch.tanh(x))


# ------------------------------------------------------------------ losses

SOFTMAX_SHAPES = [(5, 4, 1.0), (1, 3, 1.0), (8, 10, 1.0), (4, 6, 1e4)]
MSE_SHAPES = [((5, 3), 1.0), ((1, 1), 1.0), ((7, 2), 1.0), ((4, 6), 1e3)]


def _softmax_cases() -> list[Case]:
    cases = []
    for i, (n, c, scale) in enumerate(SOFTMAX_SHAPES):
        rng = rng_for("softmax_loss", i)
        x, y = scale * rng.standard_normal((n, c)), rng.integers(0, c, size=n)
        cases.append(Case(shapes_label(x=x, y=y) + (", scores up to 1e4" if scale > 1 else ""), {"x": x, "y": y}))
    return cases


def _mse_cases() -> list[Case]:
    cases = []
    for i, (shape, scale) in enumerate(MSE_SHAPES):
        rng = rng_for("mse_loss", i)
        x, y = scale * rng.standard_normal(shape), scale * rng.standard_normal(shape)
        cases.append(Case(shapes_label(x=x, y=y) + (", large values" if scale > 1 else ""), {"x": x, "y": y}))
    return cases


def _run_loss(name):
    def run(ns, a):
        result = need(ns, name)(a["x"], a["y"])
        if not isinstance(result, tuple) or len(result) != 2:
            raise TypeError(f"{name} must return a tuple (loss, dx), got {type(result).__name__}")
        loss, dx = result
        return {"loss": loss, "dx": dx}

    return run


def _loss_oracle(loss_fn):
    def oracle(a):
        torch, o = _torch()
        x = o.tensor(a["x"], requires_grad=True)
        loss = loss_fn(torch, x, o.tensor(a["y"]))
        loss.backward()
        return {"loss": loss.item(), "dx": x.grad.cpu().numpy()}

    return oracle


register(Probe(
    "softmax_loss", "softmax_loss", cases=_softmax_cases, run=_run_loss("softmax_loss"),
    torch=_loss_oracle(lambda torch, x, y: torch.nn.functional.cross_entropy(x, y)),
))
register(Probe(
    "mse_loss", "mse_loss", cases=_mse_cases, run=_run_loss("mse_loss"),
    torch=_loss_oracle(lambda torch, x, y: torch.nn.functional.mse_loss(x, y)),
))
