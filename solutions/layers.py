"""Reference layers and losses: the forward and backward pass of each, side by side.

Every layer is a pair:
- `<layer>_forward(x, ...) -> (out, cache)`: out is the layer's output; cache holds what the
  backward pass needs and nothing else.
- `<layer>_backward(dout, cache) -> dx` (or a tuple of gradients, one per input in the order of
  the forward's arguments): dout is the upstream gradient, shaped like out, and every gradient
  is shaped like the input it belongs to.

A loss is one function, `<loss>(x, y) -> (loss, dx)`: a float and its gradient with respect to x.
No function modifies its arguments.
"""
import numpy as np


def affine_forward(x, w, b):
    """Fully connected layer: out = x w + b, each example flattened to a row first.

    Inputs:
    - x: (N, d_1, ..., d_k) batch of N examples, each with D = d_1 * ... * d_k values
    - w: (D, M) weights
    - b: (M,) biases

    Returns (out, cache): out is (N, M); cache is (x, w).
    """
    out = x.reshape(x.shape[0], -1) @ w + b
    cache = (x, w)
    return out, cache


def affine_backward(dout, cache):
    """Backward pass of affine_forward.

    Inputs:
    - dout: (N, M) upstream gradient
    - cache: (x, w) from affine_forward

    Returns (dx, dw, db): dx is shaped like x, (N, d_1, ..., d_k); dw is (D, M); db is (M,).
    """
    x, w = cache
    x_rows = x.reshape(x.shape[0], -1)
    dx = (dout @ w.T).reshape(x.shape)
    dw = x_rows.T @ dout
    db = dout.sum(axis=0)
    return dx, dw, db


def relu_forward(x):
    """Rectified linear unit: out = max(0, x), elementwise.

    Inputs:
    - x: array of any shape

    Returns (out, cache): out is shaped like x; cache is x.
    """
    out = np.maximum(0, x)
    cache = x
    return out, cache


def relu_backward(dout, cache):
    """Backward pass of relu_forward; the gradient at exactly x = 0 is taken as 0, like PyTorch.

    Inputs:
    - dout: upstream gradient, shaped like x
    - cache: x from relu_forward

    Returns dx, shaped like x.
    """
    x = cache
    dx = dout * (x > 0)
    return dx


def leaky_relu_forward(x, alpha=0.01):
    """Leaky ReLU: out = x where x > 0, alpha * x elsewhere.

    Inputs:
    - x: array of any shape
    - alpha: slope for negative inputs (PyTorch's negative_slope)

    Returns (out, cache): out is shaped like x; cache is (x, alpha).
    """
    out = np.where(x > 0, x, alpha * x)
    cache = (x, alpha)
    return out, cache


def leaky_relu_backward(dout, cache):
    """Backward pass of leaky_relu_forward; at exactly x = 0 the slope is alpha, like PyTorch.

    Inputs:
    - dout: upstream gradient, shaped like x
    - cache: (x, alpha) from leaky_relu_forward

    Returns dx, shaped like x.
    """
    x, alpha = cache
    dx = dout * np.where(x > 0, 1.0, alpha)
    return dx


def sigmoid_forward(x):
    """Logistic sigmoid, out = 1 / (1 + exp(-x)), computed without overflow for any x.

    exp is only ever taken of -|x| <= 0, so it cannot overflow: for x >= 0 the usual form is
    used, for x < 0 the equal form exp(x) / (1 + exp(x)).

    Inputs:
    - x: array of any shape

    Returns (out, cache): out is shaped like x, in [0, 1]; cache is out.
    """
    z = np.exp(-np.abs(x))
    out = np.where(x >= 0, 1 / (1 + z), z / (1 + z))
    cache = out
    return out, cache


def sigmoid_backward(dout, cache):
    """Backward pass of sigmoid_forward, using sigmoid' = out * (1 - out).

    Inputs:
    - dout: upstream gradient, shaped like x
    - cache: out from sigmoid_forward

    Returns dx, shaped like x.
    """
    out = cache
    dx = dout * out * (1 - out)
    return dx


def tanh_forward(x):
    """Hyperbolic tangent, elementwise.

    Inputs:
    - x: array of any shape

    Returns (out, cache): out is shaped like x, in [-1, 1]; cache is out.
    """
    out = np.tanh(x)
    cache = out
    return out, cache


def tanh_backward(dout, cache):
    """Backward pass of tanh_forward, using tanh' = 1 - out**2.

    Inputs:
    - dout: upstream gradient, shaped like x
    - cache: out from tanh_forward

    Returns dx, shaped like x.
    """
    out = cache
    dx = dout * (1 - out**2)
    return dx


def softmax_loss(x, y):
    """Softmax cross-entropy, averaged over the batch (PyTorch's F.cross_entropy).

    Each row is shifted by its maximum before exponentiating: softmax does not change, and
    exp can no longer overflow, even for scores of 1e4.

    Inputs:
    - x: (N, C) class scores (logits)
    - y: (N,) integer labels, 0 <= y[i] < C

    Returns (loss, dx): loss is a float; dx is (N, C).
    """
    N = x.shape[0]
    shifted = x - x.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_probs[np.arange(N), y].mean()
    dx = np.exp(log_probs)
    dx[np.arange(N), y] -= 1
    dx /= N
    return loss, dx


def mse_loss(x, y):
    """Mean squared error, averaged over ALL elements: loss = sum((x - y)**2) / x.size.

    This is PyTorch's F.mse_loss (reduction='mean'), not the per-example mean of CS231n-style
    regression losses, and there is no factor 1/2.

    Inputs:
    - x: predictions, any shape
    - y: targets, shaped like x

    Returns (loss, dx): loss is a float; dx is shaped like x.
    """
    diff = x - y
    loss = np.sum(diff**2) / x.size
    dx = 2 * diff / x.size
    return loss, dx
