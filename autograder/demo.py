"""`autograder demo`: a small class, graded end to end with real nbgrader.

Builds a course copy under the output folder, generates the student versions, hands in four
synthetic students per assignment (ada: the reference solutions; grace and alan: realistic
mistakes from the catalogue; blank: the untouched release), autogrades them, writes feedback and
the gradebook CSV, and prints the gradebook.
"""
from __future__ import annotations

import time
from pathlib import Path

from nbgrader.api import Gradebook

from autograder import nbgrader_cli, submissions
from autograder.cli import DEFAULT_COURSE, copy_course, main

STUDENTS = ("ada", "grace", "alan", "blank")


def _hand_in(course: Path, assignment: str) -> None:
    source = course / "source" / assignment / f"{assignment}.ipynb"
    release = course / "release" / assignment / f"{assignment}.ipynb"
    rounds = submissions.mistake_rounds(assignment)
    submissions.write(submissions.reference(source), course, "ada", assignment)
    for student, mistakes in zip(("grace", "alan"), rounds):
        submissions.write(submissions.with_mistakes(source, mistakes, keep_experiments=True), course, student, assignment)
    submissions.write(submissions.blank(release), course, "blank", assignment)


def gradebook_table(course: Path, assignments: list[str]) -> str:
    """Student x assignment scores (autograded plus manual, out of the maximum), as aligned text."""
    with Gradebook(nbgrader_cli.gradebook_url(course)) as gb:
        rows = [["student", *assignments, "total"]]
        for student in sorted(s.id for s in gb.students):
            row, total, maximum = [student], 0.0, 0.0
            for a in assignments:
                sub = gb.find_submission(a, student)
                row.append(f"{sub.score:.1f}/{sub.max_score:.0f}")
                total, maximum = total + sub.score, maximum + sub.max_score
            rows.append(row + [f"{total:.1f}/{maximum:.0f}"])
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(r, widths)) for r in rows)


def run_demo(output: Path, assignments: list[str]) -> int:
    start = time.perf_counter()
    course = copy_course(DEFAULT_COURSE, Path(output).resolve() / "course")
    print(f"course copy: {course}")
    if main(["generate", *assignments, "--course", str(course)]) != 0:
        return 1
    for assignment in assignments:
        _hand_in(course, assignment)
        t = time.perf_counter()
        nbgrader_cli.run(course, "autograde", assignment, "--force")
        nbgrader_cli.run(course, "generate_feedback", assignment, "--force")
        print(f"{assignment}: graded {len(STUDENTS)} students in {time.perf_counter() - t:.0f} s")
    csv = Path(output).resolve() / "grades.csv"
    nbgrader_cli.run(course, "export", "--to", str(csv))
    print()
    print(gradebook_table(course, assignments))
    print()
    print("Autograded points only; written answers await manual grading (`nbgrader formgrader`).")
    print(f"feedback:  {course / 'feedback'}")
    print(f"gradebook: {course / 'gradebook.db'}  (CSV: {csv})")
    print(f"done in {time.perf_counter() - start:.0f} s")
    return 0
