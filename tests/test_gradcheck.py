import numpy as np
import pytest

from course.gradcheck import (
    check_layer,
    check_loss,
    numerical_gradient,
    numerical_gradient_array,
    rel_error,
    report,
)

rng = np.random.default_rng(0)


def square_forward(x, w):
    out = (x @ w) ** 2
    return out, (x, w)


def square_backward(dout, cache):
    x, w = cache
    dz = 2 * (x @ w) * dout
    return dz @ w.T, x.T @ dz


def test_numerical_gradient_matches_a_known_gradient():
    x = rng.standard_normal((3, 4))
    assert rel_error(numerical_gradient(lambda v: np.sum(np.sin(v)), x), np.cos(x)) < 1e-8


def test_every_perturbed_entry_is_restored_exactly_even_when_f_raises():
    x = rng.standard_normal((4, 5))
    original = x.copy()
    numerical_gradient_array(np.tanh, x, np.ones_like(x))
    assert np.array_equal(x, original)
    calls = []

    def explode(v):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("boom")
        return float(v.sum())

    with pytest.raises(RuntimeError):
        numerical_gradient(explode, x)
    assert np.array_equal(x, original)


def test_check_layer_accepts_a_right_backward():
    results = check_layer(square_forward, square_backward, {"x": rng.standard_normal((4, 3)), "w": rng.standard_normal((3, 2))})
    assert set(results) == {"dx", "dw"}
    assert all(r.passed for r in results.values()), report(results)


def test_check_layer_finds_a_planted_wrong_gradient_and_names_it():
    def wrong_backward(dout, cache):
        dx, dw = square_backward(dout, cache)
        dw = dw.copy()
        dw[2, 1] += 0.05  # one wrong entry
        return dx, dw

    results = check_layer(square_forward, wrong_backward, {"x": rng.standard_normal((4, 3)), "w": rng.standard_normal((3, 2))})
    assert results["dx"].passed
    assert not results["dw"].passed
    assert results["dw"].worst[0][0] == (2, 1)
    assert "dw" in str(results["dw"]) and "WRONG" in str(results["dw"]) and "(2, 1)" in str(results["dw"])


def test_check_layer_reports_missing_or_misshaped_gradients():
    x, w = rng.standard_normal((4, 3)), rng.standard_normal((3, 2))
    results = check_layer(square_forward, lambda d, c: (None, c[0].T @ d), {"x": x, "w": w})
    assert "None" in str(results["dx"])
    results = check_layer(square_forward, lambda d, c: (d, c[0].T @ d), {"x": x, "w": w})
    assert "shape" in str(results["dx"])


def test_check_loss_rejects_a_gradient_off_by_the_batch_mean():
    def mse(x, y):
        return np.mean((x - y) ** 2), 2 * (x - y) / x.size

    def mse_wrong(x, y):
        return np.mean((x - y) ** 2), 2 * (x - y)

    x, y = rng.standard_normal((5, 2)), rng.standard_normal((5, 2))
    assert check_loss(mse, x, y).passed
    assert not check_loss(mse_wrong, x, y).passed
