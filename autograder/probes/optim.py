"""Probes for the update rules and gradient clipping of a2_optimizers, with torch.optim oracles.

Each update rule runs a short trajectory, compared step by step: the config returned by one call is passed to the next,
as a trainer does, so state that is not kept in config shows from the second step on. The first
column of every gradient is tiny (1e-9): where eps sits (inside or outside the square root,
before or after bias correction) only shows on such coordinates.
"""
from __future__ import annotations

import numpy as np

from autograder.probes import Case, Probe, need, register, rng_for

STEPS = 6
SHAPE = (3, 4)

# Hyperparameters per rule: the defaults (config=None on the first call), then explicit ones.
CONFIGS = {
    "sgd": [None, {"lr": 0.05, "weight_decay": 0.1}],
    "sgd_momentum": [None, {"lr": 0.05, "momentum": 0.8, "weight_decay": 0.01}],
    "nesterov": [None, {"lr": 0.05, "momentum": 0.7, "weight_decay": 0.01}],
    "adagrad": [None, {"lr": 0.1, "eps": 1e-6, "initial_accumulator_value": 0.1, "weight_decay": 0.01}],
    "rmsprop": [None, {"lr": 0.01, "alpha": 0.9, "eps": 1e-6, "weight_decay": 0.01}],
    "adam": [None, {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.01}],
    "adamw": [None, {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.1}],
}


def _gradients(rng) -> np.ndarray:
    g = rng.standard_normal((STEPS, *SHAPE))
    g[:, :, 0] *= 1e-9
    return g


def _rule_cases(name: str) -> list[Case]:
    cases = []
    for i, config in enumerate(CONFIGS[name]):
        rng = rng_for(name, i)
        label = "default hyperparameters" if config is None else ", ".join(f"{k}={v}" for k, v in config.items())
        inputs = {"w": rng.standard_normal(SHAPE), "grads": _gradients(rng), "config": config}
        cases.append(Case(f"w {SHAPE}, {STEPS} steps, {label}", inputs))
    return cases


def _run_rule(name: str):
    def run(ns, a):
        update = need(ns, name)
        w, config, trajectory = a["w"], a["config"], []
        for step, dw in enumerate(a["grads"], start=1):
            result = update(w, dw, config) if config is not None else update(w, dw)
            if not isinstance(result, tuple) or len(result) != 2:
                raise TypeError(f"{name} must return a tuple (next_w, config), got {type(result).__name__}")
            w, config = result
            if not isinstance(config, dict):
                raise TypeError(f"{name} must return its config dict as the second value (step {step})")
            trajectory.append(np.array(w, dtype=np.float64))
        return _displacements(trajectory, a["w"])

    return run


def _displacements(trajectory, w0) -> dict:
    # Displacements from the start, so errors are measured against the size of the updates;
    # one output per step, so feedback can say at which step a trajectory leaves the reference.
    return {f"step {t}": w - w0 for t, w in enumerate(trajectory, start=1)}


def _torch_rule(name: str):
    def oracle(a):
        import torch

        from course.torch_bridge import oracle as make_oracle

        o = make_oracle()
        config = dict(a["config"] or {})
        cls, defaults = {
            "sgd": (torch.optim.SGD, {"lr": 1e-3}),
            "sgd_momentum": (torch.optim.SGD, {"lr": 1e-3, "momentum": 0.9}),
            "nesterov": (torch.optim.SGD, {"lr": 1e-3, "momentum": 0.9, "nesterov": True}),
            "adagrad": (torch.optim.Adagrad, {}),
            "rmsprop": (torch.optim.RMSprop, {}),
            "adam": (torch.optim.Adam, {}),
            "adamw": (torch.optim.AdamW, {}),
        }[name]
        w = o.tensor(a["w"], requires_grad=True)
        optimizer = cls([w], **{**defaults, **config})
        trajectory = []
        for dw in a["grads"]:
            w.grad = o.tensor(dw)
            optimizer.step()
            trajectory.append(w.detach().cpu().numpy().copy())
        return _displacements(trajectory, a["w"])

    return oracle


for _name in CONFIGS:
    register(Probe(_name, _name, cases=lambda n=_name: _rule_cases(n), run=_run_rule(_name), torch=_torch_rule(_name)))


# ------------------------------------------------------------------ clipping

def _grad_dict(rng) -> dict[str, np.ndarray]:
    return {"W1": rng.standard_normal((4, 3)), "b1": rng.standard_normal(3), "W2": 3 * rng.standard_normal((3, 2))}


def _clip_cases(name: str, thresholds) -> list[Case]:
    cases = []
    for i, threshold in enumerate(thresholds):
        grads = _grad_dict(rng_for(name, i))
        cases.append(Case(f"grads W1 (4, 3), b1 (3,), W2 (3, 2), threshold {threshold}", {"grads": grads, "threshold": threshold}))
    return cases


def _run_clip(name: str):
    def run(ns, a):
        clipped = need(ns, name)(a["grads"], a["threshold"])
        if not isinstance(clipped, dict):
            raise TypeError(f"{name} must return a dict of clipped gradients, got {type(clipped).__name__}")
        missing = sorted(set(a["grads"]) - set(clipped))
        if missing:
            raise KeyError(f"{name} dropped the gradients {missing}")
        return {k: clipped[k] for k in a["grads"]}

    return run


def _torch_clip(kind: str):
    def oracle(a):
        import torch

        from course.torch_bridge import oracle as make_oracle

        o = make_oracle()
        params = {k: o.tensor(np.zeros_like(v), requires_grad=True) for k, v in a["grads"].items()}
        for k, p in params.items():
            p.grad = o.tensor(a["grads"][k])
        if kind == "norm":
            torch.nn.utils.clip_grad_norm_(list(params.values()), a["threshold"])
        else:
            torch.nn.utils.clip_grad_value_(list(params.values()), a["threshold"])
        return {k: p.grad.cpu().numpy() for k, p in params.items()}

    return oracle


register(Probe("clip_grad_norm", "clip_grad_norm", cases=lambda: _clip_cases("clip_grad_norm", (1.0, 100.0, 5.0)),
               run=_run_clip("clip_grad_norm"), torch=_torch_clip("norm")))
register(Probe("clip_grad_value", "clip_grad_value", cases=lambda: _clip_cases("clip_grad_value", (0.5, 100.0)),
               run=_run_clip("clip_grad_value"), torch=_torch_clip("value")))
