"""Reference fully connected network, built from the layers of solutions.layers,
solutions.normalization and solutions.dropout.
"""
import numpy as np

from solutions.dropout import dropout_backward, dropout_forward
from solutions.layers import (
    affine_backward,
    affine_forward,
    relu_backward,
    relu_forward,
    softmax_loss,
)
from solutions.normalization import (
    batchnorm_backward_alt,
    batchnorm_forward,
    layernorm_backward,
    layernorm_forward,
)


class TwoLayerNet:
    """The smallest useful network: affine - relu - affine - softmax.

    Parameters live in `params`: W1 (D, H), b1 (H,), W2 (H, C), b2 (C,).
    """

    def __init__(self, input_dim=64, hidden_dim=100, num_classes=10, weight_scale=1e-3, reg=0.0, seed=None):
        """
        Inputs:
        - input_dim: D; hidden_dim: H; num_classes: C
        - weight_scale: weights start as N(0, weight_scale^2), biases at zero
        - reg: L2 strength; the loss adds 0.5 * reg * (sum(W1**2) + sum(W2**2))
        - seed: seeds the np.random.Generator that draws the weights
        """
        rng = np.random.default_rng(seed)
        self.reg = reg
        self.params = {
            "W1": weight_scale * rng.standard_normal((input_dim, hidden_dim)),
            "b1": np.zeros(hidden_dim),
            "W2": weight_scale * rng.standard_normal((hidden_dim, num_classes)),
            "b2": np.zeros(num_classes),
        }

    def loss(self, X, y=None):
        """Class scores (N, C) when y is None, else (loss, grads) with grads shaped like params."""
        W1, b1, W2, b2 = (self.params[k] for k in ("W1", "b1", "W2", "b2"))
        h, affine1 = affine_forward(X, W1, b1)
        h, relu1 = relu_forward(h)
        scores, affine2 = affine_forward(h, W2, b2)
        if y is None:
            return scores
        loss, dscores = softmax_loss(scores, y)
        loss += 0.5 * self.reg * (np.sum(W1**2) + np.sum(W2**2))
        dh, dW2, db2 = affine_backward(dscores, affine2)
        dh = relu_backward(dh, relu1)
        _, dW1, db1 = affine_backward(dh, affine1)
        grads = {"W1": dW1 + self.reg * W1, "b1": db1, "W2": dW2 + self.reg * W2, "b2": db2}
        return loss, grads


class FullyConnectedNet:
    """A multi-layer perceptron for classification:

        {affine - [batchnorm | layernorm] - relu - [dropout]} x L - affine - softmax

    Parameters live in `params`: W1, b1, ..., W{L+1}, b{L+1}, and gamma1, beta1, ..., gammaL,
    betaL when the hidden layers are normalized. W{i} is (fan_in, fan_out), the transpose of
    torch.nn.Linear.weight. Batchnorm's running statistics live in `bn_params`, one dict per
    hidden layer.

    With batchnorm, the hidden biases b1, ..., bL are redundant (the mean subtraction removes
    them) and their gradient is exactly zero; they are kept so that every option has the same
    parameter names.
    """

    def __init__(
        self,
        hidden_dims,
        input_dim=64,
        num_classes=10,
        normalization=None,
        dropout=0.0,
        reg=0.0,
        weight_init=None,
        dtype=np.float64,
        seed=None,
    ):
        """
        Inputs:
        - hidden_dims: list of the L hidden layer sizes
        - input_dim: D, the size of each input
        - num_classes: C
        - normalization: None, 'batchnorm' or 'layernorm', applied after each hidden affine layer
        - dropout: probability of DROPPING a hidden unit (torch's meaning); 0 means no dropout
        - reg: L2 strength; the loss adds 0.5 * reg * sum(W**2) over the weights only (not
          biases, gamma or beta), so each weight gradient gains reg * W, which is
          torch.optim's weight_decay = reg
        - weight_init: None for He initialization, W ~ N(0, 2 / fan_in); a float s for
          W ~ N(0, s^2) (CS231n's weight_scale; 0.0 gives zeros); or an initializer called as
          weight_init(shape, rng=rng), such as your xavier_uniform from A2. Biases start at
          zero, gamma at one, beta at zero.
        - dtype: the dtype of every parameter and of the computation
        - seed: seeds the np.random.Generator that initializes the weights, and fixes every
          dropout mask (the same mask on every call, so gradient checks are deterministic; to
          train with fresh but reproducible masks, set self.dropout_param['seed'] to a new
          number drawn from a seeded generator before each step)
        """
        if normalization not in (None, "batchnorm", "layernorm"):
            raise ValueError(
                f"normalization must be None, 'batchnorm' or 'layernorm', got {normalization!r}"
            )
        self.normalization = normalization
        self.use_dropout = dropout > 0
        self.reg = reg
        self.num_layers = 1 + len(hidden_dims)
        self.dtype = dtype
        self.params = {}

        rng = np.random.default_rng(seed)
        dims = [input_dim, *hidden_dims, num_classes]
        for i in range(1, self.num_layers + 1):
            shape = (dims[i - 1], dims[i])
            if weight_init is None:
                W = np.sqrt(2.0 / shape[0]) * rng.standard_normal(shape)
            elif isinstance(weight_init, (int, float)):
                W = weight_init * rng.standard_normal(shape)
            elif callable(weight_init):
                W = weight_init(shape, rng=rng)
            else:
                raise ValueError(f"weight_init must be None, a float or an initializer function, got {weight_init!r}")
            self.params[f"W{i}"] = W
            self.params[f"b{i}"] = np.zeros(dims[i])
            if normalization is not None and i < self.num_layers:
                self.params[f"gamma{i}"] = np.ones(dims[i])
                self.params[f"beta{i}"] = np.zeros(dims[i])

        # One dropout_param for every layer, as in CS231n; its mode is set on each call.
        self.dropout_param = {"mode": "train", "p": dropout}
        if seed is not None:
            self.dropout_param["seed"] = seed
        self.bn_params = []
        if normalization == "batchnorm":
            self.bn_params = [{"mode": "train"} for _ in hidden_dims]

        for name, value in self.params.items():
            self.params[name] = value.astype(dtype)

    def loss(self, X, y=None):
        """Class scores, or the loss and its gradient.

        Inputs:
        - X: (N, d_1, ..., d_k) inputs, each with D = input_dim values
        - y: (N,) integer labels, or None

        Returns:
        - when y is None: scores, (N, C), computed in test mode (batchnorm uses its running
          statistics, dropout is off)
        - otherwise (loss, grads), computed in train mode: loss is the mean softmax
          cross-entropy plus the L2 term; grads maps each name in params to the gradient,
          shaped like the parameter
        """
        X = X.astype(self.dtype)
        mode = "test" if y is None else "train"
        self.dropout_param["mode"] = mode
        for bn_param in self.bn_params:
            bn_param["mode"] = mode

        caches = {}
        h = X
        for i in range(1, self.num_layers):
            W, b = self.params[f"W{i}"], self.params[f"b{i}"]
            h, caches[f"affine{i}"] = affine_forward(h, W, b)
            if self.normalization == "batchnorm":
                h, caches[f"norm{i}"] = batchnorm_forward(
                    h, self.params[f"gamma{i}"], self.params[f"beta{i}"], self.bn_params[i - 1]
                )
            elif self.normalization == "layernorm":
                h, caches[f"norm{i}"] = layernorm_forward(
                    h, self.params[f"gamma{i}"], self.params[f"beta{i}"], {}
                )
            h, caches[f"relu{i}"] = relu_forward(h)
            if self.use_dropout:
                h, caches[f"dropout{i}"] = dropout_forward(h, self.dropout_param)
        L = self.num_layers
        W, b = self.params[f"W{L}"], self.params[f"b{L}"]
        scores, caches[f"affine{L}"] = affine_forward(h, W, b)

        if y is None:
            return scores

        loss, dscores = softmax_loss(scores, y)
        grads = {}
        dh, grads[f"W{L}"], grads[f"b{L}"] = affine_backward(dscores, caches[f"affine{L}"])
        for i in range(L - 1, 0, -1):
            if self.use_dropout:
                dh = dropout_backward(dh, caches[f"dropout{i}"])
            dh = relu_backward(dh, caches[f"relu{i}"])
            if self.normalization == "batchnorm":
                dh, dgamma, dbeta = batchnorm_backward_alt(dh, caches[f"norm{i}"])
                grads[f"gamma{i}"], grads[f"beta{i}"] = dgamma, dbeta
            elif self.normalization == "layernorm":
                dh, dgamma, dbeta = layernorm_backward(dh, caches[f"norm{i}"])
                grads[f"gamma{i}"], grads[f"beta{i}"] = dgamma, dbeta
            dh, grads[f"W{i}"], grads[f"b{i}"] = affine_backward(dh, caches[f"affine{i}"])

        for i in range(1, L + 1):
            W = self.params[f"W{i}"]
            loss += 0.5 * self.reg * np.sum(W**2)
            grads[f"W{i}"] = grads[f"W{i}"] + self.reg * W
        return loss, grads
