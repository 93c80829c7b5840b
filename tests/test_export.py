"""Exporting the gradebook: nbgrader's CSV and a Canvas import CSV, from a gradebook with known scores."""
from __future__ import annotations

import csv
import warnings
from pathlib import Path

import pytest
from nbgrader.api import Gradebook
from sqlalchemy.exc import SAWarning

from autograder.commands import export
from autograder.grading import nbgrader_cli
from autograder.commands.cli import main
from autograder.commands.courses import DEFAULT_COURSE, copy_course

A4 = "a4_regularization"
A4_MAX = 16  # 9 autograded points (registry) + 7 written-answer points (source notebook)


def grades(gb: Gradebook, student: str):
    return [grade for notebook in gb.find_submission(A4, student).notebooks for grade in notebook.grades]


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    """a4 generated, three students: ada and grace handed in, alan did not.

    ada: every autograded point (9) plus 5 written points; grace: 3 autograded points, one of
    which a grader overrode to 1, and nothing written.
    """
    root = copy_course(DEFAULT_COURSE, tmp_path_factory.mktemp("export") / "course")
    assert main(["generate", A4, "--course", str(root)]) == 0
    with Gradebook(nbgrader_cli.gradebook_url(root)) as gb:
        for student, first, last in [("ada", "Ada", "Lovelace"), ("grace", "Grace", "Hopper"), ("alan", "Alan", "Turing")]:
            gb.add_student(student, first_name=first, last_name=last)
        with warnings.catch_warnings():
            # nbgrader's own session handling warns here (as it does in autograde); not ours to fix.
            warnings.simplefilter("ignore", SAWarning)
            for student in ("ada", "grace"):
                gb.update_or_create_submission(A4, student)
        for grade in grades(gb, "ada"):
            if grade.cell.cell_type == "code":
                grade.auto_score = grade.max_score
            elif grade.name in ("overfitting_gap", "dropout_vs_l2"):
                grade.manual_score = grade.max_score
        for grade in grades(gb, "grace"):
            if grade.name == "test_dropout_forward":
                grade.auto_score, grade.manual_score = 3.0, 1.0
        gb.db.commit()
    return root


def read(path: Path) -> list[list[str]]:
    with open(path, newline="") as fh:
        return list(csv.reader(fh))


def test_canvas_header_names_each_assignment_with_its_points(course, tmp_path):
    rows = read(export.canvas_csv(course, tmp_path / "canvas.csv"))

    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", f"{A4} ({A4_MAX})"]


def test_canvas_scores_are_totals_and_a_missing_submission_is_blank_not_zero(course, tmp_path):
    rows = read(export.canvas_csv(course, tmp_path / "canvas.csv", assignments=[A4]))

    scores = {row[0]: row[5] for row in rows[1:]}
    assert scores == {"ada": "14", "grace": "1", "alan": ""}


def test_canvas_ids_come_from_the_roster_when_given(course, tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text('student_id,lms_id,name,section\nada,1001,"Lovelace, Ada",Section 01\n')

    rows = read(export.canvas_csv(course, tmp_path / "canvas.csv", roster_csv=roster))

    by_sis_id = {row[2]: row for row in rows[1:]}
    assert by_sis_id["ada"][:5] == ["Lovelace, Ada", "1001", "ada", "ada", "Section 01"]
    assert by_sis_id["alan"][:5] == ["alan", "alan", "alan", "alan", ""]


def test_nbgrader_csv_agrees_with_the_canvas_totals(course, tmp_path):
    rows = list(csv.DictReader(open(export.nbgrader_csv(course, tmp_path / "grades.csv"), newline="")))

    assert {r["student_id"]: float(r["score"]) for r in rows} == {"ada": 14.0, "grace": 1.0, "alan": 0.0}
    assert {float(r["max_score"]) for r in rows} == {A4_MAX}


def test_an_existing_file_is_never_replaced_unless_asked(course, tmp_path):
    out = tmp_path / "canvas.csv"
    out.write_text("keep me")

    with pytest.raises(export.ExportError, match="canvas.csv already exists"):
        export.canvas_csv(course, out)
    with pytest.raises(export.ExportError, match="canvas.csv already exists"):
        export.nbgrader_csv(course, out)
    assert out.read_text() == "keep me"
    export.canvas_csv(course, out, overwrite=True)
    assert read(out)[0][0] == "Student"
    assert [p.name for p in tmp_path.iterdir()] == ["canvas.csv"]  # no temporary file left behind


def test_an_unknown_assignment_is_named_in_the_error(course, tmp_path):
    with pytest.raises(export.ExportError, match="no assignment a9_transformers; it has a4_regularization"):
        export.canvas_csv(course, tmp_path / "canvas.csv", assignments=["a9_transformers"])
