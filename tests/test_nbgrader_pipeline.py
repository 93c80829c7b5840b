"""The assignments through real nbgrader: generate the student versions, autograde a small class.

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

from autograder import nbgrader_cli, registry, synthetic
from autograder.authoring import release_leaks
from autograder.cli import DEFAULT_COURSE, copy_course, main

ASSIGNMENTS = [pytest.param(a, marks=pytest.mark.xdist_group(a)) for a in registry.ASSIGNMENTS]


@functools.lru_cache(maxsize=None)
def graded_course(assignment: str) -> Path:
    """A course copy with the release generated and reference, blank and mistake students autograded."""
    course = copy_course(DEFAULT_COURSE, Path(tempfile.mkdtemp(prefix=f"tdn-{assignment}-")) / "course")
    assert main(["generate", assignment, "--course", str(course)]) == 0
    source = course / "source" / assignment / f"{assignment}.ipynb"
    release = course / "release" / assignment / f"{assignment}.ipynb"
    synthetic.write(synthetic.reference(source), course, "reference", assignment)
    synthetic.write(synthetic.blank(release), course, "blank", assignment)
    for i, mistakes in enumerate(synthetic.mistake_rounds(assignment), start=1):
        synthetic.write(synthetic.with_mistakes(source, mistakes), course, f"mistakes-{i}", assignment)
    nbgrader_cli.run(course, "autograde", assignment, "--force")
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
    assert "CellTimeoutError" not in text


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_catalogue_mistake_loses_points_and_most_are_named(assignment):
    course = graded_course(assignment)
    rounds = synthetic.mistake_rounds(assignment)
    named, total = 0, 0
    for i, mistakes in enumerate(rounds, start=1):
        student = f"mistakes-{i}"
        scores = auto_scores(course, assignment, student)
        for m in mistakes:
            score, maximum = scores[f"test_{m.check}"]
            assert score < maximum, f"{student}: {m.check}/{m.slug} kept all {maximum} points"
            named += m.hint in cell_text(course, assignment, student, f"test_{m.check}")
            total += 1
    assert total == sum(len(r) for r in rounds) > 0
    assert named >= 0.8 * total, f"only {named} of {total} mistakes got their hint"
