"""Specification of solutions.normalization: batchnorm is torch.nn.BatchNorm1d (output,
gradients, running statistics, eval mode) and layernorm is torch.nn.functional.layer_norm."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course import gradcheck
from course.tolerance import assert_close
from solutions.normalization import (
    batchnorm_backward,
    batchnorm_backward_alt,
    batchnorm_forward,
    layernorm_backward,
    layernorm_forward,
)
from torch_reference import ORACLE, assert_matches_torch, check_layer

EPS, MOMENTUM = 1e-5, 0.1  # torch.nn.BatchNorm1d's defaults, which ours must share
SHAPES = [(2, 3), (5, 4), (16, 7)]


def normalization_inputs(shape, seed=0, offset=0.0):
    rng = np.random.default_rng(seed)
    N, D = shape
    return {
        "x": offset + rng.uniform(0.5, 3.0, D) * rng.standard_normal(shape),
        "gamma": rng.standard_normal(D),
        "beta": rng.standard_normal(D),
    }


def torch_batchnorm_train(x, gamma, beta):
    return F.batch_norm(x, None, None, gamma, beta, training=True, momentum=MOMENTUM, eps=EPS)


@pytest.mark.parametrize("backward", [batchnorm_backward, batchnorm_backward_alt])
@pytest.mark.parametrize("shape", SHAPES)
def test_batchnorm_train_mode_matches_torch(shape, backward):
    inputs = normalization_inputs(shape)
    check_layer(batchnorm_forward, backward, torch_batchnorm_train, inputs, {"mode": "train"})


@pytest.mark.parametrize("backward", [batchnorm_backward, batchnorm_backward_alt])
def test_batchnorm_matches_torch_on_inputs_far_from_zero(backward):
    inputs = normalization_inputs((8, 3), offset=1e3)
    check_layer(batchnorm_forward, backward, torch_batchnorm_train, inputs, {"mode": "train"})


def test_batchnorm_running_statistics_and_eval_mode_match_batchnorm1d():
    rng = np.random.default_rng(1)
    D = 4
    gamma, beta = rng.standard_normal(D), rng.standard_normal(D)
    bn_param = {"mode": "train"}  # eps, momentum and the initial running stats: defaults
    bn = torch.nn.BatchNorm1d(D, EPS, MOMENTUM, dtype=ORACLE.dtype, device=ORACLE.device)
    with torch.no_grad():
        bn.weight.copy_(ORACLE.tensor(gamma))
        bn.bias.copy_(ORACLE.tensor(beta))

    bn.train()
    for step in range(20):
        N = [2, 3, 8, 16][step % 4]  # N = 2 is where N / (N - 1) matters most
        x = rng.normal(rng.uniform(-3, 3), rng.uniform(0.5, 4), (N, D))
        out, _ = batchnorm_forward(x, gamma, beta, bn_param)
        with torch.no_grad():
            expected = bn(ORACLE.tensor(x))
        for what, ours, theirs in [
            ("train output", out, expected),
            ("running_mean", bn_param["running_mean"], bn.running_mean),
            ("running_var", bn_param["running_var"], bn.running_var),
        ]:
            assert_matches_torch("batchnorm_forward", f"{what}, step {step}", ours, theirs)

    bn.eval()
    bn_param["mode"] = "test"
    for N in [1, 5]:
        x = rng.normal(0.0, 2.0, (N, D))
        out, _ = batchnorm_forward(x, gamma, beta, bn_param)
        with torch.no_grad():
            expected = bn(ORACLE.tensor(x))
        assert_matches_torch("batchnorm_forward", f"eval output, N={N}", out, expected)


def test_batchnorm_backward_graph_and_closed_form_agree():
    inputs = normalization_inputs((6, 5), seed=2)
    _, cache = batchnorm_forward(*inputs.values(), {"mode": "train"})
    dout = np.random.default_rng(3).standard_normal((6, 5))
    graph, closed = batchnorm_backward(dout, cache), batchnorm_backward_alt(dout, cache)
    for name, g, c in zip(["dx", "dgamma", "dbeta"], graph, closed):
        assert_close(c, g, name=f"batchnorm_backward_alt vs batchnorm_backward: {name}")


def test_batchnorm_rejects_a_single_example_in_train_mode_like_torch():
    x = np.ones((1, 3))
    with pytest.raises(ValueError, match="more than 1 example"):
        batchnorm_forward(x, np.ones(3), np.zeros(3), {"mode": "train"})
    with pytest.raises(ValueError):  # torch: "Expected more than 1 value per channel when training"
        torch.nn.BatchNorm1d(3, dtype=torch.float64).train()(torch.ones(1, 3, dtype=torch.float64))


def test_batchnorm_stores_new_running_arrays_and_leaves_the_old_ones_untouched():
    old_mean, old_var = np.zeros(3), np.ones(3)
    bn_param = {"mode": "train", "running_mean": old_mean, "running_var": old_var}
    x = np.random.default_rng(4).standard_normal((5, 3)) + 2.0
    batchnorm_forward(x, np.ones(3), np.zeros(3), bn_param)
    assert bn_param["running_mean"] is not old_mean and bn_param["running_var"] is not old_var
    assert np.array_equal(old_mean, np.zeros(3)) and np.array_equal(old_var, np.ones(3))
    assert not np.allclose(bn_param["running_mean"], 0.0)


def test_batchnorm_test_mode_keeps_running_statistics_unchanged():
    bn_param = {"mode": "test", "running_mean": np.full(3, 0.5), "running_var": np.full(3, 2.0)}
    x = np.random.default_rng(5).standard_normal((4, 3))
    out, _ = batchnorm_forward(x, np.ones(3), np.zeros(3), bn_param)
    assert_close(out, (x - 0.5) / np.sqrt(2.0 + EPS))
    assert np.array_equal(bn_param["running_mean"], np.full(3, 0.5))
    assert np.array_equal(bn_param["running_var"], np.full(3, 2.0))


def test_batchnorm_rejects_an_unknown_mode():
    with pytest.raises(ValueError, match="'train' or 'test'"):
        batchnorm_forward(np.ones((2, 3)), np.ones(3), np.zeros(3), {"mode": "eval"})


@pytest.mark.parametrize("shape", [(1, 5), (4, 6), (7, 3)])
def test_layernorm_matches_torch_layer_norm(shape):
    D = shape[1]
    check_layer(
        layernorm_forward,
        layernorm_backward,
        lambda x, gamma, beta: F.layer_norm(x, (D,), gamma, beta, eps=EPS),
        normalization_inputs(shape, seed=6),
        {},
    )


def test_layernorm_eps_is_torchs_eps():
    eps = 1e-1  # large enough to change the output visibly
    check_layer(
        layernorm_forward,
        layernorm_backward,
        lambda x, gamma, beta: F.layer_norm(x, (4,), gamma, beta, eps=eps),
        normalization_inputs((3, 4), seed=7),
        {"eps": eps},
    )


@pytest.mark.parametrize(
    "forward, backward, param",
    [
        (batchnorm_forward, batchnorm_backward, {"mode": "train"}),
        (batchnorm_forward, batchnorm_backward_alt, {"mode": "train"}),
        (layernorm_forward, layernorm_backward, {}),
    ],
    ids=["batchnorm_backward", "batchnorm_backward_alt", "layernorm_backward"],
)
def test_normalization_backward_passes_gradcheck(forward, backward, param):
    results = gradcheck.check_layer(forward, backward, normalization_inputs((4, 5), seed=8), param)
    assert all(r.passed for r in results.values()), gradcheck.report(results)
