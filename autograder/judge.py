"""Judge recorded runs of a probe against the NumPy reference and the PyTorch oracle.

`assess(probe, runs, points)` compares recorded runs (from `autograder.recording`) with the
reference (`solutions`) and the PyTorch oracle, looks up known mistakes for the outputs that
differ, and returns a `Report` with the score and the feedback. It never calls student code, so
it runs in a clean process on runs read back from wherever the student's code ran.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from autograder.probes import Case, Probe
from autograder.recording import Run, execute

# ------------------------------------------------------------------ judging recorded runs

@dataclass
class Finding:
    """One compared output of one case. `error` is set when the output merely differs in value."""

    case: str
    output: str
    passed: bool
    message: str = ""
    hint: str | None = None
    error: float | None = None


@dataclass
class Report:
    """The verdict on one graded item: findings, score and feedback text."""

    function: str
    points: float
    findings: list[Finding]

    @property
    def fraction(self) -> float:
        return sum(f.passed for f in self.findings) / len(self.findings) if self.findings else 0.0

    @property
    def score(self) -> float:
        return round(self.points * self.fraction, 2)

    @property
    def hints(self) -> list[str]:
        return list(dict.fromkeys(f.hint for f in self.findings if f.hint))

    def feedback(self, max_cases: int = 6) -> str:
        """A few lines a student can act on: per failing case what differs, then the hints."""
        passed = sum(f.passed for f in self.findings)
        lines = [f"{self.function}: {passed}/{len(self.findings)} checks passed, "
                 f"{self.score:g} of {self.points:g} points"]
        by_case: dict[str, list[Finding]] = {}
        for f in self.findings:
            if not f.passed:
                by_case.setdefault(f.case, []).append(f)
        for i, (case, failures) in enumerate(by_case.items()):
            if i == max_cases:
                lines.append(f"  ... and {len(by_case) - max_cases} more failing cases")
                break
            lines.append(f"  - {case}: {_summarize(failures)}")
        lines += [f"  Hint: {h}" for h in self.hints]
        if not by_case:
            lines.append("  All checks passed.")
        return "\n".join(lines)


def _summarize(failures: list[Finding]) -> str:
    """One clause per kind of failure; outputs that merely differ in value are named together."""
    differing = [f for f in failures if f.error is not None]
    clauses = list(dict.fromkeys(f.message for f in failures if f.error is None))
    if len(differing) == 1:
        clauses.append(differing[0].message)
    elif differing:
        names = ", ".join(f.output for f in differing)
        worst = max(f.error for f in differing)
        clauses.append(f"{names} differ from the reference (largest error {worst:.2g} relative to the largest value)")
    return "; ".join(clauses)


@lru_cache(maxsize=1)
def reference_namespace() -> dict:
    """Every public name of the NumPy reference, as a notebook namespace would hold them."""
    import importlib

    namespace = {}
    for module in ("layers", "normalization", "dropout", "optim", "init", "models"):
        mod = importlib.import_module(f"solutions.{module}")
        namespace.update({k: v for k, v in vars(mod).items() if not k.startswith("_")})
    return namespace


def _describe_difference(probe: Probe, key: str, actual, expected, against: str) -> str:
    a, e = np.asarray(actual), np.asarray(expected)
    if a.shape != e.shape:
        return f"{key} has shape {a.shape}, expected {e.shape}"
    if not np.all(np.isfinite(a)) and np.all(np.isfinite(e)):
        return f"{key} contains nan or inf (overflow?)"
    if e.size == 1 and probe.rule(key).kind != "tolerance":
        return f"{key} is {float(a.ravel()[0]):.4g}, expected {float(e.ravel()[0]):.4g}"
    _, err = probe.rule(key).close(a, e)
    return f"{key} differs from {against} (error {err:.2g} relative to the largest value)"


def assess(probe: Probe, runs: list[Run], points: float, mistakes=None) -> Report:
    """Judge recorded runs of `probe` (see the module docstring). `mistakes` defaults to the catalogue."""
    from autograder.mistakes import mistakes_for

    cases = {c.label: c for c in probe.cases()}
    known = mistakes_for(probe.check_id) if mistakes is None else mistakes
    findings = []
    for run in runs:
        case = cases.get(run.case)
        if case is None:
            continue  # a forged or stale case label earns nothing
        findings.extend(_judge_case(probe, case, run, known))
    missing = set(cases) - {r.case for r in runs}
    findings.extend(Finding(label, "*", False, "was not run") for label in sorted(missing))
    return Report(probe.function, points, findings)


# Reference, oracle and known-mistake outputs depend only on the probe and the case: computed once
# per grading process, however many students are judged.
_CACHE: dict[tuple, object] = {}


def _cached(key: tuple, compute):
    if key not in _CACHE:
        _CACHE[key] = compute()
    return _CACHE[key]


def _judge_case(probe: Probe, case: Case, run: Run, known) -> list[Finding]:
    reference = _cached(("reference", probe.check_id, case.label),
                        lambda: execute(probe, reference_namespace(), [case])[0])
    if reference.error:
        raise RuntimeError(f"the reference fails on {probe.check_id} / {case.label}: {reference.error}")
    keys = list(reference.outputs)
    if run.error is not None:
        hint = _exception_hint(run.error)
        return [Finding(case.label, k, False, f"raised {run.error}", hint) for k in keys]
    oracle = _cached(("torch", probe.check_id, case.label),
                     lambda: probe.torch(copy.deepcopy(case.inputs)) if probe.torch else {})
    findings = []
    variant_outputs = None
    for key in keys:
        actual = (run.outputs or {}).get(key)
        if actual is None:
            findings.append(Finding(case.label, key, False, f"{key} is missing (returned None?)"))
            continue
        ok, _ = probe.rule(key).close(actual, reference.outputs[key])
        against = "the reference"
        if ok and key in oracle:
            ok, _ = probe.rule(key).close(actual, oracle[key])
            against = "PyTorch"
        if ok:
            findings.append(Finding(case.label, key, True))
            continue
        expected = reference.outputs[key] if against == "the reference" else oracle[key]
        message = _describe_difference(probe, key, actual, expected, against)
        error = probe.rule(key).close(actual, expected)[1] if "differs from" in message else None
        if variant_outputs is None:
            variant_outputs = [(m, _cached(("mistake", probe.check_id, case.label, m.slug, id(m)),
                                           lambda m=m: execute(probe, {**reference_namespace(), **m.replace}, [case])[0]))
                               for m in known]
        hint = next((m.hint for m, v in variant_outputs if _matches(probe, key, actual, v, reference)), None)
        findings.append(Finding(case.label, key, False, message, hint, error))
    if run.mutated:
        # Only a failure counts: leaving inputs alone is expected, not worth points by itself.
        findings.append(Finding(case.label, "inputs", False, f"modified its input {', '.join(run.mutated)} in place",
                                "work on copies (x = x - m rather than x -= m): callers keep using their arrays"))
    return findings


def _matches(probe: Probe, key: str, actual, variant: Run, reference: Run) -> bool:
    """Does the student's output equal a known mistake's output (and differ from the reference)?"""
    if variant.error or variant.outputs is None or variant.outputs.get(key) is None:
        return False
    v = variant.outputs[key]
    if np.shape(v) != np.shape(actual):
        return False
    same_as_reference = np.shape(v) == np.shape(reference.outputs[key]) and probe.rule(key).close(v, reference.outputs[key])[0]
    return not same_as_reference and probe.rule(key).close(actual, v)[0]


def _exception_hint(error: str) -> str | None:
    if error.startswith("NotImplementedError"):
        return "this function is not implemented yet: replace the `raise NotImplementedError` with your code"
    if error.startswith("NameError") and "is not defined" in error:
        return "run the cells above (or restart and run all) so every function it uses is defined"
    if error.startswith("CaseTimeout"):
        return "a loop that never ends, or far too slow: vectorize with NumPy instead of Python loops"
    return None
