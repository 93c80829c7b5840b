"""The lectures' experiments, one function each: the notebook plots what it returns, a test checks it.

A lecture's claim ("Xavier keeps tanh activations alive", "momentum needs fewer steps") is only
as good as the number behind it. Each such number is computed here, once, with fixed seeds; the
lecture draws it and `tests/test_lecture_NN_claims.py` asserts it with the same call, so the text
and the test cannot drift apart. Everything trains PyTorch models built by `course.torch_nets`;
nothing here is an assignment answer.

Sections follow the lectures: 01 foundations, 02 initialization, 03 gradient flow.
"""
from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from course.data import make_spirals, standardize_splits, train_val_test_split
from course.diagnostics import TorchRecorder, dead_relu_fraction
from course.surfaces import Surface, run_trajectory
from course.torch_nets import (
    ACTIVATIONS,
    TorchHistory,
    init_weights,
    linear_layers,
    lsuv_init,
    mlp,
    torch_update_rule,
    train_torch,
)


def seeded(seed: int) -> torch.Generator:
    """A fresh torch.Generator with this seed (for init_weights, lsuv_init and sampling)."""
    return torch.Generator().manual_seed(seed)


def make_net(
    sizes: list[int],
    activation: str = "relu",
    scheme: str = "kaiming_normal",
    *,
    seed: int = 0,
    lsuv_batch=None,
    norm: str | None = None,
    dropout: float = 0.0,
    **init_kw,
) -> nn.Sequential:
    """`mlp(sizes, activation, norm, dropout)` initialized with `scheme` from `seed`.

    scheme is one of course.torch_nets.INIT_SCHEMES, or 'lsuv' (then `lsuv_batch`, an (N, D)
    batch of inputs, is required); init_kw go to init_weights (std, value, gain).
    """
    model = mlp(sizes, activation, norm=norm, dropout=dropout)
    if scheme == "lsuv":
        if lsuv_batch is None:
            raise ValueError("scheme 'lsuv' needs lsuv_batch, a batch of inputs to measure variances on")
        return lsuv_init(model, lsuv_batch, generator=seeded(seed))
    return init_weights(model, scheme, generator=seeded(seed), **init_kw)


def train_net(
    data: dict,
    sizes: list[int],
    activation: str = "relu",
    scheme: str = "kaiming_normal",
    *,
    optimizer: str = "sgd",
    lr: float = 0.1,
    momentum: float = 0.0,
    epochs: int = 5,
    batch_size: int = 64,
    seed: int = 0,
    init_kw: dict | None = None,
    **train_kw,
) -> tuple[nn.Sequential, TorchHistory]:
    """Build with `make_net`, train with `train_torch`; returns (model, history).

    optimizer: 'sgd' (with `momentum`) or 'adam'; train_kw go to train_torch (loss_fn,
    grad_clip, scheduler, record_every).
    """
    model = make_net(sizes, activation, scheme, seed=seed, lsuv_batch=data["X_train"][:500], **(init_kw or {}))
    if optimizer == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    elif optimizer == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=lr)
    else:
        raise ValueError(f"optimizer must be 'sgd' or 'adam', got {optimizer!r}")
    history = train_torch(model, data, opt, epochs=epochs, batch_size=batch_size, seed=seed, **train_kw)
    return model, history


def _tensors(X, y=None):
    X = torch.as_tensor(np.asarray(X, dtype=np.float64))
    return X if y is None else (X, torch.as_tensor(np.asarray(y)))


# ================================================================ 01 foundations

def double_softmax_loss(scores: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The classic mistake: softmax the scores, then hand the probabilities to CrossEntropyLoss.

    F.cross_entropy applies its own log-softmax, so this computes -log softmax(softmax(s))_y.
    Its inputs lie in [0, 1], so with C classes the loss can never go below log(1 + (C-1)/e).
    """
    return F.cross_entropy(F.softmax(scores, dim=1), y)


def double_softmax_floor(num_classes: int) -> float:
    """The smallest possible double-softmax loss: probabilities (1, 0, ..., 0) give log(1 + (C-1)/e)."""
    return math.log(1 + (num_classes - 1) / math.e)


def loss_comparison(data: dict, epochs: int = 10, lr: float = 0.1, seed: int = 0) -> dict[str, TorchHistory]:
    """The same network trained with cross-entropy on logits and with the double softmax.

    Returns {'cross-entropy on logits': history, 'cross-entropy on probabilities': history}; SGD
    with momentum 0.9, a [D, 100, C] ReLU network, identical initial weights and batches.
    """
    sizes = [data["X_train"].shape[1], 100, int(data["y_train"].max()) + 1]
    runs = {}
    for label, loss_fn in (("cross-entropy on logits", None), ("cross-entropy on probabilities", double_softmax_loss)):
        _, runs[label] = train_net(data, sizes, "relu", lr=lr, momentum=0.9, epochs=epochs, seed=seed, loss_fn=loss_fn)
    return runs


def output_gradients(z: np.ndarray) -> dict[str, np.ndarray]:
    """d loss / d z for one logit z with target 1, under two pairings of output and loss.

    Inputs:
    - z: (M,) logits

    Returns {'sigmoid + MSE': (M,), 'sigmoid + cross-entropy': (M,)}: the first is
    2 (s - 1) s (1 - s) with s = sigmoid(z), which vanishes when the unit is confidently wrong
    (z << 0); the second is s - 1, which tends to -1 there. Computed by autograd.
    """
    out = {}
    for label in ("sigmoid + MSE", "sigmoid + cross-entropy"):
        zt = torch.tensor(np.asarray(z, dtype=np.float64), requires_grad=True)
        target = torch.ones_like(zt)
        if label == "sigmoid + MSE":
            loss = F.mse_loss(torch.sigmoid(zt), target, reduction="sum")
        else:
            loss = F.binary_cross_entropy_with_logits(zt, target, reduction="sum")
        loss.backward()
        out[label] = zt.grad.numpy().copy()
    return out


def bce_on_probabilities_vs_logits(z: float = -120.0, dtype: torch.dtype = torch.float32) -> dict[str, tuple[float, float]]:
    """Binary cross-entropy of one logit z with target 1, fed as a probability or as a logit.

    In float32, sigmoid(-120) underflows to 0; nn.BCELoss then clamps log(0) to -100, so it
    reports a loss of 100 and a gradient of 0, while BCEWithLogitsLoss computes log(1 + e^-z)
    stably: loss 120, gradient -1.

    Returns {'BCELoss(sigmoid(z))': (loss, dloss/dz), 'BCEWithLogitsLoss(z)': (loss, dloss/dz)}.
    """
    out = {}
    for label in ("BCELoss(sigmoid(z))", "BCEWithLogitsLoss(z)"):
        zt = torch.tensor([z], dtype=dtype, requires_grad=True)
        target = torch.ones_like(zt)
        if label.startswith("BCELoss"):
            loss = nn.BCELoss()(torch.sigmoid(zt), target)
        else:
            loss = nn.BCEWithLogitsLoss()(zt, target)
        loss.backward()
        out[label] = (loss.item(), zt.grad.item())
    return out


def staged_function(x, y):
    """f(x, y) = (x + sigmoid(y)) / (sigmoid(x) + (x + y)^2), CS231n's backprop example.

    Works on Python floats and on torch tensors alike.
    """
    sig = torch.sigmoid if isinstance(x, torch.Tensor) else (lambda v: 1.0 / (1.0 + math.exp(-v)))
    return (x + sig(y)) / (sig(x) + (x + y) ** 2)


def staged_gradient_by_hand(x: float, y: float) -> tuple[float, float]:
    """(df/dx, df/dy) of `staged_function`, by the chain rule, one node at a time.

    The forward pass stores every intermediate; the backward pass visits them in reverse and
    multiplies the upstream gradient by each node's local derivative. Where a variable feeds
    several nodes (x feeds four), its gradients from each path are added (+=).
    """
    # forward
    sig_y = 1.0 / (1.0 + math.exp(-y))
    num = x + sig_y
    sig_x = 1.0 / (1.0 + math.exp(-x))
    xpy = x + y
    xpy_sq = xpy**2
    den = sig_x + xpy_sq
    inv_den = 1.0 / den
    # f = num * inv_den; the backward pass starts from df/df = 1
    d_num = inv_den
    d_inv_den = num
    d_den = -1.0 / den**2 * d_inv_den
    d_sig_x = d_den
    d_xpy_sq = d_den
    d_xpy = 2 * xpy * d_xpy_sq
    dx = d_xpy
    dy = d_xpy
    dx += (1 - sig_x) * sig_x * d_sig_x
    dx += d_num
    d_sig_y = d_num
    dy += (1 - sig_y) * sig_y * d_sig_y
    return dx, dy


def softmax_jacobian_by_hand(z: torch.Tensor) -> torch.Tensor:
    """d softmax(z)_i / d z_j = p_i (delta_ij - p_j), i.e. diag(p) - p p^T.

    Inputs: z, (C,) logits. Returns the (C, C) Jacobian.
    """
    p = torch.softmax(z, dim=0)
    return torch.diag(p) - torch.outer(p, p)


def bump_network(f: Callable[[np.ndarray], np.ndarray], n_bumps: int, lo: float = 0.0, hi: float = 1.0,
                 steepness: float | None = None) -> nn.Sequential:
    """A one-hidden-layer sigmoid network, built by hand, that approximates f by a staircase.

    Split [lo, hi] into n_bumps intervals. The indicator of interval [a, b) is approximately
    sigmoid(k (x - a)) - sigmoid(k (x - b)) for a steep k, so two hidden units make one bump, and
    the output layer weighs bump i by f at the interval's centre: 2 n_bumps hidden units in all.
    This is the constructive heart of the universal approximation theorem (Cybenko, 1989;
    Hornik, 1991).

    Inputs:
    - f: the target, vectorized over a NumPy array
    - n_bumps: number of intervals
    - lo, hi: the interval approximated
    - steepness: k; default 100 n_bumps / (hi - lo), steep compared to a bump's width

    Returns an nn.Sequential(Linear(1, 2 n_bumps), Sigmoid, Linear(2 n_bumps, 1)) in float64.
    """
    k = steepness or 100.0 * n_bumps / (hi - lo)
    edges = np.linspace(lo, hi, n_bumps + 1)
    heights = f((edges[:-1] + edges[1:]) / 2)
    # The first bump's left edge and the last one's right edge move out by a bump's width, so
    # their half-height shoulders fall outside [lo, hi].
    width = (hi - lo) / n_bumps
    left = edges[:-1].copy()
    right = edges[1:].copy()
    left[0] -= width
    right[-1] += width
    net = mlp([1, 2 * n_bumps, 1], activation="sigmoid")
    with torch.no_grad():
        net.fc1.weight.fill_(k)
        net.fc1.bias.copy_(torch.from_numpy(-k * np.concatenate([left, right])))
        net.fc2.weight.copy_(torch.from_numpy(np.concatenate([heights, -heights])[None, :]))
        net.fc2.bias.zero_()
    return net


def bump_errors(f: Callable[[np.ndarray], np.ndarray], bump_counts, lo: float = 0.0, hi: float = 1.0,
                n_points: int = 2000) -> dict[int, float]:
    """Mean absolute error of `bump_network(f, n)` on a fine grid of [lo, hi], for each n."""
    x = np.linspace(lo, hi, n_points)
    errors = {}
    with torch.no_grad():
        for n in bump_counts:
            approx = bump_network(f, n, lo, hi)(torch.from_numpy(x[:, None])).numpy().ravel()
            errors[n] = float(np.mean(np.abs(approx - f(x))))
    return errors


def batch_size_runs(data: dict, batch_sizes, epochs: int = 3, lr: float = 0.05, seed: int = 0) -> dict[int, TorchHistory]:
    """The same [D, 64, C] ReLU network trained by SGD with different batch sizes (same lr, same epochs).

    batch_size 1 is online (stochastic) gradient descent; len(X_train) is full-batch gradient
    descent. Returns batch_size -> history. Gradient norms are recorded every 50 steps only.
    """
    sizes = [data["X_train"].shape[1], 64, int(data["y_train"].max()) + 1]
    return {b: train_net(data, sizes, "relu", lr=lr, epochs=epochs, batch_size=b, seed=seed, record_every=50)[1]
            for b in batch_sizes}


def gradient_noise(model: nn.Module, X, y, batch_sizes, draws: int = 50, seed: int = 0) -> dict[int, float]:
    """How far a minibatch gradient strays from the full-batch gradient, per batch size.

    For each B, draw `draws` minibatches of B distinct rows, and average ||g_B - g||^2 over the
    draws, where g is the gradient of the mean cross-entropy over all of X and g_B over the
    batch, both for all parameters flattened together. For B << N this falls like 1/B (it is
    the trace of the gradient covariance divided by B, times (N - B) / (N - 1) without replacement).

    Inputs: model (its parameters are not changed); X (N, D); y (N,); batch_sizes, each <= N.
    Returns B -> mean squared deviation.
    """
    X, y = _tensors(X, y)
    params = [p for p in model.parameters() if p.requires_grad]

    def flat_grad(idx):
        loss = F.cross_entropy(model(X[idx]), y[idx])
        return torch.cat([g.reshape(-1) for g in torch.autograd.grad(loss, params)])

    g = seeded(seed)
    full = flat_grad(torch.arange(len(X)))
    return {B: float(np.mean([(flat_grad(torch.randperm(len(X), generator=g)[:B]) - full).pow(2).sum().item()
                              for _ in range(draws)]))
            for B in batch_sizes}


def noisy_spirals(noise: float = 0.4, label_noise: float = 0.15, seed: int = 0) -> dict:
    """Three noisy spiral arms, 100 points each, split 50/25/25 and standardized: a small, hard 2-D task.

    noise: of each point's angle, in radians (`course.data.make_spirals`); label_noise: the
    fraction of training labels replaced by wrong ones (`with_label_noise`), which a network
    large enough to memorize them overfits to.
    """
    X, y = make_spirals(n_per_class=100, n_classes=3, noise=noise, seed=seed)
    data = standardize_splits(train_val_test_split(X, y, val_fraction=0.25, test_fraction=0.25, seed=seed))
    return with_label_noise(data, label_noise, seed=seed) if label_noise else data


def with_label_noise(data: dict, fraction: float = 0.2, seed: int = 0) -> dict:
    """A copy of the split dict in which a random `fraction` of the training labels is wrong.

    Each chosen label is replaced by one of the other classes, uniformly; validation and test
    labels stay clean. Real datasets carry some label noise, and a network that trains long
    enough memorizes it (Arpit et al., 2017), which is what early stopping guards against.
    """
    rng = np.random.default_rng(seed)
    y = data["y_train"].copy()
    n_classes = int(y.max()) + 1
    flip = rng.random(len(y)) < fraction
    y[flip] = (y[flip] + rng.integers(1, n_classes, flip.sum())) % n_classes
    return {**data, "y_train": y}


def capacity_sweep(data: dict, hiddens: dict, epochs: int = 800, lr: float = 1e-2,
                   seed: int = 0) -> dict[str, tuple[nn.Sequential, TorchHistory]]:
    """Train ReLU networks of several widths and depths on the same data; returns label -> (model, history).

    Inputs:
    - hiddens: label -> hidden layer sizes, e.g. {'2 units': [2], '2 x 256 units': [256, 256]}
    - full-batch Adam at `lr` for `epochs` epochs, the same seed for every network
    """
    D, C = data["X_train"].shape[1], int(data["y_train"].max()) + 1
    return {label: train_net(data, [D, *hidden, C], "relu", optimizer="adam", lr=lr, epochs=epochs,
                             batch_size=len(data["X_train"]), seed=seed, record_every=10**9)
            for label, hidden in hiddens.items()}


# ================================================================ 02 initialization

@dataclass(frozen=True, eq=False)
class Probe:
    """One forward and backward pass through a deep network, layer by layer.

    Fields:
    - activations: 'layer 1' ... 'layer L' -> (N, width) outputs of each hidden nonlinearity
    - gradients: same names -> (N, width) d loss / d those outputs
    - weight_grad_norms: (L + 1,) ||d loss / d W|| of every Linear, input side first
    - loss: the cross-entropy of the batch
    """

    activations: OrderedDict
    gradients: OrderedDict
    weight_grad_norms: np.ndarray
    loss: float

    def stds(self) -> np.ndarray:
        """(L,) standard deviation of each layer's activations."""
        return np.array([a.std() for a in self.activations.values()])


def probe_deep_net(activation: str, scheme: str, X, y, depth: int = 10, width: int = 100,
                   seed: int = 0, **init_kw) -> Probe:
    """Initialize a `depth`-hidden-layer network of `width` units and record one pass on (X, y).

    scheme as in `make_net` ('lsuv' uses X itself); init_kw go to init_weights.
    """
    X, y = _tensors(X, y)
    C = int(y.max()) + 1
    model = make_net([X.shape[1]] + [width] * depth + [C], activation, scheme, seed=seed, lsuv_batch=X, **init_kw)
    kind = ACTIVATIONS[activation]
    with TorchRecorder(model, (kind,)) as rec:
        with np.errstate(over="ignore", invalid="ignore"):
            loss = F.cross_entropy(model(X), y)
            loss.backward()
    rename = lambda records: OrderedDict((f"layer {i}", a) for i, a in enumerate(records.values(), start=1))  # noqa: E731
    norms = np.array([layer.weight.grad.norm().item() for layer in linear_layers(model)])
    return Probe(rename(rec.activations), rename(rec.gradients), norms, loss.item())


def hidden_unit_spread(model: nn.Module) -> float:
    """Largest difference between any two hidden units' incoming weights in the first layer.

    0 means every unit of the first hidden layer computes the same function: the layer has
    effective width one, however many units it has.
    """
    W = model.fc1.weight.detach().numpy()
    return float(np.abs(W - W[0]).max())


def symmetry_runs(data: dict, epochs: int = 10, lr: float = 0.1, seed: int = 0) -> dict[str, tuple[nn.Module, TorchHistory]]:
    """A [D, 50, C] tanh network trained from constant, zero and random (Xavier) initial weights.

    Returns label -> (trained model, history), labels 'constant 0.1', 'zeros', 'xavier_normal'.
    """
    sizes = [data["X_train"].shape[1], 50, int(data["y_train"].max()) + 1]
    configs = {"constant 0.1": ("constant", {"value": 0.1}), "zeros": ("zeros", {}), "xavier_normal": ("xavier_normal", {})}
    return {label: train_net(data, sizes, "tanh", scheme, lr=lr, momentum=0.9, epochs=epochs, seed=seed,
                             init_kw=kw, record_every=10**9)
            for label, (scheme, kw) in configs.items()}


def end_to_end_singular_values(scheme: str, depth: int, width: int = 100, seed: int = 0) -> np.ndarray:
    """Singular values of W_depth ... W_1 for a deep *linear* network initialized with `scheme`.

    This product is the network's input-output Jacobian. Orthogonal layers keep every singular
    value at exactly 1 (dynamical isometry, Saxe et al., 2014); i.i.d. Gaussian layers of the
    right variance ('normal' here means std 1/sqrt(width)) keep the average scale but spread
    the singular values apart with depth.

    Returns (width,) singular values, largest first.
    """
    init_kw = {"std": 1 / math.sqrt(width)} if scheme == "normal" else {}
    model = make_net([width] * (depth + 1), "identity", scheme, seed=seed, **init_kw)
    with torch.no_grad():
        J = torch.eye(width, dtype=torch.float64)
        for layer in linear_layers(model):
            J = layer.weight @ J
    return torch.linalg.svdvals(J).numpy()


def init_training_runs(data: dict, schemes: dict, activation: str = "tanh", depth: int = 10, width: int = 100,
                       epochs: int = 5, lr: float = 0.01, seed: int = 0) -> dict[str, TorchHistory]:
    """Train the same deep network from several initializations; returns label -> history.

    Inputs:
    - schemes: label -> (scheme, init_kw), e.g. {'N(0, 0.01)': ('normal', {'std': 0.01})}
    - SGD with momentum 0.9 at `lr`, batches of 64, `epochs` epochs
    """
    sizes = [data["X_train"].shape[1]] + [width] * depth + [int(data["y_train"].max()) + 1]
    return {label: train_net(data, sizes, activation, scheme, lr=lr, momentum=0.9, epochs=epochs, seed=seed,
                             init_kw=kw, record_every=5)[1]
            for label, (scheme, kw) in schemes.items()}


# ================================================================ 03 gradient flow

def lr_runs(data: dict, lrs, sizes=None, epochs: int = 5, seed: int = 0, **train_kw) -> dict[float, TorchHistory]:
    """Plain SGD (no momentum) on a [D, 100, 100, C] ReLU network (He init) at each learning rate."""
    sizes = sizes or [data["X_train"].shape[1], 100, 100, int(data["y_train"].max()) + 1]
    return {lr: train_net(data, sizes, "relu", lr=lr, epochs=epochs, seed=seed, **train_kw)[1] for lr in lrs}


def clip_by_norm_and_value(g: np.ndarray, max_norm: float, clip_value: float) -> dict[str, np.ndarray]:
    """Clip one gradient vector with torch.nn.utils' two clippers.

    Returns {'original', 'by norm', 'by value'}: clip_grad_norm_ rescales the whole vector to
    norm at most max_norm (keeping its direction); clip_grad_value_ clamps every entry to
    [-clip_value, clip_value] (changing its direction).
    """
    out = {"original": np.asarray(g, dtype=np.float64).copy()}
    for label, clip in (("by norm", lambda p: nn.utils.clip_grad_norm_([p], max_norm)),
                        ("by value", lambda p: nn.utils.clip_grad_value_([p], clip_value))):
        p = torch.zeros(len(g), dtype=torch.float64, requires_grad=True)
        p.grad = torch.tensor(out["original"])
        clip(p)
        out[label] = p.grad.numpy().copy()
    return out


def clipping_runs(data: dict, lr: float = 0.5, max_norm: float = 1.0, clip_value: float = 0.05,
                  epochs: int = 5, seed: int = 0) -> dict[str, TorchHistory]:
    """A deep [D, 100 x 6, C] ReLU network, He init, SGD momentum 0.9 at a learning rate too large for it.

    Returns {'no clipping', 'clip by norm', 'clip by value'} -> history; clipping is applied
    after backward and before the optimizer step.
    """
    sizes = [data["X_train"].shape[1]] + [100] * 6 + [int(data["y_train"].max()) + 1]
    clips = {
        "no clipping": None,
        f"clip by norm ({max_norm:g})": lambda m: nn.utils.clip_grad_norm_(m.parameters(), max_norm),
        f"clip by value ({clip_value:g})": lambda m: nn.utils.clip_grad_value_(m.parameters(), clip_value),
    }
    return {label: train_net(data, sizes, "relu", lr=lr, momentum=0.9, epochs=epochs, seed=seed, grad_clip=clip)[1]
            for label, clip in clips.items()}


OPTIMIZERS: dict[str, tuple[type, dict]] = {
    "SGD": (torch.optim.SGD, {"lr": 0.04}),
    "momentum": (torch.optim.SGD, {"lr": 0.02, "momentum": 0.9}),
    "Nesterov": (torch.optim.SGD, {"lr": 0.02, "momentum": 0.9, "nesterov": True}),
    "Adagrad": (torch.optim.Adagrad, {"lr": 1.0}),
    "RMSprop": (torch.optim.RMSprop, {"lr": 0.1}),
    "Adadelta": (torch.optim.Adadelta, {"lr": 1.0, "rho": 0.95, "eps": 1e-3}),
    "Adam": (torch.optim.Adam, {"lr": 0.3}),
}
"""The optimizers raced on the 2-D surfaces: label -> (torch.optim class, hyperparameters)."""


def surface_paths(surface: Surface, optimizers: dict | None = None, steps: int = 150, start=None) -> dict[str, np.ndarray]:
    """Run each torch optimizer on `surface` from the same start; returns label -> (T, 2) points.

    optimizers: label -> (torch.optim class, hyperparameters); default OPTIMIZERS.
    """
    optimizers = OPTIMIZERS if optimizers is None else optimizers
    return {label: run_trajectory(surface, torch_update_rule(cls, **kw), steps=steps, start=start)
            for label, (cls, kw) in optimizers.items()}


def steps_to_reach(points: np.ndarray, target, tol: float = 1e-2) -> int | None:
    """First step at which the path is within `tol` of `target` and stays there; None if never."""
    with np.errstate(over="ignore", invalid="ignore"):  # a diverged path is simply far
        far = ~(np.linalg.norm(np.asarray(points) - np.asarray(target), axis=1) < tol)
    if far[-1]:
        return None
    still_far = np.nonzero(far)[0]
    return int(still_far[-1] + 1) if still_far.size else 0


def steps_to_escape(points: np.ndarray, surface: Surface, below: float = -1.0) -> int | None:
    """First step at which the objective drops below `below` (for the saddle: has left it); None if never."""
    escaped = np.nonzero(surface.f(np.asarray(points)) < below)[0]
    return int(escaped[0]) if escaped.size else None


def adam_counterexample(amsgrad: bool, C: float = 3.0, steps: int = 3000, lr: float = 0.1) -> np.ndarray:
    """Reddi et al. (2018)'s online problem where Adam converges to the worst point.

    On x in [-1, 1] the loss at step t is C x when t mod 3 == 1 and -x otherwise, so the average
    loss (C - 2) x / 3 is minimized at x = -1 for C > 2. With beta1 = 0, beta2 = 1 / (1 + C^2)
    and lr / sqrt(t), Adam's rare large gradient C is quickly forgotten by its second-moment
    average, and x drifts to +1; AMSGrad (torch.optim.Adam(amsgrad=True)) keeps the largest
    second moment seen and converges to -1.

    Returns (steps,) iterates x_t (projected back onto [-1, 1] after each step).
    """
    x = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([x], lr=lr, betas=(0.0, 1 / (1 + C**2)), amsgrad=amsgrad)
    schedule = torch.optim.lr_scheduler.LambdaLR(opt, lambda t: 1 / math.sqrt(t + 1))
    xs = []
    for t in range(1, steps + 1):
        opt.zero_grad()
        (C * x if t % 3 == 1 else -x).sum().backward()
        opt.step()
        schedule.step()
        with torch.no_grad():
            x.clamp_(-1.0, 1.0)
        xs.append(x.item())
    return np.array(xs)


def dead_fractions(model: nn.Module, X) -> list[float]:
    """Per hidden ReLU layer, the fraction of units that output 0 for every row of X (see dead_relu_fraction)."""
    with torch.no_grad(), TorchRecorder(model, (nn.ReLU,)) as rec:
        was_training = model.training
        model.eval()
        model(_tensors(X))
        model.train(was_training)
    return [dead_relu_fraction(a) for a in rec.activations.values()]


def dead_relu_runs(data: dict, lrs, epochs: int = 3, seed: int = 0) -> dict[float, tuple[list[float], TorchHistory]]:
    """A [D, 100, 100, 100, C] ReLU network (He init) trained by SGD with momentum 0.9 at each lr.

    Returns lr -> (dead fraction per hidden layer on X_train after training, history).
    """
    sizes = [data["X_train"].shape[1]] + [100] * 3 + [int(data["y_train"].max()) + 1]
    out = {}
    for lr in lrs:
        model, h = train_net(data, sizes, "relu", lr=lr, momentum=0.9, epochs=epochs, seed=seed, record_every=10**9)
        out[lr] = (dead_fractions(model, data["X_train"]), h)
    return out


def greedy_pretraining_experiment(data: dict, depth: int = 4, width: int = 64, pretrain_epochs: int = 5,
                                  epochs: int = 15, lr: float = 0.5, seed: int = 0) -> dict[str, TorchHistory]:
    """Greedy layer-wise pretraining (Hinton et al., 2006; Bengio et al., 2007) of a deep sigmoid network.

    'pretrained': layer by layer from the input, each hidden layer is trained as the encoder of a
    one-layer sigmoid autoencoder that reconstructs its own input (the previous layer's output,
    fixed) with MSE; then the whole network is fine-tuned on the labels. 'random': the same
    network from the same small-Gaussian initialization (std 0.1, the pre-2010 habit), trained
    on the labels only. Both: SGD with momentum 0.9 at `lr`, same batches.

    Returns {'random': history, 'pretrained': history} of the supervised training.
    """
    D, C = data["X_train"].shape[1], int(data["y_train"].max()) + 1
    sizes = [D] + [width] * depth + [C]
    runs = {}
    for label in ("random", "pretrained"):
        model = make_net(sizes, "sigmoid", "normal", seed=seed, std=0.1)
        if label == "pretrained":
            _pretrain_layers(model, _tensors(data["X_train"]), pretrain_epochs, seed)
        opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
        runs[label] = train_torch(model, data, opt, epochs=epochs, seed=seed, record_every=10)
    return runs


def _pretrain_layers(model: nn.Sequential, X: torch.Tensor, epochs: int, seed: int) -> None:
    """Train each hidden Linear as a sigmoid autoencoder's encoder on the previous layer's codes."""
    g = seeded(seed)
    codes = X
    for layer in linear_layers(model)[:-1]:
        decoder = nn.Linear(layer.out_features, layer.in_features, dtype=codes.dtype)
        init_weights(decoder, "xavier_normal", generator=g)
        opt = torch.optim.Adam(list(layer.parameters()) + list(decoder.parameters()), lr=1e-2)
        for _ in range(epochs):
            order = torch.randperm(len(codes), generator=g)
            for start in range(0, len(codes), 64):
                batch = codes[order[start : start + 64]]
                opt.zero_grad()
                F.mse_loss(decoder(torch.sigmoid(layer(batch))), batch).backward()
                opt.step()
        with torch.no_grad():
            codes = torch.sigmoid(layer(codes))
