"""Measurements that explain why training works or does not: activations, gradients and updates.

The NumPy functions take plain arrays, so they work on what a student's network caches.
`TorchRecorder`, `parameter_grad_norms` and `update_ratio` measure a torch model, convert to
NumPy and hand over to the same functions, so a number means the same thing in both worlds.

Naming: activations come as a dict name -> array, or as a list whose entries are named
'layer 1', 'layer 2', ... (`as_named_layers` is the one place that decides this).
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # torch is imported only by the functions that measure torch models:
    import torch  # NumPy-only users (assignment kernels) should not pay for importing it.


@dataclass(frozen=True, eq=False)
class LayerStats:
    """Summary of one layer's activations over a batch.

    Fields:
    - name: the layer's name
    - mean, std: over every entry
    - saturated_fraction: see `saturated_fraction`; NaN when no saturating kind was given
    - dead_fraction: see `dead_relu_fraction`
    - counts: (bins,) histogram counts; edges: (bins + 1,) bin edges
    """

    name: str
    mean: float
    std: float
    saturated_fraction: float
    dead_fraction: float
    counts: np.ndarray
    edges: np.ndarray


def as_named_layers(acts) -> OrderedDict[str, np.ndarray]:
    """Name -> float array, in order. A list or tuple is named 'layer 1', 'layer 2', ..."""
    if isinstance(acts, dict):
        items = acts.items()
    else:
        items = ((f"layer {i}", a) for i, a in enumerate(acts, start=1))
    return OrderedDict((str(name), np.asarray(a, dtype=np.float64)) for name, a in items)


def _as_units(a) -> np.ndarray:
    """(N, D) view of a batch: one row per example, one column per unit; (N,) becomes (N, 1)."""
    a = np.asarray(a, dtype=np.float64)
    return a.reshape(len(a), -1)


def saturated_fraction(a, kind: str = "tanh", threshold: float = 0.99) -> float:
    """Fraction of entries where the nonlinearity is flat, so almost no gradient passes through it.

    Inputs:
    - a: array of any shape, the nonlinearity's outputs
    - kind: 'tanh' (saturated when |a| > threshold) or 'sigmoid' (saturated when
      a < 1 - threshold or a > threshold, i.e. below 0.01 or above 0.99 by default)
    - threshold: in (0, 1)

    Returns a float in [0, 1].
    """
    a = np.asarray(a, dtype=np.float64)
    if kind == "tanh":
        flat = np.abs(a) > threshold
    elif kind == "sigmoid":
        flat = (a < 1 - threshold) | (a > threshold)
    else:
        raise ValueError(f"kind must be 'tanh' or 'sigmoid', got {kind!r}")
    return float(flat.mean())


def dead_relu_fraction(a) -> float:
    """Fraction of units (columns) whose output is exactly zero for every example in the batch.

    Inputs:
    - a: (N, D) ReLU outputs; (N, ...) is flattened to (N, D)

    Returns a float in [0, 1], a multiple of 1/D.
    """
    # Units, not entries: a healthy ReLU layer is zero on about half of its entries, which is
    # sparsity, not a fault. A unit that is zero for every input also gets zero gradient for every
    # input, so it never learns again: that is what "dead" means and what this counts.
    dead = np.all(_as_units(a) == 0, axis=0)
    return float(dead.mean())


def activation_stats(acts, kind: str | None = "tanh", bins: int = 50, threshold: float = 0.99) -> list[LayerStats]:
    """Mean, spread, saturation, dead units and a histogram for each layer.

    Inputs:
    - acts: dict name -> (N, D) array, or a list of them (see `as_named_layers`)
    - kind: the nonlinearity for `saturated_fraction` ('tanh' or 'sigmoid'); None (e.g. for
      ReLU) records saturated_fraction as NaN
    - bins: histogram bins per layer, over that layer's own range
    - threshold: passed to `saturated_fraction`

    Returns a list of LayerStats, one per layer, in order.
    """
    stats = []
    for name, a in as_named_layers(acts).items():
        counts, edges = np.histogram(a, bins=bins)
        stats.append(
            LayerStats(
                name=name,
                mean=float(a.mean()),
                std=float(a.std()),
                saturated_fraction=np.nan if kind is None else saturated_fraction(a, kind, threshold),
                dead_fraction=dead_relu_fraction(a),
                counts=counts,
                edges=edges,
            )
        )
    return stats


def grad_norms(grads: dict) -> dict[str, float]:
    """Name -> L2 norm of the whole array (the Frobenius norm for matrices)."""
    return {name: float(np.linalg.norm(np.ravel(g))) for name, g in grads.items()}


def update_ratios(params_before: dict, params_after: dict) -> dict[str, float]:
    """Name -> ||after - before|| / ||before||: how far one step moved each parameter, relative to its size.

    Around 1e-3 is the usual healthy range; far below, learning is slow, far above, unstable.

    Inputs:
    - params_before, params_after: name -> array, same names and shapes

    Returns name -> float. A parameter whose norm before the step is zero (a bias initialized to
    zero) has no scale to compare against, so its ratio is NaN rather than a huge number that
    could be mistaken for a measurement.
    """
    ratios = {}
    for name, before in params_before.items():
        before = np.asarray(before, dtype=np.float64)
        step = np.linalg.norm(np.ravel(np.asarray(params_after[name], dtype=np.float64) - before))
        scale = np.linalg.norm(np.ravel(before))
        ratios[name] = float(step / scale) if scale > 0 else np.nan
    return ratios


def _to_numpy(t: torch.Tensor) -> np.ndarray:
    # clone: a later in-place op (ReLU(inplace=True), an optimizer step) must not change a record.
    return t.detach().to("cpu", copy=True).numpy()


class TorchRecorder:
    """Record the outputs of chosen modules on the forward pass and their gradients on the backward.

    Usage:

        with TorchRecorder(model, module_types=(nn.Linear, nn.Tanh)) as rec:
            loss = loss_fn(model(x), y)
            loss.backward()
        rec.activations['0']        # (N, D) output of module '0'
        rec.gradients['0']          # (N, D) d loss / d that output

    Names are the modules' names in `model.named_modules()`. Each forward or backward pass
    overwrites the previous record. The recorder adds one forward hook per recorded module, which
    also hooks that forward pass's output tensor for its gradient; every module hook is removed on
    exit, even after an exception (a backward through a graph built inside the block still records).

    Inputs:
    - model: a torch.nn.Module
    - module_types: record modules that are instances of these types (default: nn.Linear); add activation modules such
      as torch.nn.Tanh or torch.nn.ReLU to see the nonlinearity's outputs
    """

    def __init__(self, model: torch.nn.Module, module_types: tuple | None = None):
        import torch

        self.model = model
        self.module_types = tuple(module_types or (torch.nn.Linear,))
        self._modules = OrderedDict(
            (name or type(m).__name__, m) for name, m in model.named_modules() if isinstance(m, self.module_types)
        )
        self._activations: dict[str, np.ndarray] = {}
        self._gradients: dict[str, np.ndarray] = {}
        self._handles: list = []

    def __enter__(self) -> TorchRecorder:
        for name, module in self._modules.items():
            self._handles.append(module.register_forward_hook(self._hook(name)))
        return self

    def __exit__(self, *exc_info) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def _hook(self, name):
        def store_gradient(grad):
            self._gradients[name] = _to_numpy(grad)

        def hook(module, inputs, output):
            self._activations[name] = _to_numpy(output)
            # A hook on the output tensor receives exactly what a module backward hook gets as
            # grad_output, without register_full_backward_hook's drawbacks: it warns when a
            # layer's input needs no gradient (every first layer) and fails when a later module
            # has inplace=True. Under torch.no_grad there is no gradient to record.
            if output.requires_grad:
                output.register_hook(store_gradient)

        return hook

    def _in_model_order(self, records: dict) -> OrderedDict[str, np.ndarray]:
        # Backward hooks fire last layer first; report in forward order so tables read top-down.
        return OrderedDict((name, records[name]) for name in self._modules if name in records)

    @property
    def activations(self) -> OrderedDict[str, np.ndarray]:
        """Name -> output of that module on the last forward pass, in model order."""
        return self._in_model_order(self._activations)

    @property
    def gradients(self) -> OrderedDict[str, np.ndarray]:
        """Name -> gradient of the loss with respect to that module's output, in model order."""
        return self._in_model_order(self._gradients)

    def stats(self, kind: str | None = "tanh", bins: int = 50) -> list[LayerStats]:
        """`activation_stats` of the recorded activations."""
        return activation_stats(self.activations, kind=kind, bins=bins)

    def gradient_norms(self) -> dict[str, float]:
        """`grad_norms` of the recorded output gradients."""
        return grad_norms(self.gradients)


def parameter_grad_norms(model: torch.nn.Module) -> dict[str, float]:
    """Parameter name -> L2 norm of its .grad, for every parameter that has one."""
    return grad_norms({n: _to_numpy(p.grad) for n, p in model.named_parameters() if p.grad is not None})


def update_ratio(model: torch.nn.Module, snapshot: dict) -> dict[str, float]:
    """`update_ratios` between a snapshot and the model's current parameters.

    Inputs:
    - model: the model after the optimizer step
    - snapshot: {name: p.detach().clone() for name, p in model.named_parameters()}, taken before it

    Returns name -> float for every name in the snapshot (NaN where the snapshot norm is zero).
    """
    current = dict(model.named_parameters())
    before = {name: _to_numpy(t) for name, t in snapshot.items()}
    after = {name: _to_numpy(current[name]) for name in snapshot}
    return update_ratios(before, after)
