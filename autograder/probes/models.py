"""Probes for TwoLayerNet (a1) and FullyConnectedNet, which is checked three ways across the course.

- fcnet_plain (a1): loss, every gradient and test-time scores with given weights; L2 on weights
  only; initialization scale and zero biases.
- fcnet_normalization (a3): the same with batchnorm and layernorm hidden layers, and test-time
  scores that use batchnorm's running statistics.
- fcnet_regularization (a4): L2, and dropout, whose mask a correct implementation may draw in its
  own way: its gradients are checked against the model's own numerical gradient (with the seed
  fixed), its test-time scores against the reference, and its training loss must differ from
  the dropout-free one.

The model's weights are overwritten with given arrays after construction, so the comparison does
not depend on how the student drew the initial weights.
"""
from __future__ import annotations

import numpy as np

from autograder.probes import Case, Probe, Rule, need, register, rng_for
from course.gradcheck import numerical_gradient


def _param_shapes(input_dim, hidden_dims, num_classes, normalization):
    dims = [input_dim, *hidden_dims, num_classes]
    shapes = {}
    for i, (fan_in, fan_out) in enumerate(zip(dims[:-1], dims[1:]), start=1):
        shapes[f"W{i}"], shapes[f"b{i}"] = (fan_in, fan_out), (fan_out,)
        if normalization and i <= len(hidden_dims):
            shapes[f"gamma{i}"], shapes[f"beta{i}"] = (fan_out,), (fan_out,)
    return shapes


def _case(name, index, hidden_dims, input_dim=4, num_classes=3, n=5, **options) -> Case:
    rng = rng_for(name, index)
    shapes = _param_shapes(input_dim, hidden_dims, num_classes, options.get("normalization"))
    params = {}
    for key, shape in shapes.items():
        if key.startswith("gamma"):
            params[key] = 1 + 0.2 * rng.standard_normal(shape)
        else:
            params[key] = (0.6 if key.startswith("W") else 0.2) * rng.standard_normal(shape)
    inputs = {
        "hidden_dims": list(hidden_dims), "input_dim": input_dim, "num_classes": num_classes,
        "options": {"seed": 0, **options}, "params": params,
        "X": rng.standard_normal((n, input_dim)), "y": rng.integers(0, num_classes, size=n),
        "X_test": rng.standard_normal((3, input_dim)),
    }
    settings = ", ".join(f"{k}={v}" for k, v in options.items())
    return Case(f"hidden_dims={list(hidden_dims)}, X ({n}, {input_dim}), {num_classes} classes" + (f", {settings}" if settings else ""), inputs)


def _init_case(name) -> Case:
    return Case("hidden_dims=[100], input_dim=200, weight_init=0.05 (initial weights)",
                {"init": True, "hidden_dims": [100], "input_dim": 200, "num_classes": 10, "options": {"weight_init": 0.05, "seed": 0}})


def _build(ns, a):
    if a.get("two_layer"):
        options = {("weight_scale" if k == "weight_init" else k): v for k, v in a["options"].items()}
        return need(ns, "TwoLayerNet")(input_dim=a["input_dim"], hidden_dim=a["hidden_dims"][0],
                                       num_classes=a["num_classes"], **options)
    cls = need(ns, "FullyConnectedNet")
    return cls(a["hidden_dims"], input_dim=a["input_dim"], num_classes=a["num_classes"], **a["options"])


def _load_weights(model, params):
    got, expected = sorted(getattr(model, "params", {})), sorted(params)
    if got != expected:
        raise KeyError(f"FullyConnectedNet.params has keys {got}, expected {expected}")
    for key, value in params.items():
        shape = np.shape(model.params[key])
        if shape != value.shape:
            raise ValueError(f"FullyConnectedNet.params['{key}'] has shape {shape}, expected {value.shape}")
        model.params[key] = value.copy()


def _run(ns, a):
    model = _build(ns, a)
    if a.get("init"):
        return {
            "std of initial W1": float(np.std(model.params["W1"])),
            "largest initial |b|": max(float(np.max(np.abs(v))) for k, v in model.params.items() if k.startswith("b")),
        }
    _load_weights(model, a["params"])
    dropout = a["options"].get("dropout", 0.0)
    outputs = {}
    loss, grads = model.loss(a["X"], a["y"])
    if dropout == 0.0:
        outputs["loss"] = loss
        outputs.update({f"grads['{k}']": grads.get(k) for k in a["params"]})
    else:
        # The mask is the student's own: check the gradients against the model itself.
        worst = 0.0
        for key, param in model.params.items():
            numeric = numerical_gradient(lambda _: model.loss(a["X"], a["y"])[0], param)
            analytic = np.asarray(grads.get(key), dtype=np.float64)
            worst = max(worst, float(np.max(np.abs(analytic - numeric) / np.maximum(1e-8, np.abs(analytic) + np.abs(numeric)))))
        outputs["gradient check with dropout (relative error)"] = 0.0 if worst < 1e-6 else worst
        outputs["dropout changes the training loss"] = float(not np.isclose(loss, _loss_without_dropout(model, a)))
    outputs["scores in test mode"] = model.loss(a["X_test"])
    return outputs


def _loss_without_dropout(model, a):
    scores = np.asarray(model.loss(a["X"]), dtype=np.float64)  # test mode: no dropout
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    data_loss = -np.mean(log_probs[np.arange(len(a["y"])), a["y"]])
    reg = a["options"].get("reg", 0.0)
    return data_loss + 0.5 * reg * sum(np.sum(v**2) for k, v in model.params.items() if k.startswith("W"))


_RULES = {
    "std of initial W1": Rule("relative", 0.05),
    "largest initial |b|": Rule("absolute", 0.0),
    "gradient check with dropout (relative error)": Rule("absolute", 0.0),
    "dropout changes the training loss": Rule("absolute", 0.0),
}

def _two_layer(case: Case) -> Case:
    return Case(case.label.replace("hidden_dims=[", "hidden_dim=[").replace("weight_init", "weight_scale"),
                {**case.inputs, "two_layer": True})


register(Probe("two_layer_net", "TwoLayerNet", run=_run, rules=_RULES, cases=lambda: [
    _two_layer(_case("two_layer_net", 0, [6])),
    _two_layer(_case("two_layer_net", 1, [7], input_dim=5, num_classes=4, n=1)),
    _two_layer(_case("two_layer_net", 2, [5], n=6, reg=0.3)),
    _two_layer(_init_case("two_layer_net")),
]))
register(Probe("fcnet_plain", "FullyConnectedNet", run=_run, rules=_RULES, cases=lambda: [
    _case("fcnet_plain", 0, [6, 5]),
    _case("fcnet_plain", 1, [7], input_dim=5, num_classes=4, n=1),
    _case("fcnet_plain", 2, [6, 5, 4], n=6, reg=0.3),
    _init_case("fcnet_plain"),
]))
register(Probe("fcnet_normalization", "FullyConnectedNet", run=_run, rules=_RULES, cases=lambda: [
    _case("fcnet_normalization", 0, [6, 5], n=8, normalization="batchnorm"),
    _case("fcnet_normalization", 1, [6, 5], n=5, normalization="layernorm"),
    _case("fcnet_normalization", 2, [7, 4], n=6, normalization="batchnorm", reg=0.1),
]))
register(Probe("fcnet_regularization", "FullyConnectedNet", run=_run, rules=_RULES, cases=lambda: [
    _case("fcnet_regularization", 0, [6, 5], n=6, reg=0.5),
    _case("fcnet_regularization", 1, [8, 6], n=6, dropout=0.3),
    _case("fcnet_regularization", 2, [6, 5], n=5, dropout=0.5, reg=0.2),
]))
