"""Checks for batch and layer normalization (a3_normalization), with their PyTorch oracles.

batchnorm_forward runs two training batches (the running statistics must follow torch's momentum
and unbiased-variance update), then one test batch (which must use the running statistics, also
for a single example).
"""
from __future__ import annotations

from autograder.spec.checks import (
    CASE_SECONDS, LARGE_CASE_SECONDS, LARGE_NOTE, Case, Check, register, rng_for, shapes_label, torch_oracle,
)

# (N, D, offset, scale, param extras): defaults, explicit momentum/eps, large offsets.
BATCHNORM_CASES = [
    (8, 5, 2.0, 3.0, {}),
    (2, 3, 0.0, 1.0, {}),
    (16, 4, -1.0, 0.5, {"momentum": 0.3, "eps": 1e-3}),
    (32, 6, 100.0, 10.0, {}),
]
LAYERNORM_CASES = [(4, 5, 0.0, 1.0, {}), (1, 6, 1.0, 2.0, {}), (3, 7, 50.0, 100.0, {"eps": 1e-3})]
LARGE = (200, 300, 1.0, 2.0, {})  # 60,000 inputs: a numerical dx needs 120,000 forward passes


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


def _batchnorm_forward_torch(a):
    torch, o = torch_oracle()
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


register(Check("batchnorm_forward", "batchnorm_forward", cases=_batchnorm_forward_cases, torch=_batchnorm_forward_torch))


def _backward_cases(name: str, table, large: bool = True) -> list[Case]:
    cases = []
    for i, (n, d, offset, scale, extras) in enumerate(table + ([LARGE] if large else [])):
        if n < 2 and name.startswith("batchnorm"):
            continue  # train-mode batchnorm needs two examples
        rng = rng_for(name, i)
        x = offset + scale * rng.standard_normal((n, d))
        inputs = {"x": x, "gamma": 1 + 0.5 * rng.standard_normal(d), "beta": rng.standard_normal(d),
                  "dout": rng.standard_normal((n, d)), "extras": extras}
        is_large = large and i == len(table)
        cases.append(Case(_label(x, extras, offset) + (LARGE_NOTE if is_large else ""), inputs,
                          LARGE_CASE_SECONDS if is_large else CASE_SECONDS))
    return cases


def _norm_torch(norm: str):
    def oracle(a):
        torch, o = torch_oracle()
        x, gamma, beta = (o.tensor(a[k], requires_grad=True) for k in ("x", "gamma", "beta"))
        eps = a["extras"].get("eps", 1e-5)
        if norm == "batchnorm":
            out = torch.nn.functional.batch_norm(x, None, None, gamma, beta, training=True, eps=eps)
        else:
            out = torch.nn.functional.layer_norm(x, x.shape[1:], gamma, beta, eps=eps)
        if "dout" not in a:
            return {"out": out.detach().cpu().numpy()}
        out.backward(o.tensor(a["dout"]))
        return {"dx": x.grad.cpu().numpy(), "dgamma": gamma.grad.cpu().numpy(), "dbeta": beta.grad.cpu().numpy()}

    return oracle


for _name in ("batchnorm_backward", "batchnorm_backward_alt"):
    register(Check(_name, _name, cases=lambda n=_name: _backward_cases(n, BATCHNORM_CASES),
                   torch=_norm_torch("batchnorm"), uses=("batchnorm_forward",)))


def _layernorm_forward_cases() -> list[Case]:
    cases = _backward_cases("layernorm_forward", LAYERNORM_CASES, large=False)
    return [Case(c.label, {k: v for k, v in c.inputs.items() if k != "dout"}) for c in cases]


register(Check("layernorm_forward", "layernorm_forward", cases=_layernorm_forward_cases, torch=_norm_torch("layernorm")))
register(Check("layernorm_backward", "layernorm_backward", cases=lambda: _backward_cases("layernorm_backward", LAYERNORM_CASES),
               torch=_norm_torch("layernorm"), uses=("layernorm_forward",)))
