"""Lecture 04 (normalization) states these as facts; each test recomputes one with the lecture's own call."""
import numpy as np
import pytest
import torch
from torch import nn

from course import experiments_normalization as ex
from course import load_dataset


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def raw():
    return load_dataset("digits", standardize=False)


# ---------------------------------------------------------------- 4.1 conditioning

def test_standardization_lowers_the_condition_number_and_whitening_brings_it_to_one():
    X, y = ex.correlated_features(correlation=0.9)
    views = ex.rescalings(X)
    kappa = {name: ex.condition_number(ex.least_squares_hessian(Z)) for name, Z in views.items()}
    steps = {name: ex.steps_to_tolerance(Z, y) for name, Z in views.items()}

    assert kappa["raw"] > 10 * kappa["standardized"]
    assert kappa["standardized"] == pytest.approx((1 + 0.9) / (1 - 0.9), rel=0.1)
    assert kappa["whitened"] == pytest.approx(1.0, abs=1e-3)
    assert steps["whitened"] == 1 < steps["standardized"] < steps["raw"]


def test_steps_to_a_loss_tolerance_come_close_to_half_kappa_log_one_over_eps_from_below():
    X, y = ex.correlated_features(correlation=0.9)
    tol = 1e-6
    for name in ("raw", "standardized"):
        Z = ex.rescalings(X)[name]
        estimate = ex.condition_number(ex.least_squares_hessian(Z)) / 2 * np.log(1 / tol)
        assert 0.7 * estimate < ex.steps_to_tolerance(Z, y, tol) <= estimate, name


def test_each_rescaling_of_the_digits_lowers_the_condition_number_and_speeds_up_descent(raw):
    results = ex.digits_conditioning(raw, steps=300)
    order = ("raw", "centered", "standardized", "whitened")
    kappas = [results[name]["condition"] for name in order]
    final_excess = [results[name]["excess_loss"][-1] for name in order]

    assert kappas == sorted(kappas, reverse=True)
    assert kappas[0] > 1e6 and kappas[2] < 1e3 and kappas[3] < 1.1
    assert final_excess == sorted(final_excess, reverse=True)
    assert final_excess[3] < 1e-10


# ---------------------------------------------------------------- 4.2 statistics from the training split

def test_scaling_test_images_with_their_own_statistics_ruins_the_predictions(raw):
    accuracy = ex.scaling_statistics_experiment(raw)

    assert accuracy["training statistics"].min() > 0.85
    assert accuracy["own statistics"].max() < 0.5


# ---------------------------------------------------------------- 4.3 batch normalization

def test_batchnorm_in_training_mode_depends_on_the_batch_and_in_eval_mode_does_not(raw):
    bn = nn.BatchNorm1d(64, dtype=torch.float64)
    batch = torch.as_tensor(raw["X_train"][:128])
    batch_a, batch_b = batch[:64], torch.cat([batch[:1], batch[64:127]])
    with torch.no_grad():
        bn.train()
        train_outputs = bn(batch_a)[0], bn(batch_b)[0]
        bn.eval()
        eval_outputs = bn(batch_a)[0], bn(batch_b)[0]

    assert not torch.allclose(*train_outputs)
    assert torch.equal(*eval_outputs)


def test_running_statistics_converge_to_the_data_statistics(raw):
    running = ex.running_statistics(raw["X_train"], momenta=(0.01, 0.1, 0.5, None), batch_size=32, steps=300)

    assert running[0.1]["mean_error"][40:].max() < 0.05
    assert running[0.1]["var_error"][40:].max() < 0.06
    assert running[None]["mean_error"][-1] < 0.005
    # The trade-off of an exponential average: 0.01 is still far off early, 0.5 stays noisy.
    assert running[0.01]["mean_error"][40] > 0.5
    assert running[0.5]["mean_error"][-100:].mean() > 2 * running[0.1]["mean_error"][-100:].mean()


def test_batchnorm_trains_at_a_learning_rate_where_the_plain_network_diverges(data):
    runs = ex.lr_sweep(data, lrs=(1.0,), variants=("none", "batchnorm", "batchnorm_after"))

    assert runs["none"][0].diverged
    for variant in ("batchnorm", "batchnorm_after"):
        assert not runs[variant][0].diverged
        assert runs[variant][0].val_acc[-1] > 0.95


def test_batchnorm_trains_from_initializations_where_the_plain_network_fails(data):
    runs = ex.init_scale_sweep(data, gains=(0.25, 4.0), variants=("none", "batchnorm"), lr=0.05)
    too_small, too_large = runs["none"]

    assert too_small.val_acc[-1] < 0.2  # chance is 0.1
    assert too_large.diverged
    assert all(h.val_acc[-1] > 0.75 for h in runs["batchnorm"])


def test_batchnorm_makes_the_loss_along_the_gradient_smoother(data):
    probes = {variant: ex.loss_along_gradient(data, variant, lr=0.1) for variant in ("none", "batchnorm")}
    early = {variant: probe.spread[probe.steps < 100].mean() for variant, probe in probes.items()}

    assert early["none"] > 5 * early["batchnorm"]


# ---------------------------------------------------------------- 4.4 layer, group and weight normalization

def test_weight_norm_reparametrizes_each_unit_as_length_times_direction():
    net = ex.normalized_mlp([64, 32, 10], "weightnorm")
    parametrization = net.fc1.parametrizations.weight
    g, v = parametrization.original0, parametrization.original1

    assert g.shape == (32, 1) and v.shape == (32, 64)
    torch.testing.assert_close(net.fc1.weight, g * v / v.norm(dim=1, keepdim=True))


def test_only_batchnorm_suffers_from_batches_of_two(data):
    variants = ("batchnorm", "layernorm", "groupnorm", "weightnorm")
    runs = ex.batch_size_sweep(data, (2,), variants=variants)
    accuracy = {variant: runs[variant][0].val_acc[-1] for variant in variants}
    others = [accuracy[v] for v in variants if v != "batchnorm"]

    assert min(others) > 0.9
    assert accuracy["batchnorm"] < min(others) - 0.2
