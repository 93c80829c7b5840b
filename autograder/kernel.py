"""The side of grading that runs inside the notebook's kernel, in a hidden test cell:

    from autograder.kernel import grade
    grade("affine_backward")

It runs the probe against the notebook's own definitions, prints the diagnosing feedback, and
returns the points earned, which nbgrader reads as the cell's partial credit (a number as the
cell's result). The comparison itself is `autograder.judge.assess`, which needs only the
recorded runs, so the same verdict can be recomputed outside the kernel.
"""
from __future__ import annotations

import sys

from autograder import registry
from autograder.judge import Report, assess
from autograder.probes import load_all
from autograder.recording import execute


def check(check_id: str, namespace: dict) -> Report:
    """Run and judge one graded item against `namespace`; the Report holds score and feedback."""
    probe = load_all()[check_id]
    item = registry.find(check_id)
    return assess(probe, execute(probe, namespace), item.points)


def grade(check_id: str, namespace: dict | None = None) -> float:
    """Grade `check_id` against the caller's globals (the notebook), print feedback, return the points."""
    if namespace is None:
        namespace = sys._getframe(1).f_globals
    report = check(check_id, namespace)
    print(report.feedback())
    return report.score
