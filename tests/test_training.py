import numpy as np
import pytest

from course import schedules
from course.data import load_dataset
from course.training import Trainer


class SoftmaxRegression:
    """The smallest model with the trainer's interface (written here so the test needs no solutions)."""

    def __init__(self, input_dim, num_classes, seed=0):
        rng = np.random.default_rng(seed)
        self.params = {"W": 0.01 * rng.standard_normal((input_dim, num_classes)), "b": np.zeros(num_classes)}

    def loss(self, X, y=None):
        scores = X @ self.params["W"] + self.params["b"]
        if y is None:
            return scores
        shifted = scores - scores.max(axis=1, keepdims=True)
        probs = np.exp(shifted)
        probs /= probs.sum(axis=1, keepdims=True)
        n = len(X)
        loss = -np.mean(np.log(probs[np.arange(n), y]))
        dscores = probs
        dscores[np.arange(n), y] -= 1
        dscores /= n
        return loss, {"W": X.T @ dscores, "b": dscores.sum(axis=0)}


def sgd(w, dw, config):
    config = dict(config)
    config.setdefault("lr", 1e-2)
    return w - config["lr"] * dw, config


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", seed=0)


def test_training_lowers_the_loss_and_reaches_good_validation_accuracy(digits):
    model = SoftmaxRegression(64, 10)
    history = Trainer(model, digits, sgd, optim_config={"lr": 0.1}, batch_size=50, num_epochs=5).train()
    steps_per_epoch = len(digits["X_train"]) // 50
    assert len(history.loss) == 5 * steps_per_epoch
    assert np.mean(history.loss[-10:]) < 0.5 * np.mean(history.loss[:10])
    assert len(history["val_acc"]) == 5 and history.best_val_acc > 0.9
    assert "loss" in history and "nonsense" not in history


def test_history_records_gradient_norms_and_update_ratios_per_parameter(digits):
    model = SoftmaxRegression(64, 10)
    history = Trainer(model, digits, sgd, optim_config={"lr": 0.1}, batch_size=100, num_epochs=1).train()
    n_steps = len(history.loss)
    assert set(history.grad_norms) == set(history.update_ratios) == {"W", "b"}
    assert all(len(v) == n_steps for v in history.grad_norms.values())
    # For plain SGD the update is lr * grad, so the ratio must equal lr * ||dW|| / ||W_before||.
    model2 = SoftmaxRegression(64, 10)
    w_before = model2.params["W"].copy()
    trainer = Trainer(model2, digits, sgd, optim_config={"lr": 0.1}, batch_size=100, num_epochs=1)
    trainer.step(digits["X_train"][:100], digits["y_train"][:100])
    expected = 0.1 * trainer.history.grad_norms["W"][0] / np.linalg.norm(w_before)
    assert trainer.history.update_ratios["W"][0] == pytest.approx(expected, rel=1e-6)


def test_schedule_sets_the_learning_rate_each_step(digits):
    model = SoftmaxRegression(64, 10)
    history = Trainer(
        model, digits, sgd, optim_config={"lr": 0.2}, lr_schedule=schedules.step_decay(5, 0.5), batch_size=100, num_epochs=1
    ).train()
    assert history.lr[:6] == pytest.approx([0.2] * 5 + [0.1])


def test_gradient_clipping_hook_runs_before_the_update(digits):
    def zero_grads(grads):
        return {k: np.zeros_like(v) for k, v in grads.items()}

    model = SoftmaxRegression(64, 10)
    before = {k: v.copy() for k, v in model.params.items()}
    Trainer(model, digits, sgd, optim_config={"lr": 0.1}, grad_clip=zero_grads, num_epochs=1, restore_best=False).train()
    assert all(np.array_equal(model.params[k], before[k]) for k in before)


@pytest.mark.filterwarnings("ignore:divide by zero")
def test_early_stopping_restores_copies_of_the_best_parameters(digits):
    model = SoftmaxRegression(64, 10)
    # A learning rate far too high makes validation accuracy peak early and then wander.
    trainer = Trainer(model, digits, sgd, optim_config={"lr": 50.0}, batch_size=20, num_epochs=30, patience=2)
    history = trainer.train()
    assert history.stopped_early and len(history.val_acc) < 30
    assert history.best_epoch == int(np.argmax(history.val_acc))
    for k, v in trainer.best_params.items():
        assert np.array_equal(model.params[k], v)
        assert model.params[k] is not v  # a copy: further training cannot change the saved best
    assert trainer.accuracy(digits["X_val"], digits["y_val"]) == pytest.approx(history.best_val_acc)


def test_each_parameter_keeps_its_own_optimizer_state(digits):
    def counting(w, dw, config):
        config = dict(config)
        config["t"] = config.get("t", 0) + 1
        return w, config

    trainer = Trainer(SoftmaxRegression(64, 10), digits, counting, batch_size=100, num_epochs=1)
    trainer.train()
    assert trainer.configs["W"]["t"] == trainer.configs["b"]["t"] == len(trainer.history.loss)
    assert trainer.configs["W"] is not trainer.configs["b"]


def test_trainer_is_silent_by_default(digits, capsys):
    Trainer(SoftmaxRegression(64, 10), digits, sgd, num_epochs=1).train()
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="X_val"):
        Trainer(SoftmaxRegression(2, 2), {"X_train": 0, "y_train": 0}, sgd)
    with pytest.raises(ValueError, match="lr"):
        Trainer(SoftmaxRegression(2, 2), {"X_train": 0, "y_train": 0, "X_val": 0, "y_val": 0}, sgd, lr_schedule=schedules.constant())


def test_an_update_rule_that_works_in_place_is_logged_truthfully(digits):
    """CS231n's style, `w -= lr * dw`, and a rule that rescales dw in place: the history must not notice."""
    def sgd_in_place(w, dw, config):
        dw *= config["lr"]  # scales the gradient it was given...
        w -= dw             # ...and moves the weights it was given
        return w, config

    model = SoftmaxRegression(64, 10)
    X, y = digits["X_train"][:100], digits["y_train"][:100]
    w_before = model.params["W"].copy()
    _, grads = SoftmaxRegression(64, 10).loss(X, y)  # the same weights (same seed), computed apart
    trainer = Trainer(model, digits, sgd_in_place, optim_config={"lr": 0.1})

    trainer.step(X, y)

    assert trainer.history.grad_norms["W"][0] == pytest.approx(np.linalg.norm(grads["W"]), rel=1e-12)
    expected_ratio = 0.1 * np.linalg.norm(grads["W"]) / np.linalg.norm(w_before)
    assert trainer.history.update_ratios["W"][0] == pytest.approx(expected_ratio, rel=1e-9)
    np.testing.assert_allclose(model.params["W"], w_before - 0.1 * grads["W"], rtol=0, atol=1e-15)
