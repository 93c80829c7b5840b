"""Small PyTorch networks for the lectures: build an MLP, initialize it, train it, measure it.

The lectures experiment with torch (torch.nn, torch.optim, torch.nn.init); the assignments build
the same pieces in NumPy. This module is the lectures' bench, not an answer key: every layer,
initializer and optimizer here is PyTorch's own, only assembled.

Conventions:
- Parameters are float64 by default, like the rest of the course, so numbers from torch and from
  NumPy can be compared without a float32 tolerance.
- Layers of `mlp` are named for what they are ('fc1', 'bn1', 'tanh1', 'drop1', ..., 'fcL'), so
  `course.diagnostics.TorchRecorder` and every plot label them readably; `model[0]` still works.
- `train_torch` returns the same `course.training.History` the NumPy `Trainer` returns, so
  `course.plots.plot_learning_curves` draws both.
"""
from __future__ import annotations

import math
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import nn

from course.diagnostics import parameter_grad_norms, update_ratio
from course.schedules import Schedule
from course.torch_bridge import pick_device, to_tensor
from course.training import History

ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "leaky_relu": nn.LeakyReLU,  # negative slope 0.01, PyTorch's default
    "elu": nn.ELU,
    "identity": nn.Identity,
}

NORMS = (None, "batchnorm", "layernorm")

INIT_SCHEMES = (
    "zeros",
    "constant",
    "uniform01",
    "normal",
    "xavier_uniform",
    "xavier_normal",
    "kaiming_uniform",
    "kaiming_normal",
    "orthogonal",
    "torch_default",
)


# ---------------------------------------------------------------- building

def mlp(
    sizes: list[int],
    activation: str = "relu",
    norm: str | None = None,
    dropout: float = 0.0,
    bias: bool = True,
    *,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str | None = None,
) -> nn.Sequential:
    """A fully connected network: [Linear -> (norm) -> activation -> (dropout)] * hidden, Linear.

    Inputs:
    - sizes: [D_in, H_1, ..., H_k, C], e.g. [64, 100, 100, 10]: k hidden layers, C outputs (scores)
    - activation: one of ACTIVATIONS
    - norm: None, 'batchnorm' or 'layernorm', placed after each hidden Linear, before the activation
    - dropout: probability of zeroing a unit (PyTorch's convention: p is the drop probability),
      after each hidden activation; 0 adds no Dropout module
    - bias: whether the Linear layers have biases
    - dtype, device: of the parameters

    Returns an nn.Sequential whose layers are named 'fc1', 'bn1' or 'ln1', '<activation>1',
    'drop1', 'fc2', ...; the last Linear has no activation, so the output is raw scores (logits).
    Parameters hold PyTorch's default initialization (see `init_weights` to change it).
    """
    if len(sizes) < 2:
        raise ValueError(f"sizes needs at least an input and an output size, got {sizes}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; choose one of {', '.join(ACTIVATIONS)}")
    if norm not in NORMS:
        raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout is a drop probability in [0, 1), got {dropout}")
    kw = {"dtype": dtype, "device": device}
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    n_linear = len(sizes) - 1
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        layers[f"fc{i}"] = nn.Linear(fan_in, fan_out, bias=bias, **kw)
        if i == n_linear:
            break
        if norm == "batchnorm":
            layers[f"bn{i}"] = nn.BatchNorm1d(fan_out, **kw)
        elif norm == "layernorm":
            layers[f"ln{i}"] = nn.LayerNorm(fan_out, **kw)
        layers[f"{activation}{i}"] = ACTIVATIONS[activation]()
        if dropout > 0:
            layers[f"drop{i}"] = nn.Dropout(dropout)
    return nn.Sequential(layers)


def linear_layers(model: nn.Module) -> list[nn.Linear]:
    """The model's nn.Linear modules, in forward order."""
    return [m for m in model.modules() if isinstance(m, nn.Linear)]


# ---------------------------------------------------------------- initializing

@torch.no_grad()
def init_weights(
    model: nn.Module,
    scheme: str,
    *,
    std: float = 0.01,
    value: float = 0.0,
    gain: float | None = None,
    generator: torch.Generator | None = None,
) -> nn.Module:
    """Re-initialize every nn.Linear of `model` in place with one scheme; returns the model.

    Schemes, for a weight W of shape (fan_out, fan_in):
    - 'zeros': W = 0;  'constant': W = value
    - 'uniform01': W ~ U[0, 1];  'normal': W ~ N(0, std^2)
    - 'xavier_uniform', 'xavier_normal': Var W = gain^2 * 2 / (fan_in + fan_out) (Glorot & Bengio, 2010)
    - 'kaiming_uniform', 'kaiming_normal': Var W = gain^2 / fan_in with gain sqrt(2), the ReLU
      gain, unless `gain` is given (He et al., 2015)
    - 'orthogonal': W a (semi-)orthogonal matrix times gain (Saxe et al., 2014)
    - 'torch_default': what nn.Linear.reset_parameters does, kaiming_uniform with a = sqrt(5),
      i.e. W ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and the bias from the same range

    Biases are set to zero by every scheme except 'torch_default'. `gain` defaults to 1 for
    xavier and orthogonal. `generator` (a seeded torch.Generator) makes the draw reproducible
    without touching the global RNG.
    """
    if scheme not in INIT_SCHEMES:
        raise ValueError(f"unknown init scheme {scheme!r}; choose one of {', '.join(INIT_SCHEMES)}")
    g = generator
    for layer in linear_layers(model):
        W = layer.weight
        if scheme == "zeros":
            nn.init.zeros_(W)
        elif scheme == "constant":
            nn.init.constant_(W, value)
        elif scheme == "uniform01":
            nn.init.uniform_(W, 0.0, 1.0, generator=g)
        elif scheme == "normal":
            nn.init.normal_(W, 0.0, std, generator=g)
        elif scheme == "xavier_uniform":
            nn.init.xavier_uniform_(W, gain=1.0 if gain is None else gain, generator=g)
        elif scheme == "xavier_normal":
            nn.init.xavier_normal_(W, gain=1.0 if gain is None else gain, generator=g)
        elif scheme in ("kaiming_uniform", "kaiming_normal"):
            kaiming = nn.init.kaiming_uniform_ if scheme == "kaiming_uniform" else nn.init.kaiming_normal_
            # 'linear' has gain 1, so multiplying afterwards gives exactly the requested gain.
            kaiming(W, mode="fan_in", nonlinearity="relu" if gain is None else "linear", generator=g)
            if gain is not None:
                W.mul_(gain)
        elif scheme == "orthogonal":
            nn.init.orthogonal_(W, gain=1.0 if gain is None else gain, generator=g)
        elif scheme == "torch_default":
            # The same two draws as nn.Linear.reset_parameters, written out to accept a generator.
            nn.init.kaiming_uniform_(W, a=math.sqrt(5), generator=g)
            if layer.bias is not None:
                bound = 1.0 / math.sqrt(W.shape[1])
                nn.init.uniform_(layer.bias, -bound, bound, generator=g)
            continue
        if layer.bias is not None:
            nn.init.zeros_(layer.bias)
    return model


@torch.no_grad()
def lsuv_init(
    model: nn.Module,
    X_batch,
    tol: float = 0.05,
    max_iter: int = 10,
    generator: torch.Generator | None = None,
) -> nn.Module:
    """Layer-sequential unit-variance initialization (Mishkin & Matas, 2016); returns the model.

    Orthogonal initialization first; then, layer by layer from the input, the Linear's weight is
    divided by the standard deviation of that Linear's output on `X_batch`, until the output
    variance is within `tol` of 1 (or `max_iter` rescalings). Biases are zero.

    Inputs:
    - model: contains nn.Linear layers (e.g. from `mlp`)
    - X_batch: (N, D) array or tensor, a representative batch of inputs
    - tol, max_iter: stopping rule per layer
    - generator: for the orthogonal draw

    Dropout is off during the measurement, and batchnorm's running statistics are restored
    afterwards, so only the weights change.
    """
    init_weights(model, "orthogonal", generator=generator)
    param = next(model.parameters())
    X = torch.as_tensor(X_batch, dtype=param.dtype, device=param.device)
    buffers = {k: v.clone() for k, v in model.named_buffers()}
    was_training = model.training
    model.train()
    for m in model.modules():
        if isinstance(m, nn.Dropout):
            m.eval()
    try:
        for layer in linear_layers(model):
            captured = {}
            handle = layer.register_forward_hook(lambda mod, inp, out: captured.update(out=out))
            try:
                for _ in range(max_iter):
                    model(X)
                    var = captured["out"].var().item()
                    if abs(var - 1.0) < tol or var == 0.0:
                        break
                    layer.weight.div_(math.sqrt(var))
            finally:
                handle.remove()
    finally:
        model.train(was_training)
        for k, v in model.named_buffers():
            v.copy_(buffers[k])
    return model


# ---------------------------------------------------------------- training

@dataclass
class TorchHistory(History):
    """`History`, plus what only a torch run records.

    Fields (besides History's):
    - diverged: True when the loss became inf or NaN; training stopped there, and `loss` ends
      at the last finite value
    - record_steps: the iterations at which grad_norms and update_ratios were recorded
    """

    diverged: bool = False
    record_steps: list[int] | None = None


@contextmanager
def single_threaded():
    """Run the block with one intra-op thread, then restore the previous count.

    The course's networks are small: splitting a 64 x 100 matmul across threads costs more in
    synchronization than it saves, and when the cores are busy (two pytest workers, a notebook
    beside a test run) waiting threads make a step 100 times slower.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _as_tensors(data: dict, dtype: torch.dtype, device: torch.device) -> dict[str, torch.Tensor]:
    return {k: to_tensor(v, device, dtype) if not isinstance(v, torch.Tensor) else v.to(device)
            for k, v in data.items() if k.startswith(("X_", "y_"))}


@torch.no_grad()
def accuracy(model: nn.Module, X, y, batch_size: int = 1000) -> float:
    """Fraction of rows whose argmax score equals the label, computed in eval mode.

    Inputs:
    - model: maps (N, D) to scores (N, C)
    - X: (N, D) array or tensor; y: (N,) integer labels, array or tensor

    The model's train/eval mode is restored afterwards.
    """
    param = next(model.parameters())
    X = torch.as_tensor(X, dtype=param.dtype, device=param.device)
    y = torch.as_tensor(y, device=param.device)
    was_training = model.training
    model.eval()
    try:
        correct = sum(int((model(X[i : i + batch_size]).argmax(1) == y[i : i + batch_size]).sum())
                      for i in range(0, len(X), batch_size))
    finally:
        model.train(was_training)
    return correct / len(X)


def train_torch(
    model: nn.Module,
    data: dict,
    optimizer: torch.optim.Optimizer,
    *,
    epochs: int = 10,
    batch_size: int = 64,
    loss_fn: Callable | None = None,
    grad_clip: Callable[[nn.Module], object] | None = None,
    scheduler=None,
    seed: int = 0,
    record_every: int | None = None,
) -> TorchHistory:
    """Minibatch training of a torch model on a split dict; quiet, deterministic for a seed.

    Inputs:
    - model: maps (N, D) to scores (N, C); moved to `course.torch_bridge.pick_device()`, its
      dtype (float64 from `mlp`) is the data's dtype
    - data: split dict with X_train (N, D), y_train (N,), X_val, y_val (from course.data)
    - optimizer: a torch.optim optimizer over model.parameters()
    - epochs: passes over X_train; batch_size: rows per step (>= N: full-batch gradient descent,
      1: online / stochastic gradient descent). The last incomplete batch is dropped.
    - loss_fn: (scores, y) -> scalar loss; default nn.CrossEntropyLoss() (expects logits)
    - grad_clip: called as grad_clip(model) after backward and before the step, e.g.
      lambda m: torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
    - scheduler: a torch.optim.lr_scheduler object, stepped after every optimizer step, or a
      `course.schedules` factor(t), which sets lr = initial lr * factor(t) before step t
      (either way the schedule counts iterations, as everywhere in the course)
    - seed: seeds the shuffling (a private torch.Generator; the global RNG is left alone)
    - record_every: record gradient norms and update ratios every this many iterations
      (None or 1: every iteration)

    Runs `single_threaded`. Returns a TorchHistory: loss and lr per iteration; train_acc and val_acc per epoch (full
    sets, eval mode); grad_norms[name] (||dL/dp|| before clipping) and update_ratios[name]
    (||p_next - p|| / ||p||, NaN while ||p|| = 0) per recorded iteration, named as in
    model.named_parameters(); best_val_acc, best_epoch; diverged when the loss became non-finite.
    """
    with single_threaded():
        return _train(model, data, optimizer, epochs, batch_size, loss_fn, grad_clip, scheduler, seed, record_every)


def _train(model, data, optimizer, epochs, batch_size, loss_fn, grad_clip, scheduler, seed, record_every) -> TorchHistory:
    device = pick_device()
    model.to(device)
    dtype = next(model.parameters()).dtype
    d = _as_tensors(data, dtype, device)
    loss_fn = loss_fn or nn.CrossEntropyLoss()
    every = record_every or 1
    base_lrs = [group["lr"] for group in optimizer.param_groups]
    factor: Schedule | None = None
    if scheduler is not None and not hasattr(scheduler, "step"):
        factor = scheduler
    h = TorchHistory(record_steps=[])
    g = torch.Generator().manual_seed(seed)
    n = len(d["X_train"])
    bs = min(batch_size, n)
    t = 0
    model.train()
    for epoch in range(epochs):
        order = torch.randperm(n, generator=g).to(device)
        for start in range(0, n - bs + 1, bs):
            idx = order[start : start + bs]
            if factor is not None:
                for group, lr in zip(optimizer.param_groups, base_lrs):
                    group["lr"] = lr * factor(t)
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(d["X_train"][idx]), d["y_train"][idx])
            if not torch.isfinite(loss):
                h.diverged = h.stopped_early = True
                return h
            loss.backward()
            record = t % every == 0
            if record:
                # A run on its way to diverging has gradients whose squares overflow: their
                # norm is inf, which is the measurement, not a reason to warn.
                with np.errstate(over="ignore", invalid="ignore"):
                    norms = parameter_grad_norms(model)
                for name, norm in norms.items():
                    h.grad_norms.setdefault(name, []).append(norm)
                snapshot = {name: p.detach().clone() for name, p in model.named_parameters()}
            if grad_clip is not None:
                grad_clip(model)
            h.lr.append(float(optimizer.param_groups[0]["lr"]))
            optimizer.step()
            if record:
                with np.errstate(over="ignore", invalid="ignore"):
                    ratios = update_ratio(model, snapshot)
                for name, ratio in ratios.items():
                    h.update_ratios.setdefault(name, []).append(ratio)
                h.record_steps.append(t)
            if scheduler is not None and factor is None:
                scheduler.step()
            h.loss.append(loss.item())
            t += 1
        h.train_acc.append(accuracy(model, d["X_train"], d["y_train"]))
        h.val_acc.append(accuracy(model, d["X_val"], d["y_val"]))
        if h.val_acc[-1] > h.best_val_acc:
            h.best_val_acc, h.best_epoch = h.val_acc[-1], epoch
    return h


# ---------------------------------------------------------------- optimizers on 2-D surfaces

def torch_update_rule(optimizer_class: type[torch.optim.Optimizer], **hyperparameters):
    """Wrap a torch.optim optimizer in the course's update-rule interface.

    Returns update(w, dw, config) -> (next_w, config), usable with
    `course.surfaces.run_trajectory`: the first call creates a tensor holding w and an
    `optimizer_class(tensor, **hyperparameters)`, kept in config under '_param' and
    '_optimizer' (run_trajectory copies config per run, so every run starts fresh); each call
    sets the tensor's gradient to dw and takes one optimizer step. Example:

        rule = torch_update_rule(torch.optim.SGD, lr=0.05, momentum=0.9)
        points = run_trajectory(ill_conditioned_quadratic(), rule, steps=100)
    """

    def update(w: np.ndarray, dw: np.ndarray, config: dict) -> tuple[np.ndarray, dict]:
        if "_optimizer" not in config:
            param = torch.tensor(np.asarray(w, dtype=np.float64), requires_grad=True)
            config["_param"] = param
            config["_optimizer"] = optimizer_class([param], **hyperparameters)
        param, optimizer = config["_param"], config["_optimizer"]
        with torch.no_grad():
            param.copy_(torch.as_tensor(np.asarray(w, dtype=np.float64)))
        param.grad = torch.as_tensor(np.asarray(dw, dtype=np.float64)).clone()
        optimizer.step()
        return param.detach().numpy().copy(), config

    return update
