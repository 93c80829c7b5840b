"""Run one driver on one case against the code under test, and record what came out.

`record(driver, namespace, inputs, seconds)` calls the driver, converts its outputs to float64
arrays, and returns plain JSON-able data: the outputs, or the exception and the line of the
student's code that raised it, and the in-place changes the session saw. Warnings, stdout and
stderr of the code under test are swallowed: a correct function that warns keeps its points, and
nothing it prints reaches the feedback. A case that runs past `seconds` of CPU time is stopped
(SIGPROF); the supervisor stops it from outside, in wall time, for code that blocks the signal.
"""
from __future__ import annotations

import contextlib
import copy
import io
import linecache
import signal
import threading
import traceback
import warnings
from pathlib import Path

import numpy as np

from autograder.runtime import wire
from autograder.runtime.drivers import Driver, Session

_ROOT = Path(__file__).resolve().parents[2]
# Frames in these directories are never "the student's code" in an error message.
_LIBRARY_DIRS = tuple(str(d) for d in (
    Path(np.__file__).resolve().parent,
    Path(contextlib.__file__).resolve().parent,  # the standard library
    _ROOT / "autograder", _ROOT / "course", _ROOT / "solutions",
))


class CaseTimeout(Exception):
    pass


@contextlib.contextmanager
def time_limit(seconds: float):
    """Stop the code inside after `seconds` of this process's CPU time (SIGPROF).

    CPU time, not wall time: a classmate's submission hogging the machine's cores next to this
    one slows its clock but not its CPU time, so a correct function is never stopped for being
    graded beside a busy neighbour. It only works in the main thread, where cells run.
    """
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def stop(signum, frame):
        raise CaseTimeout(f"took longer than {seconds:g} s of CPU time")

    previous = signal.signal(signal.SIGPROF, stop)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)


def _student_line(exc: BaseException) -> str:
    """' (line 4 of your code: dx = dout @ w)' for the innermost frame outside libraries and graders."""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        filename = str(frame.filename)
        if filename.startswith(_LIBRARY_DIRS) or "site-packages" in filename:
            continue
        line = (frame.line or linecache.getline(filename, frame.lineno)).strip()
        return f" (line {frame.lineno} of your code: {line})" if line else f" (line {frame.lineno} of your code)"
    return ""


def describe_exception(exc: BaseException) -> str:
    message = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
    return type(exc).__name__ + (f": {message}" if message else "") + _student_line(exc)


def plain(outputs) -> dict:
    """Outputs as float64 arrays (or None), detached from anything the student's code holds."""
    if not isinstance(outputs, dict):
        raise TypeError(f"the check produced {type(outputs).__name__}, not named outputs")
    result = {}
    for key, value in outputs.items():
        try:
            result[str(key)] = None if value is None else np.array(value, dtype=np.float64)
        except (TypeError, ValueError):
            result[str(key)] = None
    return result


def record(driver: Driver, namespace: dict, inputs: dict, seconds: float) -> dict:
    """One case's run as plain data: {'outputs': {name: encoded array | None} | None, 'error', 'mutated'}."""
    session = Session(namespace)
    outputs, error = None, None
    sink = io.StringIO()
    with warnings.catch_warnings(), contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        warnings.simplefilter("ignore")
        np_errors = np.seterr(all="ignore")
        try:
            with time_limit(seconds):
                outputs = plain(driver.run(session, copy.deepcopy(inputs)))
        except (Exception, SystemExit, CaseTimeout) as exc:  # noqa: B014 - SystemExit is not an Exception
            error = describe_exception(exc)
        finally:
            np.seterr(**np_errors)
    return {"outputs": None if outputs is None else {k: wire.encode(v) for k, v in outputs.items()},
            "error": error, "mutated": [list(m) for m in dict.fromkeys(session.mutations)]}
