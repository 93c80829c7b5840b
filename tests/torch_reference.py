"""The one harness that checks the reference NumPy code against PyTorch autograd.

Every comparison with torch in the solutions tests goes through `assert_matches_torch`: it
applies the project's closeness rule (course.tolerance.compare, with the oracle's tolerance)
and records the worst scaled error seen per function in WORST_SCALED_ERROR, which
tests/conftest.py prints at the end of the session. `check_layer` and `check_loss` build on it:
run the NumPy forward and backward, run the same computation through torch autograd on the
same float64 inputs, and compare the output and every gradient.
"""
import numpy as np
import torch

from course.tolerance import assert_close, compare
from course.torch_bridge import oracle, to_numpy

ORACLE = oracle()

# function name -> worst max|actual - expected| / max|expected| seen against torch, this process.
WORST_SCALED_ERROR: dict[str, float] = {}


def assert_matches_torch(function, quantity, actual, expected):
    """Compare one NumPy result with its torch counterpart and record the error under `function`.

    Inputs:
    - function: name of the reference function the result belongs to, e.g. 'affine_backward'
    - quantity: what is compared, for the failure message, e.g. 'dw'
    - actual: NumPy array (or float) computed by the reference code
    - expected: the torch tensor (or array) computed by the oracle, same shape
    """
    if isinstance(expected, torch.Tensor):
        expected = to_numpy(expected)
    result = compare(actual, expected, ORACLE.tolerance)
    WORST_SCALED_ERROR[function] = max(WORST_SCALED_ERROR.get(function, 0.0), result.scaled_error)
    assert_close(actual, expected, ORACLE.tolerance, name=f"{function}: {quantity}")


def check_layer(forward, backward, torch_fn, inputs, *extra_args, seed=0):
    """Check a forward/backward pair against torch autograd: the output and every gradient.

    Inputs:
    - forward: forward(*inputs.values(), *extra_args) -> (out, cache)
    - backward: backward(dout, cache) -> one gradient, or a tuple with one per input, in order
    - torch_fn: torch_fn(*tensors) -> output tensor, the same computation in torch, given the
      inputs as float64 tensors that require grad, in the order of `inputs`
    - inputs: name -> array for each differentiable input, e.g. {'x': x, 'w': w, 'b': b}
    - extra_args: non-differentiable arguments, passed to forward only (bind them into
      torch_fn yourself)
    - seed: seeds the random upstream gradient dout
    """
    out, cache = forward(*inputs.values(), *extra_args)
    dout = np.random.default_rng(seed).standard_normal(np.shape(out))
    grads = backward(dout, cache)
    if not isinstance(grads, tuple):
        grads = (grads,)

    tensors = {name: ORACLE.tensor(x, requires_grad=True) for name, x in inputs.items()}
    expected_out = torch_fn(*tensors.values())
    expected_out.backward(ORACLE.tensor(dout))

    assert_matches_torch(forward.__name__, "out", out, expected_out)
    assert len(grads) == len(tensors), f"{backward.__name__} returned {len(grads)} gradients"
    for (name, tensor), grad in zip(tensors.items(), grads):
        assert_matches_torch(backward.__name__, f"d{name}", grad, tensor.grad)


def check_loss(loss_fn, torch_loss, x, y):
    """Check a loss loss_fn(x, y) -> (loss, dx) against torch_loss(x_tensor, y_tensor).

    y is passed to torch as given: integer labels stay integers, float targets become float64.
    """
    loss, dx = loss_fn(x, y)
    x_t = ORACLE.tensor(x, requires_grad=True)
    expected = torch_loss(x_t, ORACLE.tensor(y))
    expected.backward()
    assert np.ndim(loss) == 0, f"{loss_fn.__name__} must return a scalar loss"
    assert_matches_torch(loss_fn.__name__, "loss", loss, expected)
    assert_matches_torch(loss_fn.__name__, "dx", dx, x_t.grad)
