"""Specification of solutions.models.FullyConnectedNet: correct gradients for every
architecture option, the loss of an untrained classifier, agreement with the same network in
PyTorch, and enough capacity to memorize a small training set."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits

from course import gradcheck
from course.gradcheck import check_model
from solutions.init import xavier_uniform
from solutions.models import FullyConnectedNet, TwoLayerNet
from solutions.optim import adam
from torch_reference import ORACLE, assert_matches_torch

NORMALIZATIONS = [None, "batchnorm", "layernorm"]


def tiny_problem(seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((4, 5)), rng.integers(0, 3, 4)


def tiny_net(**options):
    return FullyConnectedNet([6, 4], input_dim=5, num_classes=3, seed=1, **options)


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"normalization": "batchnorm"},
        {"normalization": "layernorm"},
        {"dropout": 0.3},
        {"reg": 0.7},
        {"normalization": "batchnorm", "dropout": 0.3, "reg": 0.7},
        {"normalization": "layernorm", "dropout": 0.3, "reg": 0.7},
    ],
    ids=lambda options: "-".join(f"{k}={v}" for k, v in options.items()) or "plain",
)
def test_every_parameter_passes_gradcheck(options):
    X, y = tiny_problem()
    model = tiny_net(**options)
    results = gradcheck.check_model(model, X, y)
    if options.get("normalization") == "batchnorm":
        for name in biases_cancelled_by_batchnorm(model):
            results.pop(name)
            assert_gradient_is_zero(model, X, y, name)
    assert all(r.passed for r in results.values()), gradcheck.report(results)


def biases_cancelled_by_batchnorm(model):
    """The bias of an affine layer that feeds batchnorm is removed again by the mean subtraction:
    its true gradient is exactly 0, and both an analytic and a numerical (or torch's) gradient
    hold only rounding noise, whose relative error means nothing. Those are checked to be 0."""
    return [f"b{i}" for i in range(1, model.num_layers)]


def assert_gradient_is_zero(model, X, y, name):
    _, grads = model.loss(X, y)
    numerical = gradcheck.numerical_gradient(lambda _: model.loss(X, y)[0], model.params[name])
    # Rounding noise: ~1e-16 relative for the analytic gradient, and for the centred difference
    # ~1e-16 * |loss| / h with h = 1e-5, so ~1e-11.
    assert np.abs(grads[name]).max() < 1e-13, f"{name}: {grads[name]}"
    assert np.abs(numerical).max() < 1e-9, f"{name} (numerical): {numerical}"


@pytest.mark.parametrize("normalization", NORMALIZATIONS)
def test_loss_at_init_with_small_weights_is_log_num_classes(normalization):
    X = np.random.default_rng(2).standard_normal((50, 64))
    y = np.random.default_rng(3).integers(0, 10, 50)
    model = FullyConnectedNet([30, 20], normalization=normalization, weight_init=1e-3, seed=4)
    loss, _ = model.loss(X, y)
    # Near-zero scores make the softmax uniform: -log(1/C) for every example.
    assert abs(loss - np.log(10)) < 1e-3


def torch_loss(params, X, y, normalization, reg, num_layers):
    """The same network written directly in torch; params are tensors named as in model.params."""
    h = X
    for i in range(1, num_layers):
        h = h @ params[f"W{i}"] + params[f"b{i}"]
        if normalization == "batchnorm":
            gamma, beta = params[f"gamma{i}"], params[f"beta{i}"]
            h = F.batch_norm(h, None, None, gamma, beta, training=True, eps=1e-5)
        elif normalization == "layernorm":
            gamma, beta = params[f"gamma{i}"], params[f"beta{i}"]
            h = F.layer_norm(h, h.shape[1:], gamma, beta, eps=1e-5)
        h = torch.relu(h)
    scores = h @ params[f"W{num_layers}"] + params[f"b{num_layers}"]
    l2 = sum((params[f"W{i}"] ** 2).sum() for i in range(1, num_layers + 1))
    return F.cross_entropy(scores, y) + 0.5 * reg * l2


@pytest.mark.parametrize("normalization", NORMALIZATIONS)
def test_loss_and_gradients_match_the_same_network_in_torch(normalization):
    rng = np.random.default_rng(5)
    X, y = rng.standard_normal((8, 7)), rng.integers(0, 4, 8)
    reg = 0.3
    model = FullyConnectedNet(
        [6, 5], input_dim=7, num_classes=4, normalization=normalization, reg=reg, seed=6
    )
    # Random gamma and beta, so that a swapped or missing scale and shift shows.
    for name in model.params:
        if name.startswith(("gamma", "beta")):
            model.params[name] = rng.standard_normal(model.params[name].shape)
    loss, grads = model.loss(X, y)

    params = {name: ORACLE.tensor(p, requires_grad=True) for name, p in model.params.items()}
    X_t, y_t = ORACLE.tensor(X), ORACLE.tensor(y)
    expected = torch_loss(params, X_t, y_t, normalization, reg, model.num_layers)
    expected.backward()

    assert_matches_torch("FullyConnectedNet.loss", "loss", loss, expected)
    assert set(grads) == set(params)
    zero = biases_cancelled_by_batchnorm(model) if normalization == "batchnorm" else []
    for name, p in params.items():
        if name in zero:
            assert np.abs(grads[name]).max() < 1e-13 and p.grad.abs().max() < 1e-13
        else:
            assert_matches_torch("FullyConnectedNet.loss", f"d{name}", grads[name], p.grad)


@pytest.mark.parametrize("normalization", NORMALIZATIONS)
def test_overfits_50_digits_to_full_training_accuracy(normalization):
    X, y = load_digits(return_X_y=True)
    X, y = X[:50], y[:50]
    std = X.std(axis=0)
    X = (X - X.mean(axis=0)) / np.where(std > 0, std, 1.0)  # constant border pixels stay 0
    model = FullyConnectedNet([100, 100], normalization=normalization, seed=0)

    configs = {name: {"lr": 1e-2} for name in model.params}
    for _ in range(200):
        _, grads = model.loss(X, y)
        for name in model.params:
            model.params[name], configs[name] = adam(model.params[name], grads[name], configs[name])

    accuracy = np.mean(model.loss(X).argmax(axis=1) == y)
    assert accuracy == 1.0


def test_test_mode_is_deterministic_even_with_dropout():
    X = np.random.default_rng(7).standard_normal((10, 64))
    model = FullyConnectedNet([20], dropout=0.5, normalization="batchnorm")
    model.loss(X, np.zeros(10, dtype=int))  # one training step, to move the running stats
    first, again = model.loss(X), model.loss(X)
    assert first.shape == (10, 10)
    assert np.array_equal(first, again)


def test_params_are_named_by_layer_with_gamma_and_beta_only_for_hidden_layers():
    model = FullyConnectedNet([6, 4], input_dim=5, num_classes=3, normalization="layernorm", seed=0)
    shapes = {name: p.shape for name, p in model.params.items()}
    assert shapes == {
        "W1": (5, 6), "b1": (6,), "gamma1": (6,), "beta1": (6,),
        "W2": (6, 4), "b2": (4,), "gamma2": (4,), "beta2": (4,),
        "W3": (4, 3), "b3": (3,),
    }
    assert all(np.all(model.params[f"b{i}"] == 0) for i in (1, 2, 3))
    assert np.all(model.params["gamma1"] == 1) and np.all(model.params["beta1"] == 0)


def test_weight_init_is_he_by_default_or_a_scale_or_an_initializer():
    default = FullyConnectedNet([300], input_dim=400, seed=0)
    scaled = FullyConnectedNet([300], input_dim=400, weight_init=0.05, seed=0)
    zeros = FullyConnectedNet([300], input_dim=400, weight_init=0.0, seed=0)
    xavier = FullyConnectedNet([300], input_dim=400, weight_init=xavier_uniform, seed=0)
    assert abs(default.params["W1"].std() / np.sqrt(2 / 400) - 1) < 0.02
    assert abs(scaled.params["W1"].std() / 0.05 - 1) < 0.02
    assert not np.any(zeros.params["W1"])
    assert abs(xavier.params["W1"].std() / np.sqrt(2 / 700) - 1) < 0.02
    with pytest.raises(ValueError, match="weight_init"):
        FullyConnectedNet([3], weight_init="he")


def test_two_layer_net_equals_a_one_hidden_layer_fully_connected_net():
    X, y = np.random.default_rng(0).standard_normal((7, 5)), np.array([0, 1, 2, 0, 1, 2, 0])
    two = TwoLayerNet(input_dim=5, hidden_dim=6, num_classes=3, weight_scale=0.5, reg=0.3, seed=1)
    fc = FullyConnectedNet([6], input_dim=5, num_classes=3, reg=0.3, seed=1)
    fc.params = {k: v.copy() for k, v in two.params.items()}
    loss_two, grads_two = two.loss(X, y)
    loss_fc, grads_fc = fc.loss(X, y)
    assert np.isclose(loss_two, loss_fc)
    assert all(np.allclose(grads_two[k], grads_fc[k]) for k in grads_fc)
    assert np.allclose(two.loss(X), fc.loss(X))
    assert all(r.passed for r in check_model(two, X, y).values())


def test_same_seed_gives_the_same_weights():
    first = FullyConnectedNet([8, 8], seed=3).params
    again = FullyConnectedNet([8, 8], seed=3).params
    assert all(np.array_equal(first[name], again[name]) for name in first)


def test_params_and_computation_take_the_requested_dtype():
    model = FullyConnectedNet([8], normalization="batchnorm", dtype=np.float32, seed=0)
    X, y = np.random.default_rng(8).standard_normal((4, 64)), np.arange(4)
    _, grads = model.loss(X, y)
    assert all(p.dtype == np.float32 for p in model.params.values())
    assert all(g.dtype == np.float32 for g in grads.values())
    assert model.loss(X).dtype == np.float32


def test_rejects_an_unknown_normalization():
    with pytest.raises(ValueError, match="normalization"):
        FullyConnectedNet([3], normalization="groupnorm")
