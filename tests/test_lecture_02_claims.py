"""Lecture 02 (initialization) states these as facts; each test recomputes one with the lecture's own call."""
import math

import numpy as np
import pytest
import torch
from torch import nn

from course import experiments as ex
from course.diagnostics import saturated_fraction


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def batch(data):
    return data["X_train"][:500], data["y_train"][:500]


def probe(batch, activation, scheme, **kw):
    return ex.probe_deep_net(activation, scheme, *batch, **kw)


def saturation(p):
    return np.array([saturated_fraction(a, "tanh") for a in p.activations.values()])


# ---------------------------------------------------------------- 2.1 symmetry

def test_constant_and_zero_initialization_leave_hidden_units_identical_after_training(data):
    runs = ex.symmetry_runs(data, epochs=10)
    for label in ("constant 0.1", "zeros"):
        model, h = runs[label]
        assert ex.hidden_unit_spread(model) < 1e-4
        assert h.val_acc[-1] < 0.5
    model, h = runs["xavier_normal"]
    assert ex.hidden_unit_spread(model) > 0.1
    assert h.val_acc[-1] > 0.95


# ---------------------------------------------------------------- 2.3 tanh

def test_xavier_keeps_ten_tanh_layers_alive_and_unsaturated(batch):
    p = probe(batch, "tanh", "xavier_normal")
    stds = p.stds()
    assert stds[-1] > stds[0] / 3
    assert saturation(p).max() < 0.01
    layer_grads = p.weight_grad_norms[:10]
    assert layer_grads.max() / layer_grads.min() < 2


def test_unit_gaussian_weights_saturate_tanh(batch):
    assert saturation(probe(batch, "tanh", "normal", std=1.0)).min() > 0.7


def test_small_gaussian_weights_make_the_signal_and_the_backward_gradient_vanish(batch):
    p = probe(batch, "tanh", "normal", std=0.01)
    stds = p.stds()
    assert stds[-1] < 1e-3 * stds[0]
    np.testing.assert_allclose(stds[1:] / stds[:-1], 0.1, rtol=0.3)  # a factor 10 per layer: sqrt(100) * 0.01
    grads = [np.linalg.norm(g) for g in p.gradients.values()]
    assert grads[0] < 1e-6 * grads[-1]


def test_uniform01_weights_saturate_every_deep_tanh_unit(batch):
    p = probe(batch, "tanh", "uniform01")
    assert saturation(p)[2:].min() > 0.99


def test_uniform01_sends_each_example_to_one_sign_half_to_plus_one_and_half_to_minus_one(batch):
    deep = probe(batch, "tanh", "uniform01").activations["layer 10"]
    assert np.all(np.abs(deep) == 1.0)  # exactly: tanh rounds to +-1 in float64
    assert np.all(deep == deep[:, :1])  # every unit of an example agrees
    assert 0.4 < np.mean(deep == 1.0) < 0.6
    # Exact saturation blocks the backward pass: no hidden layer gets a gradient.
    assert np.all(probe(batch, "tanh", "uniform01").weight_grad_norms[:-1] == 0.0)


# ---------------------------------------------------------------- 2.4 relu

def test_he_keeps_the_relu_signal_and_xavier_loses_root_two_per_layer(batch):
    he = probe(batch, "relu", "kaiming_normal").stds()
    assert 0.5 < he[-1] / he[0] < 2
    xavier = probe(batch, "relu", "xavier_normal").stds()
    predicted = 2.0 ** (-9 / 2)
    assert predicted / 2 < xavier[-1] / xavier[0] < predicted * 2


def test_lsuv_keeps_the_spread_constant_with_depth(batch):
    for activation in ("tanh", "relu"):
        stds = probe(batch, activation, "lsuv").stds()[1:]
        assert stds.max() / stds.min() < 1.3


# ---------------------------------------------------------------- 2.5 orthogonal

def test_orthogonal_layers_keep_every_singular_value_at_one_and_gaussian_layers_spread_them():
    for depth in (1, 10, 30):
        np.testing.assert_allclose(ex.end_to_end_singular_values("orthogonal", depth), 1.0, atol=1e-10)
    sv = ex.end_to_end_singular_values("normal", 10)
    assert sv.max() / sv.min() > 1e6


# ---------------------------------------------------------------- 2.7 pytorch default

def test_pytorch_default_linear_is_uniform_with_variance_one_third_over_fan_in():
    torch.manual_seed(0)
    W = nn.Linear(400, 400, dtype=torch.float64).weight.detach()
    assert W.abs().max().item() <= 1 / math.sqrt(400)
    assert W.var().item() == pytest.approx(1 / (3 * 400), rel=0.03)


def test_pytorch_default_shrinks_a_deep_relu_signal(batch):
    stds = probe(batch, "relu", "torch_default").stds()
    assert stds[-1] < 0.2 * stds[0]


# ---------------------------------------------------------------- 2.8 training

SCHEMES = {
    "N(0, 1)": ("normal", {"std": 1.0}),
    "N(0, 0.01²)": ("normal", {"std": 0.01}),
    "Xavier": ("xavier_normal", {}),
    "He": ("kaiming_normal", {}),
    "orthogonal": ("orthogonal", {}),
    "LSUV": ("lsuv", {}),
    "PyTorch default": ("torch_default", {}),
}


def test_scaled_initializations_train_ten_tanh_layers_and_vanishing_ones_stay_at_chance(data):
    runs = ex.init_training_runs(data, SCHEMES, activation="tanh", epochs=5, lr=0.01)
    for label in ("Xavier", "He", "orthogonal", "LSUV"):
        assert runs[label].val_acc[-1] > 0.9, label
    for label in ("N(0, 0.01²)", "PyTorch default"):
        assert runs[label].val_acc[-1] < 0.15, label


def test_he_trains_ten_relu_layers_and_unit_gaussian_diverges(data):
    picked = {k: SCHEMES[k] for k in ("N(0, 1)", "He", "LSUV", "N(0, 0.01²)")}
    runs = ex.init_training_runs(data, picked, activation="relu", epochs=5, lr=0.01)
    assert runs["N(0, 1)"].diverged
    assert runs["He"].val_acc[-1] > 0.85 and runs["LSUV"].val_acc[-1] > 0.85
    assert runs["N(0, 0.01²)"].val_acc[-1] < 0.15
