"""Drivers for the update rules and gradient clipping of a2_optimizers.

Each update rule runs a short trajectory: the config returned by one call is passed to the next,
as a trainer does, so state that is not kept in config shows from the second step on. Update
rules and clipping are judged by what they return: they may update w, the gradients and config in
place (CS231n's `w -= lr * dw`, PyTorch's in-place `clip_grad_norm_`).
"""
from __future__ import annotations

import numpy as np

from autograder.runtime.drivers import Session, driver, pair

RULES = ("sgd", "sgd_momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw")


def displacements(trajectory, w0) -> dict:
    """One output per step, measured from the start: errors are judged against the size of the
    updates, and feedback can say at which step a trajectory leaves the reference."""
    return {f"step {t}": np.asarray(w, dtype=np.float64) - w0 for t, w in enumerate(trajectory, start=1)}


def _rule(name: str):
    @driver(name)
    def run(s: Session, a):
        w0 = np.array(a["w"], dtype=np.float64)  # a copy: the rule may update w in place
        w, config, trajectory = a["w"], a["config"], []
        for step, dw in enumerate(a["grads"], start=1):
            args = (("w", w), ("dw", np.array(dw))) + ((("config", config),) if config is not None else ())
            w, config = pair(s.call(name, *args, protect=False), name, "(next_w, config)")
            if not isinstance(config, dict):
                raise TypeError(f"{name} must return its config dict as the second value (step {step})")
            trajectory.append(np.array(w, dtype=np.float64))
        return displacements(trajectory, w0)


for _name in RULES:
    _rule(_name)


def _clip(name: str):
    @driver(name)
    def run(s: Session, a):
        grads = {k: np.array(v) for k, v in a["grads"].items()}
        clipped = s.call(name, ("grads", grads), ("threshold", a["threshold"]), protect=False)
        if not isinstance(clipped, dict):
            raise TypeError(f"{name} must return a dict of clipped gradients, got {type(clipped).__name__}")
        missing = sorted(set(a["grads"]) - set(clipped))
        if missing:
            raise KeyError(f"{name} dropped the gradients {missing}")
        return {k: clipped[k] for k in a["grads"]}


_clip("clip_grad_norm")
_clip("clip_grad_value")
