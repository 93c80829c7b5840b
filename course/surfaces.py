"""Two-dimensional objectives on which optimizers can be watched, and a loop that runs one.

Each surface is a `Surface`: a function f(p) of a point p = (x, y), its analytic gradient, where
its minimum is, a start point that shows the difficulty the surface was built for, and the window
to plot. `f` and `grad` are vectorized over leading axes, so a whole meshgrid is one call:

    X, Y, Z = surface.grid()              # or: surface.f(np.stack([X, Y], axis=-1))

`run_trajectory` drives any update rule with the course-wide optimizer interface

    next_w, config = update_rule(w, dw, config)

(w and dw are arrays of the same shape; config is a dict of hyperparameters and state such as a
velocity), so a student's rule from the optimizers assignment runs here unchanged.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

Point = np.ndarray  # (..., 2): the last axis holds (x, y)
UpdateRule = Callable[[np.ndarray, np.ndarray, dict], tuple[np.ndarray, dict]]


def _frozen(values) -> np.ndarray:
    """A read-only float array, so a Surface's points cannot be changed behind its back."""
    array = np.array(values, dtype=np.float64)
    array.flags.writeable = False
    return array


# eq=False: the default __eq__ would compare arrays elementwise and raise on `==`.
@dataclass(frozen=True, eq=False)
class Surface:
    """A 2D objective for optimizer demos.

    Fields:
    - name: a title for plots
    - f: p (..., 2) -> (...) objective values
    - grad: p (..., 2) -> (..., 2) analytic gradient
    - minimum: (2,) location of the global minimum, or None when there is none (the saddle)
    - start: (2,) default start point
    - extent: (xmin, xmax, ymin, ymax) window for plots
    - hessian: (2, 2) constant Hessian for quadratics, else None
    """

    name: str
    f: Callable[[Point], np.ndarray]
    grad: Callable[[Point], np.ndarray]
    minimum: np.ndarray | None
    start: np.ndarray
    extent: tuple[float, float, float, float]
    hessian: np.ndarray | None = None

    def grid(self, resolution: int = 200) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Sample f over `extent`.

        Returns (X, Y, Z), each (resolution, resolution), ready for `plt.contour(X, Y, Z)`.
        """
        xmin, xmax, ymin, ymax = self.extent
        X, Y = np.meshgrid(np.linspace(xmin, xmax, resolution), np.linspace(ymin, ymax, resolution))
        return X, Y, self.f(np.stack([X, Y], axis=-1))


def _xy(p) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(p, dtype=np.float64)
    return p[..., 0], p[..., 1]


def ill_conditioned_quadratic(condition_number: float = 20.0, angle: float = 0.0) -> Surface:
    """f(p) = 0.5 p^T A p with A = R diag(1, kappa) R^T: elliptic bowls, kappa times steeper one way.

    Plain gradient descent must keep its step below 2 / kappa to stay stable along the steep axis,
    so it crawls along the shallow one; momentum and adaptive methods are the cure.

    Inputs:
    - condition_number: kappa >= 1, the ratio of the largest to the smallest eigenvalue of A
    - angle: rotation R of the eigenvectors, in radians (0 puts the steep axis along y); a rotated
      bowl defeats per-coordinate methods such as Adagrad, which an axis-aligned one flatters

    Returns a Surface with minimum (0, 0) and `hessian` A.
    """
    if condition_number < 1:
        raise ValueError(f"condition_number must be >= 1, got {condition_number}")
    c, s = np.cos(angle), np.sin(angle)
    R = np.array([[c, -s], [s, c]])
    A = _frozen(R @ np.diag([1.0, condition_number]) @ R.T)

    def f(p):
        p = np.asarray(p, dtype=np.float64)
        return 0.5 * np.einsum("...i,ij,...j->...", p, A, p)

    def grad(p):
        return np.asarray(p, dtype=np.float64) @ A  # A is symmetric, so p A = (A p)^T

    return Surface(
        name=f"quadratic, condition number {condition_number:g}",
        f=f,
        grad=grad,
        minimum=_frozen([0.0, 0.0]),
        # (-4, 1) in the eigenbasis: far along the shallow axis, off-centre along the steep one.
        start=_frozen(R @ np.array([-4.0, 1.0])),
        extent=(-5.0, 5.0, -5.0, 5.0),
        hessian=A,
    )


def rosenbrock(a: float = 1.0, b: float = 100.0) -> Surface:
    """f(x, y) = (a - x)^2 + b (y - x^2)^2: a curved, flat-bottomed banana valley.

    Finding the valley is easy; following its floor to the minimum (a, a^2) is slow, because the
    walls are b times steeper than the floor and the floor bends.
    """

    def f(p):
        x, y = _xy(p)
        return (a - x) ** 2 + b * (y - x**2) ** 2

    def grad(p):
        x, y = _xy(p)
        wall = y - x**2
        return np.stack([-2 * (a - x) - 4 * b * x * wall, 2 * b * wall], axis=-1)

    return Surface(
        name=f"Rosenbrock (a={a:g}, b={b:g})",
        f=f,
        grad=grad,
        minimum=_frozen([a, a**2]),
        start=_frozen([-1.5, 2.0]),
        extent=(-2.0, 2.0, -1.0, 3.0),
    )


def saddle() -> Surface:
    """f(x, y) = x^2 - y^2: a saddle point at the origin, unbounded below along y.

    The default start lies 1e-3 off the ridge y = 0, where the gradient along y is tiny: gradient
    descent first slides toward the saddle and only slowly escapes it, while momentum escapes
    sooner. A start exactly on the ridge would never escape at all.
    """

    def f(p):
        x, y = _xy(p)
        return x**2 - y**2

    def grad(p):
        x, y = _xy(p)
        return np.stack([2 * x, -2 * y], axis=-1)

    return Surface(
        name="saddle",
        f=f,
        grad=grad,
        minimum=None,
        start=_frozen([1.5, 1e-3]),
        extent=(-2.0, 2.0, -2.0, 2.0),
    )


# The ravine's constants: floor slope, wall steepness and how much the floor bends.
_FLOOR, _WALL, _BEND = 0.1, 10.0, 0.3


def ravine() -> Surface:
    """f(x, y) = 0.1 x^2 + 10 (y - 0.3 x^2)^2: a long, narrow valley curving along y = 0.3 x^2.

    Across the valley the curvature is 20, along its floor 0.2: at the minimum (0, 0) the Hessian
    is diag(0.2, 20), condition number 100. Unlike the quadratic, the direction of the floor turns
    as you follow it, so a velocity built up in one direction has to be unlearned.
    """

    def f(p):
        x, y = _xy(p)
        return _FLOOR * x**2 + _WALL * (y - _BEND * x**2) ** 2

    def grad(p):
        x, y = _xy(p)
        wall = y - _BEND * x**2
        dx = 2 * _FLOOR * x - 4 * _WALL * _BEND * x * wall
        return np.stack([dx, 2 * _WALL * wall], axis=-1)

    return Surface(
        name="ravine",
        f=f,
        grad=grad,
        minimum=_frozen([0.0, 0.0]),
        # Far along the valley and below its floor (y = 1.875 at x = -2.5), so the first steps
        # bounce between the walls.
        start=_frozen([-2.5, 0.5]),
        extent=(-3.0, 3.0, -1.0, 3.5),
    )


def run_trajectory(
    surface: Surface,
    update_rule: UpdateRule,
    config: dict | None = None,
    start=None,
    steps: int = 100,
) -> np.ndarray:
    """Follow `update_rule` on `surface` for `steps` steps.

    Inputs:
    - surface: the Surface to descend
    - update_rule: update_rule(w, dw, config) -> (next_w, config), with w and dw of shape (2,)
    - config: hyperparameters such as {'learning_rate': 0.1}; copied (one level deep) so that
      state the rule stores in it, such as a velocity, does not leak into the next run
    - start: (2,) start point, default `surface.start`; never modified
    - steps: number of updates

    Returns points, (steps + 1, 2): the start followed by each iterate. When an iterate overflows
    to inf or NaN (a step size too large), the run stops and `points` ends at the last finite
    point, so it may be shorter; it is never padded.
    """
    w = np.array(surface.start if start is None else start, dtype=np.float64)  # a private copy
    config = dict(config or {})
    points = [w.copy()]
    # Divergence is a lesson here, not an error: let overflow produce inf quietly and stop on it.
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(steps):
            w, config = update_rule(w, surface.grad(w), config)
            w = np.asarray(w, dtype=np.float64)
            if not np.all(np.isfinite(w)):
                break
            # Copy: a rule may update w in place and return the same array every step.
            points.append(w.copy())
    return np.array(points)
