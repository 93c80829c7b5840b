"""Reference batch normalization and layer normalization.

Same interface as solutions.layers: `<norm>_forward(x, gamma, beta, param) -> (out, cache)` and
`<norm>_backward(dout, cache) -> (dx, dgamma, dbeta)`, for x of shape (N, D).

Batch normalization normalizes each feature (column) over the batch; layer normalization
normalizes each example (row) over its features. Both normalize with the biased variance
(divide by N, resp. D) and add eps inside the square root, as PyTorch does.
"""
import numpy as np


def batchnorm_forward(x, gamma, beta, bn_param):
    """Batch normalization, torch.nn.BatchNorm1d semantics.

    Train mode normalizes with the batch mean and biased batch variance and updates the
    running statistics; test mode normalizes with the running statistics.

    Inputs:
    - x: (N, D) batch of activations
    - gamma, beta: (D,) learned scale and shift
    - bn_param: the layer's state, a dict with
      - 'mode': 'train' or 'test' (required)
      - 'eps': added to the variance, default 1e-5
      - 'momentum': weight of the NEW batch statistic, default 0.1 (PyTorch's convention;
        CS231n's momentum is the weight of the old one):
        running = (1 - momentum) * running + momentum * batch
      - 'running_mean': (D,), zeros when missing
      - 'running_var': (D,), ones when missing; updated with the UNBIASED batch variance
        (times N / (N - 1)), as PyTorch does, although x is normalized with the biased one

    In train mode the updated running statistics are stored in bn_param (as new arrays here;
    updating the stored arrays in place is just as right: bn_param is the function's own state).

    Returns (out, cache): out is (N, D); cache holds what the backward pass needs (train mode
    only: there is no backward pass through the running statistics, so cache is None in test
    mode).
    """
    mode = bn_param.get("mode")
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.1)
    N, D = x.shape
    running_mean = bn_param.get("running_mean", np.zeros(D, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.ones(D, dtype=x.dtype))

    if mode == "train":
        if N < 2:
            raise ValueError(
                f"batchnorm_forward in train mode needs more than 1 example per batch, got x of "
                f"shape {x.shape}: the unbiased batch variance divides by N - 1"
            )
        mean = x.mean(axis=0)
        xc = x - mean
        var = np.mean(xc**2, axis=0)
        std = np.sqrt(var + eps)
        xhat = xc / std
        out = gamma * xhat + beta
        bn_param["running_mean"] = (1 - momentum) * running_mean + momentum * mean
        bn_param["running_var"] = (1 - momentum) * running_var + momentum * var * N / (N - 1)
        cache = (xhat, xc, std, gamma)
    elif mode == "test":
        xhat = (x - running_mean) / np.sqrt(running_var + eps)
        out = gamma * xhat + beta
        cache = None
    else:
        raise ValueError(f"bn_param['mode'] must be 'train' or 'test', got {mode!r}")
    return out, cache


def batchnorm_backward(dout, cache):
    """Backward pass of batchnorm_forward (train mode), one node of the graph at a time.

    The forward graph is: mean = mean(x); xc = x - mean; var = mean(xc**2);
    std = sqrt(var + eps); xhat = xc / std; out = gamma * xhat + beta. Each step below is the
    local derivative of one of these nodes; x reaches out along two paths (through xc and
    through mean) and xc along two (directly and through var), so those gradients are summed.

    Inputs:
    - dout: (N, D) upstream gradient
    - cache: from batchnorm_forward in train mode

    Returns (dx, dgamma, dbeta): dx is (N, D); dgamma and dbeta are (D,).
    """
    xhat, xc, std, gamma = cache
    N = dout.shape[0]

    # out = gamma * xhat + beta
    dbeta = dout.sum(axis=0)
    dgamma = np.sum(dout * xhat, axis=0)
    dxhat = dout * gamma
    # xhat = xc / std
    dxc_direct = dxhat / std
    dstd = -np.sum(dxhat * xc, axis=0) / std**2
    # std = sqrt(var + eps)
    dvar = dstd / (2 * std)
    # var = mean(xc**2)
    dxc = dxc_direct + 2 * xc * dvar / N
    # xc = x - mean
    dmean = -dxc.sum(axis=0)
    # mean = mean(x)
    dx = dxc + dmean / N
    return dx, dgamma, dbeta


def batchnorm_backward_alt(dout, cache):
    """Backward pass of batchnorm_forward (train mode) in closed form.

    With dxhat = dout * gamma, the whole graph simplifies to
        dx = (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)) / std,
    means taken over the batch.

    Inputs:
    - dout: (N, D) upstream gradient
    - cache: from batchnorm_forward in train mode

    Returns (dx, dgamma, dbeta): dx is (N, D); dgamma and dbeta are (D,).
    """
    xhat, _, std, gamma = cache
    dbeta = dout.sum(axis=0)
    dgamma = np.sum(dout * xhat, axis=0)
    dxhat = dout * gamma
    dx = (dxhat - dxhat.mean(axis=0) - xhat * np.mean(dxhat * xhat, axis=0)) / std
    return dx, dgamma, dbeta


def layernorm_forward(x, gamma, beta, ln_param):
    """Normalize each row of x to zero mean and unit variance, then scale and shift.

    Same as torch.nn.functional.layer_norm(x, (D,), gamma, beta, eps); unlike batch
    normalization it behaves the same in training and at test time and keeps no state.

    Inputs:
    - x: (N, D) batch of activations
    - gamma, beta: (D,) learned scale and shift
    - ln_param: dict with 'eps' (default 1e-5)

    Returns (out, cache): out is (N, D); cache holds what the backward pass needs.
    """
    eps = ln_param.get("eps", 1e-5)
    mean = x.mean(axis=1, keepdims=True)
    xc = x - mean
    var = np.mean(xc**2, axis=1, keepdims=True)
    std = np.sqrt(var + eps)
    xhat = xc / std
    out = gamma * xhat + beta
    cache = (xhat, std, gamma)
    return out, cache


def layernorm_backward(dout, cache):
    """Backward pass of layernorm_forward.

    Batchnorm's closed form with the roles of the axes swapped: the means run over the
    features of each row.

    Inputs:
    - dout: (N, D) upstream gradient
    - cache: from layernorm_forward

    Returns (dx, dgamma, dbeta): dx is (N, D); dgamma and dbeta are (D,).
    """
    xhat, std, gamma = cache
    dbeta = dout.sum(axis=0)
    dgamma = np.sum(dout * xhat, axis=0)
    dxhat = dout * gamma
    dx = (
        dxhat
        - dxhat.mean(axis=1, keepdims=True)
        - xhat * np.mean(dxhat * xhat, axis=1, keepdims=True)
    ) / std
    return dx, dgamma, dbeta
