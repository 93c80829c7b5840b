"""Reference weight initializers.

Every initializer has the same interface:

    W = init(shape, gain=..., rng=rng)

Inputs:
- shape: (fan_in, fan_out), the shape of W in out = x @ W. This is the TRANSPOSE of
  torch.nn.Linear.weight, which is (fan_out, fan_in): our W corresponds to torch's weight.T.
- gain: multiplies the standard deviation (see torch.nn.init.calculate_gain)
- rng: a np.random.Generator, required, so that every draw is reproducible and the global
  NumPy random state is never touched

Returns W, a float64 array of the given shape. Only 2-D shapes are supported.

The formulas are those of torch.nn.init, for the same fan_in and fan_out:
- Xavier/Glorot (keeps the variance of activations and of gradients, on average):
  std = gain * sqrt(2 / (fan_in + fan_out)); the uniform version has bound std * sqrt(3).
- Kaiming/He, fan_in mode (keeps the variance of activations through ReLU layers with the
  default gain sqrt(2)): std = gain / sqrt(fan_in); bound = gain * sqrt(3 / fan_in).

INITIALIZERS maps each initializer's name to the function.
"""
import numpy as np


def xavier_uniform(shape, gain=1.0, rng=None):
    """Glorot uniform: W ~ U(-bound, bound), bound = gain * sqrt(6 / (fan_in + fan_out)).

    Inputs:
    - shape: (fan_in, fan_out), the transpose of torch.nn.Linear.weight's shape
    - gain: the scale for the nonlinearity that follows (torch.nn.init.calculate_gain)
    - rng: the np.random.Generator to draw from (required)

    Returns W, an array of the given shape.
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"rng must be a np.random.Generator, got {rng!r}: pass rng=np.random.default_rng(seed)"
        )
    if len(shape) != 2:
        raise ValueError(f"shape must be (fan_in, fan_out), got {shape!r}")
    fan_in, fan_out = shape
    bound = gain * np.sqrt(6 / (fan_in + fan_out))
    return rng.uniform(-bound, bound, size=shape)


def xavier_normal(shape, gain=1.0, rng=None):
    """Glorot normal: W ~ N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out)).

    Inputs:
    - shape: (fan_in, fan_out), the transpose of torch.nn.Linear.weight's shape
    - gain: the scale for the nonlinearity that follows (torch.nn.init.calculate_gain)
    - rng: the np.random.Generator to draw from (required)

    Returns W, an array of the given shape.
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"rng must be a np.random.Generator, got {rng!r}: pass rng=np.random.default_rng(seed)"
        )
    if len(shape) != 2:
        raise ValueError(f"shape must be (fan_in, fan_out), got {shape!r}")
    fan_in, fan_out = shape
    std = gain * np.sqrt(2 / (fan_in + fan_out))
    return std * rng.standard_normal(shape)


def kaiming_uniform(shape, gain=np.sqrt(2.0), rng=None):
    """He uniform, fan_in mode: W ~ U(-bound, bound), bound = gain * sqrt(3 / fan_in).

    The default gain sqrt(2) is for ReLU: torch.nn.init.kaiming_uniform_(w, nonlinearity='relu').
    (PyTorch's own default, a=sqrt(5), is the gain of nn.Linear's initialization instead.)

    Inputs:
    - shape: (fan_in, fan_out), the transpose of torch.nn.Linear.weight's shape
    - gain: the scale for the nonlinearity that follows (torch.nn.init.calculate_gain)
    - rng: the np.random.Generator to draw from (required)

    Returns W, an array of the given shape.
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"rng must be a np.random.Generator, got {rng!r}: pass rng=np.random.default_rng(seed)"
        )
    if len(shape) != 2:
        raise ValueError(f"shape must be (fan_in, fan_out), got {shape!r}")
    fan_in, _ = shape
    bound = gain * np.sqrt(3 / fan_in)
    return rng.uniform(-bound, bound, size=shape)


def kaiming_normal(shape, gain=np.sqrt(2.0), rng=None):
    """He normal, fan_in mode: W ~ N(0, std^2), std = gain / sqrt(fan_in).

    The default gain sqrt(2) is for ReLU: torch.nn.init.kaiming_normal_(w, nonlinearity='relu').

    Inputs:
    - shape: (fan_in, fan_out), the transpose of torch.nn.Linear.weight's shape
    - gain: the scale for the nonlinearity that follows (torch.nn.init.calculate_gain)
    - rng: the np.random.Generator to draw from (required)

    Returns W, an array of the given shape.
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"rng must be a np.random.Generator, got {rng!r}: pass rng=np.random.default_rng(seed)"
        )
    if len(shape) != 2:
        raise ValueError(f"shape must be (fan_in, fan_out), got {shape!r}")
    fan_in, _ = shape
    std = gain / np.sqrt(fan_in)
    return std * rng.standard_normal(shape)


def orthogonal(shape, gain=1.0, rng=None):
    """A (semi-)orthogonal matrix times gain, as torch.nn.init.orthogonal_ makes it.

    Q from the QR decomposition of a Gaussian matrix, with each column's sign flipped to make
    diag(R) positive: without that correction Q is not uniformly (Haar) distributed. A wide
    shape is drawn tall and transposed. The result has W.T @ W = gain^2 I when
    fan_in >= fan_out (orthonormal columns) and W @ W.T = gain^2 I otherwise.

    Inputs:
    - shape: (fan_in, fan_out), the transpose of torch.nn.Linear.weight's shape
    - gain: the scale for the nonlinearity that follows (torch.nn.init.calculate_gain)
    - rng: the np.random.Generator to draw from (required)

    Returns W, an array of the given shape.
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"rng must be a np.random.Generator, got {rng!r}: pass rng=np.random.default_rng(seed)"
        )
    if len(shape) != 2:
        raise ValueError(f"shape must be (fan_in, fan_out), got {shape!r}")
    rows, cols = shape
    a = rng.standard_normal(shape)
    if rows < cols:
        a = a.T
    q, r = np.linalg.qr(a)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return gain * q


INITIALIZERS = {
    "xavier_uniform": xavier_uniform,
    "xavier_normal": xavier_normal,
    "kaiming_uniform": kaiming_uniform,
    "kaiming_normal": kaiming_normal,
    "orthogonal": orthogonal,
}
