"""Judge recorded runs against the NumPy reference and the PyTorch oracle, in a process that never
ran student code.

`assess(check, runs, points)` takes the runs the sandbox reported, one per case of the check's
own case list (None where a case never came back), and compares each with the reference (the
same driver run on `solutions`) and the oracle. Each case counts once: a case passes when every
output matches, and the score is the points times the fraction of passing cases, less the fixed,
stated deductions below. Nothing the sandbox sends can add a case or count one twice.

Deductions (each at most once per graded item, and said in the feedback):
- an array argument changed in place by the function under test: `MUTATION_DEDUCTION`;
- values right but in a squeezable shape ((1, D) for (D,)): `SHAPE_DEDUCTION`; the case passes.
An in-place change made by another function the check calls (the forward pass that built a
backward pass's cache) is named in the feedback and charged to that function's own check only.
"""
from __future__ import annotations

import copy
import inspect
import os
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from autograder.grading.runs import Run, read_run
from autograder.runtime.drivers import load_all as load_drivers
from autograder.runtime.recorder import record
from autograder.spec.checks import Case, Check
from course.tolerance import DEFAULT, Tolerance

MUTATION_DEDUCTION = 0.25
SHAPE_DEDUCTION = 0.25
REFERENCE_MODULES = ("layers", "normalization", "dropout", "optim", "init", "models")


@dataclass
class Finding:
    """One compared output of one case; `error` is set when the output merely differs in value."""

    output: str
    passed: bool
    message: str = ""
    error: float | None = None
    nonfinite: bool = False


@dataclass
class CaseVerdict:
    label: str
    findings: list[Finding]
    hint: str | None = None
    mistake: str | None = None  # slug of the catalogued mistake behind `hint` (unique within the check)
    note: str | None = None  # values right, shape squeezable: passes, with a deduction
    edge: bool = False  # see autograder.spec.checks.Case

    @property
    def passed(self) -> bool:
        return all(f.passed for f in self.findings)


@dataclass
class Report:
    """The verdict on one graded item: per-case verdicts, deductions, notes, score and feedback."""

    function: str
    points: float
    cases: list[CaseVerdict]
    deductions: dict[str, float] = field(default_factory=dict)  # reason -> fraction of the points
    notes: list[str] = field(default_factory=list)  # said first: failures elsewhere that explain this one

    @property
    def fraction(self) -> float:
        """Passing ordinary cases, less failing edge cases, over the ordinary cases; less deductions."""
        ordinary = [c for c in self.cases if not c.edge]
        if not ordinary:
            return 0.0
        passed = sum(c.passed for c in ordinary) - sum(not c.passed for c in self.cases if c.edge)
        return max(0.0, passed / len(ordinary) - sum(self.deductions.values())) if passed > 0 else 0.0

    @property
    def score(self) -> float:
        return round(self.points * self.fraction, 2)

    @property
    def hints(self) -> list[str]:
        return list(dict.fromkeys(c.hint for c in self.cases if c.hint))

    @property
    def passed(self) -> bool:
        return self.score == self.points

    def feedback(self, max_cases: int = 6) -> str:
        """A few lines a student can act on: notes, per failing case what differs, deductions, hints."""
        passed = sum(c.passed for c in self.cases)
        lines = [f"{self.function}: {passed}/{len(self.cases)} cases passed, {self.score:g} of {self.points:g} points"]
        lines += [f"  Note: {n}" for n in self.notes]
        failing = [c for c in self.cases if not c.passed]
        for i, case in enumerate(failing):
            if i == max_cases:
                lines.append(f"  ... and {len(failing) - max_cases} more failing cases")
                break
            lines.append(f"  - {case.label}: {_summarize(case.findings)}")
        lines += [f"  - {c.label}: {c.note}" for c in self.cases if c.passed and c.note][:2]
        lines += [f"  Deduction ({fraction:.0%} of the points): {reason}" for reason, fraction in self.deductions.items()]
        lines += [f"  Hint: {h}" for h in self.hints]
        if passed == len(self.cases) and not self.deductions:
            lines.append("  All checks passed.")
        return "\n".join(lines)


def _summarize(findings: list[Finding]) -> str:
    """One clause per kind of failure; nan/inf first (nothing else is meaningful then); values
    that merely differ are named together."""
    failures = [f for f in findings if not f.passed]
    if any(f.nonfinite for f in failures):
        failures = [f for f in failures if f.nonfinite]
    differing = [f for f in failures if f.error is not None]
    clauses = list(dict.fromkeys(f.message for f in failures if f.error is None))
    if len(differing) == 1:
        clauses.append(differing[0].message)
    elif differing:
        names = ", ".join(f.output for f in differing)
        worst = max(f.error for f in differing)
        clauses.append(f"{names} differ from the reference (largest error {worst:.2g} relative to the largest value)")
    return "; ".join(clauses)


# ------------------------------------------------------------------ the reference side

@lru_cache(maxsize=1)
def _reference_functions() -> dict:
    import importlib

    namespace = {}
    for module in REFERENCE_MODULES:
        mod = importlib.import_module(f"solutions.{module}")
        namespace.update({k: v for k, v in vars(mod).items() if not k.startswith("_")})
    return namespace


@lru_cache(maxsize=1)
def reference_namespace() -> dict:
    """Every public name of the NumPy reference, as a notebook namespace would hold them."""
    return _namespace_with({})


def _namespace_with(overrides: dict) -> dict:
    """The reference with `overrides`, its networks defined in the namespace itself, as in a
    notebook: a network looks its layer functions up there, so it calls the overrides too (a
    replayed dropout, a catalogued wrong layer). A catalogued wrong network (a subclass of the
    reference's) is defined again over the namespace's own network for the same reason."""
    import solutions.models

    namespace = dict(_reference_functions(), __name__="solutions.models")  # so inspect finds the classes' source
    exec(compile(inspect.getsource(solutions.models), solutions.models.__file__, "exec"), namespace)  # noqa: S102
    for name, value in overrides.items():
        namespace[name] = _over(value, namespace) if isinstance(value, type) else value
    return namespace


def _over(cls: type, namespace: dict) -> type:
    """`cls` defined again with the namespace's networks as the `M.<Network>` it subclasses."""
    import sys
    import types

    scope = dict(vars(sys.modules[cls.__module__]))
    scope["M"] = types.SimpleNamespace(**{k: namespace[k] for k in ("TwoLayerNet", "FullyConnectedNet")})
    exec(compile(inspect.getsource(cls), inspect.getsourcefile(cls), "exec"), scope)  # noqa: S102
    return scope[cls.__name__]


def trusted_run(check: Check, namespace: dict, case: Case) -> Run:
    """Run the check's driver on trusted code (the reference or a catalogued mistake)."""
    return read_run(record(load_drivers()[check.driver_name], namespace, case.inputs, seconds=600.0))


# Reference, oracle and known-mistake outputs depend only on the check and the case: computed
# once per grading process, however many students are judged.
_CACHE: dict[tuple, object] = {}


def _cached(key: tuple, compute):
    if key not in _CACHE:
        _CACHE[key] = compute()
    return _CACHE[key]


def _derived(check: Check, outputs: dict, case: Case) -> dict:
    return check.derive(outputs, case.inputs) if check.derive else outputs


def _reference(check: Check, index: int, case: Case, run: Run | None) -> dict:
    overrides = check.reference_overrides(run.outputs, case.inputs) if (
        check.reference_overrides and run is not None and run.outputs) else {}
    if overrides:
        reference = trusted_run(check, _namespace_with(overrides), case)
    else:
        reference = _cached(("reference", check.check_id, index), lambda: trusted_run(check, reference_namespace(), case))
    if reference.error:
        if overrides:  # replayed from the student's own outputs: that case fails, not the grading
            raise StudentShapedInputs(f"the reference could not be rerun under your outputs ({reference.error})")
        raise RuntimeError(f"the reference fails on {check.check_id} / {case.label}: {reference.error}")
    return _derived(check, reference.outputs, case)


class StudentShapedInputs(Exception):
    """The reference, rerun on what a student's run reported (replayed masks), could not run."""


def oracle_tolerance() -> Tolerance:
    """The tolerance of the precision the PyTorch oracle computes in (float64 by default)."""
    from course.torch_bridge import oracle

    return oracle().tolerance


def _oracle(check: Check, index: int, case: Case) -> dict:
    settings = tuple(os.environ.get(k) for k in ("TDN_DEVICE", "TDN_ORACLE_DTYPE"))
    return _cached(("torch", check.check_id, index, settings),
                   lambda: check.torch(copy.deepcopy(case.inputs)) if check.torch else {})


# ------------------------------------------------------------------ judging

def assess(check: Check, runs: list[Run | None], points: float, mistakes=None) -> Report:
    """Judge one check's runs, aligned with `check.cases()` (module docstring)."""
    from autograder.spec.mistakes import mistakes_for

    known = mistakes_for(check.check_id) if mistakes is None else mistakes
    cases = check.cases()
    runs = list(runs) + [None] * (len(cases) - len(runs))
    verdicts, deductions, notes = [], {}, []
    for index, (case, run) in enumerate(zip(cases, runs)):
        if run is None:
            verdicts.append(CaseVerdict(case.label, [Finding("*", False, "was not run")], edge=case.edge))
            continue
        verdicts.append(_judge_case(check, index, case, run, known))
        verdicts[-1].edge = case.edge
        for function, argument in run.mutations:
            if function == check.function:
                deductions.setdefault(f"{function} modified its input {argument} in place: work on a copy "
                                      f"(x = x - m, not x -= m), since callers keep using their arrays", MUTATION_DEDUCTION)
            else:
                notes.append(f"{check.function} was checked with what your {function} returned, and {function} "
                             f"modified its input {argument} in place (that costs {function}'s points, not these)")
    if any(v.note for v in verdicts):
        deductions.setdefault(next(v.note for v in verdicts if v.note), SHAPE_DEDUCTION)
    return Report(check.function, points, verdicts, deductions, list(dict.fromkeys(notes)))


def _judge_case(check: Check, index: int, case: Case, run: Run, known) -> CaseVerdict:
    if run.error is not None:
        reference = _reference(check, index, case, None)
        return CaseVerdict(case.label, [Finding(k, False, f"raised {run.error}") for k in reference][:1],
                           _exception_hint(run.error, case))
    try:
        reference = _reference(check, index, case, run)
    except StudentShapedInputs as err:
        return CaseVerdict(case.label, [Finding("*", False, str(err))])
    try:
        actual = _derived(check, run.outputs, case)
    except Exception as err:  # noqa: BLE001 - a malformed output of the student's is a failure, not a crash
        return CaseVerdict(case.label, [Finding("*", False, f"its outputs could not be checked ({type(err).__name__}: {err})")])
    oracle = _oracle(check, index, case)
    floor = max((float(np.max(np.abs(v))) for k, v in reference.items()
                 if check.rule(k).kind == "tolerance" and np.size(v) and np.all(np.isfinite(v))), default=0.0)
    findings, note = [], None
    for key, expected in reference.items():
        value = actual.get(key)
        if value is None:
            findings.append(Finding(key, False, _missing(key)))
            continue
        value = np.asarray(value, dtype=np.float64)
        if value.shape != np.shape(expected) and value.size == np.size(expected) \
                and np.squeeze(value).shape == np.squeeze(expected).shape:
            reshaped = value.reshape(np.shape(expected))
            if _agrees(check, key, reshaped, expected, oracle, floor)[0]:
                note = f"values right, but {key} has shape {value.shape}, expected {np.shape(expected)}"
                findings.append(Finding(key, True))
                continue
        ok, against = _agrees(check, key, value, expected, oracle, floor)
        if ok:
            findings.append(Finding(key, True))
            continue
        findings.append(_difference(check, key, value, oracle[key] if against == "PyTorch" else expected, against, floor))
    verdict = CaseVerdict(case.label, findings, note=note)
    if not verdict.passed:
        matched = _known_mistake(check, index, case, actual, reference, known, floor)
        verdict.hint, verdict.mistake = (matched.hint, matched.slug) if matched else (None, None)
    return verdict


def _missing(key: str) -> str:
    if key.startswith("dropout mask"):
        return (f"{key} is missing: the network did not call dropout_forward in train mode for that hidden layer "
                "(the check reruns the reference network under the masks your dropout_forward draws)")
    return f"{key} is missing (returned None?)"


def _agrees(check: Check, key: str, value, expected, oracle: dict, floor: float) -> tuple[bool, str]:
    """Does `value` match the reference, and PyTorch where PyTorch can tell at its own precision?

    A float32 oracle cannot resolve every output (a displacement of 1e-3 taken from weights of
    order 1, a saturated sigmoid's gradient): where the oracle and the float64 reference already
    disagree beyond the oracle's tolerance, the oracle has nothing to say about that output. A
    float64 oracle always decides: there, a disagreement would be a bug in the reference.
    """
    rule = check.rule(key)
    if not rule.close(value, expected, DEFAULT, floor)[0]:
        return False, "the reference"
    if key in oracle:
        tol = oracle_tolerance()
        decides = tol == DEFAULT or rule.close(oracle[key], expected, tol, floor)[0]  # float64 always decides
        if decides and not rule.close(value, oracle[key], tol, floor)[0]:
            return False, "PyTorch"
    return True, ""


def _difference(check: Check, key: str, actual: np.ndarray, expected, against: str, floor: float) -> Finding:
    e = np.asarray(expected, dtype=np.float64)
    rule = check.rule(key)
    if actual.shape != e.shape:
        return Finding(key, False, f"{key} has shape {actual.shape}, expected {e.shape}")
    if not np.all(np.isfinite(actual)) and np.all(np.isfinite(e)):
        return Finding(key, False, f"{key} contains nan or inf (an overflow, or a division by zero?)", nonfinite=True)
    if key == "all outputs finite":
        return Finding(key, False, "an output contains nan or inf (an overflow, or a division by zero?)", nonfinite=True)
    if e.size == 1 and rule.kind != "tolerance":
        return Finding(key, False, f"{key} is {float(actual.ravel()[0]):.4g}, expected {float(e.ravel()[0]):.4g}")
    _, err = rule.close(actual, e, DEFAULT, floor)
    ratio = _constant_ratio(actual, e)
    if ratio is not None:
        return Finding(key, False, f"{key} is {ratio:.4g} times {against}'s value, entry by entry", err)
    return Finding(key, False, f"{key} differs from {against} (error {err:.2g} relative to the largest value)", err)


def _constant_ratio(actual: np.ndarray, expected: np.ndarray) -> float | None:
    """The factor when actual is expected times one constant (a forgotten 1/N, a sign), else None."""
    nonzero = np.abs(expected) > 1e-12 * max(float(np.max(np.abs(expected))), 1e-300)
    if nonzero.sum() < 2 or np.any(actual[~nonzero] != 0):
        return None
    ratios = actual[nonzero] / expected[nonzero]
    r = float(np.median(ratios))
    return r if abs(r - 1) > 1e-6 and np.allclose(ratios, r, rtol=1e-6, atol=0) else None


def _known_mistake(check: Check, index: int, case: Case, actual: dict, reference: dict, known, floor: float):
    """The first known mistake that explains every output it changes (or None)."""
    for m in known:
        variant = _cached(("mistake", check.check_id, index, m.slug),
                          lambda m=m: trusted_run(check, _mistake_namespace(m), case))
        if variant.error or variant.outputs is None:
            continue
        try:
            outputs = _derived(check, variant.outputs, case)
        except Exception:  # noqa: BLE001 - a mistake whose outputs cannot be derived explains nothing
            continue
        changed = [k for k in reference if k in outputs and not _same(check, k, outputs[k], reference[k], floor)]
        if changed and all(k in actual and _same(check, k, actual[k], outputs[k], floor) for k in changed):
            return m
    return None


def _mistake_namespace(mistake) -> dict:
    return _cached(("namespace", mistake.check, mistake.slug), lambda: _namespace_with(mistake.replace))


def _same(check: Check, key: str, a, b, floor: float) -> bool:
    return np.shape(a) == np.shape(b) and check.rule(key).close(a, b, DEFAULT, floor)[0]


def _exception_hint(error: str, case: Case) -> str | None:
    if error.startswith("NotImplementedError"):
        return "this function is not implemented yet: replace the `raise NotImplementedError` with your code"
    if error.startswith("NameError") and "is not defined" in error:
        return "run the cells above (or restart and run all) so every function it uses is defined"
    if error.startswith("FrameworkUnavailable"):
        return "graded functions must be written with NumPy: PyTorch is only for the visible self-checks"
    if error.startswith("CaseTimeout") or "budget" in error:
        if "large" in case.label:
            return ("this case is large on purpose: an analytic gradient takes milliseconds here, while a gradient "
                    "computed numerically (finite differences) or with slow Python loops cannot finish; derive it")
        return "a loop that never ends, or far too slow: vectorize with NumPy instead of Python loops"
    return None


# ------------------------------------------------------------------ one submission's reports together

def attribute(reports: dict[str, Report], checks: dict[str, Check]) -> None:
    """Put a note first in every failing check whose failure may come from another graded function
    that failed its own check (a network built on a wrong layer, a backward pass whose cache came
    from a wrong forward pass)."""
    for check_id, report in reports.items():
        if report.passed:
            continue
        failed = failed_dependencies(check_id, reports, checks)
        if failed:
            names = ", ".join(failed)
            report.notes.insert(0, f"{names} failed {'its' if len(failed) == 1 else 'their'} own test; "
                                   f"{report.function} calls {'it' if len(failed) == 1 else 'them'}, "
                                   f"so fix {names} first: this failure may come from there")


def failed_dependencies(check_id: str, reports: dict[str, Report], checks: dict[str, Check]) -> list[str]:
    """The graded functions that check `check_id` calls and that failed their own check."""
    failed = {checks[c].function for c, r in reports.items() if not r.passed}
    return [name for name in checks[check_id].uses if name in failed]


def check_namespace(check_id: str, namespace: dict, points: float | None = None, seconds: float | None = None) -> Report:
    """Run and judge one check against code in THIS process (the tests, a self-learner's own
    kernel). Never used for students' grades: their code runs only in the sandbox."""
    from autograder.spec import registry
    from autograder.spec.checks import load_all

    check = load_all()[check_id]
    driver = load_drivers()[check.driver_name]
    runs = [read_run(record(driver, namespace, case.inputs, seconds or case.seconds)) for case in check.cases()]
    return assess(check, runs, registry.find(check_id).points if points is None else points)
