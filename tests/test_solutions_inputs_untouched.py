"""No reference function modifies its arguments: not the arrays passed in, not the arrays inside
a cache or a config, not the config dict itself. The one documented exception is bn_param, the
batchnorm layer's state, into which train mode stores NEW running-statistic arrays (the old ones
are still never modified)."""
import copy

import numpy as np
import pytest

from solutions import dropout, layers, normalization, optim
from solutions.init import INITIALIZERS
from solutions.models import FullyConnectedNet

rng = np.random.default_rng(0)


def randn(*shape):
    return rng.standard_normal(shape)


def with_cache(forward, *args):
    """Arguments for a backward pass: a random dout and the cache of forward(*args)."""
    out, cache = forward(*args)
    return (randn(*np.shape(out)), cache)


def stateful_config(rule):
    """A config that already holds state arrays, from one earlier step."""
    _, config = optim.UPDATE_RULES[rule](randn(3, 2), randn(3, 2), {"weight_decay": 0.1})
    return config


def model_loss_case(norm):
    model = FullyConnectedNet([5], input_dim=4, num_classes=3, normalization=norm, dropout=0.2)
    # params is passed along only so that its arrays are watched too; loss must not change them.
    return lambda X, y, params: model.loss(X, y), (randn(6, 4), rng.integers(0, 3, 6), model.params)


X, GAMMA, BETA = randn(5, 4), randn(4), randn(4)


def bn_state():
    return {"mode": "test", "running_mean": randn(4), "running_var": randn(4) ** 2}


def grads():
    return {"W": randn(3, 2), "b": randn(2)}


# name -> a function building (function under test, its arguments), so each test gets fresh
# arrays. Backward passes get a cache from their forward pass.
CASES = {
    "affine_forward": lambda: (layers.affine_forward, (randn(2, 3, 4), randn(12, 5), randn(5))),
    "affine_backward": lambda: (
        layers.affine_backward,
        with_cache(layers.affine_forward, randn(2, 3, 4), randn(12, 5), randn(5)),
    ),
    "relu_forward": lambda: (layers.relu_forward, (randn(3, 4),)),
    "relu_backward": lambda: (layers.relu_backward, with_cache(layers.relu_forward, randn(3, 4))),
    "leaky_relu_forward": lambda: (layers.leaky_relu_forward, (randn(3, 4), 0.1)),
    "leaky_relu_backward": lambda: (
        layers.leaky_relu_backward,
        with_cache(layers.leaky_relu_forward, randn(3, 4)),
    ),
    "sigmoid_forward": lambda: (layers.sigmoid_forward, (randn(3, 4),)),
    "sigmoid_backward": lambda: (
        layers.sigmoid_backward,
        with_cache(layers.sigmoid_forward, randn(3, 4)),
    ),
    "tanh_forward": lambda: (layers.tanh_forward, (randn(3, 4),)),
    "tanh_backward": lambda: (layers.tanh_backward, with_cache(layers.tanh_forward, randn(3, 4))),
    "softmax_loss": lambda: (layers.softmax_loss, (randn(4, 3), np.array([0, 2, 1, 2]))),
    "mse_loss": lambda: (layers.mse_loss, (randn(4, 3), randn(4, 3))),
    "batchnorm_forward[test]": lambda: (
        normalization.batchnorm_forward,
        (X, GAMMA, BETA, bn_state()),
    ),
    "batchnorm_backward": lambda: (
        normalization.batchnorm_backward,
        with_cache(normalization.batchnorm_forward, X, GAMMA, BETA, {"mode": "train"}),
    ),
    "batchnorm_backward_alt": lambda: (
        normalization.batchnorm_backward_alt,
        with_cache(normalization.batchnorm_forward, X, GAMMA, BETA, {"mode": "train"}),
    ),
    "layernorm_forward": lambda: (normalization.layernorm_forward, (X, GAMMA, BETA, {"eps": 1e-5})),
    "layernorm_backward": lambda: (
        normalization.layernorm_backward,
        with_cache(normalization.layernorm_forward, X, GAMMA, BETA, {}),
    ),
    "dropout_forward[train]": lambda: (
        dropout.dropout_forward,
        (randn(3, 4), {"p": 0.5, "mode": "train", "seed": 1}),
    ),
    "dropout_forward[test]": lambda: (
        dropout.dropout_forward,
        (randn(3, 4), {"p": 0.5, "mode": "test"}),
    ),
    "dropout_backward[train]": lambda: (
        dropout.dropout_backward,
        with_cache(dropout.dropout_forward, randn(3, 4), {"p": 0.5, "mode": "train"}),
    ),
    "dropout_backward[test]": lambda: (
        dropout.dropout_backward,
        with_cache(dropout.dropout_forward, randn(3, 4), {"p": 0.5, "mode": "test"}),
    ),
    **{
        f"{rule}[with state]": lambda rule=rule: (
            optim.UPDATE_RULES[rule],
            (randn(3, 2), randn(3, 2), stateful_config(rule)),
        )
        for rule in optim.UPDATE_RULES
    },
    "clip_grad_norm[clipping]": lambda: (optim.clip_grad_norm, (grads(), 0.1)),
    "clip_grad_norm[not clipping]": lambda: (optim.clip_grad_norm, (grads(), 1e3)),
    "clip_grad_value": lambda: (optim.clip_grad_value, (grads(), 0.5)),
    **{
        name: lambda init=init: (init, ((3, 4), 1.0, np.random.default_rng(0)))
        for name, init in INITIALIZERS.items()
    },
    **{
        f"FullyConnectedNet.loss[{norm}]": lambda norm=norm: model_loss_case(norm)
        for norm in [None, "batchnorm", "layernorm"]
    },
}


def arrays_in(obj):
    """Every ndarray reachable from obj through dicts, lists and tuples."""
    if isinstance(obj, np.ndarray):
        return [obj]
    if isinstance(obj, dict):
        return [a for value in obj.values() for a in arrays_in(value)]
    if isinstance(obj, (list, tuple)):
        return [a for item in obj for a in arrays_in(item)]
    return []


def assert_same(after, before, where="args"):
    """after equals the deep copy `before`, recursively: same types, keys and values."""
    assert type(after) is type(before), f"{where}: type changed"
    if isinstance(before, np.ndarray):
        assert (after.shape, after.dtype) == (before.shape, before.dtype), f"{where}: reshaped"
        assert np.array_equal(after, before, equal_nan=True), f"{where}: array modified in place"
    elif isinstance(before, dict):
        assert list(after) == list(before), f"{where}: keys {list(before)} became {list(after)}"
        for key in before:
            assert_same(after[key], before[key], f"{where}[{key!r}]")
    elif isinstance(before, (list, tuple)):
        assert len(after) == len(before), f"{where}: length changed"
        for i, (a, b) in enumerate(zip(after, before)):
            assert_same(a, b, f"{where}[{i}]")
    elif not isinstance(before, np.random.Generator):  # a generator's state advances by design
        assert after == before, f"{where}: {before!r} became {after!r}"


@pytest.mark.parametrize("name", CASES)
def test_reference_function_leaves_its_arguments_unchanged(name):
    function, args = CASES[name]()
    before = copy.deepcopy(args)
    function(*args)
    assert_same(args, before)


def test_batchnorm_forward_in_train_mode_replaces_state_arrays_but_modifies_none():
    bn_param = {**bn_state(), "mode": "train"}
    old_state = dict(bn_param)
    args = (X, GAMMA, BETA, bn_param)
    arrays = arrays_in(args)
    snapshots = [a.copy() for a in arrays]
    normalization.batchnorm_forward(*args)
    assert all(np.array_equal(a, s) for a, s in zip(arrays, snapshots))
    assert bn_param["running_mean"] is not old_state["running_mean"]
    assert bn_param["running_var"] is not old_state["running_var"]
