"""Probes for batch and layer normalization (a3_normalization), with their PyTorch oracles.

batchnorm_forward is exercised the way a network uses it: two training batches (the running
statistics must follow torch's momentum and unbiased-variance update), then one test batch
(which must use the running statistics, also for a single example).
"""
from __future__ import annotations

import numpy as np

from autograder.probes import Case, Probe, call_pair, need, register, rng_for, shapes_label

# (N, D, offset, scale, bn_param extras): defaults, explicit momentum/eps, large offsets.
BATCHNORM_CASES = [
    (8, 5, 2.0, 3.0, {}),
    (2, 3, 0.0, 1.0, {}),
    (16, 4, -1.0, 0.5, {"momentum": 0.3, "eps": 1e-3}),
    (32, 6, 100.0, 10.0, {}),
]
LAYERNORM_CASES = [(4, 5, 0.0, 1.0, {}), (1, 6, 1.0, 2.0, {}), (3, 7, 50.0, 100.0, {"eps": 1e-3})]


def _label(x, extras, offset):
    text = shapes_label(x=x)
    if extras:
        text += ", " + ", ".join(f"{k}={v}" for k, v in extras.items())
    return text + (", large mean offset" if abs(offset) >= 50 else "")


def _batchnorm_forward_cases() -> list[Case]:
    cases = []
    for i, (n, d, offset, scale, extras) in enumerate(BATCHNORM_CASES):
        rng = rng_for("batchnorm_forward", i)
        batches = [offset + scale * rng.standard_normal((n, d)) for _ in range(2)]
        inputs = {
            "x1": batches[0], "x2": batches[1],
            "x_test": offset + scale * rng.standard_normal((1 if i == 1 else n, d)),
            "gamma": 1 + 0.5 * rng.standard_normal(d), "beta": rng.standard_normal(d),
            "extras": extras,
        }
        cases.append(Case(_label(batches[0], extras, offset) + ", two training batches then a test batch", inputs))
    return cases


def _run_batchnorm_forward(ns, a):
    fn = need(ns, "batchnorm_forward")
    bn_param = {"mode": "train", **a["extras"]}
    out, _ = call_pair(fn(a["x1"], a["gamma"], a["beta"], bn_param), "batchnorm_forward")
    call_pair(fn(a["x2"], a["gamma"], a["beta"], bn_param), "batchnorm_forward")
    for key in ("running_mean", "running_var"):
        if key not in bn_param:
            raise KeyError(f"batchnorm_forward did not store bn_param['{key}'] in train mode")
    running = {"running_mean": np.array(bn_param["running_mean"]), "running_var": np.array(bn_param["running_var"])}
    bn_param["mode"] = "test"
    out_test, _ = call_pair(fn(a["x_test"], a["gamma"], a["beta"], bn_param), "batchnorm_forward")
    return {"out": out, **running, "out_test": out_test}


def _batchnorm_forward_torch(a):
    torch, o = _torch()
    d = a["x1"].shape[1]
    bn = torch.nn.BatchNorm1d(d, eps=a["extras"].get("eps", 1e-5), momentum=a["extras"].get("momentum", 0.1))
    bn = bn.to(device=o.device, dtype=o.dtype)
    with torch.no_grad():
        bn.weight.copy_(o.tensor(a["gamma"]))
        bn.bias.copy_(o.tensor(a["beta"]))
        bn.train()
        out = bn(o.tensor(a["x1"]))
        bn(o.tensor(a["x2"]))
        bn.eval()
        out_test = bn(o.tensor(a["x_test"]))
    return {k: v.cpu().numpy() for k, v in {
        "out": out, "running_mean": bn.running_mean, "running_var": bn.running_var, "out_test": out_test}.items()}


def _torch():
    import torch

    from course.torch_bridge import oracle

    return torch, oracle()


register(Probe(
    "batchnorm_forward", "batchnorm_forward",
    cases=_batchnorm_forward_cases, run=_run_batchnorm_forward, torch=_batchnorm_forward_torch,
))


# ------------------------------------------------------------------ backward passes

def _backward_cases(name: str, table) -> list[Case]:
    cases = []
    for i, (n, d, offset, scale, extras) in enumerate(table):
        if n < 2 and name.startswith("batchnorm"):
            continue  # train-mode batchnorm needs two examples
        rng = rng_for(name, i)
        x = offset + scale * rng.standard_normal((n, d))
        inputs = {"x": x, "gamma": 1 + 0.5 * rng.standard_normal(d), "beta": rng.standard_normal(d),
                  "dout": rng.standard_normal((n, d)), "extras": extras}
        cases.append(Case(_label(x, extras, offset), inputs))
    return cases


def _norm_backward(norm: str, backward: str):
    forward = f"{norm}_forward"

    def run(ns, a):
        param = {"mode": "train", **a["extras"]} if norm == "batchnorm" else dict(a["extras"])
        _, cache = call_pair(need(ns, forward)(a["x"], a["gamma"], a["beta"], param), forward)
        result = need(ns, backward)(a["dout"], cache)
        if not isinstance(result, tuple) or len(result) != 3:
            raise TypeError(f"{backward} must return a tuple (dx, dgamma, dbeta), got {type(result).__name__}")
        return dict(zip(("dx", "dgamma", "dbeta"), result))

    return run


def _norm_torch(norm: str):
    def oracle(a):
        torch, o = _torch()
        x, gamma, beta = (o.tensor(a[k], requires_grad=True) for k in ("x", "gamma", "beta"))
        eps = a["extras"].get("eps", 1e-5)
        if norm == "batchnorm":
            out = torch.nn.functional.batch_norm(x, None, None, gamma, beta, training=True, eps=eps)
        else:
            out = torch.nn.functional.layer_norm(x, x.shape[1:], gamma, beta, eps=eps)
        result = {"out": out.detach().cpu().numpy()}
        if "dout" in a:
            out.backward(o.tensor(a["dout"]))
            result = {"dx": x.grad, "dgamma": gamma.grad, "dbeta": beta.grad}
            result = {k: v.cpu().numpy() for k, v in result.items()}
        return result

    return oracle


for _name in ("batchnorm_backward", "batchnorm_backward_alt"):
    register(Probe(
        _name, _name, cases=lambda n=_name: _backward_cases(n, BATCHNORM_CASES),
        run=_norm_backward("batchnorm", _name), torch=_norm_torch("batchnorm"),
    ))


def _layernorm_forward_cases() -> list[Case]:
    cases = _backward_cases("layernorm_forward", LAYERNORM_CASES)
    return [Case(c.label, {k: v for k, v in c.inputs.items() if k != "dout"}) for c in cases]


def _run_layernorm_forward(ns, a):
    out, _ = call_pair(need(ns, "layernorm_forward")(a["x"], a["gamma"], a["beta"], dict(a["extras"])), "layernorm_forward")
    return {"out": out}


register(Probe(
    "layernorm_forward", "layernorm_forward",
    cases=_layernorm_forward_cases, run=_run_layernorm_forward, torch=_norm_torch("layernorm"),
))
register(Probe(
    "layernorm_backward", "layernorm_backward",
    cases=lambda: _backward_cases("layernorm_backward", LAYERNORM_CASES),
    run=_norm_backward("layernorm", "layernorm_backward"), torch=_norm_torch("layernorm"),
))
