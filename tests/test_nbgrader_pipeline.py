"""The assignments through the instructor's pipeline: nbgrader generates the student versions,
`autograder grade` grades a small class in the sandbox, and nbgrader's own autograde is safe.

Each assignment gets its own temporary copy of the course and is graded once (cached per xdist
group); the tests then read the gradebook and the autograded notebooks.
"""
from __future__ import annotations

import functools
import tempfile
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from autograder import sandbox
from autograder.commands.authoring import release_leaks
from autograder.commands.cli import main
from autograder.commands.courses import DEFAULT_COURSE, copy_course
from autograder.demo import synthetic
from autograder.grading import nbgrader_cli, pipeline
from autograder.spec import registry

ASSIGNMENTS = [pytest.param(a, marks=pytest.mark.xdist_group(a)) for a in registry.ASSIGNMENTS]
LIMITS = sandbox.Limits(cell_seconds=60, submission_seconds=400)


@functools.lru_cache(maxsize=None)
def graded_course(assignment: str) -> Path:
    """A course copy with the release generated and reference, blank and slipped students graded."""
    course = copy_course(DEFAULT_COURSE, Path(tempfile.mkdtemp(prefix=f"tdn-{assignment}-")) / "course")
    assert main(["generate", assignment, "--course", str(course)]) == 0
    source = course / "source" / assignment / f"{assignment}.ipynb"
    release = course / "release" / assignment / f"{assignment}.ipynb"
    synthetic.write(synthetic.reference(source), course, "reference", assignment)
    synthetic.write(synthetic.blank(release), course, "blank", assignment)
    for i, edits in enumerate(synthetic.EDITS[assignment], start=1):
        synthetic.write(synthetic.with_edits(source, edits), course, f"slips-{i}", assignment)
    pipeline.grade_assignment(course, assignment, jobs=2, limits=LIMITS, progress=False)
    return course


def auto_scores(course: Path, assignment: str, student: str) -> dict[str, tuple[float, float]]:
    """grade_id -> (auto score, max score) for every autograded cell of a student's notebook."""
    with Gradebook(nbgrader_cli.gradebook_url(course)) as gb:
        notebook = gb.find_submission_notebook(assignment, assignment, student)
        return {g.name: (g.auto_score, g.max_score) for g in notebook.grades if g.cell.cell_type == "code"}


def cell_text(course: Path, assignment: str, student: str, grade_id: str) -> str:
    path = course / "autograded" / student / assignment / f"{assignment}.ipynb"
    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
    return "".join(o.get("text", "") for o in cell.outputs)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_student_version_has_no_solution_code_and_no_hidden_tests(assignment):
    course = graded_course(assignment)
    release = course / "release" / assignment / f"{assignment}.ipynb"
    assert release_leaks(release, course / "source" / assignment / f"{assignment}.ipynb") == []
    nb = nbformat.read(release, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_reference_solution_earns_every_autograded_point(assignment):
    scores = auto_scores(graded_course(assignment), assignment, "reference")
    expected = {f"test_{item.check_id}": float(item.points) for item in registry.graded(assignment)}
    assert {k: v[1] for k, v in scores.items()} == expected
    assert {k: v[0] for k, v in scores.items()} == expected


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_untouched_release_earns_nothing_and_nothing_times_out(assignment):
    course = graded_course(assignment)
    scores = auto_scores(course, assignment, "blank")
    assert scores and all(score == 0 for score, _ in scores.values())
    text = (course / "autograded" / "blank" / assignment / f"{assignment}.ipynb").read_text()
    assert "stopped after" not in text and "budget" not in text


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_a_slip_costs_points_only_in_the_function_that_has_it_or_calls_it(assignment):
    course = graded_course(assignment)
    checks = {item.name: item.check_id for item in registry.graded(assignment)}
    from autograder.spec.checks import load_all

    for i, edits in enumerate(synthetic.EDITS[assignment], start=1):
        scores = auto_scores(course, assignment, f"slips-{i}")
        slipped = {checks[name] for name, _, _ in edits}
        affected = slipped | {c for c, check in ((c, load_all()[c]) for c in checks.values())
                              if set(check.uses) & {name for name, _, _ in edits}}
        for grade_id, (score, maximum) in scores.items():
            check_id = grade_id.removeprefix("test_")
            if check_id in slipped:
                assert score < maximum, f"slips-{i}: {check_id} kept all its points"
            elif check_id not in affected:
                assert score == maximum, f"slips-{i}: {check_id} lost points for a slip elsewhere"


def test_nbgrader_autograde_never_grades_in_the_students_kernel():
    # Formgrader's "Autograde" button runs the same command: hidden test cells must not judge
    # there, where student code ran first. They score 0 and say what to run instead.
    assignment = "a1_backprop"
    course = copy_course(DEFAULT_COURSE, Path(tempfile.mkdtemp(prefix="tdn-autograde-")) / "course")
    assert main(["generate", assignment, "--course", str(course)]) == 0
    synthetic.write(synthetic.reference(course / "source" / assignment / f"{assignment}.ipynb"), course, "reference", assignment)
    nbgrader_cli.run(course, "autograde", assignment, "--student", "reference", "--force")
    scores = auto_scores(course, assignment, "reference")
    assert all(score == 0 for score, _ in scores.values())
    assert "autograder grade" in cell_text(course, assignment, "reference", "test_affine_forward")
