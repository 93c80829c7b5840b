"""Checks: the hidden cases of each graded item, how its outputs are compared, and its oracle.

A check names the driver (`autograder.runtime.drivers`) that calls the student's code, generates
its cases here, in the grading process (the sandbox receives their inputs one at a time, as data),
and says how each output is compared. The expected outputs come from running the same driver on
the NumPy reference and, where a check has one, from a PyTorch oracle computed from the same
inputs: a student's output must match both.

Where a function is random (initializers, dropout), `derive` turns the raw arrays the driver
returned into behavioural statistics (standard deviation, kept fraction, ...), computed here from
the student's arrays, so any correct use of the random generator passes and nothing the sandbox
says about its own arrays is believed.

Backward passes and networks have one large case each, sized so that a gradient computed by
finite differences cannot finish inside its time budget while an analytic one takes
milliseconds (also when written with loops over the batch).
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from course.tolerance import DEFAULT, Tolerance, compare

Outputs = dict[str, Any]
CASE_SECONDS = 10.0  # the time budget of one ordinary case
LARGE_CASE_SECONDS = 8.0  # a large case: milliseconds for an analytic gradient, minutes for a numerical one
LARGE_NOTE = ", large: a numerical gradient cannot finish in time"


@dataclass(frozen=True)
class Case:
    """One hidden test input. `label` is what feedback may show: shapes and settings, never values.

    An `edge` case (p = 0 dropout, a clipping threshold nothing reaches) has an answer that a
    function doing nothing also gives: failing it costs as much as any case, passing it earns
    nothing by itself.
    """

    label: str
    inputs: dict[str, Any]
    seconds: float = CASE_SECONDS
    edge: bool = False


@dataclass(frozen=True)
class Rule:
    """How one output is compared: the project tolerance, or an absolute/relative bound for statistics."""

    kind: str = "tolerance"  # 'tolerance' | 'absolute' | 'relative'
    bound: float = 0.0

    def close(self, actual, expected, tol: Tolerance = DEFAULT, floor: float = 0.0) -> tuple[bool, float]:
        """(passed, error): error is relative to the scale for 'tolerance' and 'relative', absolute otherwise.

        `floor` is the smallest scale the tolerance is measured against (see course.tolerance):
        the judge passes the largest expected value among the case's outputs, so an output that is
        zero in exact arithmetic is not judged against its own rounding noise.
        """
        a, e = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
        if self.kind == "tolerance":
            result = compare(a, e, tol, floor=floor)
            return result.passed, result.scaled_error
        if a.shape != e.shape or not np.all(np.isfinite(a)):
            return False, np.inf
        err = float(np.max(np.abs(a - e))) if a.size else 0.0
        if self.kind == "relative":
            scale = float(np.max(np.abs(e))) if e.size else 0.0
            err = err / scale if scale > 0 else err
        return err <= self.bound, err


EXACT = Rule()


@dataclass(frozen=True)
class Check:
    """How one graded item is checked.

    - check_id: the registry's check id; function: the name feedback speaks of
    - driver: the runtime driver that calls the code under test (default: check_id)
    - cases: () -> list of Case, deterministic
    - torch: optional (inputs) -> Outputs for the outputs PyTorch can check
    - rules: per-output comparison rules (default: the project tolerance)
    - derive: optional (raw outputs, inputs) -> Outputs, run on the student's and the reference's
      raw outputs alike before comparing (statistics of random draws)
    - uses: other graded functions the driver calls (a backward pass builds its cache with the
      student's forward pass): when one of them fails its own check, feedback says so first
    - reference_overrides: optional (student's raw outputs, inputs) -> names to replace in the
      reference namespace for this one comparison (a network rerun under the student's masks)
    """

    check_id: str
    function: str
    cases: Callable[[], list[Case]]
    driver: str = ""
    torch: Callable[[dict], Outputs] | None = None
    rules: dict[str, Rule] = field(default_factory=dict)
    derive: Callable[[dict, dict], Outputs] | None = None
    uses: tuple[str, ...] = ()
    reference_overrides: Callable[[dict, dict], dict] | None = None

    @property
    def driver_name(self) -> str:
        return self.driver or self.check_id

    def rule(self, key: str) -> Rule:
        return self.rules.get(key, EXACT)


CHECKS: dict[str, Check] = {}


def register(check: Check) -> Check:
    if check.check_id in CHECKS:
        raise ValueError(f"check {check.check_id!r} registered twice")
    CHECKS[check.check_id] = check
    return check


def rng_for(name: str, index: int = 0) -> np.random.Generator:
    """A generator seeded from the check's name and the case index: stable across runs and machines."""
    return np.random.default_rng([zlib.crc32(name.encode()), index])


def shapes_label(**arrays) -> str:
    """'x (2, 3), w (3, 4)': the only facts about hidden inputs that feedback reveals."""
    return ", ".join(f"{k} {tuple(np.shape(v))}" for k, v in arrays.items())


def torch_oracle():
    """(torch, the oracle): imported only when an oracle runs, in the grading process."""
    import torch

    from course.torch_bridge import oracle

    return torch, oracle()


def load_all() -> dict[str, Check]:
    """Import every check module (each registers its checks) and return the registry."""
    from autograder.spec.checks import init, layers, models, normalization, optim, regularization  # noqa: F401

    return CHECKS
