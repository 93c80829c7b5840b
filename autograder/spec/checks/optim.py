"""Checks for the update rules and gradient clipping of a2_optimizers, with torch.optim oracles.

Each rule runs a 6-step trajectory (see autograder.runtime.drivers.optim). The first column of
every gradient is tiny (1e-9): where eps sits (inside or outside the square root, before or after
bias correction) only shows on such coordinates.
"""
from __future__ import annotations

import numpy as np

from autograder.runtime.drivers.optim import RULES, displacements
from autograder.spec.checks import Case, Check, register, rng_for, torch_oracle

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
TORCH_OPTIMIZERS = {  # name: (torch.optim class name, torch defaults that differ from the rule's)
    "sgd": ("SGD", {"lr": 1e-3}),
    "sgd_momentum": ("SGD", {"lr": 1e-3, "momentum": 0.9}),
    "nesterov": ("SGD", {"lr": 1e-3, "momentum": 0.9, "nesterov": True}),
    "adagrad": ("Adagrad", {}),
    "rmsprop": ("RMSprop", {}),
    "adam": ("Adam", {}),
    "adamw": ("AdamW", {}),
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


def _torch_rule(name: str):
    def oracle(a):
        torch, o = torch_oracle()
        cls, defaults = TORCH_OPTIMIZERS[name]
        w = o.tensor(a["w"], requires_grad=True)
        optimizer = getattr(torch.optim, cls)([w], **{**defaults, **dict(a["config"] or {})})
        trajectory = []
        for dw in a["grads"]:
            w.grad = o.tensor(dw)
            optimizer.step()
            trajectory.append(w.detach().cpu().numpy().copy())
        return displacements(trajectory, a["w"])

    return oracle


assert set(RULES) == set(CONFIGS) == set(TORCH_OPTIMIZERS)
for _name in RULES:
    register(Check(_name, _name, cases=lambda n=_name: _rule_cases(n), torch=_torch_rule(_name)))


# ------------------------------------------------------------------ clipping

def _grad_dict(rng) -> dict[str, np.ndarray]:
    return {"W1": rng.standard_normal((4, 3)), "b1": rng.standard_normal(3), "W2": 3 * rng.standard_normal((3, 2))}


def _clip_cases(name: str, thresholds) -> list[Case]:
    # Threshold 100 clips nothing: returning the gradients unchanged is right there, so it is an edge case.
    return [Case(f"grads W1 (4, 3), b1 (3,), W2 (3, 2), threshold {t}", {"grads": _grad_dict(rng_for(name, i)), "threshold": t},
                 edge=t >= 100)
            for i, t in enumerate(thresholds)]


def _torch_clip(kind: str):
    def oracle(a):
        torch, o = torch_oracle()
        params = {k: o.tensor(np.zeros_like(v), requires_grad=True) for k, v in a["grads"].items()}
        for k, p in params.items():
            p.grad = o.tensor(a["grads"][k])
        clip = torch.nn.utils.clip_grad_norm_ if kind == "norm" else torch.nn.utils.clip_grad_value_
        clip(list(params.values()), a["threshold"])
        return {k: p.grad.cpu().numpy() for k, p in params.items()}

    return oracle


register(Check("clip_grad_norm", "clip_grad_norm", cases=lambda: _clip_cases("clip_grad_norm", (1.0, 100.0, 5.0)),
               torch=_torch_clip("norm")))
register(Check("clip_grad_value", "clip_grad_value", cases=lambda: _clip_cases("clip_grad_value", (0.5, 100.0)),
               torch=_torch_clip("value")))
