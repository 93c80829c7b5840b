"""Run a probe against code under test and record what came out. This is the half of grading
that runs where the student's code runs (a notebook kernel or the sandbox), so it holds nothing
secret: no reference, no comparison, no score.

`execute(probe, namespace)` calls the code under test on the probe's cases and records outputs,
or the exception and the line of the student's code that raised it, and which inputs were
modified in place. Warnings, stdout and stderr of the code under test are swallowed: a correct
function that warns still earns its points, and nothing the student's code prints reaches the
feedback. Runs travel between processes as plain JSON (`runs_to_json` / `runs_from_json`), never
as pickles, so reading them cannot execute anything.
"""
from __future__ import annotations

import base64
import contextlib
import copy
import io
import linecache
import signal
import threading
import traceback
import warnings
from dataclasses import dataclass, field
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




# ------------------------------------------------------------------ runs as plain JSON

def _encode(value):
    if value is None:
        return None
    a = np.asarray(value, dtype=np.float64)
    return {"shape": list(a.shape), "data": base64.b64encode(np.ascontiguousarray(a).tobytes()).decode("ascii")}


def _decode(value) -> np.ndarray | None:
    if value is None:
        return None
    shape = tuple(int(n) for n in value["shape"])
    data = np.frombuffer(base64.b64decode(value["data"]), dtype=np.float64)
    if data.size != int(np.prod(shape)):
        raise ValueError(f"recorded output has {data.size} values for shape {shape}")
    return data.reshape(shape).copy()


def runs_to_json(runs: list[Run]) -> list[dict]:
    return [{"case": r.case, "error": r.error, "mutated": list(r.mutated),
             "outputs": None if r.outputs is None else {k: _encode(v) for k, v in r.outputs.items()}} for r in runs]


def runs_from_json(data) -> list[Run]:
    """Parse recorded runs defensively: they come from a process that ran student code."""
    runs = []
    for item in data if isinstance(data, list) else []:
        if not isinstance(item, dict) or not isinstance(item.get("case"), str):
            continue
        outputs = item.get("outputs")
        try:
            decoded = None if outputs is None else {str(k): _decode(v) for k, v in dict(outputs).items()}
        except (TypeError, ValueError, KeyError, AttributeError):
            decoded, item = None, {**item, "error": "its recorded outputs could not be read"}
        error = item.get("error")
        mutated = item.get("mutated") or []
        runs.append(Run(item["case"], decoded, str(error)[:500] if error is not None else None,
                        [str(m) for m in mutated if isinstance(m, str)]))
    return runs
