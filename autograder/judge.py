"""Run a probe against some code, and judge the outputs against the reference and PyTorch.

Two halves that can live in different processes:
- `execute(probe, namespace)` calls the code under test (the student's) on the probe's cases and
  records what came out: outputs, or the exception and the line of the student's code that
  raised it, and which inputs were modified in place. Warnings, stdout and stderr of the code
  under test are swallowed: a correct function that warns still earns its points, and nothing
  the student's code prints reaches the feedback.
- `assess(probe, runs, points)` compares recorded runs with the NumPy reference (`solutions`)
  and the PyTorch oracle, looks up known mistakes for the outputs that differ, and returns a
  `Report` with the score and the feedback. It never calls student code, so it can run in a
  clean process on runs read from a graded notebook.
"""
from __future__ import annotations

import contextlib
import copy
import io
import linecache
import signal
import sys
import threading
import traceback
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from autograder.probes import Case, Probe

# Seconds one case may take before it is stopped (the whole cell also has nbgrader's timeout).
CASE_TIME_LIMIT = 10.0
_ROOT = Path(__file__).resolve().parents[1]
# Frames in these directories are never "the student's code" in an error message.
_LIBRARY_DIRS = tuple(str(d) for d in (
    Path(np.__file__).resolve().parent,
    Path(contextlib.__file__).resolve().parent,  # the standard library
    _ROOT / "autograder", _ROOT / "course", _ROOT / "solutions",
))


@dataclass
class Run:
    """What one case produced: outputs, or the error that stopped it."""

    case: str
    outputs: dict | None = None
    error: str | None = None
    mutated: list[str] = field(default_factory=list)


# ------------------------------------------------------------------ executing code under test

class CaseTimeout(Exception):
    pass


@contextlib.contextmanager
def _time_limit(seconds: float):
    # SIGALRM interrupts pure-Python loops; it only works in the main thread, where kernels run.
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def stop(signum, frame):
        raise CaseTimeout(f"took longer than {seconds:g} s (an infinite loop?)")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _student_line(exc: BaseException) -> str:
    """'line 4 of your code: dx = dout @ w' for the innermost frame outside libraries and graders."""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        filename = str(frame.filename)
        if filename.startswith(_LIBRARY_DIRS) or "site-packages" in filename:
            continue
        line = (frame.line or linecache.getline(filename, frame.lineno)).strip()
        return f" (line {frame.lineno} of your code: {line})" if line else f" (line {frame.lineno} of your code)"
    return ""


def describe_exception(exc: BaseException) -> str:
    message = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
    text = type(exc).__name__ + (f": {message}" if message else "")
    return text + _student_line(exc)


def _changed(before, after) -> bool:
    if isinstance(before, np.ndarray):
        return not (isinstance(after, np.ndarray) and before.shape == after.shape
                    and np.array_equal(before, after, equal_nan=True))
    if isinstance(before, dict):
        return not isinstance(after, dict) or before.keys() != after.keys() or any(
            _changed(before[k], after[k]) for k in before)
    if isinstance(before, (list, tuple)):
        return len(before) != len(after) or any(_changed(b, a) for b, a in zip(before, after))
    return before != after


def execute(probe: Probe, namespace: dict, cases: list[Case] | None = None) -> list[Run]:
    """Run the probe's cases against `namespace`, isolating each case's failure from the others."""
    runs = []
    for case in cases if cases is not None else probe.cases():
        inputs = copy.deepcopy(case.inputs)
        run = Run(case.label)
        sink = io.StringIO()
        with warnings.catch_warnings(), contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            warnings.simplefilter("ignore")
            np_errors = np.seterr(all="ignore")
            try:
                with _time_limit(CASE_TIME_LIMIT):
                    run.outputs = _plain(probe.run(namespace, inputs))
            except (Exception, SystemExit, CaseTimeout) as exc:  # noqa: B014 - SystemExit is not an Exception
                run.error = describe_exception(exc)
            finally:
                np.seterr(**np_errors)
        if run.error is None:
            run.mutated = [k for k in case.inputs if _changed(case.inputs[k], inputs[k])]
        runs.append(run)
    return runs


def _plain(outputs: dict) -> dict:
    """Outputs as float64 arrays (or None), detached from anything the student's code holds."""
    plain = {}
    for key, value in outputs.items():
        try:
            plain[key] = None if value is None else np.array(value, dtype=np.float64)
        except (TypeError, ValueError):
            plain[key] = None
    return plain


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


def _judge_case(probe: Probe, case: Case, run: Run, known) -> list[Finding]:
    reference = execute(probe, reference_namespace(), [case])[0]
    if reference.error:
        raise RuntimeError(f"the reference fails on {probe.check_id} / {case.label}: {reference.error}")
    keys = list(reference.outputs)
    if run.error is not None:
        hint = _exception_hint(run.error)
        return [Finding(case.label, k, False, f"raised {run.error}", hint) for k in keys]
    oracle = probe.torch(copy.deepcopy(case.inputs)) if probe.torch else {}
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
            variant_outputs = [(m, execute(probe, {**reference_namespace(), **m.replace}, [case])[0]) for m in known]
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
