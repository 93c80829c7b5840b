"""Checks for TwoLayerNet (a1) and FullyConnectedNet, which is checked three ways across the course.

- fcnet_plain (a1): loss, every gradient and test-time scores with given weights; L2 on weights
  only; initialization scale and zero biases.
- fcnet_normalization (a3): the same with batchnorm and layernorm hidden layers, and test-time
  scores that use batchnorm's running statistics.
- fcnet_regularization (a4): L2, and dropout. The student's masks come back from the sandbox
  (the driver watches `dropout_forward`), and the reference network is run under the very same
  masks (`reference_overrides`), so loss and gradients are compared exactly, whatever generator
  the student's dropout uses; the drop probability the network passed is compared too. Whether
  the masks themselves are right is dropout_forward's check, not the network's.
"""
from __future__ import annotations

import numpy as np

from autograder.spec.checks import CASE_SECONDS, LARGE_CASE_SECONDS, LARGE_NOTE, Case, Check, Rule, register, rng_for

LAYERS = ("affine_forward", "affine_backward", "relu_forward", "relu_backward", "softmax_loss")


def _param_shapes(input_dim, hidden_dims, num_classes, normalization):
    dims = [input_dim, *hidden_dims, num_classes]
    shapes = {}
    for i, (fan_in, fan_out) in enumerate(zip(dims[:-1], dims[1:]), start=1):
        shapes[f"W{i}"], shapes[f"b{i}"] = (fan_in, fan_out), (fan_out,)
        if normalization and i <= len(hidden_dims):
            shapes[f"gamma{i}"], shapes[f"beta{i}"] = (fan_out,), (fan_out,)
    return shapes


def _case(name, index, hidden_dims, input_dim=4, num_classes=3, n=5, large=False, **options) -> Case:
    rng = rng_for(name, index)
    shapes = _param_shapes(input_dim, hidden_dims, num_classes, options.get("normalization"))
    params = {}
    for key, shape in shapes.items():
        if key.startswith("gamma"):
            params[key] = 1 + 0.2 * rng.standard_normal(shape)
        elif key.startswith("W"):
            # Large layers get He scale, so activations stay of order one through the network.
            params[key] = (np.sqrt(2 / shape[0]) if large else 0.6) * rng.standard_normal(shape)
        else:
            params[key] = 0.2 * rng.standard_normal(shape)
    inputs = {
        "hidden_dims": list(hidden_dims), "input_dim": input_dim, "num_classes": num_classes,
        "options": {"seed": 0, **options}, "params": params,
        "X": rng.standard_normal((n, input_dim)), "y": rng.integers(0, num_classes, size=n),
        "X_test": rng.standard_normal((3, input_dim)),
    }
    settings = ", ".join(f"{k}={v}" for k, v in options.items())
    label = f"hidden_dims={list(hidden_dims)}, X ({n}, {input_dim}), {num_classes} classes" + (f", {settings}" if settings else "")
    return Case(label + (LARGE_NOTE if large else ""), inputs, LARGE_CASE_SECONDS if large else CASE_SECONDS)


def _init_case() -> Case:
    return Case("hidden_dims=[100], input_dim=200, weight_init=0.05 (initial weights)",
                {"init": True, "hidden_dims": [100], "input_dim": 200, "num_classes": 10,
                 "options": {"weight_init": 0.05, "seed": 0}})


def _two_layer(case: Case) -> Case:
    return Case(case.label.replace("hidden_dims=[", "hidden_dim=[").replace("weight_init", "weight_scale"),
                {**case.inputs, "two_layer": True}, case.seconds)


def _initial_statistics(raw, inputs) -> dict:
    if not inputs.get("init"):
        return raw
    return {"std of initial W1": float(np.std(raw["initial W1"])),
            "largest initial |b|": float(np.max(np.abs(raw["initial biases"]))) if raw["initial biases"].size else 0.0}


def plausible_mask(mask: np.ndarray, p: float) -> bool:
    """Could `mask` (N, H: 1 kept, 0 dropped, -1 unknown) be inverted dropout's with drop
    probability p? Everything the sandbox reports is untrusted: an all-ones "mask" with a network
    that never drops would otherwise be compared with a reference that never drops either.
    Bounds at 6 standard errors, over the entries whose fate is known."""
    known = mask[mask >= 0]
    if known.size < 100:
        return False
    se = np.sqrt(p * (1 - p) / known.size)
    one_mask_for_all = 0 < p < 1 and len(mask) > 1 and np.all(mask == mask[0])
    return abs(float(known.mean()) - (1 - p)) <= 6 * se and not one_mask_for_all


def replay_dropout(outputs: dict, inputs: dict) -> dict:
    """Reference overrides that replay the student's dropout masks, or {} when there are none to replay.

    The masks must be one per hidden layer, shaped like that layer's activations, and plausible
    for the drop probability; otherwise the reference keeps its own seeded dropout and the masks
    show up as differing outputs.
    """
    p = inputs["options"].get("dropout", 0.0)
    masks = [outputs.get(f"dropout mask {i}") for i in range(1, len(inputs["hidden_dims"]) + 1)]
    n = len(inputs["X"])
    if not p or any(m is None or m.shape != (n, h) for m, h in zip(masks, inputs["hidden_dims"])):
        return {}
    if not all(plausible_mask(m, p) for m in masks):
        return {}
    pending = [m != 0 for m in masks]  # unknown entries sit where the input is 0: kept or not, the output is 0

    def dropout_forward(x, dropout_param):
        if dropout_param["mode"] != "train" or not pending:
            return x.copy(), (None, 1.0)
        mask = pending.pop(0)
        scale = 1 / (1 - p) if p < 1 else 0.0
        return x * mask * scale, (mask, scale)

    return {"dropout_forward": dropout_forward}


RULES = {
    "std of initial W1": Rule("relative", 0.05),
    "largest initial |b|": Rule("absolute", 0.0),
    "dropout p passed": Rule("absolute", 0.0),
}


def _network(check_id: str, function: str, cases, uses, overrides=None) -> Check:
    return Check(check_id, function, cases=cases, driver="network", rules=RULES, derive=_initial_statistics, uses=uses,
                 reference_overrides=overrides)


register(_network("two_layer_net", "TwoLayerNet", lambda: [
    _two_layer(_case("two_layer_net", 0, [6])),
    _two_layer(_case("two_layer_net", 1, [7], input_dim=5, num_classes=4, n=1)),
    _two_layer(_case("two_layer_net", 2, [5], n=6, reg=0.3)),
    _two_layer(_case("two_layer_net", 3, [300], input_dim=200, num_classes=10, n=64, large=True, reg=0.1)),
    _two_layer(_init_case()),
], LAYERS))
register(_network("fcnet_plain", "FullyConnectedNet", lambda: [
    _case("fcnet_plain", 0, [6, 5]),
    _case("fcnet_plain", 1, [7], input_dim=5, num_classes=4, n=1),
    _case("fcnet_plain", 2, [6, 5, 4], n=6, reg=0.3),
    _case("fcnet_plain", 3, [200, 100], input_dim=150, num_classes=10, n=64, large=True),
    _init_case(),
], LAYERS))
register(_network("fcnet_normalization", "FullyConnectedNet", lambda: [
    _case("fcnet_normalization", 0, [6, 5], n=8, normalization="batchnorm"),
    _case("fcnet_normalization", 1, [6, 5], n=5, normalization="layernorm"),
    _case("fcnet_normalization", 2, [7, 4], n=6, normalization="batchnorm", reg=0.1),
    _case("fcnet_normalization", 3, [200, 100], input_dim=150, num_classes=10, n=64, large=True, normalization="batchnorm"),
], ("batchnorm_forward", "batchnorm_backward_alt", "layernorm_forward", "layernorm_backward")))
register(_network("fcnet_regularization", "FullyConnectedNet", lambda: [
    _case("fcnet_regularization", 0, [6, 5], n=6, reg=0.5),
    # Enough hidden units (600 and 400) that a mask's kept fraction says something about p.
    _case("fcnet_regularization", 1, [30, 20], n=20, dropout=0.3),
    _case("fcnet_regularization", 2, [24, 16], n=25, dropout=0.5, reg=0.2),
    _case("fcnet_regularization", 3, [200, 100], input_dim=150, num_classes=10, n=64, large=True, dropout=0.3, reg=0.1),
], ("dropout_forward", "dropout_backward"), overrides=replay_dropout))
