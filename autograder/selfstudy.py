"""What a hidden test cell of the self-study edition runs, in the learner's own kernel:

    from autograder.selfstudy import check
    check("affine_backward", globals())

The full hidden check as `autograder grade` judges it (the same cases, reference, PyTorch oracle,
catalogue of mistakes, deductions and feedback text: `judge.check_namespace`), run on the
functions this kernel defines. It prints the verdict and the feedback, and never raises: a
failing check is information for the learner, not an error that stops the notebook.

This is for self-learners (`autograder self-study` builds the edition), who have the whole
repository and no grade at stake, so the check may run beside their code. No grade ever comes
from here: in the instructor's course, hidden test cells run `autograder.kernel`, and students'
code runs only in the sandbox.
"""
from __future__ import annotations

import dataclasses
import inspect
import textwrap
import types

from autograder.grading import answers
from autograder.grading.judge import Report, attribute, check_namespace
from autograder.spec import registry
from autograder.spec.checks import load_all

# A graded answer that reaches for PyTorch or the reference scores 0 in the graded course; here it
# is still checked, and this whole deduction says what the grade would have been.
FORBIDDEN_DEDUCTION = 1.0

# This kernel's latest report per check: a failing check whose function calls another graded
# function that failed its own check says so first, as the grader's feedback does.
_REPORTS: dict[str, Report] = {}

# Where a namespace's functions come from without a cell importing them: the cells themselves
# (`__main__`), Python's builtins, and the kernel.
_NOT_IMPORTS = {"__main__", "builtins", "IPython", "ipykernel"}


def check(check_id: str, namespace: dict) -> None:
    """Run the hidden check `check_id` on the code in `namespace` (a notebook's `globals()`) and
    print the verdict and the grader's feedback for it."""
    report = check_namespace(check_id, namespace)
    module = forbidden_module(registry.find(check_id).name, namespace)
    if module:
        report.deductions[f"{report.function} uses {module}, which graded answers may not use: write it with NumPy "
                          "(the graded course scores it 0)"] = FORBIDDEN_DEDUCTION
    _REPORTS[check_id] = report
    _attribute(check_id)
    print(verdict(report))
    print(report.feedback())


def verdict(report: Report) -> str:
    """One line above the feedback: what this run says, and that it is not a grade."""
    if report.passed:
        return f"Self-study check of {report.function}: PASSED (run here, in this kernel; not a grade)"
    return (f"Self-study check of {report.function}: NOT PASSED, {report.score:g} of {report.points:g} points "
            "in the graded course (run here, in this kernel; not a grade)")


def _attribute(check_id: str) -> None:
    """The grader's notes (`judge.attribute`) for this check, from the latest reports of the others.

    The others are copies with no notes, so that running a cell again adds nothing to another
    cell's report, and a note is never repeated."""
    reports = {k: dataclasses.replace(r, notes=[]) for k, r in _REPORTS.items() if k != check_id}
    reports[check_id] = _REPORTS[check_id]
    attribute(reports, {k: load_all()[k] for k in reports})


def forbidden_module(name: str, namespace: dict) -> str | None:
    """The module a graded answer may not use (`grading.answers`) that `name`'s code reaches,
    read from the source of its definition in this kernel, else None.

    Other cells' imports are seen through what the namespace binds: a module, or a function or
    class imported from one (`from torch.nn.functional import relu`). The names IPython itself puts
    there (`display`, its own `open`) are nobody's import."""
    source = _source(namespace.get(name))
    if source is None:
        return None
    bound = {}
    for key, value in namespace.items():
        if isinstance(value, types.ModuleType):
            bound[key] = value.__name__
        elif isinstance(value, (type, types.FunctionType, types.BuiltinFunctionType)) \
                and (getattr(value, "__module__", None) or "__main__").split(".")[0] not in _NOT_IMPORTS:
            bound[key] = value.__module__
    return answers.forbidden_use(source, bound)


def _source(obj) -> str | None:
    """The source of a function, or of every method a class defines; None where there is none."""
    if inspect.isclass(obj):
        parts = [_source(v) for v in vars(obj).values() if inspect.isfunction(v)]
        return "\n\n".join(p for p in parts if p) or None
    try:
        return textwrap.dedent(inspect.getsource(obj))
    except (OSError, TypeError):
        return None
