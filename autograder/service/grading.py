"""The grade function the service's workers call, and the one place another can be put in its stead.

A grade function takes `(assignment, notebook bytes)` and returns the public answer
(`autograder.service.verdict.answer`: score, max_score, notes, and per graded function its score
and feedback). It raises `Unreadable` for a file it cannot grade (the student is told why, and the
request does not count); any other exception is the service's problem (logged, the request
fails, and does not count either).

`SandboxGrader` is the real one: `autograder.grading.preview` (the pipeline's prepare, sandbox and
judge, for one notebook), then `verdict.answer` on what the student sent. Tests and the load
benchmark may pass a cheaper function (`Service(config, grade=...)`, or `autograder serve --grader
MODULE:FUNCTION`), which replaces the sandbox and the judge; the service says so when it starts.
"""
from __future__ import annotations

import importlib
import json
from typing import Callable

from autograder.grading.preview import Course
from autograder.grading.submission import SubmissionError
from autograder.service import verdict

Grade = Callable[[str, bytes], dict]


class Unreadable(Exception):
    """The notebook cannot be graded; the message tells the student why."""


class SandboxGrader:
    """The real grade function: sandbox and judge as `autograder grade`, answer made public."""

    def __init__(self, course: Course, insecure: bool = False):
        self.course, self.insecure = course, insecure

    def __call__(self, assignment: str, notebook: bytes) -> dict:
        try:
            preview = self.course.grade(assignment, notebook, self.insecure)
        except SubmissionError as err:
            raise Unreadable(str(err)) from None
        sent = verdict.Notebook(json.loads(notebook).get("cells", []))  # the intake checked it is a notebook's JSON
        notes = preview.notes + verdict.cell_notes(preview.cell_incidents, preview.cell_errors, sent)
        return verdict.answer(preview.reports, sent, notes)

    def digest(self, assignment: str) -> str:
        """What decides this assignment's grades (source, checks, reference, limits): an unchanged
        notebook under an unchanged digest gets the same answer."""
        return self.course.digests[assignment]


def load(spec: str) -> Grade:
    """`MODULE:FUNCTION` -> that function (for `autograder serve --grader`)."""
    module, _, name = spec.partition(":")
    if not module or not name:
        raise ValueError(f"--grader wants MODULE:FUNCTION, not {spec!r}")
    return getattr(importlib.import_module(module), name)
