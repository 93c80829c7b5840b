"""Reference first-order update rules and gradient clipping.

Every update rule has the same interface:

    next_w, config = update(w, dw, config=None)

Inputs:
- w: array of any shape, the current weights
- dw: array shaped like w, the gradient of the loss with respect to w
- config: dict of hyperparameters and state (moving averages, step count), or None on the
  first step. Missing hyperparameters take their defaults; missing state starts at zero.

Returns (next_w, config): next_w is shaped like w; config is a NEW dict holding the
hyperparameters and the updated state, to be passed to the next call. Neither the config
passed in nor any array in it is modified; the state arrays are replaced.

Keys, defaults and formulas follow torch.optim exactly (each rule lists its own), so feeding
the same gradients to a rule here and to its PyTorch optimizer gives the same weights. In
particular `weight_decay` is L2 regularization added to the gradient, g = dw + weight_decay * w,
in every rule except adamw, where it is decoupled from the gradient.

UPDATE_RULES maps each rule's name to the function.
"""
import numpy as np


def sgd(w, dw, config=None):
    """Vanilla stochastic gradient descent: w -= lr * g (torch.optim.SGD).

    config:
    - lr: learning rate, default 1e-3
    - weight_decay: L2 coefficient added to the gradient, default 0
    """
    config = dict(config or {})
    config.setdefault("lr", 1e-3)
    config.setdefault("weight_decay", 0.0)

    g = dw + config["weight_decay"] * w
    next_w = w - config["lr"] * g
    return next_w, config


def sgd_momentum(w, dw, config=None):
    """SGD with momentum, PyTorch's form: v = momentum * v + g; w -= lr * v.

    CS231n's form, v = momentum * v - lr * g; w += v, gives the same steps for a constant lr
    but stores v scaled by -lr.

    config:
    - lr: learning rate, default 1e-3
    - momentum: default 0.9 (torch.optim.SGD's default is 0: pass momentum=0.9 explicitly)
    - weight_decay: L2 coefficient added to the gradient, default 0
    - velocity: state, shaped like w (zeros at first)
    """
    config = dict(config or {})
    config.setdefault("lr", 1e-3)
    config.setdefault("momentum", 0.9)
    config.setdefault("weight_decay", 0.0)
    v = config.get("velocity", np.zeros_like(w))

    g = dw + config["weight_decay"] * w
    v = config["momentum"] * v + g
    next_w = w - config["lr"] * v
    config["velocity"] = v
    return next_w, config


def nesterov(w, dw, config=None):
    """Nesterov momentum, PyTorch's form (SGD with nesterov=True):
    v = momentum * v + g; w -= lr * (g + momentum * v).

    config:
    - lr: learning rate, default 1e-3
    - momentum: default 0.9
    - weight_decay: L2 coefficient added to the gradient, default 0
    - velocity: state, shaped like w (zeros at first)
    """
    config = dict(config or {})
    config.setdefault("lr", 1e-3)
    config.setdefault("momentum", 0.9)
    config.setdefault("weight_decay", 0.0)
    v = config.get("velocity", np.zeros_like(w))

    g = dw + config["weight_decay"] * w
    v = config["momentum"] * v + g
    next_w = w - config["lr"] * (g + config["momentum"] * v)
    config["velocity"] = v
    return next_w, config


def adagrad(w, dw, config=None):
    """Adagrad: per-coordinate step sizes shrinking with the sum of squared gradients
    (torch.optim.Adagrad): cache += g**2; w -= lr * g / (sqrt(cache) + eps).

    config:
    - lr: learning rate, default 1e-2
    - eps: added to sqrt(cache), outside the square root, default 1e-10
    - weight_decay: L2 coefficient added to the gradient, default 0
    - initial_accumulator_value: the starting value of cache, default 0
    - cache: state, shaped like w, the running sum of squared gradients
    """
    config = dict(config or {})
    config.setdefault("lr", 1e-2)
    config.setdefault("eps", 1e-10)
    config.setdefault("weight_decay", 0.0)
    config.setdefault("initial_accumulator_value", 0.0)
    cache = config.get("cache", np.full_like(w, config["initial_accumulator_value"]))

    g = dw + config["weight_decay"] * w
    cache = cache + g**2
    next_w = w - config["lr"] * g / (np.sqrt(cache) + config["eps"])
    config["cache"] = cache
    return next_w, config


def rmsprop(w, dw, config=None):
    """RMSProp: divide by a moving root mean square of the gradient (torch.optim.RMSprop):
    cache = alpha * cache + (1 - alpha) * g**2; w -= lr * g / (sqrt(cache) + eps).

    config:
    - lr: learning rate, default 1e-2
    - alpha: decay rate of the moving average, default 0.99 (CS231n calls it decay_rate)
    - eps: added to sqrt(cache), outside the square root, default 1e-8
    - weight_decay: L2 coefficient added to the gradient, default 0
    - cache: state, shaped like w (zeros at first)
    """
    config = dict(config or {})
    config.setdefault("lr", 1e-2)
    config.setdefault("alpha", 0.99)
    config.setdefault("eps", 1e-8)
    config.setdefault("weight_decay", 0.0)
    cache = config.get("cache", np.zeros_like(w))

    g = dw + config["weight_decay"] * w
    cache = config["alpha"] * cache + (1 - config["alpha"]) * g**2
    next_w = w - config["lr"] * g / (np.sqrt(cache) + config["eps"])
    config["cache"] = cache
    return next_w, config


def adam(w, dw, config=None):
    """Adam with bias correction, torch.optim.Adam's exact arithmetic:
    t += 1 (before use); m = b1 * m + (1 - b1) * g; v = b2 * v + (1 - b2) * g**2;
    step_size = lr / (1 - b1**t); denom = sqrt(v) / sqrt(1 - b2**t) + eps;
    w -= step_size * m / denom.

    config:
    - lr: learning rate, default 1e-3
    - betas: (b1, b2), decay rates of the two moments, default (0.9, 0.999)
    - eps: added to the corrected sqrt(v), outside the square root, default 1e-8
    - weight_decay: L2 coefficient added to the gradient, default 0 (see adamw for decoupled)
    - m, v: state, shaped like w (zeros at first); t: state, the step count (0 at first)
    """
    config = dict(config or {})
    config.setdefault("lr", 1e-3)
    config.setdefault("betas", (0.9, 0.999))
    config.setdefault("eps", 1e-8)
    config.setdefault("weight_decay", 0.0)
    m = config.get("m", np.zeros_like(w))
    v = config.get("v", np.zeros_like(w))
    t = config.get("t", 0) + 1
    b1, b2 = config["betas"]

    g = dw + config["weight_decay"] * w
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g**2
    step_size = config["lr"] / (1 - b1**t)
    denom = np.sqrt(v) / np.sqrt(1 - b2**t) + config["eps"]
    next_w = w - step_size * m / denom
    config.update(m=m, v=v, t=t)
    return next_w, config


def adamw(w, dw, config=None):
    """Adam with decoupled weight decay (torch.optim.AdamW): first w = w * (1 - lr * weight_decay),
    then the Adam step of `adam` with the plain gradient dw.

    config:
    - lr: learning rate, default 1e-3
    - betas: default (0.9, 0.999)
    - eps: default 1e-8
    - weight_decay: decoupled decay coefficient, default 1e-2 (not added to the gradient)
    - m, v, t: state, as in adam
    """
    config = dict(config or {})
    config.setdefault("lr", 1e-3)
    config.setdefault("betas", (0.9, 0.999))
    config.setdefault("eps", 1e-8)
    config.setdefault("weight_decay", 1e-2)
    m = config.get("m", np.zeros_like(w))
    v = config.get("v", np.zeros_like(w))
    t = config.get("t", 0) + 1
    b1, b2 = config["betas"]

    w = w * (1 - config["lr"] * config["weight_decay"])
    m = b1 * m + (1 - b1) * dw
    v = b2 * v + (1 - b2) * dw**2
    step_size = config["lr"] / (1 - b1**t)
    denom = np.sqrt(v) / np.sqrt(1 - b2**t) + config["eps"]
    next_w = w - step_size * m / denom
    config.update(m=m, v=v, t=t)
    return next_w, config


def clip_grad_norm(grads, max_norm):
    """Scale all gradients together so that their global L2 norm is at most max_norm
    (torch.nn.utils.clip_grad_norm_, returning new arrays instead of clipping in place).

    The norm is taken over every entry of every array, as if they were one vector. The scale
    is max_norm / (total_norm + 1e-6), applied only when it is below 1.

    Inputs:
    - grads: dict name -> gradient array (any shapes)
    - max_norm: positive float

    Returns a new dict with the same keys; each array has its input's shape.
    """
    total_norm = np.sqrt(sum(np.sum(g**2) for g in grads.values()))
    coef = max_norm / (total_norm + 1e-6)
    if coef >= 1:
        return {name: g.copy() for name, g in grads.items()}
    return {name: g * coef for name, g in grads.items()}


def clip_grad_value(grads, clip):
    """Clip every gradient entry to [-clip, clip] (torch.nn.utils.clip_grad_value_, returning
    new arrays instead of clipping in place).

    Inputs:
    - grads: dict name -> gradient array (any shapes)
    - clip: positive float

    Returns a new dict with the same keys; each array has its input's shape.
    """
    return {name: np.clip(g, -clip, clip) for name, g in grads.items()}


UPDATE_RULES = {
    "sgd": sgd,
    "sgd_momentum": sgd_momentum,
    "nesterov": nesterov,
    "adagrad": adagrad,
    "rmsprop": rmsprop,
    "adam": adam,
    "adamw": adamw,
}
