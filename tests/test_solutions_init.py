"""Specification of solutions.init: each initializer draws from the distribution that
torch.nn.init uses for the same fan_in and fan_out, on W of shape (fan_in, fan_out), the
transpose of torch's weight. Random draws are compared by their statistics, not their values."""
import numpy as np
import pytest
import torch

from course.tolerance import assert_close
from solutions.init import INITIALIZERS, orthogonal

FAN_IN, FAN_OUT = 400, 100  # unequal, so that swapping fan_in and fan_out changes Kaiming's std
# The sample std of n = 40,000 draws has a standard error of about 1 / sqrt(2n) = 0.35% of the
# true std (Gaussian draws; less for uniform ones), so 2% is over 5 standard errors.
STD_RTOL = 0.02


def expected_std_and_bound(name, gain, fan_in, fan_out):
    """The distribution each initializer must draw from, as documented by torch.nn.init:
    (std, bound), bound None for Gaussians."""
    if name == "xavier_uniform":
        bound = gain * np.sqrt(6 / (fan_in + fan_out))
        return bound / np.sqrt(3), bound
    if name == "xavier_normal":
        return gain * np.sqrt(2 / (fan_in + fan_out)), None
    if name == "kaiming_uniform":
        bound = gain * np.sqrt(3 / fan_in)
        return bound / np.sqrt(3), bound
    if name == "kaiming_normal":
        return gain / np.sqrt(fan_in), None
    raise KeyError(name)


def torch_initialized(name, fan_in, fan_out, seed=0):
    """torch.nn.init's version with its default ReLU gain for Kaiming, as a (fan_in, fan_out)
    array: torch initializes the (fan_out, fan_in) weight, which we transpose."""
    weight = torch.empty(fan_out, fan_in, dtype=torch.float64)
    generator = torch.Generator().manual_seed(seed)
    if name == "xavier_uniform":
        torch.nn.init.xavier_uniform_(weight, generator=generator)
    elif name == "xavier_normal":
        torch.nn.init.xavier_normal_(weight, generator=generator)
    elif name == "kaiming_uniform":
        torch.nn.init.kaiming_uniform_(weight, nonlinearity="relu", generator=generator)
    elif name == "kaiming_normal":
        torch.nn.init.kaiming_normal_(weight, nonlinearity="relu", generator=generator)
    elif name == "orthogonal":
        torch.nn.init.orthogonal_(weight, generator=generator)
    return weight.T.numpy()


def assert_draws_from(W, std, bound):
    assert abs(W.mean()) < 5 * std / np.sqrt(W.size)
    assert abs(W.std() / std - 1) < STD_RTOL, f"std {W.std():.4g}, expected {std:.4g}"
    if bound is not None:
        assert np.abs(W).max() <= bound
        assert np.abs(W).max() > 0.99 * bound  # the whole interval is used, not a narrower one


RANDOM = ["xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal"]


def test_initializers_lists_every_initializer():
    assert set(INITIALIZERS) == {*RANDOM, "orthogonal"}


@pytest.mark.parametrize("gain", [None, 0.5])
@pytest.mark.parametrize("name", RANDOM)
def test_initializer_draws_from_the_documented_distribution(name, gain):
    kwargs = {} if gain is None else {"gain": gain}
    default_gain = 1.0 if name.startswith("xavier") else np.sqrt(2.0)
    W = INITIALIZERS[name]((FAN_IN, FAN_OUT), rng=np.random.default_rng(0), **kwargs)
    assert W.shape == (FAN_IN, FAN_OUT) and W.dtype == np.float64
    assert_draws_from(W, *expected_std_and_bound(name, gain or default_gain, FAN_IN, FAN_OUT))


@pytest.mark.parametrize("name", RANDOM)
def test_initializer_matches_torch_nn_init_on_the_transposed_weight(name):
    ours = INITIALIZERS[name]((FAN_IN, FAN_OUT), rng=np.random.default_rng(1))
    theirs = torch_initialized(name, FAN_IN, FAN_OUT)
    assert abs(ours.std() / theirs.std() - 1) < 2 * STD_RTOL
    if name.endswith("uniform"):
        assert abs(np.abs(ours).max() / np.abs(theirs).max() - 1) < 0.01


@pytest.mark.parametrize("shape", [(50, 30), (30, 50), (20, 20)])
@pytest.mark.parametrize("gain", [1.0, 2.0])
def test_orthogonal_has_orthonormal_columns_or_rows_times_gain(shape, gain):
    W = orthogonal(shape, gain=gain, rng=np.random.default_rng(2))
    gram = W.T @ W if shape[0] >= shape[1] else W @ W.T
    assert_close(gram, gain**2 * np.eye(min(shape)), name="gram matrix")


@pytest.mark.parametrize("shape", [(50, 30), (30, 50)])
def test_orthogonal_is_the_q_of_a_gaussian_draw_with_positive_diag_r(shape):
    # torch's sign correction: Q = A R^-1 with diag(R) > 0 makes Q uniformly distributed. The
    # draw A is (rows, cols), transposed first when the shape is wide.
    W = orthogonal(shape, rng=np.random.default_rng(3))
    A = np.random.default_rng(3).standard_normal(shape)
    Q, A = (W, A) if shape[0] >= shape[1] else (W.T, A.T)
    R = Q.T @ A
    assert_close(R, np.triu(R), name="R = Q.T @ A, which must be upper triangular")
    assert np.all(np.diag(R) > 0)


@pytest.mark.parametrize("shape", [(50, 30), (30, 50)])
def test_orthogonal_matches_torch_singular_values(shape):
    ours = orthogonal(shape, gain=1.5, rng=np.random.default_rng(4))
    weight = torch.empty(shape[1], shape[0], dtype=torch.float64)
    theirs = torch.nn.init.orthogonal_(weight, gain=1.5).T.numpy()
    assert_close(np.linalg.svd(ours, compute_uv=False), np.linalg.svd(theirs, compute_uv=False))


@pytest.mark.parametrize("name", INITIALIZERS)
def test_initializer_without_an_rng_raises_a_type_error_saying_what_to_pass(name):
    with pytest.raises(TypeError, match=r"np\.random\.default_rng\(seed\)"):
        INITIALIZERS[name]((3, 4))
    with pytest.raises(TypeError):
        INITIALIZERS[name]((3, 4), rng=0)


@pytest.mark.parametrize("name", INITIALIZERS)
@pytest.mark.parametrize("shape", [(5,), (2, 3, 4)])
def test_initializer_rejects_shapes_that_are_not_2d(name, shape):
    with pytest.raises(ValueError, match="fan_in, fan_out"):
        INITIALIZERS[name](shape, rng=np.random.default_rng(0))


@pytest.mark.parametrize("name", INITIALIZERS)
def test_initializer_is_reproducible_from_the_seed(name):
    first = INITIALIZERS[name]((6, 5), rng=np.random.default_rng(7))
    again = INITIALIZERS[name]((6, 5), rng=np.random.default_rng(7))
    other = INITIALIZERS[name]((6, 5), rng=np.random.default_rng(8))
    assert np.array_equal(first, again)
    assert not np.array_equal(first, other)
