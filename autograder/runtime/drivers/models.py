"""Drivers for TwoLayerNet (a1) and FullyConnectedNet (a1, a3, a4).

The model's weights are overwritten with the case's arrays after construction, so the outputs do
not depend on how the student drew the initial weights. With dropout, every call the network
makes to the notebook's `dropout_forward` is watched: the masks it drew (where its output is
nonzero; unknown where its input was zero) and the drop probability it passed come back as outputs, so the judge can rerun the
reference network under the very same masks.
"""
from __future__ import annotations

import numpy as np

from autograder.runtime.drivers import Session, driver


def _build(s: Session, a):
    if a.get("two_layer"):
        options = {("weight_scale" if k == "weight_init" else k): v for k, v in a["options"].items()}
        return s.need("TwoLayerNet")(input_dim=a["input_dim"], hidden_dim=a["hidden_dims"][0],
                                     num_classes=a["num_classes"], **options)
    return s.need("FullyConnectedNet")(a["hidden_dims"], input_dim=a["input_dim"], num_classes=a["num_classes"],
                                       **a["options"])


def _load_weights(model, params, cls: str):
    got, expected = sorted(getattr(model, "params", {})), sorted(params)
    if got != expected:
        raise KeyError(f"{cls}.params has keys {got}, expected {expected}")
    for key, value in params.items():
        shape = np.shape(model.params[key])
        if shape != value.shape:
            raise ValueError(f"{cls}.params['{key}'] has shape {shape}, expected {value.shape}")
        model.params[key] = value.copy()


class _WatchedDropout:
    """Stands in for the notebook's dropout_forward while the network runs, and notes each mask."""

    def __init__(self, inner):
        self.inner, self.masks, self.probabilities = inner, [], []

    def __call__(self, x, dropout_param, *args, **kwargs):
        out, cache = self.inner(x, dropout_param, *args, **kwargs)
        if isinstance(dropout_param, dict) and dropout_param.get("mode") == "train":
            # 1 kept, 0 dropped, -1 unknown: where x is 0 (a ReLU's zeros) both give 0.
            out, x = np.asarray(out, dtype=np.float64), np.asarray(x, dtype=np.float64)
            mask = (out != 0).astype(np.float64) if out.shape == x.shape else np.zeros(0)
            if out.shape == x.shape:
                mask[x == 0] = -1.0
            self.masks.append(mask)
            self.probabilities.append(dropout_param.get("p"))
        return out, cache


def _loss_with_watched_dropout(s: Session, model, X, y):
    namespace = s.namespace
    inner = namespace.get("dropout_forward")
    if inner is None:
        return model.loss(X, y), None
    watched = _WatchedDropout(inner)
    namespace["dropout_forward"] = watched
    try:
        return model.loss(X, y), watched
    finally:
        namespace["dropout_forward"] = inner


@driver("network")
def network(s: Session, a):
    cls = "TwoLayerNet" if a.get("two_layer") else "FullyConnectedNet"
    model = _build(s, a)
    if a.get("init"):
        return {"initial W1": np.asarray(model.params["W1"], dtype=np.float64),
                "initial biases": np.concatenate([np.ravel(v) for k, v in model.params.items() if k.startswith("b")])}
    _load_weights(model, a["params"], cls)
    dropout = a["options"].get("dropout", 0.0)
    outputs = {}
    if dropout:
        (loss, grads), watched = _loss_with_watched_dropout(s, model, a["X"], a["y"])
        if watched is not None:
            for i, mask in enumerate(watched.masks, start=1):
                outputs[f"dropout mask {i}"] = mask
            outputs["dropout p passed"] = np.array([float(p) if isinstance(p, (int, float)) else np.nan
                                                    for p in watched.probabilities])
    else:
        loss, grads = model.loss(a["X"], a["y"])
    outputs["loss"] = loss
    outputs.update({f"grads['{k}']": grads.get(k) if isinstance(grads, dict) else None for k in a["params"]})
    outputs["scores in test mode"] = model.loss(a["X_test"])
    return outputs
