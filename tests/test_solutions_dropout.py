"""Specification of solutions.dropout: inverted dropout with p the DROP probability, a mask that
depends only on the seed, and the global NumPy random state left alone."""
import numpy as np
import pytest

from course import gradcheck
from solutions.dropout import dropout_backward, dropout_forward


def train(p, seed=None):
    return {"p": p, "mode": "train", "seed": seed}


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_keeps_a_fraction_1_minus_p_and_preserves_the_mean(p):
    n = 200_000
    out, _ = dropout_forward(np.ones(n), train(p, seed=0))
    kept = np.mean(out != 0)
    # Each unit is kept independently with probability 1 - p: 3 binomial standard deviations.
    sigma = np.sqrt(p * (1 - p) / n)
    assert abs(kept - (1 - p)) < 3 * sigma
    assert abs(out.mean() - 1.0) < 3 * sigma / (1 - p)


@pytest.mark.parametrize("p", [0.25, 0.6])
def test_dropout_outputs_are_zero_or_x_over_1_minus_p(p):
    x = np.random.default_rng(1).standard_normal((50, 40))
    out, _ = dropout_forward(x, train(p, seed=2))
    kept = out != 0
    assert np.array_equal(out[~kept], np.zeros((~kept).sum()))
    assert np.allclose(out[kept], x[kept] / (1 - p), rtol=1e-15, atol=0)


def test_dropout_mask_is_the_documented_formula():
    x = np.random.default_rng(3).standard_normal((6, 7))
    p, seed = 0.3, 11
    out, _ = dropout_forward(x, train(p, seed))
    mask = np.random.default_rng(seed).random(x.shape) >= p
    assert np.array_equal(out != 0, mask)


def test_dropout_is_identity_in_test_mode():
    x = np.random.default_rng(4).standard_normal((5, 3))
    out, cache = dropout_forward(x, {"p": 0.5, "mode": "test"})
    assert np.array_equal(out, x)
    dout = np.random.default_rng(5).standard_normal((5, 3))
    assert np.array_equal(dropout_backward(dout, cache), dout)


def test_dropout_backward_uses_the_forward_mask_and_scale():
    p = 0.4
    x = np.random.default_rng(6).standard_normal((30, 20))
    out, cache = dropout_forward(x, train(p))  # no seed: the mask can only come from the cache
    dout = np.random.default_rng(7).standard_normal(x.shape)
    dx = dropout_backward(dout, cache)
    assert np.array_equal(dx != 0, out != 0)
    assert np.allclose(dx, dout * (out != 0) / (1 - p), rtol=1e-15, atol=0)


def test_dropout_same_seed_gives_the_same_mask_and_no_seed_a_fresh_one():
    x = np.ones((40, 50))
    first, _ = dropout_forward(x, train(0.5, seed=8))
    again, _ = dropout_forward(x, train(0.5, seed=8))
    other, _ = dropout_forward(x, train(0.5, seed=9))
    fresh_a, _ = dropout_forward(x, train(0.5))
    fresh_b, _ = dropout_forward(x, train(0.5))
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)
    assert not np.array_equal(fresh_a, fresh_b)


def test_dropout_leaves_the_global_numpy_random_state_alone():
    before = np.random.get_state()
    dropout_forward(np.ones((10, 10)), train(0.5))
    dropout_forward(np.ones((10, 10)), train(0.5, seed=3))
    after = np.random.get_state()
    assert before[0] == after[0] and np.array_equal(before[1], after[1]) and before[2:] == after[2:]


def test_dropout_with_p_0_is_the_identity():
    x = np.random.default_rng(13).standard_normal((4, 6))
    out, cache = dropout_forward(x, train(0.0, seed=0))
    assert np.array_equal(out, x)
    assert np.array_equal(dropout_backward(np.ones_like(x), cache), np.ones_like(x))


def test_dropout_with_p_1_drops_everything_without_a_division_warning():
    x = np.random.default_rng(14).standard_normal((4, 6))
    with np.errstate(divide="raise", invalid="raise"):
        out, cache = dropout_forward(x, train(1.0, seed=0))
        dx = dropout_backward(np.ones_like(x), cache)
    assert np.array_equal(out, np.zeros_like(x))
    assert np.array_equal(dx, np.zeros_like(x))


@pytest.mark.parametrize("param", [{"p": 1.5, "mode": "train"}, {"p": 0.5, "mode": "eval"}])
def test_dropout_rejects_bad_parameters(param):
    with pytest.raises(ValueError):
        dropout_forward(np.ones(3), param)


def test_dropout_backward_passes_gradcheck():
    x = np.random.default_rng(15).standard_normal((5, 4))
    param = train(0.3, seed=16)  # a fixed mask, or the numerical gradient sees a new one per call
    results = gradcheck.check_layer(dropout_forward, dropout_backward, {"x": x}, param)
    assert all(r.passed for r in results.values()), gradcheck.report(results)
