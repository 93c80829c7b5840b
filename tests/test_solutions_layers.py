"""Specification of solutions.layers: every layer and loss is PyTorch autograd in float64,
including single-example batches, extra trailing dimensions and extreme magnitudes."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course import gradcheck
from solutions.layers import (
    affine_backward,
    affine_forward,
    leaky_relu_backward,
    leaky_relu_forward,
    mse_loss,
    relu_backward,
    relu_forward,
    sigmoid_backward,
    sigmoid_forward,
    softmax_loss,
    tanh_backward,
    tanh_forward,
)
from torch_reference import check_layer, check_loss

# (forward, backward, the same function in torch); leaky ReLU runs with its default slope,
# which must equal torch's default negative_slope.
ACTIVATIONS = {
    "relu": (relu_forward, relu_backward, torch.relu),
    "leaky_relu": (leaky_relu_forward, leaky_relu_backward, F.leaky_relu),
    "sigmoid": (sigmoid_forward, sigmoid_backward, torch.sigmoid),
    "tanh": (tanh_forward, tanh_backward, torch.tanh),
}
SHAPES = [(1, 1), (1, 5), (4, 6), (2, 3, 4)]


def activation_input(shape, seed=0):
    """Random normal values with an exact 0 first, where the ReLUs' convention shows."""
    x = np.random.default_rng(seed).standard_normal(shape)
    x.flat[0] = 0.0
    return x


@pytest.mark.parametrize("x_shape", [(2, 3, 4), (1, 5), (4, 6)])
def test_affine_matches_torch_and_flattens_trailing_dims(x_shape):
    rng = np.random.default_rng(1)
    D, M = int(np.prod(x_shape[1:])), 5
    inputs = {
        "x": rng.standard_normal(x_shape),
        "w": rng.standard_normal((D, M)),
        "b": rng.standard_normal(M),
    }
    check_layer(
        affine_forward, affine_backward, lambda x, w, b: x.reshape(x.shape[0], -1) @ w + b, inputs
    )


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_matches_torch(name, shape):
    forward, backward, torch_fn = ACTIVATIONS[name]
    check_layer(forward, backward, torch_fn, {"x": activation_input(shape)})


@pytest.mark.parametrize("alpha", [0.2, 1.5])
def test_leaky_relu_alpha_is_torchs_negative_slope(alpha):
    check_layer(
        leaky_relu_forward,
        leaky_relu_backward,
        lambda x: F.leaky_relu(x, negative_slope=alpha),
        {"x": activation_input((3, 4))},
        alpha,
    )


def test_sigmoid_is_finite_and_matches_torch_for_large_inputs():
    x = np.concatenate([[-800.0, -745.0, -30.0, 0.0, 30.0, 745.0, 800.0],
                        np.random.default_rng(2).uniform(-800, 800, 13)]).reshape(4, 5)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        check_layer(sigmoid_forward, sigmoid_backward, torch.sigmoid, {"x": x})


@pytest.mark.parametrize("N, C", [(1, 3), (5, 4), (8, 10)])
def test_softmax_loss_matches_torch_cross_entropy(N, C):
    rng = np.random.default_rng(3)
    check_loss(softmax_loss, F.cross_entropy, rng.standard_normal((N, C)), rng.integers(0, C, N))


def test_softmax_loss_is_finite_and_matches_torch_for_scores_of_1e4():
    rng = np.random.default_rng(4)
    x = rng.uniform(-1e4, 1e4, (6, 5))
    y = rng.integers(0, 5, 6)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        check_loss(softmax_loss, F.cross_entropy, x, y)


@pytest.mark.parametrize("shape", [(1, 1), (4, 3), (2, 3, 4)])
def test_mse_loss_is_torchs_mean_over_all_elements(shape):
    rng = np.random.default_rng(5)
    check_loss(mse_loss, F.mse_loss, rng.standard_normal(shape), rng.standard_normal(shape))


# Gradient checks: the backward passes against centred differences, independently of torch.

@pytest.mark.parametrize("x_shape", [(2, 3, 4), (1, 5)])
def test_affine_backward_passes_gradcheck(x_shape):
    rng = np.random.default_rng(6)
    D = int(np.prod(x_shape[1:]))
    inputs = {
        "x": rng.standard_normal(x_shape),
        "w": rng.standard_normal((D, 3)),
        "b": rng.standard_normal(3),
    }
    results = gradcheck.check_layer(affine_forward, affine_backward, inputs)
    assert all(r.passed for r in results.values()), gradcheck.report(results)


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_backward_passes_gradcheck(name):
    forward, backward, _ = ACTIVATIONS[name]
    # Away from ReLU's kink at 0, where a centred difference straddles two slopes.
    x = np.random.default_rng(7).standard_normal((3, 4))
    x[np.abs(x) < 1e-3] = 0.5
    results = gradcheck.check_layer(forward, backward, {"x": x})
    assert all(r.passed for r in results.values()), gradcheck.report(results)


@pytest.mark.parametrize("loss_fn", [softmax_loss, mse_loss])
def test_loss_gradient_passes_gradcheck(loss_fn):
    rng = np.random.default_rng(8)
    x = rng.standard_normal((4, 5))
    y = rng.integers(0, 5, 4) if loss_fn is softmax_loss else rng.standard_normal((4, 5))
    result = gradcheck.check_loss(loss_fn, x, y)
    assert result.passed, str(result)
