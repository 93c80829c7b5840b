"""A minibatch trainer for NumPy models, in the spirit of CS231n's Solver.

A model is anything with
- `params`: dict name -> ndarray, updated in place of the dict (arrays are replaced), and
- `loss(X, y=None)`: scores (N, C) when y is None (test mode), else `(loss, grads)` with one
  gradient per parameter (train mode).

The update rule is passed in, so this module holds no optimizer: students pass theirs, lectures
pass a reference or a torch-backed one. Every rule shares the interface
`update(w, dw, config) -> (next_w, config)`, and each parameter keeps its own config (its own
optimizer state); a rule may return a new array or update `w` in place and return it. The
trainer records what explains training: loss per iteration, train/val accuracy per epoch, and
per parameter the gradient norm and the update-to-weight ratio ||w_next - w|| / ||w|| (around
1e-3 is healthy: Karpathy's rule of thumb), from `dw` and a copy of `w` taken before the rule runs.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from tqdm.auto import tqdm

from course.data import minibatches
from course.schedules import Schedule

UpdateRule = Callable[[np.ndarray, np.ndarray, dict], tuple[np.ndarray, dict]]


@dataclass
class History:
    """What happened during training. Index it like a dict too: history['loss']."""

    loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    grad_norms: dict[str, list[float]] = field(default_factory=dict)
    update_ratios: dict[str, list[float]] = field(default_factory=dict)
    best_val_acc: float = -np.inf
    best_epoch: int = -1
    stopped_early: bool = False

    def __getitem__(self, key: str):
        if key not in self:
            raise KeyError(key)
        return getattr(self, key)

    def __contains__(self, key) -> bool:
        return isinstance(key, str) and key in self.__dataclass_fields__


class Trainer:
    """Train a model on a split dict with minibatch updates.

    Inputs:
    - model: exposes `params` and `loss(X, y=None)` (see the module docstring)
    - data: dict with X_train (N, D), y_train (N,), X_val (M, D), y_val (M,), as made by
      `course.data.train_val_test_split`
    - update_rule: update(w, dw, config) -> (next_w, config)
    - optim_config: hyperparameters copied into every parameter's config, e.g. {'lr': 1e-3}
    - lr_schedule: factor(t) multiplying optim_config['lr'] at step t (see course.schedules)
    - batch_size, num_epochs: the minibatch size and the number of passes over X_train
    - grad_clip: grads -> grads, applied to the whole gradient dict before the step
    - patience: stop after this many epochs without a better validation accuracy (None: never)
    - restore_best: at the end, put back copies of the parameters of the best validation epoch
    - num_train_samples: size of the random training subset used to estimate train accuracy
    - seed: drives shuffling and the accuracy subsets
    - progress: show a progress bar (None: only when stderr is a terminal)
    """

    def __init__(
        self,
        model,
        data: dict,
        update_rule: UpdateRule,
        *,
        optim_config: dict | None = None,
        lr_schedule: Schedule | None = None,
        batch_size: int = 100,
        num_epochs: int = 10,
        grad_clip: Callable[[dict], dict] | None = None,
        patience: int | None = None,
        restore_best: bool = True,
        num_train_samples: int | None = 1000,
        seed: int = 0,
        progress: bool | None = None,
    ):
        missing = [k for k in ("X_train", "y_train", "X_val", "y_val") if k not in data]
        if missing:
            raise ValueError(f"data is missing {missing}; make it with course.data.train_val_test_split")
        if lr_schedule is not None and "lr" not in (optim_config or {}):
            raise ValueError("lr_schedule multiplies optim_config['lr']: give a base learning rate")
        if batch_size <= 0 or num_epochs <= 0:
            raise ValueError(f"batch_size and num_epochs must be positive, got {batch_size}, {num_epochs}")
        self.model = model
        self.data = data
        self.update_rule = update_rule
        self.optim_config = dict(optim_config or {})
        self.lr_schedule = lr_schedule
        self.batch_size = batch_size
        self.num_epochs = num_epochs
        self.grad_clip = grad_clip
        self.patience = patience
        self.restore_best = restore_best
        self.num_train_samples = num_train_samples
        self.rng = np.random.default_rng(seed)
        self.progress = progress
        self.configs = {name: dict(self.optim_config) for name in model.params}
        self.history = History()
        self.best_params: dict[str, np.ndarray] = {}
        self.best_state: list[dict] = []
        self.step_count = 0

    def step(self, X_batch: np.ndarray, y_batch: np.ndarray) -> float:
        """One gradient step on a minibatch; returns the minibatch loss."""
        loss, grads = self.model.loss(X_batch, y_batch)
        if self.grad_clip is not None:
            grads = self.grad_clip(grads)
        lr = None
        if self.lr_schedule is not None:
            lr = self.optim_config["lr"] * self.lr_schedule(self.step_count)
        h = self.history
        for name, w in self.model.params.items():
            dw = grads[name]
            config = self.configs[name]
            if lr is not None:
                config["lr"] = lr
            # Measured before the rule runs: a rule may update w in place (CS231n's w -= lr * dw)
            # or scale dw in place, and either would falsify what is recorded afterwards.
            grad_norm = float(np.linalg.norm(dw))
            w_before = w.copy()
            next_w, self.configs[name] = self.update_rule(w, dw, config)
            h.grad_norms.setdefault(name, []).append(grad_norm)
            # The epsilon keeps zero-initialized weights from dividing by zero; their first
            # ratio is then huge, which is the truth about a first step from zero.
            ratio = np.linalg.norm(next_w - w_before) / (np.linalg.norm(w_before) + 1e-12)
            h.update_ratios.setdefault(name, []).append(float(ratio))
            self.model.params[name] = next_w
        h.loss.append(float(loss))
        h.lr.append(float(lr if lr is not None else self.optim_config.get("lr", np.nan)))
        self.step_count += 1
        return float(loss)

    def accuracy(self, X: np.ndarray, y: np.ndarray, num_samples: int | None = None, batch_size: int = 500) -> float:
        """Fraction of correct argmax predictions (on a random subset of `num_samples` if given)."""
        if num_samples is not None and len(X) > num_samples:
            idx = self.rng.choice(len(X), num_samples, replace=False)
            X, y = X[idx], y[idx]
        predictions = [
            np.argmax(self.model.loss(X[i : i + batch_size]), axis=1) for i in range(0, len(X), batch_size)
        ]
        return float(np.mean(np.concatenate(predictions) == y))

    def train(self) -> History:
        """Run all epochs (or until early stopping) and return the history."""
        d, h = self.data, self.history
        n = len(d["X_train"])
        steps_per_epoch = n // self.batch_size if n >= self.batch_size else 1
        epochs_without_gain = 0
        with tqdm(total=self.num_epochs * steps_per_epoch, disable=_disable(self.progress), leave=False) as bar:
            for epoch in range(self.num_epochs):
                batches = minibatches(d["X_train"], d["y_train"], self.batch_size, rng=self.rng, drop_last=n >= self.batch_size)
                for X_batch, y_batch in batches:
                    loss = self.step(X_batch, y_batch)
                    bar.update(1)
                    bar.set_postfix(loss=f"{loss:.3f}", refresh=False)
                h.train_acc.append(self.accuracy(d["X_train"], d["y_train"], self.num_train_samples))
                h.val_acc.append(self.accuracy(d["X_val"], d["y_val"]))
                if h.val_acc[-1] > h.best_val_acc:
                    h.best_val_acc, h.best_epoch = h.val_acc[-1], epoch
                    self.best_params = {k: v.copy() for k, v in self.model.params.items()}
                    self.best_state = _copy_state(self.model)
                    epochs_without_gain = 0
                else:
                    epochs_without_gain += 1
                if self.patience is not None and epochs_without_gain >= self.patience:
                    h.stopped_early = True
                    break
        if self.restore_best and self.best_params:
            # Copies again, so later training cannot alter the saved best.
            self.model.params.update({k: v.copy() for k, v in self.best_params.items()})
            _restore_state(self.model, self.best_state)
        return h


def _disable(progress: bool | None) -> bool | None:
    # tqdm reads disable=None as "off unless writing to a terminal", which keeps tests and
    # executed notebooks quiet.
    return None if progress is None else not progress


def _copy_state(model) -> list[dict]:
    """Deep copies of non-parameter state that belongs with the weights (batchnorm running stats)."""
    return [{k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in p.items()} for p in getattr(model, "bn_params", [])]


def _restore_state(model, state: list[dict]) -> None:
    for live, saved in zip(getattr(model, "bn_params", []), state):
        live.update({k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in saved.items()})
