"""What a hidden test cell does when nbgrader itself runs it (`nbgrader autograde`, formgrader's
"Autograde" button, or `nbgrader validate` on the instructor's source):

    from autograder.kernel import grade
    grade("affine_backward")

It grades nothing. Such a kernel has just run the student's code, so nothing computed in it can
be trusted, and the reference and the checks must never be loaded there. The cell prints why, and
returns 0 points, which nbgrader records: grade with `autograder grade`, which runs the notebook
in a sandbox and judges it in a clean process. This module imports nothing of the grader.
"""
from __future__ import annotations

MESSAGE = ("{check}: not graded here. Hidden tests are not run in the notebook's own kernel, where student code "
           "could change their result: the instructor grades with `autograder grade`, which runs the notebook "
           "in a sandbox and judges it outside (0 points recorded by this run).")


def grade(check_id: str, namespace: dict | None = None) -> float:
    """Print that this check is graded by `autograder grade`, and return 0 (nbgrader's partial credit)."""
    print(MESSAGE.format(check=check_id))
    return 0.0
