"""Checks for the layers and losses of a1_backprop, with their PyTorch oracles."""
from __future__ import annotations

import numpy as np

from autograder.spec.checks import CASE_SECONDS, LARGE_CASE_SECONDS, LARGE_NOTE, Case, Check, register, rng_for, shapes_label, torch_oracle

# (N, trailing input dims, M, scale): N = 1, extra trailing dims, large magnitudes.
AFFINE_SHAPES = [(4, (5,), 3, 1.0), (1, (6,), 4, 1.0), (3, (2, 3, 2), 5, 1.0), (10, (8,), 6, 1e3)]
# A backward pass on this: 60,000 weights, so about 120,000 forward passes for a numerical dw.
AFFINE_LARGE = (32, (300,), 200, 1.0)
# Elementwise layers must accept any shape; the last case has large magnitudes.
ELEMENTWISE_SHAPES = [((4, 5), 1.0), ((1, 7), 1.0), ((3, 4, 2), 2.0), ((6, 5), 400.0)]
ELEMENTWISE_LARGE = ((500, 400), 1.0)  # 200,000 entries


def _affine_cases(name: str, with_dout: bool) -> list[Case]:
    table = AFFINE_SHAPES + ([AFFINE_LARGE] if with_dout else [])
    cases = []
    for i, (n, dims, m, scale) in enumerate(table):
        rng = rng_for(name, i)
        d = int(np.prod(dims))
        inputs = {"x": scale * rng.standard_normal((n, *dims)), "w": rng.standard_normal((d, m)), "b": rng.standard_normal(m)}
        if with_dout:
            inputs["dout"] = rng.standard_normal((n, m))
        label = shapes_label(x=inputs["x"], w=inputs["w"]) + (", large values" if scale > 1 else "")
        large = (n, dims, m, scale) == AFFINE_LARGE
        cases.append(Case(label + (LARGE_NOTE if large else ""), inputs, LARGE_CASE_SECONDS if large else CASE_SECONDS))
    return cases


def _affine_torch(inputs):
    torch, o = torch_oracle()
    x, w, b = (o.tensor(inputs[k], requires_grad=True) for k in ("x", "w", "b"))
    out = x.reshape(x.shape[0], -1) @ w + b
    result = {"out": out}
    if "dout" in inputs:
        out.backward(o.tensor(inputs["dout"]))
        result = {"dx": x.grad, "dw": w.grad, "db": b.grad}
    return {k: v.detach().cpu().numpy() for k, v in result.items()}


register(Check("affine_forward", "affine_forward", cases=lambda: _affine_cases("affine_forward", False), torch=_affine_torch))
register(Check("affine_backward", "affine_backward", cases=lambda: _affine_cases("affine_backward", True),
               torch=_affine_torch, uses=("affine_forward",)))


# ------------------------------------------------------------------ elementwise activations

def _elementwise_cases(name: str, with_dout: bool, alphas=(None,)) -> list[Case]:
    table = ELEMENTWISE_SHAPES + ([ELEMENTWISE_LARGE] if with_dout else [])
    cases = []
    for i, (shape, scale) in enumerate(table):
        large = (shape, scale) == ELEMENTWISE_LARGE
        for j, alpha in enumerate(alphas[:1] if large else alphas):
            rng = rng_for(name, 10 * i + j)
            inputs = {"x": scale * rng.standard_normal(shape)}
            if with_dout:
                inputs["dout"] = rng.standard_normal(shape)
            label = shapes_label(x=inputs["x"]) + (", large values" if scale > 100 else "")
            if alpha is not None:
                inputs["alpha"] = alpha
                label += ", default alpha" if alpha == "default" else f", alpha={alpha}"
            cases.append(Case(label + (LARGE_NOTE if large else ""), inputs, LARGE_CASE_SECONDS if large else CASE_SECONDS))
    return cases


def _activation_checks(name: str, torch_fn, alphas=(None,)):
    forward, backward = f"{name}_forward", f"{name}_backward"

    def oracle(a):
        torch, o = torch_oracle()
        x = o.tensor(a["x"], requires_grad=True)
        alpha = 0.01 if a.get("alpha") in (None, "default") else a["alpha"]
        out = torch_fn(torch, x, alpha)
        if "dout" not in a:
            return {"out": out.detach().cpu().numpy()}
        out.backward(o.tensor(a["dout"]))
        return {"dx": x.grad.cpu().numpy()}

    register(Check(forward, forward, cases=lambda: _elementwise_cases(forward, False, alphas), torch=oracle))
    register(Check(backward, backward, cases=lambda: _elementwise_cases(backward, True, alphas), torch=oracle,
                   uses=(forward,)))


_activation_checks("relu", lambda torch, x, _: torch.relu(x))
_activation_checks("leaky_relu", lambda torch, x, alpha: torch.nn.functional.leaky_relu(x, alpha), alphas=("default", 0.2))
_activation_checks("sigmoid", lambda torch, x, _: torch.sigmoid(x))
_activation_checks("tanh", lambda torch, x, _: torch.tanh(x))


# ------------------------------------------------------------------ losses

SOFTMAX_SHAPES = [(5, 4, 1.0), (1, 3, 1.0), (8, 10, 1.0), (4, 6, 1e4), (1000, 100, 1.0)]
MSE_SHAPES = [((5, 3), 1.0), ((1, 1), 1.0), ((7, 2), 1.0), ((4, 6), 1e3), ((500, 400), 1.0)]


def _softmax_cases() -> list[Case]:
    cases = []
    for i, (n, c, scale) in enumerate(SOFTMAX_SHAPES):
        rng = rng_for("softmax_loss", i)
        x, y = scale * rng.standard_normal((n, c)), rng.integers(0, c, size=n)
        large = i == len(SOFTMAX_SHAPES) - 1
        label = shapes_label(x=x, y=y) + (", scores up to 1e4" if scale > 1 else "") + (LARGE_NOTE if large else "")
        cases.append(Case(label, {"x": x, "y": y}, LARGE_CASE_SECONDS if large else CASE_SECONDS))
    return cases


def _mse_cases() -> list[Case]:
    cases = []
    for i, (shape, scale) in enumerate(MSE_SHAPES):
        rng = rng_for("mse_loss", i)
        x, y = scale * rng.standard_normal(shape), scale * rng.standard_normal(shape)
        large = i == len(MSE_SHAPES) - 1
        label = shapes_label(x=x, y=y) + (", large values" if scale > 1 else "") + (LARGE_NOTE if large else "")
        cases.append(Case(label, {"x": x, "y": y}, LARGE_CASE_SECONDS if large else CASE_SECONDS))
    return cases


def _loss_oracle(loss_fn):
    def oracle(a):
        torch, o = torch_oracle()
        x = o.tensor(a["x"], requires_grad=True)
        loss = loss_fn(torch, x, o.tensor(a["y"]))
        loss.backward()
        return {"loss": loss.item(), "dx": x.grad.cpu().numpy()}

    return oracle


register(Check("softmax_loss", "softmax_loss", cases=_softmax_cases,
               torch=_loss_oracle(lambda torch, x, y: torch.nn.functional.cross_entropy(x, y))))
register(Check("mse_loss", "mse_loss", cases=_mse_cases,
               torch=_loss_oracle(lambda torch, x, y: torch.nn.functional.mse_loss(x, y))))
