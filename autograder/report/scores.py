"""Scores per graded function and per student, from the gradebook.

A function is 'fully right' for a student at full points, 'partly' between 0 and full, 'not at
all' at 0; of the last, 'not attempted' are those whose record shows the stub left in place
(every failing case raised NotImplementedError). Scores are the gradebook's, so a TA's manual
override counts as nbgrader counts it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from autograder.report.inputs import ClassData
from autograder.report.tables import Table


@dataclass
class FunctionScores:
    name: str
    check: str
    points: float
    scores: list[float]  # one per submission, in student order
    full: int
    partial: int
    zero: int
    not_attempted: int


def per_function(data: ClassData) -> list[FunctionScores]:
    result = []
    for item in data.graded_items:
        cell = f"test_{item.check_id}"
        points = data.max_scores.get(cell, float(item.points))
        scores = [sub.grades.get(cell, 0.0) for sub in data.submissions.values()]
        unattempted = 0
        for student, record in data.records.items():
            check = record.checks.get(item.check_id)
            if check and check.failing and data.submissions[student].grades.get(cell, 0.0) == 0 \
                    and all(c.kind == "not implemented" for c in check.failing):
                unattempted += 1
        full = sum(s >= points - 1e-9 for s in scores)
        zero = sum(s <= 1e-9 for s in scores)
        result.append(FunctionScores(item.name, item.check_id, points, scores, full, len(scores) - full - zero, zero,
                                     unattempted))
    return result


def functions_table(functions: list[FunctionScores]) -> Table:
    rows = [[f.name, f.check, f.points, len(f.scores), f.full, f.partial, f.zero, f.not_attempted,
             float(np.mean(f.scores)) if f.scores else None, float(np.median(f.scores)) if f.scores else None]
            for f in functions]
    return Table("functions", ["function", "check", "points", "submissions", "fully right", "partly right",
                               "not at all", "of which not attempted", "mean", "median"], rows)


def students_table(data: ClassData) -> Table:
    """One row per submission: the gradebook's total and every grade cell, and whether a record was used."""
    cells = list(data.max_scores)
    rows = [[s.student, s.score, data.max_score, *(s.grades.get(c) for c in cells), s.pending,
             "yes" if s.student in data.records else data.without_record.get(s.student, "no")]
            for s in data.submissions.values()]
    return Table("scores", ["student", "score", "max score", *cells, "written answers to grade", "grading record"], rows)
