"""The experiments of lecture 05 (regularization): overfitting and what narrows the gap.

Each function runs one experiment with fixed seeds and returns numbers; the notebook
`lectures/05_regularization.ipynb` draws them and `tests/test_lecture_05_claims.py` asserts the
lecture's claims with the same calls. Everything uses PyTorch's own pieces (nn.Dropout,
torch.optim's weight_decay, AdamW); dropout and the optimizers in NumPy are the assignments' job.

Sections follow the lecture: 1 capacity and overfitting, 2 weight penalties and constraints,
3 dropout, 4 early stopping, 5 noise and augmentation, 6 hyperparameter search.

Conventions:
- A "small" training set is a stratified subset of the training split, standardized with its
  own statistics; the examples it leaves out join the validation split, the test split is as is.
- `fit` trains epoch by epoch and measures the data loss (cross-entropy, no penalty) and
  accuracy on the full training and validation splits in eval mode after every epoch.
- Dropout probabilities are drop probabilities, PyTorch's convention (keep = 1 - p).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from course.data import load_dataset, standardize_splits
from course.experiments import with_label_noise  # noqa: F401  (lecture 01 brings label noise in; section 4 uses it)
from course.torch_nets import init_weights, linear_layers, mlp, train_torch

# train_torch records gradient norms and update ratios every this many steps; these runs need
# only their curves, so it records at the first step of each call and nowhere else.
_NO_RECORDS = 10**9


# ================================================================ data, training and measuring

def small_training_set(name: str = "mnist1d", n_train: int = 1000, seed: int = 0, standardize: bool = True) -> dict:
    """A split dict whose training part is a stratified random subset of n_train examples.

    The training examples left out join the validation split: a large validation set makes
    differences of a percent between regularizers measurable rather than noise.

    Inputs:
    - name: a dataset of course.data.load_dataset
    - n_train: examples kept, n_train // C per class
    - seed: the split and the subset
    - standardize: scale every split with the subset's training statistics

    Returns the split dict; X_test is the dataset's test split, untouched.
    """
    data = load_dataset(name, seed=seed, standardize=False)
    rng = np.random.default_rng(seed)
    y = data["y_train"]
    classes = np.unique(y)
    per_class = n_train // len(classes)
    chosen = np.concatenate([rng.choice(np.flatnonzero(y == c), per_class, replace=False) for c in classes])
    keep = np.zeros(len(y), dtype=bool)
    keep[chosen] = True
    train = rng.permutation(np.flatnonzero(keep))
    data = {
        **data,
        "X_train": data["X_train"][train], "y_train": y[train],
        "X_val": np.concatenate([data["X_val"], data["X_train"][~keep]]),
        "y_val": np.concatenate([data["y_val"], y[~keep]]),
    }
    return standardize_splits(data) if standardize else data


HIDDEN = (128, 128)  # the default network's hidden widths
INIT = "torch_default"  # nn.Linear's own initialization, drawn from a seeded generator


def make_model(data: dict, hidden=HIDDEN, dropout: float = 0.0, seed: int = 0, scheme: str = INIT) -> nn.Sequential:
    """A ReLU MLP [D, *hidden, C] with dropout after each hidden layer, initialized with `scheme` from `seed`."""
    sizes = [data["X_train"].shape[1], *hidden, int(data["y_train"].max()) + 1]
    model = mlp(sizes, "relu", dropout=dropout)
    return init_weights(model, scheme, generator=torch.Generator().manual_seed(seed))


def weights_and_biases(model: nn.Module, weight_decay: float) -> list[dict]:
    """Optimizer parameter groups that apply weight_decay to Linear weights and not to biases."""
    weights = [layer.weight for layer in linear_layers(model)]
    others = [p for p in model.parameters() if all(p is not w for w in weights)]
    return [{"params": weights, "weight_decay": weight_decay}, {"params": others, "weight_decay": 0.0}]


def sgd(model: nn.Module, lr: float = 0.05, momentum: float = 0.9, weight_decay: float = 0.0) -> torch.optim.SGD:
    """The lecture's default optimizer; weight_decay (L2) on the Linear weights only."""
    return torch.optim.SGD(weights_and_biases(model, weight_decay), lr=lr, momentum=momentum)


@torch.no_grad()
def evaluate(model: nn.Module, X, y) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) of the model in eval mode on X (N, D), y (N,)."""
    param = next(model.parameters())
    X = torch.as_tensor(np.asarray(X), dtype=param.dtype)
    y = torch.as_tensor(np.asarray(y))
    was_training = model.training
    model.eval()
    try:
        scores = model(X)
    finally:
        model.train(was_training)
    return F.cross_entropy(scores, y).item(), (scores.argmax(1) == y).double().mean().item()


@dataclass
class Run:
    """One training run, measured after every epoch on the full training and validation splits.

    Fields:
    - train_loss, val_loss: (E,) data loss (cross-entropy without any penalty), eval mode
    - train_acc, val_acc: (E,) accuracy, eval mode
    - best_epoch: index of the first epoch with the best monitored value (see `fit`)
    - stopped_early: True if patience ran out before the last epoch
    - restored: True if the model was reset to its weights at best_epoch
    - diverged: True if the training loss became inf or NaN; the curves end before that epoch
    """

    train_loss: np.ndarray
    val_loss: np.ndarray
    train_acc: np.ndarray
    val_acc: np.ndarray
    best_epoch: int
    stopped_early: bool = False
    restored: bool = False
    diverged: bool = False

    @property
    def gap(self) -> float:
        """Train minus validation accuracy after the last epoch."""
        return float(self.train_acc[-1] - self.val_acc[-1])


MONITORS = ("val_acc", "val_loss")  # what early stopping watches: higher accuracy or lower loss is better


def fit(model: nn.Module, data: dict, optimizer, epochs: int, *, batch_size: int = 50,
        patience: int | None = None, monitor: str = "val_acc", restore_best: bool = False,
        after_epoch: Callable | None = None, anneal: bool = False, seed: int = 0) -> Run:
    """Train with `course.torch_nets.train_torch`, one epoch at a time, measuring after each.

    Inputs:
    - model, data, optimizer: as for train_torch (optimizer may be a MaxNorm or SoftThreshold)
    - epochs: the most epochs to run
    - patience: early stopping, stop after this many epochs without a better `monitor`
      (None: run all epochs)
    - monitor: 'val_acc' (higher is better) or 'val_loss' (lower is better)
    - restore_best: at the end, load the weights of the best epoch
    - after_epoch: called as after_epoch(model) after every epoch, e.g. to record weight norms
    - anneal: decay the learning rate to 0 along a half cosine over all `epochs`, so that the
      last epochs average out the minibatch noise instead of bouncing on it
    - seed: the batch order (epoch e uses seed * 1000 + e)

    Returns a Run whose best_epoch is the first epoch with the best `monitor`. The model is
    trained in place.
    """
    if monitor not in MONITORS:
        raise ValueError(f"monitor must be one of {MONITORS}, got {monitor!r}")
    sign = 1.0 if monitor == "val_acc" else -1.0
    curves = {"train_loss": [], "val_loss": [], "train_acc": [], "val_acc": []}
    best_score, best_epoch, best_state, waited, stopped, diverged = -math.inf, -1, None, 0, False, False
    scheduler = None
    if anneal:
        inner = getattr(optimizer, "optimizer", optimizer)  # a MaxNorm or SoftThreshold wraps one
        steps = epochs * max(1, len(data["X_train"]) // batch_size)
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(inner, T_max=steps)
    with torch.random.fork_rng():
        # nn.Dropout draws from torch's global generator: seed it here so that a run's masks
        # depend on its seed only, not on what ran before, and leave the caller's state alone.
        torch.manual_seed(seed)
        for epoch in range(epochs):
            history = train_torch(model, data, optimizer, epochs=1, batch_size=batch_size, scheduler=scheduler,
                                  seed=seed * 1000 + epoch, record_every=_NO_RECORDS)
            if history.diverged:
                diverged = True
                break
            for part in ("train", "val"):
                loss, acc = evaluate(model, data[f"X_{part}"], data[f"y_{part}"])
                curves[f"{part}_loss"].append(loss)
                curves[f"{part}_acc"].append(acc)
            if after_epoch is not None:
                after_epoch(model)
            score = sign * curves[monitor][-1]
            if score > best_score:
                best_score, best_epoch, waited = score, epoch, 0
                if restore_best:
                    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            else:
                waited += 1
            if patience is not None and waited >= patience and epoch < epochs - 1:
                stopped = True
                break
    if restore_best and best_state is not None:
        model.load_state_dict(best_state)
    return Run(**{k: np.array(v) for k, v in curves.items()}, best_epoch=best_epoch, stopped_early=stopped,
               restored=restore_best and best_state is not None, diverged=diverged)


# ================================================================ 1 capacity and overfitting

def capacity_sweep(data: dict, widths, epochs: int = 40, seed: int = 0) -> dict[int, tuple[nn.Module, Run]]:
    """Two hidden layers of each width, trained the same way. Returns {width: (model, Run)}.

    The width in HIDDEN gives the lecture's unregularized baseline.
    """
    runs = {}
    for width in widths:
        model = make_model(data, (width, width), seed=seed)
        runs[width] = (model, fit(model, data, sgd(model), epochs, seed=seed))
    return runs


# ================================================================ 2 weight penalties and constraints

def weight_norm_of(model: nn.Module) -> float:
    """sqrt(sum of squared Linear weights): the quantity L2 regularization penalizes."""
    return math.sqrt(sum(float((layer.weight.detach() ** 2).sum()) for layer in linear_layers(model)))


def weight_decay_sweep(data: dict, decays, epochs: int = 40, seed: int = 0) -> dict[float, tuple[Run, float]]:
    """SGD with momentum and weight_decay = lambda (an L2 penalty lambda/2 ||W||^2) on the weights.

    Returns {lambda: (Run, final weight norm)}; every run starts from the same weights.
    """
    results = {}
    for decay in decays:
        model = make_model(data, seed=seed)
        run = fit(model, data, sgd(model, weight_decay=decay), epochs, seed=seed)
        results[decay] = (run, weight_norm_of(model))
    return results


def adam_l2_vs_adamw(data: dict, weight_decay: float = 0.1, lr: float = 1e-3, epochs: int = 30,
                     hidden=(100,), seed: int = 0) -> dict[str, dict]:
    """Adam with an L2 penalty (Adam's weight_decay) against decoupled weight decay (AdamW).

    torch.optim.Adam(weight_decay=lambda) adds lambda * w to the gradient, which Adam then divides
    by its running RMS of gradients; AdamW shrinks w by lr * lambda * w outside the adaptive step
    (Loshchilov & Hutter, 2019). Both start from the same weights and see the same batches.

    The first layer's weights split into two kinds: those from input pixels that are constant
    (0 after standardization) on the training set, which get no gradient from the data, and all
    others. Their norms are recorded after every epoch.

    Returns {'Adam + L2' | 'AdamW': {'model', 'run', 'dead_norm': (E + 1,), 'live_norm': (E + 1,),
    'steps_per_epoch'}}.
    """
    dead = torch.as_tensor(np.ptp(data["X_train"], axis=0) == 0)
    batch_size = 50
    results = {}
    for name, optimizer_class in (("Adam + L2", torch.optim.Adam), ("AdamW", torch.optim.AdamW)):
        model = make_model(data, hidden, seed=seed)
        optimizer = optimizer_class(weights_and_biases(model, weight_decay), lr=lr)
        norms = {"dead_norm": [], "live_norm": []}

        def record(model):
            W = model.fc1.weight.detach()
            norms["dead_norm"].append(float(W[:, dead].norm()))
            norms["live_norm"].append(float(W[:, ~dead].norm()))

        record(model)
        run = fit(model, data, optimizer, epochs, batch_size=batch_size, after_epoch=record, seed=seed)
        results[name] = {"model": model, "run": run, **{k: np.array(v) for k, v in norms.items()},
                         "steps_per_epoch": len(data["X_train"]) // batch_size}
    return results


class _AfterStep:
    """Wraps a torch optimizer and changes the weights after each of its steps.

    It exposes what `train_torch` uses (param_groups, zero_grad, step), so it can stand in for
    the optimizer it wraps.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, weights):
        self.optimizer = optimizer
        self.weights = list(weights)

    @property
    def param_groups(self):
        return self.optimizer.param_groups

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.optimizer.zero_grad(set_to_none=set_to_none)

    def step(self) -> None:
        self.optimizer.step()
        with torch.no_grad():
            for W in self.weights:
                W.copy_(self.after_step(W))

    def after_step(self, W: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


class MaxNorm(_AfterStep):
    """Max-norm constraint (Srivastava et al., 2014): after each step, every unit's incoming
    weight vector (a row of a Linear weight, (fan_out, fan_in)) is scaled back to norm <= max_norm."""

    def __init__(self, optimizer: torch.optim.Optimizer, weights, max_norm: float):
        super().__init__(optimizer, weights)
        self.max_norm = max_norm

    def after_step(self, W: torch.Tensor) -> torch.Tensor:
        return torch.renorm(W, p=2, dim=0, maxnorm=self.max_norm)


class SoftThreshold(_AfterStep):
    """L1 penalty strength * sum |w| by a proximal step: after each step, w <- sign(w) max(|w| - lr * strength, 0).

    With plain SGD this is the proximal gradient method (ISTA): unlike a subgradient of |w|,
    which makes small weights jitter around 0, it sets them to exactly 0.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, weights, strength: float):
        super().__init__(optimizer, weights)
        self.strength = strength

    def after_step(self, W: torch.Tensor) -> torch.Tensor:
        threshold = self.optimizer.param_groups[0]["lr"] * self.strength
        return torch.sign(W) * torch.clamp(W.abs() - threshold, min=0.0)


def penalty_runs(data: dict, l2: float = 3e-3, l1: float = 3e-3, lr: float = 0.1, epochs: int = 40,
                 hidden=(100,), seed: int = 0) -> dict[str, tuple[nn.Module, Run]]:
    """The same network trained with plain SGD under no penalty, an L2 penalty and an L1 penalty.

    Returns {'none' | 'L2' | 'L1': (model, Run)}. The L2 run uses SGD's weight_decay; the L1 run
    uses SoftThreshold on the Linear weights.
    """
    results = {}
    for name in ("none", "L2", "L1"):
        model = make_model(data, hidden, seed=seed)
        optimizer = sgd(model, lr=lr, momentum=0.0, weight_decay=l2 if name == "L2" else 0.0)
        if name == "L1":
            optimizer = SoftThreshold(optimizer, [layer.weight for layer in linear_layers(model)], l1)
        results[name] = (model, fit(model, data, optimizer, epochs, seed=seed))
    return results


def zero_fraction(model: nn.Module) -> float:
    """Fraction of Linear weights that are exactly 0."""
    weights = torch.cat([layer.weight.detach().flatten() for layer in linear_layers(model)])
    return float((weights == 0).double().mean())


def max_norm_runs(data: dict, max_norm: float = 2.0, lr: float = 0.2, dropout: float = 0.2,
                  epochs: int = 40, seed: int = 0) -> dict[str, tuple[nn.Module, Run]]:
    """Dropout networks at a large learning rate, with and without a max-norm constraint on the hidden layers.

    Srivastava et al. (2014) pair dropout with max-norm so that a large learning rate cannot
    make the weights grow without bound. Returns {'unconstrained' | 'max-norm c': (model, Run)}.
    """
    results = {}
    for name in ("unconstrained", f"max-norm {max_norm:g}"):
        model = make_model(data, dropout=dropout, seed=seed)
        optimizer = sgd(model, lr=lr)
        if name != "unconstrained":
            optimizer = MaxNorm(optimizer, [layer.weight for layer in linear_layers(model)[:-1]], max_norm)
        results[name] = (model, fit(model, data, optimizer, epochs, seed=seed))
    return results


def row_norms(model: nn.Module) -> list[np.ndarray]:
    """For each hidden Linear, the norm of every unit's incoming weights: a list of (fan_out,)."""
    return [layer.weight.detach().norm(dim=1).numpy() for layer in linear_layers(model)[:-1]]


# ================================================================ 3 dropout

def dropout_sweep(data: dict, probabilities, epochs: int = 40, seed: int = 0) -> dict[float, tuple[nn.Module, Run]]:
    """The same network with dropout p after each hidden layer. Returns {p: (model, Run)}."""
    results = {}
    for p in probabilities:
        model = make_model(data, dropout=p, seed=seed)
        results[p] = (model, fit(model, data, sgd(model), epochs, seed=seed))
    return results


@torch.no_grad()
def sampled_subnetworks(model: nn.Module, X, samples: int = 100, seed: int = 0) -> np.ndarray:
    """Class probabilities of `samples` random thinned networks: dropout left on (training mode).

    nn.Dropout draws from torch's global generator; it is seeded inside a fork, so the caller's
    random state is untouched.

    Inputs: model with nn.Dropout layers (and no batch norm); X (N, D).
    Returns (samples, N, C) softmax probabilities.
    """
    X = torch.as_tensor(np.asarray(X), dtype=next(model.parameters()).dtype)
    was_training = model.training
    model.train()
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            probs = [F.softmax(model(X), dim=1).numpy() for _ in range(samples)]
    finally:
        model.train(was_training)
    return np.array(probs)


def ensemble_accuracy(probs: np.ndarray, y) -> np.ndarray:
    """Accuracy of the average of the first k sampled networks, for k = 1..K.

    Inputs: probs (K, N, C) from sampled_subnetworks; y (N,).
    Returns (K,).
    """
    running_mean = np.cumsum(probs, axis=0) / np.arange(1, len(probs) + 1)[:, None, None]
    return (running_mean.argmax(axis=2) == np.asarray(y)).mean(axis=1)


# ================================================================ 4 early stopping

def early_stopping_experiment(data: dict, patience: int = 5, epochs: int = 40, monitor: str = "val_acc",
                              seed: int = 0) -> dict:
    """The same training run without and with early stopping (patience, then restore the best weights).

    Both runs start from the same weights and see the same batches, so the early-stopped run
    is exactly the first epochs of the full one.

    Returns {'full': Run, 'stopped': Run, 'model': the early-stopped model with restored weights}.
    """
    full_model = make_model(data, seed=seed)
    full = fit(full_model, data, sgd(full_model), epochs, seed=seed)
    model = make_model(data, seed=seed)
    stopped = fit(model, data, sgd(model), epochs, patience=patience, monitor=monitor, restore_best=True, seed=seed)
    return {"full": full, "stopped": stopped, "model": model}


# ================================================================ 5 noise and augmentation

class GaussianNoise(nn.Module):
    """Adds N(0, std^2) noise to the input in training mode; the identity in eval mode."""

    def __init__(self, std: float, seed: int = 0):
        super().__init__()
        self.std = std
        self.generator = torch.Generator().manual_seed(seed)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return x
        noise = torch.randn(x.shape, generator=self.generator, dtype=x.dtype)
        return x + self.std * noise.to(x.device)


class RandomShift(nn.Module):
    """Moves each image by up to max_shift pixels along each axis, in training mode only.

    Inputs arrive scaled as (pixels - mean) / std, so they are mapped back to pixels, shifted with
    zero fill (the digits' background) and scaled again.

    Inputs:
    - mean, std: the scaling of the inputs, floats or (D,) arrays
    - image_shape: (H, W) with H * W = D
    - max_shift: each image moves by an integer in [-max_shift, max_shift] along each axis
    - seed: the shifts' own generator
    """

    def __init__(self, mean, std, image_shape=(8, 8), max_shift: int = 1, seed: int = 0):
        super().__init__()
        self.register_buffer("mean", torch.as_tensor(np.asarray(mean, dtype=np.float64)))
        self.register_buffer("std", torch.as_tensor(np.asarray(std, dtype=np.float64)))
        self.image_shape = tuple(image_shape)
        self.max_shift = max_shift
        self.generator = torch.Generator().manual_seed(seed)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return x
        n, (h, w), s = len(x), self.image_shape, self.max_shift
        images = (x * self.std + self.mean).reshape(n, h, w)
        padded = F.pad(images, (s, s, s, s))
        offsets = torch.randint(0, 2 * s + 1, (2, n), generator=self.generator).to(x.device)
        rows = offsets[0][:, None, None] + torch.arange(h, device=x.device)[None, :, None]
        cols = offsets[1][:, None, None] + torch.arange(w, device=x.device)[None, None, :]
        shifted = padded[torch.arange(n, device=x.device)[:, None, None], rows, cols]
        return (shifted.reshape(n, h * w) - self.mean) / self.std


class RandomCircularShift(nn.Module):
    """Rotates each 1-D signal by a random number of samples in [-max_shift, max_shift], in training mode only.

    MNIST-1D is generated by circularly translating each digit's template (Greydanus, 2020),
    so a circular shift makes another plausible example with the same label.
    """

    def __init__(self, max_shift: int, seed: int = 0):
        super().__init__()
        self.max_shift = max_shift
        self.generator = torch.Generator().manual_seed(seed)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return x
        n, d = x.shape
        shifts = torch.randint(-self.max_shift, self.max_shift + 1, (n,), generator=self.generator).to(x.device)
        index = (torch.arange(d, device=x.device)[None, :] - shifts[:, None]) % d
        return torch.gather(x, 1, index)


def train_behind(data: dict, layer: nn.Module, epochs: int = 40, seed: int = 0) -> Run:
    """Train make_model(data) behind a front layer (noise, shifts, nn.Identity()), cosine-annealed."""
    model = nn.Sequential(layer, make_model(data, seed=seed))
    return fit(model, data, sgd(model), epochs, anneal=True, seed=seed)


def augmentation_runs(data: dict, noise_std: float = 0.5, max_shift: int = 5, epochs: int = 40,
                      seed: int = 0) -> dict[str, Run]:
    """MNIST-1D from a small training set: plain, with Gaussian input noise, with random circular shifts.

    The noise or shift is the first layer of the network, active in training mode only, so
    every epoch sees fresh copies; evaluation sees the clean signals. Every run anneals its
    learning rate, so the final numbers are not one noisy step's luck.

    Returns {'none' | 'input noise' | 'random shifts': Run}.
    """
    fronts = {"none": nn.Identity(), "input noise": GaussianNoise(noise_std, seed=seed),
              "random shifts": RandomCircularShift(max_shift, seed=seed)}
    return {name: train_behind(data, layer, epochs, seed) for name, layer in fronts.items()}


def digits_shift_runs(n_train: int = 200, max_shift: int = 1, epochs: int = 40, seed: int = 0) -> dict[str, Run]:
    """The 8x8 digits from a small training set, plain and with random shifts of up to max_shift pixels.

    Pixels are scaled by one global mean and std of the training images, not per pixel:
    per-pixel standardization divides a rarely inked border pixel by a tiny std, and a shift
    moves ink right there.

    Returns {'none' | 'random shifts': Run}.
    """
    raw = small_training_set("digits", n_train, seed=seed, standardize=False)
    mean, std = raw["X_train"].mean(), raw["X_train"].std()
    data = {k: ((v - mean) / std if k.startswith("X_") else v) for k, v in raw.items()}
    fronts = {"none": nn.Identity(), "random shifts": RandomShift(mean, std, max_shift=max_shift, seed=seed)}
    return {name: train_behind(data, layer, epochs, seed) for name, layer in fronts.items()}


# ================================================================ 6 hyperparameter search

SEARCH_SPACE = {"lr": (1e-4, 1.0), "weight_decay": (1e-6, 1e-2)}  # both searched on a log scale


def trial(data: dict, lr: float, weight_decay: float, epochs: int = 4, seed: int = 0) -> float:
    """Validation accuracy of one configuration: a [D, 100, C] network, SGD with momentum 0.9."""
    model = make_model(data, (100,), seed=seed)
    return fit(model, data, sgd(model, lr=lr, weight_decay=weight_decay), epochs, seed=seed).val_acc[-1]


def search_configurations(kind: str, n_trials: int = 16, seed: int = 0) -> list[dict]:
    """Configurations from SEARCH_SPACE: a sqrt(n) x sqrt(n) grid or n log-uniform random draws.

    Returns a list of n_trials dicts {'lr', 'weight_decay'}.
    """
    if kind == "grid":
        side = math.isqrt(n_trials)
        if side * side != n_trials:
            raise ValueError(f"a grid needs a square number of trials, got {n_trials}")
        axes = {k: np.geomspace(lo, hi, side) for k, (lo, hi) in SEARCH_SPACE.items()}
        return [{"lr": lr, "weight_decay": wd} for lr in axes["lr"] for wd in axes["weight_decay"]]
    if kind == "random":
        rng = np.random.default_rng(seed)
        draws = {k: np.exp(rng.uniform(np.log(lo), np.log(hi), n_trials)) for k, (lo, hi) in SEARCH_SPACE.items()}
        return [{"lr": float(lr), "weight_decay": float(wd)} for lr, wd in zip(draws["lr"], draws["weight_decay"])]
    raise ValueError(f"kind must be 'grid' or 'random', got {kind!r}")


def hyperparameter_search(data: dict, n_trials: int = 16, seed: int = 0) -> dict[str, list[dict]]:
    """Grid and random search with the same budget (Bergstra & Bengio, 2012).

    Returns {'grid' | 'random': [{'lr', 'weight_decay', 'val_acc'} per trial]}.
    """
    return {kind: [{**config, "val_acc": trial(data, **config, seed=seed)}
                   for config in search_configurations(kind, n_trials, seed)]
            for kind in ("grid", "random")}
