"""Lecture 05 (regularization) states these as facts; each test recomputes one with the lecture's own call."""
import numpy as np
import pytest
import torch
from torch import nn

from course import experiments_regularization as ex
from course import load_dataset


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def small():
    return ex.small_training_set("mnist1d", n_train=1000)


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


@pytest.fixture(scope="module")
def baseline(small):
    """(model, Run) of the lecture's unregularized 128-unit network."""
    return ex.capacity_sweep(small, widths=(128,))[128]


@pytest.fixture(scope="module")
def dropout_run(small):
    return ex.dropout_sweep(small, (0.3,))[0.3]


# ---------------------------------------------------------------- the pieces the experiments rely on

def test_small_training_set_is_stratified_and_moves_the_rest_to_validation():
    full = load_dataset("mnist1d", standardize=False)
    small = ex.small_training_set("mnist1d", n_train=1000, standardize=False)

    assert np.bincount(small["y_train"]).tolist() == [100] * 10
    assert len(small["X_val"]) == len(full["X_val"]) + len(full["X_train"]) - 1000
    np.testing.assert_array_equal(small["X_test"], full["X_test"])


def test_label_noise_changes_the_chosen_fraction_of_training_labels_only(digits):
    noisy = ex.with_label_noise(digits, fraction=0.2)
    changed = noisy["y_train"] != digits["y_train"]

    assert 0.15 < changed.mean() < 0.25
    np.testing.assert_array_equal(noisy["y_val"], digits["y_val"])


def test_augmentation_layers_act_in_training_mode_only():
    x = torch.randn(8, 40, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    shift = ex.RandomCircularShift(max_shift=5)
    noise = ex.GaussianNoise(0.5)
    shifted = shift(x)

    for row, moved in zip(x, shifted):  # each output row is a rotation of its input row
        assert any(torch.equal(torch.roll(row, k), moved) for k in range(-5, 6))
    assert not torch.equal(noise(x), x)
    shift.eval()
    noise.eval()
    assert torch.equal(shift(x), x) and torch.equal(noise(x), x)


# ---------------------------------------------------------------- 5.1 overfitting

def test_the_baseline_memorizes_the_small_training_set(baseline):
    _, baseline = baseline

    assert baseline.train_acc[-1] == 1.0
    assert baseline.gap > 0.4
    assert baseline.val_loss[-1] > 1.5 * baseline.val_loss.min()  # the validation loss turns and climbs


# ---------------------------------------------------------------- 5.2 penalties and constraints

def test_weight_decay_shrinks_the_weights_and_narrows_the_gap(small, baseline):
    baseline_model, baseline = baseline
    decayed, norm_decayed = ex.weight_decay_sweep(small, (1e-2,))[1e-2]

    assert norm_decayed < 0.6 * ex.weight_norm_of(baseline_model)
    assert decayed.gap < baseline.gap - 0.15
    assert decayed.val_loss[-1] < baseline.val_loss[-1] / 1.5


def test_adamw_and_adam_with_l2_give_different_weights(digits):
    lr, decay = 1e-3, 0.1
    runs = ex.adam_l2_vs_adamw(digits, weight_decay=decay, lr=lr, epochs=30)
    adam, adamw = runs["Adam + L2"], runs["AdamW"]
    flat = {name: torch.cat([p.detach().flatten() for p in r["model"].parameters()]) for name, r in runs.items()}
    steps = adamw["steps_per_epoch"] * np.arange(len(adamw["dead_norm"]))

    assert (flat["Adam + L2"] - flat["AdamW"]).norm() > 0.5 * flat["AdamW"].norm()
    # AdamW: weights without a data gradient only decay, by exactly (1 - lr * decay) per step.
    np.testing.assert_allclose(adamw["dead_norm"], adamw["dead_norm"][0] * (1 - lr * decay) ** steps, rtol=1e-9)
    # Adam + L2: Adam's normalization turns the penalty on those weights into full-size steps.
    assert adam["dead_norm"][-1] < 1e-6 * adam["dead_norm"][0]
    assert adamw["run"].val_acc[-1] > adam["run"].val_acc[-1] + 0.03


def test_l1_sets_weights_exactly_to_zero_and_l2_does_not(digits):
    runs = ex.penalty_runs(digits, l2=3e-3, l1=3e-3)
    zeros = {name: ex.zero_fraction(model) for name, (model, run) in runs.items()}

    assert zeros["L1"] > 0.5
    assert zeros["L2"] == zeros["none"] == 0.0
    assert runs["L1"][1].val_acc[-1] > 0.95


def test_max_norm_keeps_a_large_learning_rate_trainable(small):
    runs = ex.max_norm_runs(small, max_norm=2.0, lr=0.2, dropout=0.2)
    (free_model, free), (capped_model, capped) = runs.values()

    assert max(norms.max() for norms in ex.row_norms(capped_model)) <= 2.0 + 1e-9
    assert max(norms.max() for norms in ex.row_norms(free_model)) > 3.0
    assert capped.val_acc[-1] > free.val_acc[-1] + 0.1


# ---------------------------------------------------------------- 5.3 dropout

def test_inverted_dropout_keeps_the_mean_in_training_and_is_the_identity_in_eval():
    drop = nn.Dropout(p=0.3)
    x = torch.ones(100_000, dtype=torch.float64)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        y = drop(x)

    assert torch.unique(y).tolist() == [0.0, pytest.approx(1 / 0.7)]  # dropped, or scaled by 1 / (1 - p)
    assert y.mean().item() == pytest.approx(1.0, abs=0.01)
    drop.eval()
    assert torch.equal(drop(x), x)


def test_dropout_narrows_the_gap(baseline, dropout_run):
    _, baseline = baseline
    _, run = dropout_run

    assert run.gap < baseline.gap - 0.05
    assert run.val_loss[-1] < baseline.val_loss[-1] / 1.5


def test_averaging_sampled_subnetworks_approaches_evaluation_mode(small, dropout_run):
    model, _ = dropout_run
    probs = ex.sampled_subnetworks(model, small["X_val"], samples=100)
    ensemble = ex.ensemble_accuracy(probs, small["y_val"])
    _, eval_accuracy = ex.evaluate(model, small["X_val"], small["y_val"])
    with torch.no_grad():
        model.eval()
        eval_predictions = model(torch.as_tensor(small["X_val"])).argmax(1).numpy()

    assert ensemble[0] < eval_accuracy - 0.03
    assert ensemble[-1] == pytest.approx(eval_accuracy, abs=0.02)
    assert (probs.mean(0).argmax(1) == eval_predictions).mean() > 0.9


# ---------------------------------------------------------------- 5.4 early stopping

def test_early_stopping_restores_the_best_validation_weights(digits):
    noisy = ex.with_label_noise(digits, fraction=0.2)
    result = ex.early_stopping_experiment(noisy, patience=5, epochs=40)
    full, stopped = result["full"], result["stopped"]
    _, restored_accuracy = ex.evaluate(result["model"], noisy["X_val"], noisy["y_val"])

    assert stopped.stopped_early and stopped.restored
    assert len(stopped.val_acc) == stopped.best_epoch + 1 + 5
    np.testing.assert_array_equal(stopped.val_acc, full.val_acc[:len(stopped.val_acc)])  # the same run, cut short
    assert restored_accuracy == stopped.val_acc.max() == stopped.val_acc[stopped.best_epoch]
    assert restored_accuracy > full.val_acc[-1] + 0.05


# ---------------------------------------------------------------- 5.5 noise and augmentation

def test_noise_and_shifts_help_on_mnist1d(small):
    runs = ex.augmentation_runs(small, noise_std=0.5, max_shift=5)

    assert runs["input noise"].val_acc[-1] > runs["none"].val_acc[-1]
    assert runs["random shifts"].val_acc[-1] > runs["none"].val_acc[-1] + 0.05


def test_whole_pixel_shifts_hurt_on_the_centered_digits():
    runs = ex.digits_shift_runs(n_train=200, max_shift=1)

    assert runs["random shifts"].val_acc[-1] < runs["none"].val_acc[-1] - 0.02


# ---------------------------------------------------------------- 5.6 hyperparameter search

def test_random_search_tries_more_learning_rates_than_a_grid_and_finds_a_better_one(digits):
    search = ex.hyperparameter_search(digits, n_trials=16)
    distinct = {kind: len({t["lr"] for t in trials}) for kind, trials in search.items()}
    best = {kind: max(t["val_acc"] for t in trials) for kind, trials in search.items()}

    assert distinct == {"grid": 4, "random": 16}
    assert best["random"] >= best["grid"]
