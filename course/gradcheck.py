"""Numerical gradients by centred differences, and reports that say where a gradient is wrong.

Centred differences, (f(x + h) - f(x - h)) / 2h, have O(h^2) error against O(h) for one-sided
ones; with h = 1e-5 in float64 an analytic gradient that is right agrees to about 1e-8 relative
error, and one that is wrong rarely does better than 1e-3. Every function here perturbs the array
it is given in place (so closures over model parameters see the change) and always restores the
exact original value, even when f raises.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

# A right gradient in float64 agrees to ~1e-8; 1e-6 leaves room for kinks (ReLU) near zero.
DEFAULT_THRESHOLD = 1e-6


def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Gradient of a scalar function.

    Inputs:
    - f: callable taking x and returning a float
    - x: array of any shape, perturbed in place one entry at a time and restored
    - h: step size

    Returns grad, shaped like x.
    """
    grad = np.zeros_like(x, dtype=np.float64)
    for ix in np.ndindex(x.shape):
        old = x[ix]
        try:
            x[ix] = old + h
            plus = f(x)
            x[ix] = old - h
            minus = f(x)
        finally:
            x[ix] = old
        grad[ix] = (plus - minus) / (2 * h)
    return grad


def numerical_gradient_array(
    f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, dout: np.ndarray, h: float = 1e-5
) -> np.ndarray:
    """Gradient of sum(f(x) * dout) with respect to x: a backward pass given the upstream dout.

    Inputs:
    - f: callable taking x and returning an array shaped like dout
    - x: array of any shape, perturbed in place and restored
    - dout: upstream gradient, shaped like f(x)

    Returns dx, shaped like x.
    """
    # d/dx sum(f(x) * dout): the scalar whose gradient a backward pass returns.
    return numerical_gradient(lambda v: float(np.sum(np.asarray(f(v), dtype=np.float64) * dout)), x, h)


def rel_error(x, y) -> float:
    """max |x - y| / max(1e-8, |x| + |y|), elementwise: CS231n's classic gradient-check measure."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))))


@dataclass
class GradCheckResult:
    """The outcome of comparing one analytic gradient with its numerical estimate."""

    name: str
    rel_error: float
    threshold: float
    worst: list[tuple[tuple, float, float]] = field(default_factory=list)
    problem: str | None = None

    @property
    def passed(self) -> bool:
        return self.problem is None and self.rel_error <= self.threshold

    def __str__(self) -> str:
        if self.problem:
            return f"{self.name}: {self.problem}"
        verdict = "ok" if self.passed else "WRONG"
        lines = [f"{self.name}: relative error {self.rel_error:.2e} ({verdict}, threshold {self.threshold:.0e})"]
        if not self.passed:
            lines.append("  worst entries (index: analytic vs numerical):")
            lines += [f"    {ix}: {a: .6e} vs {n: .6e}" for ix, a, n in self.worst]
        return "\n".join(lines)


def compare_gradients(
    name: str, analytic, numeric, threshold: float = DEFAULT_THRESHOLD, top: int = 5
) -> GradCheckResult:
    """Compare an analytic gradient with a numerical one and keep the `top` worst entries."""
    numeric = np.asarray(numeric, dtype=np.float64)
    if analytic is None:
        return GradCheckResult(name, np.inf, threshold, problem="gradient is None")
    analytic = np.asarray(analytic, dtype=np.float64)
    if analytic.shape != numeric.shape:
        return GradCheckResult(
            name, np.inf, threshold, problem=f"shape {analytic.shape}, expected {numeric.shape}"
        )
    err = np.abs(analytic - numeric) / np.maximum(1e-8, np.abs(analytic) + np.abs(numeric))
    err = np.where(np.isfinite(err), err, np.inf)
    order = np.argsort(err, axis=None)[::-1][:top]
    worst = [
        (ix, float(analytic[ix]), float(numeric[ix]))
        for ix in (np.unravel_index(i, err.shape) for i in order)
    ]
    worst = [(tuple(int(i) for i in ix), a, n) for ix, a, n in worst]
    return GradCheckResult(name, float(err.max()) if err.size else 0.0, threshold, worst)


def check_layer(
    forward: Callable,
    backward: Callable,
    inputs: dict[str, np.ndarray],
    *extra_args,
    dout: np.ndarray | None = None,
    seed: int = 0,
    threshold: float = DEFAULT_THRESHOLD,
) -> dict[str, GradCheckResult]:
    """Gradient-check a layer written as a forward/backward pair.

    Inputs:
    - forward: forward(*inputs.values(), *extra_args) -> (out, cache)
    - backward: backward(dout, cache) -> one gradient, or a tuple with one per input, in order
    - inputs: name -> array for each differentiable input, e.g. {'x': x, 'w': w, 'b': b}
    - extra_args: non-differentiable arguments such as bn_param or dropout_param
    - dout: upstream gradient (random normal when None)

    Returns name -> GradCheckResult, named d<name> (e.g. 'dw').
    """
    arrays = {k: np.array(v, dtype=np.float64) for k, v in inputs.items()}
    out, cache = forward(*arrays.values(), *extra_args)
    if dout is None:
        dout = np.random.default_rng(seed).standard_normal(np.shape(out))
    grads = backward(dout, cache)
    if len(arrays) == 1 and not isinstance(grads, tuple):
        grads = (grads,)
    if not isinstance(grads, tuple) or len(grads) < len(arrays):
        n = len(grads) if isinstance(grads, tuple) else 1
        return {
            f"d{k}": GradCheckResult(f"d{k}", np.inf, threshold, problem=f"backward returned {n} value(s), expected {len(arrays)}")
            for k in arrays
        }
    results = {}
    for (name, x), analytic in zip(arrays.items(), grads):

        def f(value, name=name):
            args = {**arrays, name: value}
            return forward(*args.values(), *extra_args)[0]

        numeric = numerical_gradient_array(f, x, dout)
        results[f"d{name}"] = compare_gradients(f"d{name}", analytic, numeric, threshold)
    return results


def check_loss(loss_fn: Callable, x: np.ndarray, y: np.ndarray, threshold: float = DEFAULT_THRESHOLD) -> GradCheckResult:
    """Gradient-check a loss written as loss_fn(x, y) -> (loss, dx)."""
    x = np.array(x, dtype=np.float64)
    _, dx = loss_fn(x, y)
    numeric = numerical_gradient(lambda v: loss_fn(v, y)[0], x)
    return compare_gradients("dx", dx, numeric, threshold)


def check_model(model, X: np.ndarray, y: np.ndarray, threshold: float = DEFAULT_THRESHOLD) -> dict[str, GradCheckResult]:
    """Gradient-check every parameter of a model exposing `params` and `loss(X, y) -> (loss, grads)`.

    The model must be deterministic between calls (fix the dropout seed) for the check to mean
    anything.
    """
    _, grads = model.loss(X, y)
    results = {}
    for name, param in model.params.items():
        numeric = numerical_gradient(lambda _: model.loss(X, y)[0], param)
        results[name] = compare_gradients(name, grads.get(name), numeric, threshold)
    return results


def report(results: dict[str, GradCheckResult]) -> str:
    """One readable block for several gradient checks."""
    return "\n".join(str(r) for r in results.values())
