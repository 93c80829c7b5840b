"""One rule for "close enough", used by every comparison in the project.

An element of `actual` passes when

    |actual - expected| <= rtol * |expected| + atol * max|expected|

The second term scales with the whole array, not the element: an elementwise relative error
rejects correct batchnorm outputs (or gradients) that happen to sit near zero, where rounding
noise is large relative to the element but tiny relative to the array. An array that is zero in
exact arithmetic (the gradient of a bias that batchnorm removes) holds only rounding noise, so
its own largest value is no scale at all: `compare(..., floor=s)` measures it against at least
`s`, the scale of the problem (the grader passes the largest value among the case's outputs). The tolerance depends on
the dtype and device the reference was computed in; `tolerance_for` is the only place that
decides it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Tolerance:
    """rtol is relative to each element, atol relative to the largest |expected| of the array."""

    rtol: float
    atol: float


# float64 on either device: reductions may run in another order on CUDA, which costs ~1e-15.
# float32 (a GPU oracle by choice): TF32 is disabled, so matmuls keep a 24-bit mantissa.
_TOLERANCES = {
    "float64": Tolerance(rtol=1e-7, atol=1e-9),
    "float32": Tolerance(rtol=1e-4, atol=1e-5),
}
DEFAULT = _TOLERANCES["float64"]


def tolerance_for(dtype, device: str = "cpu") -> Tolerance:
    """The tolerance for a reference computed in `dtype` on `device` ('cpu' or 'cuda').

    `dtype` may be a NumPy dtype, a torch dtype or a name such as 'float32'.
    """
    if hasattr(dtype, "is_floating_point"):  # a torch.dtype, e.g. torch.float32
        name = str(dtype).removeprefix("torch.")
    else:
        name = np.dtype(dtype).name
    try:
        return _TOLERANCES[name]
    except KeyError:
        raise ValueError(
            f"no tolerance for dtype {dtype!r} on {device}; known: {sorted(_TOLERANCES)}"
        ) from None


@dataclass(frozen=True)
class Comparison:
    """What `compare` found. `scaled_error` is max|actual - expected| / max|expected|."""

    passed: bool
    max_error: float
    scale: float
    worst_index: tuple | None
    problem: str | None = None

    @property
    def scaled_error(self) -> float:
        return self.max_error / self.scale if self.scale > 0 else self.max_error


def compare(actual, expected, tol: Tolerance = DEFAULT, floor: float = 0.0) -> Comparison:
    """Compare two arrays under the project's rule.

    Inputs:
    - actual: array-like of any shape (the value under test)
    - expected: array-like of the same shape (the reference)
    - tol: the Tolerance to apply
    - floor: the smallest scale the atol term uses (default 0: the array's own largest value)

    Returns a Comparison; a shape mismatch or a non-finite value where the reference is finite
    fails with `problem` saying so.
    """
    a = np.asarray(actual, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    if a.shape != e.shape:
        return Comparison(False, np.inf, 0.0, None, f"shape {a.shape}, expected {e.shape}")
    if a.size == 0:
        return Comparison(True, 0.0, 0.0, None)
    bad = np.isfinite(e) & ~np.isfinite(a)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        return Comparison(False, np.inf, 0.0, index, f"non-finite value at index {index}")
    finite = np.isfinite(e)
    scale = max(float(np.max(np.abs(e[finite]))) if finite.any() else 0.0, float(floor))
    err = np.where(finite, np.abs(a - e), 0.0)
    # Non-finite references (rare: an overflow test) must be matched exactly.
    mismatch = ~finite & ~((a == e) | (np.isnan(a) & np.isnan(e)))
    bound = tol.rtol * np.abs(np.where(finite, e, 0.0)) + tol.atol * scale
    failing = (err > bound) | mismatch
    worst = np.unravel_index(int(np.argmax(err - bound)), err.shape)
    return Comparison(
        passed=not failing.any(),
        max_error=float(err.max()),
        scale=scale,
        worst_index=tuple(int(i) for i in worst),
    )


def assert_close(actual, expected, tol: Tolerance = DEFAULT, name: str = "output", floor: float = 0.0) -> None:
    """Raise AssertionError naming `name` and the size of the error when `compare` fails."""
    result = compare(actual, expected, tol, floor)
    if result.passed:
        return
    if result.problem:
        raise AssertionError(f"{name}: {result.problem}")
    raise AssertionError(
        f"{name} differs: max error {result.max_error:.3g} at index {result.worst_index} "
        f"(largest reference value {result.scale:.3g}, relative {result.scaled_error:.3g}; "
        f"allowed rtol={tol.rtol:g}, atol={tol.atol:g} of the largest value)"
    )
