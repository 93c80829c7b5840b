"""Checks for the weight initializers of a2_optimizers.

Initializers are random, and students may draw their numbers in any correct way, so the outputs
compared are statistics of a large matrix, computed here from the student's raw draws: its
standard deviation (which encodes the fan-in/fan-out formula and the gain), its mean, the
fraction of entries beyond two standard deviations (about 4.6% for a Gaussian, 0 for a uniform),
orthogonality for `orthogonal`, and reproducibility from the generator passed in.
"""
from __future__ import annotations

import numpy as np

from autograder.spec.checks import Case, Check, Rule, register, rng_for

SHAPES = [((300, 200), None), ((100, 400), 1.5)]
ORTHOGONAL_SHAPES = [((300, 200), None), ((100, 400), 2.0), ((64, 64), 1.0)]


def _cases(name: str, table) -> list[Case]:
    cases = []
    for i, (shape, gain) in enumerate(table):
        label = f"shape {shape}, " + ("default gain" if gain is None else f"gain={gain}")
        cases.append(Case(label, {"shape": shape, "gain": gain, "seed": int(rng_for(name, i).integers(1 << 30))}))
    return cases


def _reproducibility(raw) -> dict:
    w = raw["w"]
    return {
        "same generator seed, same weights": float(np.array_equal(w, raw["same seed"])),
        "other seed, other weights": float(not np.array_equal(w, raw["other seed"])),
    }


def _statistics(raw, inputs) -> dict:
    w = raw["w"]
    std = float(w.std())
    return {
        "std": std,
        "mean / std": float(w.mean() / std) if std > 0 else np.inf,
        "fraction beyond 2 std": float(np.mean(np.abs(w - w.mean()) > 2 * std)),
        # The shape of the distribution: 0 for a Gaussian, -1.2 for a uniform, -2 for random signs.
        "excess kurtosis": float(np.mean((w - w.mean()) ** 4) / std**4 - 3) if std > 0 else np.inf,
        **_reproducibility(raw),
    }


def _orthogonality(raw, inputs) -> dict:
    w = raw["w"]
    gain = 1.0 if inputs["gain"] is None else inputs["gain"]
    gram = w.T @ w if w.shape[0] >= w.shape[1] else w @ w.T
    # A random rotation spreads every row over all columns; a signed permutation is orthogonal too,
    # but its entries are 0 and +-gain.
    return {"orthogonality error": float(np.max(np.abs(gram - gain**2 * np.eye(len(gram))))),
            "largest |entry| / gain": float(np.max(np.abs(w)) / gain), **_reproducibility(raw)}


def _torch_statistics(name: str):
    """torch.nn.init on the transposed torch layout (out, in): the same formulas, a second opinion."""

    def oracle(a):
        import torch

        fan_in, fan_out = a["shape"]
        weight = torch.empty(fan_out, fan_in, dtype=torch.float64)
        generator = torch.Generator().manual_seed(a["seed"])
        gain = a["gain"]
        fn = getattr(torch.nn.init, name + "_")
        if name.startswith("xavier"):
            fn(weight, gain=1.0 if gain is None else gain, generator=generator)
        elif gain is None:
            # torch's kaiming takes the nonlinearity, not the gain: 'relu' is gain sqrt(2).
            fn(weight, mode="fan_in", nonlinearity="relu", generator=generator)
        else:
            fn(weight, mode="fan_in", nonlinearity="linear", generator=generator)  # gain 1, scaled below
            weight *= gain
        return {"std": weight.std(unbiased=False).item()}

    return oracle


REPRODUCIBILITY_RULES = {"same generator seed, same weights": Rule("absolute", 0.0),
                         "other seed, other weights": Rule("absolute", 0.0)}
STATISTICS_RULES = {"std": Rule("relative", 0.05), "mean / std": Rule("absolute", 0.05),
                    "fraction beyond 2 std": Rule("absolute", 0.01),
                    "excess kurtosis": Rule("absolute", 0.3),  # its standard error is about 0.02 here
                    **REPRODUCIBILITY_RULES}

for _name in ("xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal"):
    register(Check(_name, _name, cases=lambda n=_name: _cases(n, SHAPES), torch=_torch_statistics(_name),
                   rules=STATISTICS_RULES, derive=_statistics))

register(Check("orthogonal", "orthogonal", cases=lambda: _cases("orthogonal", ORTHOGONAL_SHAPES), derive=_orthogonality,
               rules={"orthogonality error": Rule("absolute", 1e-8), "largest |entry| / gain": Rule("absolute", 0.35),
                      **REPRODUCIBILITY_RULES}))
