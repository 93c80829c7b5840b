"""Reference inverted dropout.

Same interface as solutions.layers: `dropout_forward(x, dropout_param) -> (out, cache)` and
`dropout_backward(dout, cache) -> dx`.

p is the probability of DROPPING a unit, as in torch.nn.Dropout (the original paper and CS231n
use the probability of keeping it). "Inverted" dropout scales the kept units by 1 / (1 - p)
during training, so the expected activation is unchanged and test mode is the identity.
"""
import numpy as np


def dropout_forward(x, dropout_param):
    """Inverted dropout.

    In train mode the mask is exactly
        mask = np.random.default_rng(dropout_param.get('seed')).random(x.shape) >= p
    so every implementation given the same seed drops the same units, and the global NumPy
    random state is never used. out = x * mask / (1 - p); p = 1 drops everything and gives
    zeros (no division by zero). Test mode returns a copy of x.

    Inputs:
    - x: array of any shape
    - dropout_param: dict with
      - 'p': probability of dropping each unit, 0 <= p <= 1 (required)
      - 'mode': 'train' or 'test' (required)
      - 'seed': optional seed for the mask (None: a fresh mask on every call)

    Returns (out, cache): out is shaped like x; cache is (mask, scale), mask None in test mode.
    """
    p, mode = dropout_param["p"], dropout_param["mode"]
    if not 0 <= p <= 1:
        raise ValueError(f"dropout_param['p'] is the drop probability, in [0, 1]; got {p!r}")

    if mode == "train":
        rng = np.random.default_rng(dropout_param.get("seed"))
        mask = rng.random(x.shape) >= p
        scale = 1 / (1 - p) if p < 1 else 0.0
        out = x * mask * scale
        cache = (mask, scale)
    elif mode == "test":
        out = x.copy()
        cache = (None, 1.0)
    else:
        raise ValueError(f"dropout_param['mode'] must be 'train' or 'test', got {mode!r}")
    return out, cache


def dropout_backward(dout, cache):
    """Backward pass of dropout_forward: the same mask and scale, applied to dout.

    Inputs:
    - dout: upstream gradient, shaped like x
    - cache: (mask, scale) from dropout_forward

    Returns dx, shaped like x.
    """
    mask, scale = cache
    if mask is None:
        return dout.copy()
    dx = dout * mask * scale
    return dx
