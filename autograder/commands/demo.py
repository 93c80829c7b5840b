"""`autograder demo` (the README's `make demo`): a whole class, graded end to end.

From the embedded course it builds a course copy under the output folder, generates the student
versions with nbgrader, hands in a class for all four assignments (ada: the reference solutions;
grace and alan: realistic mistakes from the catalogue; blank: the untouched release; and hostile
students who loop forever, crash the process, patch NumPy and the checker, read the instructor's
sources, tamper with the test cells, hand in broken JSON or a renamed notebook), grades all of it
in parallel and sandboxed, writes feedback, both CSVs and the instructor's report (`autograder report`),
and prints the gradebook.
"""
from __future__ import annotations

import time
from pathlib import Path

from autograder import sandbox
from autograder.commands import authoring, export, feedback, report
from autograder.commands.courses import DEFAULT_COURSE, copy_course, summary_table
from autograder.demo import synthetic
from autograder.grading import nbgrader_cli, pipeline
from autograder.spec import registry

HOSTILE = {"mallory": "infinite-loop", "oscar": "segfault", "peggy": "allclose-patch", "trudy": "read-source",
           "victor": "driver-patch", "walter": "protocol-forge"}


def hand_in(course: Path, assignment: str) -> None:
    """Write the demo class's submissions of one assignment into submitted/."""
    source = course / "source" / assignment / f"{assignment}.ipynb"
    release = course / "release" / assignment / f"{assignment}.ipynb"
    synthetic.write(synthetic.reference(source), course, "ada", assignment)
    for student, edits in zip(("grace", "alan"), synthetic.EDITS[assignment]):
        synthetic.write(synthetic.with_edits(source, edits), course, student, assignment)
    synthetic.write(synthetic.blank(release), course, "blank", assignment)
    for student, kind in HOSTILE.items():
        synthetic.write(synthetic.hostile(kind, source, release), course, student, assignment)
    synthetic.write(synthetic.tampered_tests(release), course, "eve", assignment)
    broken = synthetic.write(synthetic.blank(release), course, "bob", assignment)
    broken.write_text(broken.read_text()[:200])  # a truncated upload: not valid JSON


def run_demo(output: Path, assignments: list[str]) -> int:
    start = time.perf_counter()
    output = Path(output).resolve()
    course = copy_course(DEFAULT_COURSE, output / "course")
    print(f"course copy: {course}\nsandbox: {sandbox.describe()}")
    for assignment in assignments:
        leaks = authoring.generate(course, assignment)
        if leaks:
            print("\n".join(leaks))
            return 1
    for assignment in assignments:
        hand_in(course, assignment)
    students = len(list((course / "submitted").iterdir()))
    print(f"\ngrading {students} students x {len(assignments)} assignments ...")
    t = time.perf_counter()
    results = pipeline.grade_class(course, assignments, limits=sandbox.Limits(cell_seconds=15, submission_seconds=300))
    graded_in = time.perf_counter() - t
    for assignment, outcomes in results.items():
        print(summary_table(assignment, outcomes))
    print(f"\ngraded {sum(map(len, results.values()))} notebooks in {graded_in:.0f} s")
    for assignment in assignments:
        feedback.generate(course, assignment)
    print(f"nbgrader CSV: {export.nbgrader_csv(course, output / 'grades.csv', overwrite=True)}")
    print(f"Canvas CSV:   {export.canvas_csv(course, output / 'canvas.csv', assignments, None, overwrite=True)}")
    report.run(course, assignments, output / "reports")
    print()
    print(gradebook_table(course, assignments))
    print("\nAutograded points only: written answers wait for manual grading (`nbgrader formgrader`).")
    print(f"feedback:  {course / 'feedback'}/<student>/<assignment>/<assignment>.html")
    print(f"gradebook: {course / 'gradebook.db'}")
    print(f"done in {time.perf_counter() - start:.0f} s")
    return 0


def gradebook_table(course: Path, assignments: list[str]) -> str:
    """Student x assignment autograded scores out of the autograded maximum, as aligned text."""
    from nbgrader.api import Gradebook, MissingEntry

    maxima = {a: sum(i.points for i in registry.graded(a)) for a in assignments}
    rows = [["student", *(f"{a} (/{maxima[a]})" for a in assignments), f"total (/{sum(maxima.values())})"]]
    with Gradebook(nbgrader_cli.gradebook_url(course)) as gb:
        for student in sorted(s.id for s in gb.students):
            row, total = [student], 0.0
            for a in assignments:
                try:
                    score = gb.find_submission(a, student).code_score
                except MissingEntry:
                    row.append("-")
                    continue
                row.append(f"{score:g}")
                total += score
            rows.append(row + [f"{total:g}"])
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.rjust(w) if i else cell.ljust(w) for i, (cell, w) in enumerate(zip(r, widths)))
                     for r in rows)
