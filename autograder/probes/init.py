"""Probes for the weight initializers of a2_optimizers.

Initializers are random, and students may draw their numbers in any correct way, so the outputs
compared are statistics of a large matrix (tens of thousands of entries): its standard deviation
(which encodes the fan-in/fan-out formula and the gain), the fraction of entries beyond two
standard deviations (about 4.6% for a Gaussian, 0 for a uniform), orthogonality for `orthogonal`,
and reproducibility from the generator passed in.
"""
from __future__ import annotations

import numpy as np

from autograder.probes import Case, Probe, Rule, need, register, rng_for

SHAPES = [((300, 200), None), ((100, 400), 1.5)]
ORTHOGONAL_SHAPES = [((300, 200), None), ((100, 400), 2.0), ((64, 64), 1.0)]


def _cases(name: str, table) -> list[Case]:
    cases = []
    for i, (shape, gain) in enumerate(table):
        label = f"shape {shape}, " + ("default gain" if gain is None else f"gain={gain}")
        cases.append(Case(label, {"shape": shape, "gain": gain, "seed": int(rng_for(name, i).integers(1 << 30))}))
    return cases


def _draw(ns, name, a, seed):
    fn = need(ns, name)
    rng = np.random.default_rng(seed)
    w = fn(a["shape"], rng=rng) if a["gain"] is None else fn(a["shape"], gain=a["gain"], rng=rng)
    w = np.asarray(w, dtype=np.float64)
    if w.shape != tuple(a["shape"]):
        raise ValueError(f"{name} returned shape {w.shape}, expected {tuple(a['shape'])}")
    return w


def _reproducibility(ns, name, a, w):
    again = _draw(ns, name, a, a["seed"])
    other = _draw(ns, name, a, a["seed"] + 1)
    return {
        "same generator seed, same weights": float(np.array_equal(w, again)),
        "other seed, other weights": float(not np.array_equal(w, other)),
    }


def _run_statistics(name: str):
    def run(ns, a):
        w = _draw(ns, name, a, a["seed"])
        std = w.std()
        return {
            "std": std,
            "mean / std": w.mean() / std if std > 0 else np.inf,
            "fraction beyond 2 std": float(np.mean(np.abs(w - w.mean()) > 2 * std)),
            **_reproducibility(ns, name, a, w),
        }

    return run


def _run_orthogonal(ns, a):
    w = _draw(ns, "orthogonal", a, a["seed"])
    gain = 1.0 if a["gain"] is None else a["gain"]
    gram = w.T @ w if w.shape[0] >= w.shape[1] else w @ w.T
    return {
        "orthogonality error": float(np.max(np.abs(gram - gain**2 * np.eye(len(gram))))),
        **_reproducibility(ns, "orthogonal", a, w),
    }


def _torch_statistics(name: str):
    """torch.nn.init on the transposed torch layout (out, in): the same formulas, a second opinion."""

    def oracle(a):
        import torch

        fan_in, fan_out = a["shape"]
        weight = torch.empty(fan_out, fan_in, dtype=torch.float64)
        generator = torch.Generator().manual_seed(a["seed"])
        gain = a["gain"]
        if name.startswith("xavier"):
            getattr(torch.nn.init, name + "_")(weight, gain=1.0 if gain is None else gain, generator=generator)
        else:
            # torch's kaiming takes the nonlinearity, not the gain: a = 0 with 'relu' is gain sqrt(2);
            # an explicit gain g is the 'linear' gain 1 scaled by g.
            fn = getattr(torch.nn.init, name + "_")
            if gain is None:
                fn(weight, mode="fan_in", nonlinearity="relu", generator=generator)
            else:
                fn(weight, mode="fan_in", nonlinearity="linear", generator=generator)
                weight *= gain
        return {"std": weight.std(unbiased=False).item()}

    return oracle


_STATISTICS_RULES = {
    "std": Rule("relative", 0.05),
    "mean / std": Rule("absolute", 0.05),
    "fraction beyond 2 std": Rule("absolute", 0.01),
    "same generator seed, same weights": Rule("absolute", 0.0),
    "other seed, other weights": Rule("absolute", 0.0),
}

for _name in ("xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal"):
    register(Probe(_name, _name, cases=lambda n=_name: _cases(n, SHAPES), run=_run_statistics(_name),
                   torch=_torch_statistics(_name), rules=_STATISTICS_RULES))

register(Probe(
    "orthogonal", "orthogonal", cases=lambda: _cases("orthogonal", ORTHOGONAL_SHAPES), run=_run_orthogonal,
    rules={"orthogonality error": Rule("absolute", 1e-8),
           "same generator seed, same weights": Rule("absolute", 0.0),
           "other seed, other weights": Rule("absolute", 0.0)},
))
