"""The experiments of lecture 04 (normalization): conditioning, batch norm and its alternatives.

Each function runs one experiment with fixed seeds and returns numbers; the notebook
`lectures/04_normalization.ipynb` draws them and `tests/test_lecture_04_claims.py` asserts the
lecture's claims with the same calls, so text and test cannot drift apart. Networks normalize
with PyTorch's own layers (nn.BatchNorm1d, nn.LayerNorm, nn.GroupNorm,
torch.nn.utils.parametrizations.weight_norm); writing batch and layer norm in NumPy is the
assignments' job, not this module's.

Sections follow the lecture: 1 conditioning, 2 statistics from the training split, 3 batch
normalization, 4 layer, group and weight normalization.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

from course.data import PCAWhitener, Standardizer, minibatches
from course.torch_nets import TorchHistory, accuracy, init_weights, mlp, train_torch

# train_torch records gradient norms and update ratios every this many steps; these sweeps need
# only their curves, and recording at the first step only makes each run several times faster.
_NO_RECORDS = 10**9


# ================================================================ 1 conditioning

def correlated_features(n: int = 500, correlation: float = 0.9, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two uncentered features on scales 10 and 1 with a given correlation, and a linear target.

    x1 = 10 + 10 z1,  x2 = 2 + correlation * z1 + sqrt(1 - correlation^2) * z2,  z ~ N(0, I);
    y = x @ (0.3, -1.0) + 0.1 * noise. The model y ~ x @ w has no bias, so the mean of x is part
    of the problem's geometry, as LeCun et al. (1998) point out.

    Returns (X, y): X is (n, 2), y is (n,).
    """
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, 2))
    x1 = 10.0 + 10.0 * z[:, 0]
    x2 = 2.0 + correlation * z[:, 0] + np.sqrt(1.0 - correlation**2) * z[:, 1]
    X = np.column_stack([x1, x2])
    y = X @ np.array([0.3, -1.0]) + 0.1 * rng.standard_normal(n)
    return X, y


def rescalings(X_train: np.ndarray) -> dict[str, np.ndarray]:
    """The training inputs as given, standardized, and PCA-whitened (statistics from X_train).

    Returns {'raw': (N, D), 'standardized': (N, D), 'whitened': (N, D)}.
    """
    return {
        "raw": np.asarray(X_train, dtype=np.float64),
        "standardized": Standardizer().fit_transform(X_train),
        "whitened": PCAWhitener().fit_transform(X_train),
    }


def least_squares_hessian(X: np.ndarray) -> np.ndarray:
    """Hessian of L(w) = ||X w - y||^2 / (2N): H = X^T X / N, (D, D), the same for every y."""
    X = np.asarray(X, dtype=np.float64)
    return X.T @ X / len(X)


def condition_number(H: np.ndarray) -> float:
    """kappa(H) = largest / smallest eigenvalue of a symmetric positive definite H."""
    eigenvalues = np.linalg.eigvalsh(H)
    return float(eigenvalues[-1] / eigenvalues[0])


def least_squares_loss(X: np.ndarray, y: np.ndarray, W: np.ndarray) -> np.ndarray:
    """L(w) = ||X w - y||^2 / (2N) at many points at once.

    Inputs:
    - X: (N, D); y: (N,) or (N, K)
    - W: (..., D) points for a vector target, or one (D, K) matrix for a matrix target

    Returns (...) losses for a vector target, a float for a matrix target.
    """
    if np.ndim(y) == 2:
        return float(np.sum((X @ W - y) ** 2) / (2 * len(X)))
    residuals = np.einsum("nd,...d->...n", X, W) - y
    return np.sum(residuals**2, axis=-1) / (2 * len(X))


def gradient_descent(X: np.ndarray, y: np.ndarray, steps: int, lr: float | None = None) -> np.ndarray:
    """Full-batch gradient descent on the least-squares loss from w = 0.

    lr defaults to 1 / lambda_max(H), the largest step that never overshoots along any
    eigendirection; then the error along eigenvalue lambda shrinks by (1 - lambda / lambda_max)
    per step, so the slowest direction needs about kappa steps per factor e.

    Inputs: X (N, D); y (N,) or (N, K); steps.
    Returns the iterates, (steps + 1, D) or (steps + 1, D, K), starting with the zero start.
    """
    H = least_squares_hessian(X)
    lr = lr or 1.0 / np.linalg.eigvalsh(H)[-1]
    w = np.zeros((X.shape[1],) + np.shape(y)[1:])
    path = [w]
    for _ in range(steps):
        w = w - lr * X.T @ (X @ w - y) / len(X)
        path.append(w)
    return np.array(path)


def steps_to_tolerance(X: np.ndarray, y: np.ndarray, tol: float = 1e-6, max_steps: int = 100_000) -> int | None:
    """Gradient-descent steps (lr = 1 / lambda_max, from w = 0) until the excess loss is below tol times its start.

    Returns the number of steps, or None if max_steps were not enough.
    """
    H = least_squares_hessian(X)
    lr = 1.0 / np.linalg.eigvalsh(H)[-1]
    w_star = np.linalg.lstsq(X, y, rcond=None)[0]
    best = least_squares_loss(X, y, w_star)
    w = np.zeros(X.shape[1])
    start = least_squares_loss(X, y, w) - best
    for step in range(1, max_steps + 1):
        w = w - lr * X.T @ (X @ w - y) / len(X)
        if least_squares_loss(X, y, w) - best <= tol * start:
            return step
    return None


def digits_conditioning(data_raw: dict, steps: int = 300) -> dict[str, dict]:
    """Linear least squares on the digits, one-hot targets, with a bias column: how fast GD fits it.

    Pixels that are constant on the training split are dropped first (their Hessian eigenvalue
    is 0 in every representation). Statistics come from X_train only.

    Inputs:
    - data_raw: a split dict with unscaled pixels (load_dataset('digits', standardize=False))
    - steps: gradient-descent steps, each with lr = 1 / lambda_max

    Returns {'raw' | 'centered' | 'standardized' | 'whitened': {'condition': kappa of the
    Hessian, 'excess_loss': (steps + 1,) loss minus the least-squares minimum}}.
    """
    X = data_raw["X_train"]
    X = X[:, np.ptp(X, axis=0) > 0]
    Y = np.eye(int(data_raw["y_train"].max()) + 1)[data_raw["y_train"]]
    views = rescalings(X)
    views = {"raw": views["raw"], "centered": X - X.mean(axis=0), **{k: views[k] for k in ("standardized", "whitened")}}
    results = {}
    for name, Z in views.items():
        A = np.column_stack([Z, np.ones(len(Z))])
        best = least_squares_loss(A, Y, np.linalg.lstsq(A, Y, rcond=None)[0])
        path = gradient_descent(A, Y, steps)
        results[name] = {
            "condition": condition_number(least_squares_hessian(A)),
            "excess_loss": np.array([least_squares_loss(A, Y, W) - best for W in path]),
        }
    return results


# ================================================================ 2 statistics from the training split

def fit_digits_classifier(data: dict, epochs: int = 15, seed: int = 0) -> nn.Sequential:
    """A [64, 100, 10] ReLU network trained with SGD + momentum on an already scaled split."""
    model = normalized_mlp([data["X_train"].shape[1], 100, 10], seed=seed)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    train_torch(model, data, opt, epochs=epochs, seed=seed, record_every=_NO_RECORDS)
    return model


def scaling_statistics_experiment(data_raw: dict, seed: int = 0) -> dict[str, np.ndarray]:
    """Test each digit class alone, scaled with the training statistics or with its own.

    The classifier is trained on X_train standardized with X_train's statistics. Then the test
    images of one class at a time are standardized either with those same statistics (right) or
    with the statistics of that group of test images (the bug: the group's own mean removes
    exactly what the images of one class have in common).

    Returns {'training statistics': (C,), 'own statistics': (C,)}: test accuracy per class.
    """
    scaler = Standardizer().fit(data_raw["X_train"])
    data = {k: (scaler.transform(v) if k.startswith("X_") else v) for k, v in data_raw.items()}
    model = fit_digits_classifier(data, seed=seed)
    X_test, y_test = data_raw["X_test"], data_raw["y_test"]
    classes = np.unique(y_test)
    right, wrong = [], []
    for c in classes:
        X_c = X_test[y_test == c]
        labels = np.full(len(X_c), c)
        right.append(accuracy(model, scaler.transform(X_c), labels))
        wrong.append(accuracy(model, Standardizer().fit_transform(X_c), labels))
    return {"training statistics": np.array(right), "own statistics": np.array(wrong)}


# ================================================================ 3 batch normalization

def running_statistics(X: np.ndarray, momenta=(0.01, 0.1, 0.5, None), batch_size: int = 32,
                       steps: int = 300, seed: int = 0) -> dict:
    """Feed minibatches of X through nn.BatchNorm1d in training mode and track its running mean.

    PyTorch's convention: running = (1 - momentum) * running + momentum * batch statistic, so
    momentum is the weight of the *new* batch (0.1 by default), the opposite of the decay
    factor 0.9 that Keras and many papers call momentum. momentum=None keeps the cumulative
    average of all batches seen. The running variance averages the unbiased (N - 1) batch
    variance, while the normalization itself divides by the biased one.

    Inputs:
    - X: (N, D) inputs; their statistics are the target
    - momenta: values of nn.BatchNorm1d's momentum to compare
    - batch_size, steps: minibatches drawn, all momenta see the same batches
    - seed: the batch order

    Returns {momentum: {'mean_error': (steps,), 'var_error': (steps,)}}, relative errors
    ||running - target|| / ||target|| after each step, against X's mean and unbiased variance.
    """
    X = torch.as_tensor(np.asarray(X, dtype=np.float64))
    target_mean, target_var = X.mean(0), X.var(0)
    batches = []
    rng = np.random.default_rng(seed)
    while len(batches) < steps:
        batches.extend(Xb for Xb, _ in minibatches(X.numpy(), np.zeros(len(X)), batch_size, rng=rng, drop_last=True))
    results = {}
    for momentum in momenta:
        bn = nn.BatchNorm1d(X.shape[1], momentum=momentum, affine=False, dtype=torch.float64)
        mean_error, var_error = [], []
        with torch.no_grad():
            for Xb in batches[:steps]:
                bn(torch.as_tensor(Xb))
                mean_error.append(float((bn.running_mean - target_mean).norm() / target_mean.norm()))
                var_error.append(float((bn.running_var - target_var).norm() / target_var.norm()))
        results[momentum] = {"mean_error": np.array(mean_error), "var_error": np.array(var_error)}
    return results


NORM_VARIANTS = ("none", "batchnorm", "batchnorm_after", "layernorm", "groupnorm", "weightnorm")


def normalized_mlp(sizes: list[int], variant: str = "none", *, activation: str = "relu",
                   gain: float | None = None, groups: int = 8, seed: int = 0) -> nn.Sequential:
    """A ReLU MLP from `course.torch_nets.mlp` with one normalization scheme, He-initialized from `seed`.

    Variants (placed in every hidden layer):
    - 'none': Linear -> ReLU
    - 'batchnorm': Linear -> BatchNorm1d -> ReLU (Ioffe & Szegedy's placement)
    - 'batchnorm_after': Linear -> ReLU -> BatchNorm1d
    - 'layernorm': Linear -> LayerNorm -> ReLU
    - 'groupnorm': Linear -> GroupNorm(groups) -> ReLU; the hidden widths must divide by groups
    - 'weightnorm': every Linear reparametrized as w = g v / ||v|| per output unit

    Inputs:
    - sizes: [D_in, H_1, ..., C]
    - gain: multiplies the He (kaiming_normal) standard deviation sqrt(2 / fan_in); None is 1
    - seed: seeds the weights without touching torch's global RNG

    Returns the nn.Sequential; the normalization modules are named 'norm1', 'norm2', ...
    """
    if variant not in NORM_VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; choose one of {', '.join(NORM_VARIANTS)}")
    model = mlp(sizes, activation, norm=variant if variant in ("batchnorm", "layernorm") else None)
    he_gain = None if gain is None else gain * np.sqrt(2.0)
    init_weights(model, "kaiming_normal", gain=he_gain, generator=torch.Generator().manual_seed(seed))
    if variant == "weightnorm":
        for layer in model.modules():
            if isinstance(layer, nn.Linear):
                weight_norm(layer)
        return model
    if variant in ("batchnorm_after", "groupnorm"):
        model = _insert_norms(model, variant, groups)
    return _rename_norms(model)


def _insert_norms(model: nn.Sequential, variant: str, groups: int) -> nn.Sequential:
    """Insert BatchNorm1d after each hidden activation, or GroupNorm after each hidden Linear."""
    children = list(model.named_children())
    hidden_linear = [m for _, m in children if isinstance(m, nn.Linear)][:-1]
    widths = iter(m.out_features for m in hidden_linear)
    layers = OrderedDict()
    width = None
    for name, module in children:
        layers[name] = module
        if isinstance(module, nn.Linear) and module in hidden_linear:
            width = next(widths)
            if variant == "groupnorm":
                layers[f"gn_{name}"] = nn.GroupNorm(groups, width, dtype=torch.float64)
        elif variant == "batchnorm_after" and not isinstance(module, nn.Linear) and width is not None:
            layers[f"bn_{name}"] = nn.BatchNorm1d(width, dtype=torch.float64)
            width = None
    return nn.Sequential(layers)


def _rename_norms(model: nn.Sequential) -> nn.Sequential:
    norm_types = (nn.BatchNorm1d, nn.LayerNorm, nn.GroupNorm)
    layers, count = OrderedDict(), 0
    for name, module in model.named_children():
        if isinstance(module, norm_types):
            count += 1
            name = f"norm{count}"
        layers[name] = module
    return nn.Sequential(layers)


def deep_sizes(data: dict, depth: int = 5, width: int = 100) -> list[int]:
    """[D, width] * depth + [C]: the deep network of section 3."""
    return [data["X_train"].shape[1]] + [width] * depth + [int(data["y_train"].max()) + 1]


def _train(data: dict, model: nn.Module, lr: float, *, epochs: int, batch_size: int = 64,
           momentum: float = 0.0, seed: int = 0) -> TorchHistory:
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    return train_torch(model, data, opt, epochs=epochs, batch_size=batch_size, seed=seed, record_every=_NO_RECORDS)


def lr_sweep(data: dict, lrs, variants=("none", "batchnorm", "batchnorm_after"), depth: int = 5,
             epochs: int = 8, seed: int = 0) -> dict[str, list[TorchHistory]]:
    """Plain SGD at each learning rate on a deep ReLU network, with and without batch norm.

    Every run starts from the same He-initialized weights (for its variant) and sees the same
    batches. Returns {variant: [history per lr]}; history.diverged marks a non-finite loss.
    """
    sizes = deep_sizes(data, depth)
    return {v: [_train(data, normalized_mlp(sizes, v, seed=seed), lr, epochs=epochs, seed=seed) for lr in lrs]
            for v in variants}


def init_scale_sweep(data: dict, gains, variants=("none", "batchnorm"), lr: float = 0.05,
                     depth: int = 5, epochs: int = 8, seed: int = 0) -> dict[str, list[TorchHistory]]:
    """Train the deep network from He initialization multiplied by each gain.

    Returns {variant: [history per gain]}.
    """
    sizes = deep_sizes(data, depth)
    return {v: [_train(data, normalized_mlp(sizes, v, gain=g, seed=seed), lr, epochs=epochs, seed=seed) for g in gains]
            for v in variants}


@dataclass
class GradientProbe:
    """How much the loss changes when stepping along the gradient (Santurkar et al., 2018, fig. 4).

    Fields:
    - steps: (T,) the iterations probed
    - loss_min, loss_max: (T,) the smallest and largest minibatch loss at theta - eta * grad over
      the probed step sizes eta, at each probed iteration
    - history_loss: (S,) the training loss at every iteration
    """

    steps: np.ndarray
    loss_min: np.ndarray
    loss_max: np.ndarray
    history_loss: np.ndarray

    @property
    def spread(self) -> np.ndarray:
        """(T,) loss_max - loss_min: small means a smooth, predictable landscape."""
        return self.loss_max - self.loss_min


def loss_along_gradient(data: dict, variant: str, lr: float = 0.1, etas=(0.05, 0.1, 0.2, 0.4, 0.8),
                        steps: int = 150, every: int = 5, depth: int = 5, batch_size: int = 64,
                        seed: int = 0) -> GradientProbe:
    """Train with SGD; every `every` steps, probe the loss along the current gradient first.

    Probing evaluates the minibatch loss at theta - eta * grad for every eta, on the same batch,
    then puts the parameters and batch-norm buffers back, so the probe does not change training.

    Returns a GradientProbe.
    """
    model = normalized_mlp(deep_sizes(data, depth), variant, seed=seed)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    X = torch.as_tensor(data["X_train"])
    y = torch.as_tensor(data["y_train"])
    g = torch.Generator().manual_seed(seed)
    probed, lo, hi, losses = [], [], [], []
    model.train()
    t = 0
    while t < steps:
        order = torch.randperm(len(X), generator=g)
        for start in range(0, len(X) - batch_size + 1, batch_size):
            if t == steps:
                break
            idx = order[start:start + batch_size]
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(X[idx]), y[idx])
            loss.backward()
            if t % every == 0:
                probe = _probe(model, X[idx], y[idx], etas)
                probed.append(t)
                lo.append(min(probe))
                hi.append(max(probe))
            opt.step()
            losses.append(loss.item())
            t += 1
    return GradientProbe(np.array(probed), np.array(lo), np.array(hi), np.array(losses))


@torch.no_grad()
def _probe(model: nn.Module, X: torch.Tensor, y: torch.Tensor, etas) -> list[float]:
    params = [p for p in model.parameters() if p.grad is not None]
    saved_params = [p.clone() for p in params]
    saved_buffers = [b.clone() for b in model.buffers()]
    losses = []
    for eta in etas:
        for p, p0 in zip(params, saved_params):
            p.copy_(p0 - eta * p.grad)
        losses.append(F.cross_entropy(model(X), y).item())
    for p, p0 in zip(params, saved_params):
        p.copy_(p0)
    for b, b0 in zip(model.buffers(), saved_buffers):
        b.copy_(b0)
    return losses


# ================================================================ 4 layer, group and weight normalization

def batch_size_sweep(data: dict, batch_sizes, variants=("none", "batchnorm", "layernorm", "groupnorm", "weightnorm"),
                     n_train: int | None = 600, width: int = 128, lr: float = 0.05, epochs: int = 4,
                     seed: int = 0) -> dict[str, list[TorchHistory]]:
    """Train a [D, width, width, C] network with each normalization at each batch size.

    Same learning rate, same number of epochs (so small batches take more, noisier steps), on
    the first n_train training examples (None: all of them; fewer keep batch size 2 affordable).

    Returns {variant: [history per batch size]}.
    """
    if n_train is not None:
        data = {**data, "X_train": data["X_train"][:n_train], "y_train": data["y_train"][:n_train]}
    sizes = [data["X_train"].shape[1], width, width, int(data["y_train"].max()) + 1]
    return {v: [_train(data, normalized_mlp(sizes, v, seed=seed), lr, epochs=epochs, batch_size=bs, seed=seed)
                for bs in batch_sizes] for v in variants}
