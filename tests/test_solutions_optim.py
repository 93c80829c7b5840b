"""Specification of solutions.optim: every update rule follows its torch.optim optimizer for 50
steps given the same gradients, with torch's defaults, and gradient clipping is
torch.nn.utils.clip_grad_norm_ / clip_grad_value_."""
import numpy as np
import pytest
import torch

from solutions.optim import UPDATE_RULES, clip_grad_norm, clip_grad_value
from torch_reference import ORACLE, assert_matches_torch

STEPS = 50
# Per-column gradient scales: the 1e-9 column is where eps dominates the adaptive rules'
# denominators, so an eps inside the square root or a misplaced bias correction shows there.
GRADIENT_SCALES = np.array([1.0, 1e-9, 30.0])


def torch_optimizer(rule, params, config):
    """The torch.optim optimizer equivalent to `rule` with the hyperparameters in `config`.

    Our keys are torch's keyword arguments. The one default that differs is momentum: our
    momentum rules default to 0.9, torch.optim.SGD to 0, so it is passed explicitly.
    """
    if rule == "sgd":
        return torch.optim.SGD(params, **config)
    if rule == "sgd_momentum":
        return torch.optim.SGD(params, **{"momentum": 0.9, **config})
    if rule == "nesterov":
        return torch.optim.SGD(params, nesterov=True, **{"momentum": 0.9, **config})
    optimizers = {
        "adagrad": torch.optim.Adagrad,
        "rmsprop": torch.optim.RMSprop,
        "adam": torch.optim.Adam,
        "adamw": torch.optim.AdamW,
    }
    return optimizers[rule](params, **config)


# (rule, config): an empty config checks that the defaults are torch's.
CASES = [
    ("sgd", {}),
    ("sgd", {"lr": 0.05, "weight_decay": 0.1}),
    ("sgd_momentum", {}),
    ("sgd_momentum", {"lr": 0.02, "momentum": 0.5, "weight_decay": 0.1}),
    ("nesterov", {}),
    ("nesterov", {"lr": 0.02, "momentum": 0.8, "weight_decay": 0.1}),
    ("adagrad", {}),
    ("adagrad", {"lr": 0.05, "weight_decay": 0.1, "initial_accumulator_value": 0.1}),
    ("rmsprop", {}),
    ("rmsprop", {"lr": 1e-3, "alpha": 0.9, "eps": 1e-6, "weight_decay": 0.1}),
    ("adam", {}),
    ("adam", {"lr": 1e-2, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.1}),
    ("adamw", {}),
    ("adamw", {"lr": 1e-2, "betas": (0.8, 0.99), "weight_decay": 0.1}),
]


def test_update_rules_lists_every_rule():
    names = {"sgd", "sgd_momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw"}
    assert set(UPDATE_RULES) == names
    assert {rule for rule, _ in CASES} == set(UPDATE_RULES)


@pytest.mark.parametrize(
    "rule, config", CASES, ids=[f"{r}-{'custom' if c else 'defaults'}" for r, c in CASES]
)
def test_update_rule_follows_torch_optim_for_50_steps(rule, config):
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal((4, 3))
    gradients = rng.standard_normal((STEPS, 4, 3)) * GRADIENT_SCALES

    w, state = w0, dict(config)
    param = ORACLE.tensor(w0, requires_grad=True)
    optimizer = torch_optimizer(rule, [param], config)
    ours, theirs = [], []
    for g in gradients:
        w, state = UPDATE_RULES[rule](w, g, state)
        param.grad = ORACLE.tensor(g)
        optimizer.step()
        ours.append(w)
        theirs.append(param.detach().cpu().numpy().copy())

    # Displacements, not positions: relative to how far w moved, not to |w| ~ 1.
    moved, expected = np.array(ours) - w0, np.array(theirs) - w0
    assert_matches_torch(rule, f"w - w0 over {STEPS} steps", moved, expected)


@pytest.mark.parametrize("rule", UPDATE_RULES)
def test_update_rule_accepts_no_config_and_returns_its_defaults(rule):
    w = np.ones((2, 2))
    next_w, config = UPDATE_RULES[rule](w, np.ones((2, 2)))
    assert next_w.shape == w.shape
    assert "lr" in config


def test_adam_counts_steps_before_using_them():
    _, config = UPDATE_RULES["adam"](np.ones(3), np.ones(3))
    assert config["t"] == 1
    _, config = UPDATE_RULES["adam"](np.ones(3), np.ones(3), config)
    assert config["t"] == 2


def gradient_dict(seed=1):
    rng = np.random.default_rng(seed)
    return {
        "W1": rng.standard_normal((3, 4)),
        "b1": rng.standard_normal(4),
        "W2": rng.standard_normal((4, 2)),
    }


def torch_params_with_grads(grads):
    params = []
    for g in grads.values():
        p = ORACLE.tensor(np.zeros_like(g), requires_grad=True)
        p.grad = ORACLE.tensor(g)
        params.append(p)
    return params


@pytest.mark.parametrize("max_norm", [0.5, 2.0, 1e3])  # the total norm here is about 3.1
def test_clip_grad_norm_matches_torch(max_norm):
    grads = gradient_dict()
    params = torch_params_with_grads(grads)
    torch.nn.utils.clip_grad_norm_(params, max_norm)
    clipped = clip_grad_norm(grads, max_norm)
    assert list(clipped) == list(grads)
    for (name, g), p in zip(clipped.items(), params):
        assert_matches_torch("clip_grad_norm", name, g, p.grad)


@pytest.mark.parametrize("clip", [0.1, 1.0, 10.0])
def test_clip_grad_value_matches_torch(clip):
    grads = gradient_dict(seed=2)
    params = torch_params_with_grads(grads)
    torch.nn.utils.clip_grad_value_(params, clip)
    clipped = clip_grad_value(grads, clip)
    assert list(clipped) == list(grads)
    for (name, g), p in zip(clipped.items(), params):
        assert_matches_torch("clip_grad_value", name, g, p.grad)
