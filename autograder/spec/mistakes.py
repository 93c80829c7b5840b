"""The catalogue of known mistakes: realistic wrong implementations, and what to tell a student
whose output matches one.

When an output differs from the reference, the judge runs each known mistake of that function on
the same case; if the student's output equals the mistake's (and the mistake's differs from the
reference), the mistake's hint goes into the feedback. The tests run every entry as if it were a
submission and prove that it loses points and (for most) gets its own hint.

Each entry replaces one or more names of the reference namespace; unreplaced names keep the
reference, so a wrong backward pass is run with the reference's forward pass and cache.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from solutions import init as I
from solutions import layers as L
from solutions import models as M
from solutions import normalization as N
from solutions import optim as O


@dataclass(frozen=True)
class Mistake:
    check: str  # the check id (autograder.spec.registry) whose probe reveals it
    slug: str  # a short unique name
    hint: str  # what the feedback says, in words
    replace: dict[str, Callable]


CATALOGUE: list[Mistake] = []


def mistake(check: str, slug: str, hint: str, **replace: Callable) -> None:
    CATALOGUE.append(Mistake(check, slug, hint, replace))


def mistakes_for(check: str) -> list[Mistake]:
    return [m for m in CATALOGUE if m.check == check]


# ------------------------------------------------------------------ layers and losses

def _affine_no_bias(x, w, b):
    return x.reshape(x.shape[0], -1) @ w, (x, w)


def _affine_fortran_flatten(x, w, b):
    return x.reshape(x.shape[0], -1, order="F") @ w + b, (x, w)


mistake("affine_forward", "no-bias", "the bias b is missing: out = x w + b", affine_forward=_affine_no_bias)
mistake("affine_forward", "fortran-flatten",
        "each example must be flattened in C (row-major) order: x.reshape(N, -1)", affine_forward=_affine_fortran_flatten)


def _affine_backward_db_axis1(dout, cache):
    dx, dw, _ = L.affine_backward(dout, cache)
    return dx, dw, dout.sum(axis=1)


def _affine_backward_dx_flat(dout, cache):
    x, w = cache
    return dout @ w.T, x.reshape(x.shape[0], -1).T @ dout, dout.sum(axis=0)


def _affine_backward_batch_mean(dout, cache):
    dx, dw, db = L.affine_backward(dout, cache)
    return dx, dw / dout.shape[0], db / dout.shape[0]


mistake("affine_backward", "db-wrong-axis", "db sums dout over the wrong axis: sum over the batch, axis=0",
        affine_backward=_affine_backward_db_axis1)
mistake("affine_backward", "dx-not-reshaped", "dx must have x's shape: reshape it back with .reshape(x.shape)",
        affine_backward=_affine_backward_dx_flat)
mistake("affine_backward", "grads-averaged", "dw and db are divided by N: the layer's gradients are plain sums "
        "over the batch (the loss already averages)", affine_backward=_affine_backward_batch_mean)


def _relu_backward_dout_mask(dout, cache):
    return dout * (dout > 0)


mistake("relu_backward", "mask-on-dout", "the mask must come from the forward input x (x > 0), not from dout",
        relu_backward=_relu_backward_dout_mask)


def _leaky_backward_zero_slope(dout, cache):
    x, alpha = cache
    return dout * (x > 0)


def _leaky_forward_alpha_on_positive(x, alpha=0.01):
    return np.where(x > 0, alpha * x, x), (x, alpha)


mistake("leaky_relu_backward", "zero-slope", "negative inputs pass alpha * dout, not 0 (that would be plain ReLU)",
        leaky_relu_backward=_leaky_backward_zero_slope)
mistake("leaky_relu_forward", "slope-swapped", "alpha scales the negative inputs; positive inputs pass unchanged",
        leaky_relu_forward=_leaky_forward_alpha_on_positive)


def _sigmoid_backward_missing_factor(dout, cache):
    return dout * cache


def _sigmoid_forward_tanh(x):
    out = np.tanh(x)
    return out, out


mistake("sigmoid_backward", "missing-1-minus", "sigmoid'(x) = s (1 - s) with s = sigmoid(x): a factor is missing",
        sigmoid_backward=_sigmoid_backward_missing_factor)
mistake("sigmoid_forward", "tanh-instead", "that is tanh, not the logistic sigmoid 1 / (1 + exp(-x))",
        sigmoid_forward=_sigmoid_forward_tanh)


def _tanh_backward_not_squared(dout, cache):
    return dout * (1 - cache)


mistake("tanh_backward", "not-squared", "tanh'(x) = 1 - tanh(x)**2: the square is missing",
        tanh_backward=_tanh_backward_not_squared)


def _softmax_no_shift(x, y):
    n = x.shape[0]
    e = np.exp(x)
    p = e / e.sum(axis=1, keepdims=True)
    loss = -np.mean(np.log(p[np.arange(n), y]))
    dx = p.copy()
    dx[np.arange(n), y] -= 1
    return loss, dx / n


def _softmax_dx_not_averaged(x, y):
    loss, dx = L.softmax_loss(x, y)
    return loss, dx * x.shape[0]


def _softmax_loss_summed(x, y):
    loss, dx = L.softmax_loss(x, y)
    return loss * x.shape[0], dx


mistake("softmax_loss", "overflow", "softmax overflows for large scores: subtract each row's maximum before np.exp",
        softmax_loss=_softmax_no_shift)
mistake("softmax_loss", "dx-not-averaged", "the loss is a mean over the batch, so dx must be divided by N too",
        softmax_loss=_softmax_dx_not_averaged)
mistake("softmax_loss", "loss-summed", "the loss must be the mean over the batch, not the sum",
        softmax_loss=_softmax_loss_summed)


def _mse_per_example(x, y):
    diff = x - y
    n = x.shape[0]
    return np.sum(diff**2) / n, 2 * diff / n


def _mse_no_two(x, y):
    loss, dx = L.mse_loss(x, y)
    return loss, dx / 2


mistake("mse_loss", "mean-over-batch-only", "PyTorch's mse_loss averages over ALL elements (x.size), not only over N",
        mse_loss=_mse_per_example)
mistake("mse_loss", "missing-2", "d/dx (x - y)**2 = 2 (x - y): the factor 2 is missing", mse_loss=_mse_no_two)


# ------------------------------------------------------------------ normalization

def _bn_variant(*, unbiased_normalize=False, update_running=True, reversed_momentum=False,
                biased_running=False, test_uses_batch=False, eps_outside=False):
    def forward(x, gamma, beta, bn_param):
        mode = bn_param["mode"]
        eps, momentum = bn_param.get("eps", 1e-5), bn_param.get("momentum", 0.1)
        n, d = x.shape
        rm = bn_param.get("running_mean", np.zeros(d))
        rv = bn_param.get("running_var", np.ones(d))
        cache = None
        if mode == "train" or test_uses_batch:
            mu = x.mean(axis=0)
            xc = x - mu
            var = x.var(axis=0, ddof=1 if unbiased_normalize else 0)
            std = np.sqrt(var) + eps if eps_outside else np.sqrt(var + eps)
            xhat = xc / std
            if mode == "train":
                cache = (xhat, xc, std, gamma)  # the reference's layout, so backward passes still run
            if mode == "train" and update_running:
                batch_var = var if (biased_running or unbiased_normalize) else var * n / (n - 1)
                if reversed_momentum:
                    bn_param["running_mean"] = momentum * rm + (1 - momentum) * mu
                    bn_param["running_var"] = momentum * rv + (1 - momentum) * batch_var
                else:
                    bn_param["running_mean"] = (1 - momentum) * rm + momentum * mu
                    bn_param["running_var"] = (1 - momentum) * rv + momentum * batch_var
            elif mode == "train":
                bn_param.setdefault("running_mean", rm)
                bn_param.setdefault("running_var", rv)
        else:
            xhat = (x - rm) / np.sqrt(rv + eps)
        return gamma * xhat + beta, cache

    return forward


mistake("batchnorm_forward", "unbiased-normalize", "normalize with the biased batch variance (divide by N); only "
        "the running variance uses the unbiased one", batchnorm_forward=_bn_variant(unbiased_normalize=True))
mistake("batchnorm_forward", "running-not-updated", "the running statistics are not updated in train mode: store "
        "the new running_mean and running_var in bn_param", batchnorm_forward=_bn_variant(update_running=False))
mistake("batchnorm_forward", "momentum-reversed", "momentum is the weight of the NEW batch statistic (PyTorch): "
        "running = (1 - momentum) * running + momentum * batch", batchnorm_forward=_bn_variant(reversed_momentum=True))
mistake("batchnorm_forward", "running-var-biased", "update running_var with the unbiased batch variance "
        "(times N / (N - 1)), as PyTorch does", batchnorm_forward=_bn_variant(biased_running=True))
mistake("batchnorm_forward", "test-uses-batch", "test mode must normalize with the running statistics, not the "
        "test batch's own", batchnorm_forward=_bn_variant(test_uses_batch=True))
mistake("batchnorm_forward", "eps-outside-sqrt", "eps goes inside the square root: sqrt(var + eps)",
        batchnorm_forward=_bn_variant(eps_outside=True))


def _bn_backward_dgamma_sum(dout, cache):
    dx, _, dbeta = N.batchnorm_backward(dout, cache)
    return dx, dout.sum(axis=0), dbeta


def _bn_backward_no_mean_path(dout, cache):
    xhat, xc, std, gamma = cache
    return dout * gamma / std, np.sum(dout * xhat, axis=0), dout.sum(axis=0)


def _bn_backward_alt_missing_xhat_term(dout, cache):
    xhat, xc, std, gamma = cache
    dxhat = dout * gamma
    dx = (dxhat - dxhat.mean(axis=0)) / std
    return dx, np.sum(dout * xhat, axis=0), dout.sum(axis=0)


mistake("batchnorm_backward", "dgamma-without-xhat", "dgamma = sum over the batch of dout * xhat (the normalized "
        "input), not of dout alone", batchnorm_backward=_bn_backward_dgamma_sum)
mistake("batchnorm_backward", "no-mean-var-path", "x also reaches the output through the batch mean and variance: "
        "dx needs those paths, not only dout * gamma / std", batchnorm_backward=_bn_backward_no_mean_path)
mistake("batchnorm_backward_alt", "missing-xhat-term", "the closed form is dx = (dxhat - mean(dxhat) - xhat * "
        "mean(dxhat * xhat)) / std: the xhat term is missing", batchnorm_backward_alt=_bn_backward_alt_missing_xhat_term)
mistake("batchnorm_backward_alt", "no-mean-var-path", "x also reaches the output through the batch mean and "
        "variance: dx needs those paths, not only dout * gamma / std", batchnorm_backward_alt=_bn_backward_no_mean_path)


def _ln_forward_batch_axis(x, gamma, beta, ln_param):
    eps = ln_param.get("eps", 1e-5)
    mu, var = x.mean(axis=0, keepdims=True), x.var(axis=0, keepdims=True)
    std = np.sqrt(var + eps)
    xhat = (x - mu) / std
    return gamma * xhat + beta, (xhat, std, gamma)


def _ln_backward_param_axis(dout, cache):
    dx, _, _ = N.layernorm_backward(dout, cache)
    out_dgamma = (dout * _ln_xhat(cache)).sum(axis=1)
    return dx, out_dgamma, dout.sum(axis=1)


def _ln_xhat(cache):
    # The reference's layernorm cache starts with xhat (asserted by the catalogue's tests).
    return cache[0]


mistake("layernorm_forward", "batch-axis", "layer norm normalizes each example over its features (axis=1), "
        "not each feature over the batch", layernorm_forward=_ln_forward_batch_axis)
mistake("layernorm_backward", "param-grads-wrong-axis", "dgamma and dbeta are per feature: sum over the batch "
        "(axis=0)", layernorm_backward=_ln_backward_param_axis)


# ------------------------------------------------------------------ dropout

def _dropout_variant(*, inverted=True, keep_is_p=False, mask_in_test=False):
    def forward(x, dropout_param):
        p, mode = dropout_param["p"], dropout_param["mode"]
        rng = np.random.default_rng(dropout_param.get("seed"))
        if mode == "train" or mask_in_test:
            mask = rng.random(x.shape) < p if keep_is_p else rng.random(x.shape) >= p
            scale = (1 / (1 - p) if p < 1 else 0.0) if inverted else 1.0
            return x * mask * scale, (mask, scale)
        return x.copy(), (None, 1.0)

    return forward


def _dropout_backward_unscaled(dout, cache):
    mask, _ = cache
    return dout.copy() if mask is None else dout * mask


mistake("dropout_forward", "not-inverted", "dropout is not inverted: scale the kept units by 1 / (1 - p) at "
        "train time so test mode can be the identity", dropout_forward=_dropout_variant(inverted=False))
mistake("dropout_forward", "p-is-keep", "p is the probability of DROPPING a unit (PyTorch's meaning), not of "
        "keeping it", dropout_forward=_dropout_variant(keep_is_p=True))
mistake("dropout_forward", "mask-in-test", "test mode must return x unchanged: no mask at test time",
        dropout_forward=_dropout_variant(mask_in_test=True))
mistake("dropout_backward", "not-scaled", "the backward pass must apply the same 1 / (1 - p) scale as the "
        "forward pass, not only the mask", dropout_backward=_dropout_backward_unscaled)


# ------------------------------------------------------------------ update rules

def _momentum_no_state(w, dw, config=None):
    config = dict(config or {})
    lr, mu = config.setdefault("lr", 1e-3), config.setdefault("momentum", 0.9)
    g = dw + config.get("weight_decay", 0.0) * w
    v = mu * np.zeros_like(w) + g  # velocity restarts at zero on every call
    return w - lr * v, config


def _momentum_dampened(w, dw, config=None):
    config = dict(config or {})
    lr, mu = config.setdefault("lr", 1e-3), config.setdefault("momentum", 0.9)
    g = dw + config.get("weight_decay", 0.0) * w
    v = mu * config.get("velocity", np.zeros_like(w)) + (1 - mu) * g
    config["velocity"] = v
    return w - lr * v, config


def _nesterov_as_momentum(w, dw, config=None):
    return O.sgd_momentum(w, dw, config)


def _adagrad_eps_inside(w, dw, config=None):
    config = dict(config or {})
    lr, eps = config.setdefault("lr", 1e-2), config.setdefault("eps", 1e-10)
    g = dw + config.get("weight_decay", 0.0) * w
    cache = config.get("cache", np.full_like(w, config.get("initial_accumulator_value", 0.0))) + g**2
    config["cache"] = cache
    return w - lr * g / np.sqrt(cache + eps), config


def _rmsprop_variant(*, eps_inside=False, no_one_minus=False):
    def rule(w, dw, config=None):
        config = dict(config or {})
        lr, alpha, eps = config.setdefault("lr", 1e-2), config.setdefault("alpha", 0.99), config.setdefault("eps", 1e-8)
        g = dw + config.get("weight_decay", 0.0) * w
        cache = alpha * config.get("cache", np.zeros_like(w)) + (1.0 if no_one_minus else 1 - alpha) * g**2
        config["cache"] = cache
        denom = np.sqrt(cache + eps) if eps_inside else np.sqrt(cache) + eps
        return w - lr * g / denom, config

    return rule


def _adam_variant(*, bias_correction=True, t_after=False, eps_inside=False, decoupled=False, default_wd=0.0,
                  decay_without_lr=False):
    def rule(w, dw, config=None):
        config = dict(config or {})
        lr = config.setdefault("lr", 1e-3)
        b1, b2 = config.setdefault("betas", (0.9, 0.999))
        eps, wd = config.setdefault("eps", 1e-8), config.setdefault("weight_decay", default_wd)
        if decoupled:
            w = w * (1 - (1.0 if decay_without_lr else lr) * wd)
            g = dw
        else:
            g = dw + wd * w
        t = config.get("t", 0) + (0 if t_after else 1)
        m = b1 * config.get("m", np.zeros_like(w)) + (1 - b1) * g
        v = b2 * config.get("v", np.zeros_like(w)) + (1 - b2) * g**2
        tc = max(t, 1)
        mhat, vhat = (m / (1 - b1**tc), v / (1 - b2**tc)) if bias_correction else (m, v)
        denom = np.sqrt(vhat + eps) if eps_inside else np.sqrt(vhat) + eps
        config.update(m=m, v=v, t=t + (1 if t_after else 0))
        return w - lr * mhat / denom, config

    return rule


mistake("sgd_momentum", "state-not-saved", "the velocity is not kept between calls: store it in config['velocity'] "
        "and read it back on the next call", sgd_momentum=_momentum_no_state)
mistake("sgd_momentum", "dampened", "PyTorch's momentum accumulates v = momentum * v + g (no (1 - momentum) "
        "factor on g)", sgd_momentum=_momentum_dampened)
mistake("nesterov", "plain-momentum", "that is plain momentum: Nesterov steps along g + momentum * v (the "
        "look-ahead), not v", nesterov=_nesterov_as_momentum)
mistake("adagrad", "eps-inside-sqrt", "eps goes outside the square root: sqrt(cache) + eps (it shows on "
        "coordinates with tiny gradients)", adagrad=_adagrad_eps_inside)
mistake("rmsprop", "eps-inside-sqrt", "eps goes outside the square root: sqrt(cache) + eps (it shows on "
        "coordinates with tiny gradients)", rmsprop=_rmsprop_variant(eps_inside=True))
mistake("rmsprop", "no-one-minus-alpha", "the moving average is alpha * cache + (1 - alpha) * g**2",
        rmsprop=_rmsprop_variant(no_one_minus=True))
mistake("adam", "no-bias-correction", "Adam without bias correction: divide m by (1 - beta1**t) and v by "
        "(1 - beta2**t)", adam=_adam_variant(bias_correction=False))
mistake("adam", "t-after-use", "increment t before using it in the bias correction (the first step uses t = 1)",
        adam=_adam_variant(t_after=True))
mistake("adam", "eps-inside-sqrt", "eps goes outside the square root: sqrt(v_hat) + eps",
        adam=_adam_variant(eps_inside=True))
mistake("adamw", "l2-not-decoupled", "AdamW decays the weights directly (w *= 1 - lr * weight_decay) instead of "
        "adding weight_decay * w to the gradient (that is Adam with L2)", adamw=_adam_variant(default_wd=1e-2))
mistake("adamw", "decay-without-lr", "the decoupled decay is scaled by the learning rate: w *= 1 - lr * "
        "weight_decay", adamw=_adam_variant(decoupled=True, default_wd=1e-2, decay_without_lr=True))


def _clip_per_array(grads, max_norm):
    out = {}
    for k, g in grads.items():
        norm = np.linalg.norm(g)
        out[k] = g * min(1.0, max_norm / (norm + 1e-6))
    return out


def _clip_always(grads, max_norm):
    total = np.sqrt(sum(np.sum(g**2) for g in grads.values()))
    return {k: g * max_norm / (total + 1e-6) for k, g in grads.items()}


def _clip_value_one_sided(grads, clip):
    return {k: np.minimum(g, clip) for k, g in grads.items()}


mistake("clip_grad_norm", "per-array-norm", "clip by the GLOBAL norm over all gradients together, not each "
        "array by its own norm", clip_grad_norm=_clip_per_array)
mistake("clip_grad_norm", "always-rescales", "only rescale when the total norm exceeds max_norm; smaller "
        "gradients pass unchanged", clip_grad_norm=_clip_always)
mistake("clip_grad_value", "one-sided", "clip to [-clip, clip]: negative values must be bounded too",
        clip_grad_value=_clip_value_one_sided)


# ------------------------------------------------------------------ initializers

def _xavier_fan_in_only(shape, gain=1.0, rng=None):
    bound = gain * np.sqrt(3.0 / shape[0])
    return rng.uniform(-bound, bound, size=shape)


def _xavier_normal_uniform(shape, gain=1.0, rng=None):
    bound = gain * np.sqrt(6.0 / (shape[0] + shape[1]))
    return rng.uniform(-bound, bound, size=shape)


def _kaiming_normal_no_gain(shape, gain=np.sqrt(2.0), rng=None):
    return rng.standard_normal(shape) / np.sqrt(shape[0])


def _kaiming_normal_fan_out(shape, gain=np.sqrt(2.0), rng=None):
    return gain * rng.standard_normal(shape) / np.sqrt(shape[1])


def _kaiming_uniform_bound_as_std(shape, gain=np.sqrt(2.0), rng=None):
    bound = gain / np.sqrt(shape[0])
    return rng.uniform(-bound, bound, size=shape)


def _orthogonal_no_gain(shape, gain=1.0, rng=None):
    return I.orthogonal(shape, 1.0, rng)


def _orthogonal_gaussian(shape, gain=1.0, rng=None):
    return gain * rng.standard_normal(shape) / np.sqrt(max(shape))


def _global_rng_initializer(shape, gain=1.0, rng=None):
    return I.xavier_uniform(shape, gain, np.random.default_rng())


mistake("xavier_uniform", "fan-in-only", "Xavier/Glorot averages fan_in and fan_out: "
        "bound = gain * sqrt(6 / (fan_in + fan_out))", xavier_uniform=_xavier_fan_in_only)
mistake("xavier_uniform", "ignores-rng", "draw from the rng argument, so the same generator gives the same "
        "weights", xavier_uniform=_global_rng_initializer)
mistake("xavier_normal", "uniform-instead", "xavier_normal draws from a Gaussian (std = gain * sqrt(2 / (fan_in + "
        "fan_out))), not a uniform", xavier_normal=_xavier_normal_uniform)
mistake("kaiming_normal", "no-relu-gain", "He initialization keeps the ReLU gain sqrt(2): std = gain / sqrt(fan_in)",
        kaiming_normal=_kaiming_normal_no_gain)
mistake("kaiming_normal", "fan-out", "use fan_in = shape[0] (weights are (fan_in, fan_out)), not fan_out",
        kaiming_normal=_kaiming_normal_fan_out)
mistake("kaiming_uniform", "bound-is-std", "a uniform on [-b, b] has std b / sqrt(3): the bound is gain * "
        "sqrt(3 / fan_in)", kaiming_uniform=_kaiming_uniform_bound_as_std)
mistake("orthogonal", "gain-ignored", "multiply the orthogonal matrix by gain", orthogonal=_orthogonal_no_gain)
mistake("orthogonal", "not-orthogonalized", "a scaled Gaussian is not orthogonal: take Q from a QR decomposition",
        orthogonal=_orthogonal_gaussian)


# ------------------------------------------------------------------ the network

class _RegOnAllParams(M.FullyConnectedNet):
    def loss(self, X, y=None):
        result = super().loss(X, y)
        if y is None:
            return result
        loss, grads = result
        for k, v in self.params.items():
            if not k.startswith("W"):
                loss += 0.5 * self.reg * np.sum(v**2)
                grads[k] = grads[k] + self.reg * v
        return loss, grads


class _RegWithoutHalf(M.FullyConnectedNet):
    def loss(self, X, y=None):
        result = super().loss(X, y)
        if y is None:
            return result
        loss, grads = result
        loss += 0.5 * self.reg * sum(np.sum(v**2) for k, v in self.params.items() if k.startswith("W"))
        return loss, grads


class _TwoLayerReluMaskFromOutput(M.TwoLayerNet):
    """Backpropagates through ReLU with the mask of the upstream gradient instead of the input."""

    def loss(self, X, y=None):
        W1, b1, W2, b2 = (self.params[k] for k in ("W1", "b1", "W2", "b2"))
        h = np.maximum(0, X @ W1 + b1)
        scores = h @ W2 + b2
        if y is None:
            return scores
        loss, dscores = L.softmax_loss(scores, y)
        loss += 0.5 * self.reg * (np.sum(W1**2) + np.sum(W2**2))
        dh = dscores @ W2.T
        dh = dh * (dh > 0)
        return loss, {"W1": X.T @ dh + self.reg * W1, "b1": dh.sum(axis=0),
                      "W2": h.T @ dscores + self.reg * W2, "b2": dscores.sum(axis=0)}


mistake("two_layer_net", "relu-mask-from-gradient", "backpropagate through the ReLU with the mask of its forward "
        "input (h > 0), not of the gradient", TwoLayerNet=_TwoLayerReluMaskFromOutput)

for _check in ("fcnet_plain", "fcnet_regularization"):
    mistake(_check, "reg-on-biases", "L2 regularization applies to the weights W only, not to biases (or gamma, beta)",
            FullyConnectedNet=_RegOnAllParams)
    mistake(_check, "reg-gradient-mismatch", "the L2 term 0.5 * reg * sum(W**2) has gradient reg * W: the loss and "
            "the gradient must use the same factor", FullyConnectedNet=_RegWithoutHalf)
