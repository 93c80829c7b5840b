"""What a report is built from: nbgrader's gradebook (the scores) and the grading records (the why).

The gradebook decides who is in the class and every score (a TA's manual score included, as
nbgrader counts it). A record adds what the judge knew; it is used only when it agrees with the
gradebook's autograded scores. A student without a usable record (an unreadable submission, a
submission graded before records existed, a record the gradebook no longer agrees with) still
counts in every score, and the page says who and why.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import nbformat

from autograder.grading import nbgrader_cli, records
from autograder.spec import registry

NOT_GRADED = "not graded: "  # how the pipeline's comment on an unreadable submission begins


class ReportError(RuntimeError):
    """The report cannot be made (no gradebook, an assignment it does not know); says what to do."""


@dataclass
class Submission:
    """One student's submission as the gradebook has it."""

    student: str
    score: float  # every cell, autograded and manual (nbgrader's SubmittedAssignment.score)
    grades: dict[str, float]  # grade cell name -> its score
    auto: dict[str, float | None]  # grade cell name -> the autograder's score
    pending: int  # written answers waiting for a person
    timestamp: datetime | None
    extension_s: float  # the student's extension, in seconds
    comment: str | None  # the autograder's comment ("not graded: ..." for an unreadable submission)


@dataclass
class ClassData:
    course_root: Path
    assignment: str
    max_scores: dict[str, float]  # grade cell name -> its points (test_<check> for each graded item)
    duedate: datetime | None
    enrolled: list[str]  # every student in the gradebook
    submissions: dict[str, Submission]
    records: dict[str, records.Record] = field(default_factory=dict)
    without_record: dict[str, str] = field(default_factory=dict)  # student -> why there is no usable record
    problems: list[str] = field(default_factory=list)  # record files that could not be read, by name

    @property
    def max_score(self) -> float:
        return float(sum(self.max_scores.values()))

    @property
    def graded_items(self):
        return registry.graded(self.assignment)

    def notebook(self, folder: str) -> nbformat.NotebookNode | None:
        """The release or source notebook of the assignment, if the course has it."""
        path = self.course_root / folder / self.assignment / f"{self.assignment}.ipynb"
        return nbformat.read(path, as_version=4) if path.exists() else None


def read_gradebook(course_root: Path, assignment: str) -> ClassData:
    """The assignment's submissions, read in a few queries however large the class."""
    from nbgrader.api import (BaseCell, Comment, Gradebook, Grade, MissingEntry, SubmittedAssignment,
                              SubmittedNotebook)

    course_root = Path(course_root)
    url = nbgrader_cli.gradebook_url(course_root)
    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///"):]).exists():
        raise ReportError(f"{course_root} has no gradebook yet ({url[len('sqlite:///'):]}): "
                          f"run `autograder generate {assignment}` and `autograder grade {assignment}` first")
    with Gradebook(url) as gb:
        try:
            found = gb.find_assignment(assignment)
        except MissingEntry:
            known = ", ".join(sorted(a.name for a in gb.assignments)) or "none"
            raise ReportError(f"the gradebook of {course_root} has no assignment {assignment} (it has {known}): "
                              f"run `autograder generate {assignment}` first") from None
        max_scores = {c.name: float(c.max_score) for nb in found.notebooks for c in nb.grade_cells + nb.task_cells}
        kinds = {c.name: c.cell_type for nb in found.notebooks for c in nb.grade_cells + nb.task_cells}
        duedate = found.duedate
        enrolled = sorted(s.id for s in gb.students)
        heads = gb.db.query(SubmittedAssignment.id, SubmittedAssignment.student_id, SubmittedAssignment.timestamp,
                            SubmittedAssignment.extension).filter(SubmittedAssignment.assignment_id == found.id).all()
        grades = (gb.db.query(SubmittedNotebook.assignment_id, BaseCell.name, Grade.score, Grade.auto_score,
                              Grade.manual_score, Grade.needs_manual_grade)
                  .join(SubmittedNotebook, Grade.notebook_id == SubmittedNotebook.id)
                  .join(BaseCell, Grade.cell_id == BaseCell.id)
                  .join(SubmittedAssignment, SubmittedNotebook.assignment_id == SubmittedAssignment.id)
                  .filter(SubmittedAssignment.assignment_id == found.id).all())
        comments = (gb.db.query(SubmittedNotebook.assignment_id, Comment.auto_comment)
                    .join(SubmittedNotebook, Comment.notebook_id == SubmittedNotebook.id)
                    .join(SubmittedAssignment, SubmittedNotebook.assignment_id == SubmittedAssignment.id)
                    .filter(SubmittedAssignment.assignment_id == found.id, Comment.auto_comment.isnot(None)).all())
        gb.db.commit()  # end the read: an open transaction would hold SQLite's lock against a grading run
    by_id = {sid: Submission(student, 0.0, {}, {}, 0, stamp, extension.total_seconds() if extension else 0.0, None)
             for sid, student, stamp, extension in heads}
    for sid, name, score, auto, manual, needs_manual in grades:
        sub = by_id[sid]
        sub.grades[name], sub.auto[name] = float(score or 0.0), auto
        sub.score += float(score or 0.0)
        sub.pending += bool(needs_manual and manual is None and kinds.get(name) == "markdown")
    for sid, text in comments:
        by_id[sid].comment = by_id[sid].comment or text
    submissions = {s.student: s for s in by_id.values()}
    for s in submissions.values():
        s.score = round(s.score, 2)
    return ClassData(course_root, assignment, max_scores, duedate, enrolled, dict(sorted(submissions.items())))


def attach_records(data: ClassData) -> ClassData:
    """Read each submission's record, and keep it only where it agrees with the gradebook (module docstring)."""
    tests = [f"test_{item.check_id}" for item in data.graded_items]
    for student, sub in data.submissions.items():
        if sub.comment and sub.comment.startswith(NOT_GRADED):
            data.without_record[student] = sub.comment
            continue
        path = records.path_of(data.course_root, student, data.assignment)
        if not path.exists():
            data.without_record[student] = "no grading record (graded before records existed? `autograder grade --force` writes one)"
            continue
        try:
            record = records.read(path)
        except ValueError as err:
            data.problems.append(str(err))
            data.without_record[student] = "its grading record could not be read"
            continue
        gradebook_auto = round(sum(sub.auto.get(t) or 0.0 for t in tests), 2)
        if abs(record.score - gradebook_auto) > 0.011:
            data.without_record[student] = (f"its grading record ({record.score:g} points) disagrees with the gradebook "
                                            f"({gradebook_auto:g} autograded): `autograder grade` again to bring them together")
            continue
        data.records[student] = record
    return data


def load(course_root: Path, assignment: str) -> ClassData:
    """The gradebook's submissions of `assignment`, with their grading records."""
    return attach_records(read_gradebook(course_root, assignment))
