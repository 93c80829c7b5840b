"""Probes: how each graded function is exercised, on which hidden inputs, and what is compared.

A probe turns a namespace (the student's notebook globals, or the reference in `solutions`) into
outputs: it builds deterministic cases, calls the functions it needs, and returns a dict of named
outputs per case (arrays or numbers: 'out', 'dx', 'running_var', 'trajectory', ...). Grading is
then a comparison of two such dicts, which any process can do, including one that never ran
student code.

Where a function is random (initializers, dropout), its outputs are behavioural statistics
(standard deviation, kept fraction, scale of the kept units) rather than raw values, so any
correct use of the random generator passes.

A probe may also give a PyTorch oracle: the same outputs computed with torch from the same
inputs. A student's output must match both the NumPy reference and PyTorch.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from course.tolerance import DEFAULT, Tolerance, compare

Outputs = dict[str, Any]


@dataclass(frozen=True)
class Case:
    """One hidden test input. `label` is what feedback may show: shapes and settings, never values."""

    label: str
    inputs: dict[str, Any]


@dataclass(frozen=True)
class Rule:
    """How one output is compared: the project tolerance, or an absolute/relative bound for statistics."""

    kind: str = "tolerance"  # 'tolerance' | 'absolute' | 'relative'
    bound: float = 0.0

    def close(self, actual, expected, tol: Tolerance = DEFAULT) -> tuple[bool, float]:
        """(passed, error) where error is scale-relative for 'tolerance' and 'relative', absolute otherwise."""
        a, e = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
        if self.kind == "tolerance":
            result = compare(a, e, tol)
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
class Probe:
    """How to exercise one graded item.

    - check_id: the registry's check id
    - function: the name feedback speaks of (the graded function or class)
    - cases: () -> list of Case, deterministic
    - run: (namespace, inputs) -> Outputs; raises whatever the student's code raises
    - torch: optional (inputs) -> Outputs for the keys PyTorch can check
    - rules: per-output comparison rules (default: the project tolerance)
    """

    check_id: str
    function: str
    cases: Callable[[], list[Case]]
    run: Callable[[dict, dict], Outputs]
    torch: Callable[[dict], Outputs] | None = None
    rules: dict[str, Rule] = field(default_factory=dict)

    def rule(self, key: str) -> Rule:
        return self.rules.get(key, EXACT)


PROBES: dict[str, Probe] = {}


def register(probe: Probe) -> Probe:
    if probe.check_id in PROBES:
        raise ValueError(f"probe {probe.check_id!r} registered twice")
    PROBES[probe.check_id] = probe
    return probe


def rng_for(name: str, index: int = 0) -> np.random.Generator:
    """A generator seeded from the probe's name and the case index: stable across runs and machines."""
    return np.random.default_rng([zlib.crc32(name.encode()), index])


def shapes_label(**arrays) -> str:
    """'x (2, 3), w (3, 4)': the only facts about hidden inputs that feedback reveals."""
    return ", ".join(f"{k} {tuple(np.shape(v))}" for k, v in arrays.items())


def call_pair(result, name: str):
    """Unpack `(out, cache)`, saying clearly when a forward function returned something else."""
    if not isinstance(result, tuple) or len(result) != 2:
        raise TypeError(f"{name} must return a tuple (out, cache), got {type(result).__name__}")
    return result


def need(namespace: dict, name: str):
    """The object the student defined under `name`, or a NameError that says which is missing."""
    try:
        return namespace[name]
    except KeyError:
        raise NameError(f"{name} is not defined: run the cell that defines it") from None


def load_all() -> dict[str, Probe]:
    """Import every probe module (each registers its probes) and return the registry."""
    from autograder.probes import init, layers, models, normalization, optim, regularization  # noqa: F401

    return PROBES
