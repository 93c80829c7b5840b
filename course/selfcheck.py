"""What the assignments' self-checks say when something is wrong.

A failed check should read like the hidden tests' feedback: the student's value next to the
expected one and, when the difference has a simple shape, what it probably is ("every entry is
5.00 times the expected value: did you forget to divide by N?"). The pieces:

- `describe_difference(actual, expected)`: one clause naming the pattern of a difference (a
  shape, nan or inf, a sign flip, a constant ratio, a constant offset), or '' when there is none;
- `assert_matches(actual, expected, name)`: `course.tolerance`'s rule, failing with that clause
  and the values at the worst entry;
- `matching_mistake(actual, mistakes)`: which known mistake a value equals, if any;
- `InputGuard`: proves a function left the arrays it was given as they were;
- `assert_implemented(*functions)`: names every function that is still nbgrader's stub.

The course-wide rule on in-place changes, which the self-checks and the hidden tests both
apply: layer, loss, normalization and dropout functions must not change the arrays they are
given (inputs, upstream gradients, caches); settings and state dicts (config, bn_param,
ln_param, dropout_param) are the function's own to fill and update; update rules and gradient
clipping are judged by their return value only.
"""
from __future__ import annotations

import ast
import copy
import inspect
import textwrap

import numpy as np

from course.tolerance import DEFAULT, Tolerance, compare

# Messages are wrapped to this width: nbgrader validate cuts longer lines (its
# Validator.width, set to 130 in the students' nbgrader_config.py, less its indent).
_WIDTH = 120

# Two values "agree" for the pattern tests below when they are this close, relatively: far
# tighter than any mistake, loose enough for float64 rounding.
_PATTERN_RTOL = 1e-6


def _message(*lines: str) -> str:
    """Lines of a failure message, each wrapped to _WIDTH; continuation lines are indented."""
    wrapped = []
    for line in lines:
        indent = " " * (len(line) - len(line.lstrip()))
        wrapped.append(textwrap.fill(line, _WIDTH, subsequent_indent=indent + "  ", break_on_hyphens=False))
    return "\n".join(wrapped)


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def _ratio_text(r: float) -> str:
    if abs(r - 1) < 0.01:
        return f"{r:.6g}"  # 1.00 would read as "no difference"
    text = f"{r:.2f}" if 0.01 <= abs(r) < 100 else f"{r:.3g}"
    return text if _same_number(float(text), r, 5e-3) else f"{r:.3g}"


def _same_number(a: float, b: float, rtol: float = _PATTERN_RTOL) -> bool:
    return abs(a - b) <= rtol * max(abs(a), abs(b))


def _ratio_hint(r: float, n: int | None, hints: dict[float, str] | None, rtol: float) -> str:
    for value, hint in (hints or {}).items():
        if _same_number(r, value, rtol):
            return hint
    if n is not None and n > 1:
        if _same_number(r, n, rtol):
            return f"did you forget to divide by N (= {n})?"
        if _same_number(r, 1 / n, rtol):
            return f"did you divide by N (= {n}) once too often?"
    if _same_number(r, 2.0, rtol) or _same_number(r, 0.5, rtol):
        return "a factor of 2 missing or extra?"
    return ""


def describe_difference(actual, expected, *, n: int | None = None, hints: dict[float, str] | None = None,
                        rtol: float = _PATTERN_RTOL) -> str:
    """How `actual` differs from `expected`, in one clause; '' when no simple pattern fits.

    Inputs:
    - actual, expected: arrays (or numbers) of any shape
    - n: the batch size N, when a missing or extra 1/N is a likely mistake
    - hints: ratio -> what that ratio means here, e.g. {0.1: "the bias correction of m is missing"}
    - rtol: how constant a ratio (or an offset) must be to count as one; loosen it when
      `expected` is itself approximate

    Returns a clause such as "every entry is 5.00 times the expected value: did you forget to
    divide by N (= 5)?", "has shape (3, 4), the transpose of the expected (4, 3)" or
    "every entry has the opposite sign of the expected value".
    """
    if actual is None:
        return "is None: did the function forget to return it?"
    a = np.asarray(actual, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    if a.shape != e.shape:
        if a.ndim == e.ndim == 2 and a.shape == e.shape[::-1] and a.shape != e.shape:
            return f"has shape {a.shape}, the transpose of the expected {e.shape}"
        if a.size == e.size:
            values = " (with the right values: reshape it)" if np.allclose(a.ravel(), e.ravel()) else ""
            return f"has shape {a.shape}, expected {e.shape}: the right number of entries in the wrong shape{values}"
        return f"has shape {a.shape}, expected {e.shape}"
    if a.size == 0:
        return ""
    bad = np.isfinite(e) & ~np.isfinite(a)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        where = f" (first at index {index})" if a.ndim else ""
        return f"contains nan or inf{where} where the expected value is finite: an overflow, or a division by zero?"
    if not np.all(np.isfinite(e)):
        return ""
    scale = float(np.max(np.abs(e)))
    if scale == 0.0:
        return ""
    entry = "every entry is " if a.size > 1 else ""  # a number is compared with a number
    if np.allclose(a, -e, rtol=rtol, atol=rtol * scale):
        return f"{'every entry has ' if a.size > 1 else ''}the opposite sign of the expected value: a sign error?"
    nonzero = np.abs(e) > rtol * scale
    if np.all(np.abs(a[~nonzero]) <= rtol * scale):
        ratios = a[nonzero] / e[nonzero]
        r = float(np.median(ratios))
        constant = np.all(np.abs(ratios - r) <= rtol * abs(r)) if r != 0 else False
        if constant and not _same_number(r, 1.0, rtol):
            hint = _ratio_hint(r, n, hints, rtol)
            if a.size == 1 and not hint:
                return ""  # one number is always a constant ratio of another: say nothing
            text = f"{entry}{_ratio_text(r)} times the expected value"
            return f"{text}: {hint}" if hint else text
    if a.size > 1:
        diff = a - e
        d = float(np.median(diff))
        if abs(d) > rtol * scale and np.all(np.abs(diff - d) <= rtol * max(abs(d), scale)):
            return f"every entry is off by the same amount, {d:+.4g}"
    return ""


def assert_matches(actual, expected, name: str = "output", tol: Tolerance = DEFAULT, *,
                   n: int | None = None, hints: dict[float, str] | None = None,
                   mistakes: dict[str, object] | None = None, hint: str | None = None) -> None:
    """Raise AssertionError, with the values and the pattern of the difference, unless `actual`
    passes `course.tolerance.compare` against `expected`.

    Inputs:
    - actual, expected: arrays or numbers
    - name: what is compared, e.g. "dx (against PyTorch autograd)"
    - tol: the Tolerance (the oracle's, usually)
    - n, hints: passed to `describe_difference`
    - mistakes: description -> the value a known mistake gives; a match is reported first, as
      the most specific diagnosis
    - hint: a last line of advice, added to every failure
    """
    if actual is None:
        raise AssertionError(f"{name} is None: did the function forget to return it?")
    result = compare(actual, expected, tol)
    if result.passed:
        return
    pattern = matching_mistake(actual, mistakes or {}, tol) or describe_difference(
        actual, expected, n=n, hints=hints, rtol=max(_PATTERN_RTOL, tol.rtol))
    a = np.asarray(actual, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    if a.shape != e.shape:
        lines = [f"{name} {pattern}"]
    elif a.size == 1:
        lines = [f"{name} is {_fmt(float(a.ravel()[0]))}, expected {_fmt(float(e.ravel()[0]))}"]
    else:
        ix = result.worst_index
        lines = [f"{name} differs from the expected value",
                 f"  at index {ix}: yours {_fmt(float(a[ix]))}, expected {_fmt(float(e[ix]))} "
                 f"(error relative to the largest expected value: {result.scaled_error:.2g})"]
    if pattern and a.shape == e.shape:
        lines.insert(1, f"  {pattern}")
    if hint:
        lines.append(f"  hint: {hint}")
    message = _message(*lines)
    raise AssertionError(message)


def matching_mistake(actual, mistakes: dict[str, object], tol: Tolerance = DEFAULT) -> str | None:
    """The description of the first known mistake whose value `actual` matches, else None.

    Inputs:
    - actual: an array or number
    - mistakes: description -> the value that mistake would give, e.g.
      {"fan_in taken from shape[1]": np.sqrt(2 / 100)}
    - tol: what counts as a match, under `course.tolerance`'s rule (statistics of random draws
      need a loose one, such as Tolerance(rtol=0.05, atol=0.0))
    """
    for description, value in mistakes.items():
        if np.shape(actual) == np.shape(value) and compare(actual, value, tol).passed:
            return description
    return None


def _same(a, b) -> bool:
    """Equal values, for inputs and caches: arrays, dicts, tuples, lists, numbers, None."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape
                and np.array_equal(a, b, equal_nan=True))
    if isinstance(a, dict) or isinstance(b, dict):
        return isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (tuple, list)) or isinstance(b, (tuple, list)):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 - an object without a usable == is compared by identity
        return a is b


class InputGuard:
    """Remembers copies of the arrays handed to a function, to prove later that it left them alone.

        guard = InputGuard(x=x, w=w, b=b)
        out, cache = affine_forward(x, w, b)
        guard.assert_unchanged("affine_forward")

    Works for arrays and for containers of them (a cache tuple).
    """

    def __init__(self, **arrays):
        self.live = arrays
        self.saved = {k: copy.deepcopy(v) for k, v in arrays.items()}

    def changed(self) -> list[str]:
        """The names of the inputs whose values differ from the saved copies."""
        return [k for k in self.live if not _same(self.live[k], self.saved[k])]

    def assert_unchanged(self, function: str, hint: str | None = None) -> None:
        changed = self.changed()
        if changed:
            message = _message(f"{function} changed {', '.join(changed)} in place; callers keep using the arrays they pass",
                               f"  hint: {hint or 'compute new arrays (x = x - m, not x -= m)'}")
            raise AssertionError(message)


def _is_stub(function) -> bool:
    """True when the body of `function` (after its docstring) only raises NotImplementedError."""
    try:
        source = textwrap.dedent(inspect.getsource(function))
        node = ast.parse(source).body[0]
    except (OSError, TypeError, SyntaxError, IndexError):
        return False  # no source to read: let a call show what happens
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return False
    body = node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant):
        body = body[1:]
    if not body:
        return False

    def raises_not_implemented(stmt) -> bool:
        if not isinstance(stmt, ast.Raise) or stmt.exc is None:
            return False
        exc = stmt.exc.func if isinstance(stmt.exc, ast.Call) else stmt.exc
        return isinstance(exc, ast.Name) and exc.id == "NotImplementedError"

    return all(raises_not_implemented(s) for s in body)


def unimplemented(*objects) -> list[str]:
    """The names of the functions (and methods, for classes) that are still nbgrader's stub."""
    names = []
    for obj in objects:
        if inspect.isclass(obj):
            names += [f"{obj.__name__}.{k}" for k, v in vars(obj).items() if inspect.isfunction(v) and _is_stub(v)]
        elif callable(obj) and _is_stub(obj):
            names.append(obj.__name__)
    return names


def assert_implemented(*objects) -> None:
    """Raise NotImplementedError naming every function or class in `objects` still left as a stub.

    A check that needs several functions names all the missing ones at once, rather than the
    first one its code happens to call.
    """
    missing = unimplemented(*objects)
    if missing:
        message = _message(f"not implemented yet: {', '.join(missing)}",
                           "  (write the code where it says `raise NotImplementedError()`, run that cell, then this one)")
        raise NotImplementedError(message)
