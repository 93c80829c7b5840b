"""Drivers: how the code under test is called for one hidden check, and which outputs are kept.

A driver is `run(session, inputs) -> outputs`: it calls the student's functions (through the
`Session`, which looks them up by name and notes which array arguments they changed in place) on
one case's inputs, and returns named outputs (arrays or numbers). It knows nothing of what the
outputs should be. The same drivers run in the grading process against the NumPy reference, so a
student's outputs and the reference's are produced by the same calls.

In-place changes (the rule the notebooks state): layer, loss, normalization and dropout functions
must leave the arrays they are given unchanged; settings and state dicts (`config`, `bn_param`,
...) are theirs to fill and update; update rules and gradient clipping are judged by what they
return, so they may update `w` and the gradients in place. Drivers pass `protect=False` for the
latter.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

Outputs = dict


class Session:
    """The namespace under test, and a log of in-place changes: (function, argument) pairs."""

    def __init__(self, namespace: dict):
        self.namespace = namespace
        self.mutations: list[tuple[str, str]] = []

    def need(self, name: str):
        """The object defined under `name`, or a NameError that says which is missing."""
        try:
            return self.namespace[name]
        except KeyError:
            raise NameError(f"{name} is not defined: run the cell that defines it") from None

    def call(self, name: str, *args: tuple[str, object], protect: bool = True):
        """Call `name` with the values of `args` ((argument name, value) pairs).

        With `protect`, every array argument is compared before and after: a change is logged
        as (name, argument name), for the judge to charge to `name` alone.
        """
        fn = self.need(name)
        watched = [(arg, value, value.copy()) for arg, value in args if protect and isinstance(value, np.ndarray)]
        result = fn(*(value for _, value in args))
        for arg, value, before in watched:
            if not (value.shape == before.shape and np.array_equal(value, before, equal_nan=True)):
                self.mutations.append((name, arg))
        return result


def pair(result, name: str, what: str = "(out, cache)"):
    """Unpack a 2-tuple, saying clearly when a function returned something else."""
    if not isinstance(result, tuple) or len(result) != 2:
        raise TypeError(f"{name} must return a tuple {what}, got {type(result).__name__}")
    return result


def triple(result, name: str, what: str):
    if not isinstance(result, tuple) or len(result) != 3:
        raise TypeError(f"{name} must return a tuple {what}, got {type(result).__name__}")
    return result


@dataclass(frozen=True)
class Driver:
    """`run(session, inputs) -> outputs` (see the module docstring)."""

    run: Callable[[Session, dict], Outputs]


DRIVERS: dict[str, Driver] = {}


def driver(name: str):
    """Register the decorated function as the driver called `name`."""

    def register(run):
        if name in DRIVERS:
            raise ValueError(f"driver {name!r} registered twice")
        DRIVERS[name] = Driver(run)
        return run

    return register


def load_all() -> dict[str, Driver]:
    """Import every driver module (each registers its drivers) and return the registry."""
    from autograder.runtime.drivers import init, layers, models, normalization, optim, regularization  # noqa: F401

    return DRIVERS
