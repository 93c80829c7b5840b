"""Writing grades into nbgrader's gradebook, from the grading process only.

One `Gradebook` (nbgrader's) is opened per grading run, not per student: opening one checks the
schema and costs a few tenths of a second. Each submission is written and committed on its own,
so an interrupted run keeps every finished student. Autograded test cells get their score; a
written answer that a TA has already graded keeps its manual score and its state; an answer the
student left as the stub gets 0 and needs no grading; every other answer waits for a person.
"""
from __future__ import annotations

import time
import warnings
from pathlib import Path

from autograder.grading import nbgrader_cli


class Gradebook:
    """The course's gradebook for one run: `with Gradebook(course) as gb: gb.write(...)`."""

    def __init__(self, course_root: Path):
        self.url = nbgrader_cli.gradebook_url(course_root)
        self._gb = None

    def __enter__(self):
        from nbgrader.api import Gradebook as NbgraderGradebook

        self._gb = NbgraderGradebook(self.url)
        return self

    def __exit__(self, *exc):
        self._gb.close()

    def has_submission(self, assignment: str, student: str) -> bool:
        from nbgrader.api import MissingEntry

        try:
            self._gb.find_submission(assignment, student)
            return True
        except MissingEntry:
            return False
        finally:
            self._gb.db.commit()  # end the read: an open transaction would hold SQLite's lock against formgrader

    def write(self, assignment: str, student: str, scores: dict[str, float], comments: dict[str, str],
              unchanged_answers: set[str], timestamp) -> None:
        from sqlalchemy.exc import OperationalError, SAWarning

        gb, delay = self._gb, 0.2
        for attempt in range(12):
            try:
                with warnings.catch_warnings():
                    # nbgrader's own update_or_create_submission trips SQLAlchemy's autoflush warnings.
                    warnings.simplefilter("ignore", SAWarning)
                    gb.update_or_create_student(student)
                    gb.update_or_create_submission(assignment, student, timestamp=timestamp)
                    notebook = gb.find_submission_notebook(assignment, assignment, student)
                    for grade in notebook.grades:
                        if grade.name in scores:
                            grade.auto_score, grade.needs_manual_grade = scores[grade.name], False
                        elif grade.manual_score is not None:
                            grade.needs_manual_grade = False  # a TA graded it: keep their score and its state
                        elif grade.name in unchanged_answers:
                            grade.auto_score, grade.needs_manual_grade = 0.0, False
                        else:
                            grade.auto_score, grade.needs_manual_grade = None, True
                    for comment in notebook.comments:  # nbgrader keeps comments on answer cells only
                        if comment.manual_comment is None:
                            comment.auto_comment = comments.get(comment.name, comments.get("*"))
                    gb.db.commit()
                return
            except OperationalError as err:  # another program holds the SQLite lock: wait, do not abort
                gb.db.rollback()
                if "locked" not in str(err) or attempt == 11:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 5.0)
