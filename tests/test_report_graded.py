"""`autograder report` on a class graded for real, in the sandbox: judge -> grading record -> page and CSV.

The class (a4_regularization, the shortest assignment) is small on purpose, each student with one
known property: the reference, two slips the catalogue knows, one it does not, the untouched
release, a crash, a memory bomb and a notebook that is not valid JSON. It is graded once per test
session and shared by the tests of this module (one xdist group).
"""
from __future__ import annotations

import csv
import functools
import re
import tempfile
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from autograder import sandbox
from autograder.commands.cli import main
from autograder.commands.courses import DEFAULT_COURSE, copy_course
from autograder.demo import synthetic
from autograder.grading import nbgrader_cli, pipeline, records
from autograder.spec import registry
from autograder.spec.checks import load_all

A = "a4_regularization"
LIMITS = sandbox.Limits(cell_seconds=20, submission_seconds=240)
pytestmark = [pytest.mark.xdist_group("report-graded"), pytest.mark.slow]
# The scale applied but the mask forgotten: a slip the catalogue does not know.
NO_MASK = ("dropout_backward", "dx = dout * mask * scale", "dx = dout * scale")
WITH_RECORD = ["ada", "alan", "blank", "carol", "grace", "memory", "oscar"]


@functools.lru_cache(maxsize=None)
def graded() -> tuple[Path, dict, int, str]:
    course = copy_course(DEFAULT_COURSE, Path(tempfile.mkdtemp(prefix="tdn-report-")) / "course")
    assert main(["generate", A, "--course", str(course)]) == 0
    source = course / "source" / A / f"{A}.ipynb"
    release = course / "release" / A / f"{A}.ipynb"
    synthetic.write(synthetic.reference(source), course, "ada", A)
    synthetic.write(synthetic.with_edits(source, synthetic.EDITS[A][0]), course, "grace", A)  # not inverted
    synthetic.write(synthetic.with_edits(source, synthetic.EDITS[A][1]), course, "alan", A)  # p kept, not dropped
    synthetic.write(synthetic.with_edits(source, [NO_MASK]), course, "carol", A)
    synthetic.write(synthetic.blank(release), course, "blank", A)
    synthetic.write(synthetic.hostile("segfault", source, release), course, "oscar", A)
    greedy = synthetic.blank(release)  # one allocation past the address-space limit: MemoryError at once
    greedy.cells.insert(2, nbformat.v4.new_code_cell("hog = bytearray(1 << 40)"))
    synthetic.write(greedy, course, "memory", A)
    synthetic.write(synthetic.blank(release), course, "bob", A).write_text('{"cells": [')
    outcomes = {o.student: o for o in pipeline.grade_assignment(course, A, jobs=2, limits=LIMITS, progress=False)}
    status = main(["report", A, "--course", str(course)])
    page = (course / "reports" / A / "report.html").read_text()
    return course, outcomes, status, page


def read_csv(course: Path, name: str) -> list[dict]:
    with open(course / "reports" / A / f"{name}.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_every_judged_submission_has_a_record_that_matches_its_verdicts():
    course, outcomes, _, _ = graded()
    for student in WITH_RECORD:
        record = records.read(records.path_of(course, student, A))
        assert record.score == pytest.approx(outcomes[student].score), student
        for check_id, report in outcomes[student].reports.items():
            assert record.checks[check_id].score == report.score
            assert record.checks[check_id].passed == sum(c.passed for c in report.cases)
            assert [c.mistake for c in record.checks[check_id].failing] == [c.mistake for c in report.cases if not c.passed]
    grace = records.read(records.path_of(course, "grace", A)).checks["dropout_forward"]
    assert grace.failing and {c.mistake for c in grace.failing} == {"not-inverted"}
    assert not records.path_of(course, "bob", A).exists()


def test_the_report_shows_exactly_the_planted_mistakes():
    course, _, status, page = graded()
    assert status == 0
    made = {row["mistake"]: (int(row["students"]), int(row["of"])) for row in read_csv(course, "mistakes")
            if int(row["students"])}
    assert made == {"dropout_forward/not-inverted": (1, 7), "dropout_forward/p-is-keep": (1, 7)}
    for mistake in made:
        block = re.search(rf'data-mistake="{re.escape(mistake)}">(.*?)</div>', page, re.S).group(1)
        assert "1 of 7 students" in block


def test_a_mistake_matched_only_through_a_failed_forward_pass_is_counted_apart():
    # grace's backward pass is the reference's, handed her unscaled forward pass's cache: its outputs are
    # those of 'not-scaled', but the mistake is her forward pass's.
    course, _, _, _ = graded()
    row = next(r for r in read_csv(course, "mistakes") if r["mistake"] == "dropout_backward/not-scaled")
    assert (row["students"], row["inherited (a function it calls failed first)"]) == ("0", "1")


def test_a_slip_the_catalogue_does_not_know_is_grouped_with_an_anonymous_diff():
    course, _, _, page = graded()
    rows = read_csv(course, "uncatalogued")
    assert [(r["function"], r["what went wrong"], r["outputs"], r["students"]) for r in rows] == \
        [("dropout_backward", "value", "gradient through dropped units", "1")]
    section = page[page.index('id="uncatalogued"'):page.index('id="incidents"')]
    assert "-    dx = dout * mask * scale" in section and "+    dx = dout * scale" in section
    assert "carol" not in section and "autograder/spec/mistakes.py" in section


def test_an_unreadable_submission_is_counted_from_the_gradebook_and_said_so():
    course, _, _, page = graded()
    bob = next(r for r in read_csv(course, "scores") if r["student"] == "bob")
    assert float(bob["score"]) == 0 and bob["grading record"].startswith("not graded:")
    assert "<b>bob</b>: not graded:" in page and "1 of 8 submissions are counted from the gradebook alone" in page


def test_crash_and_memory_incidents_are_named_per_cell():
    course, _, _, _ = graded()
    incidents = {(r["kind"], r["students"]) for r in read_csv(course, "incidents")}
    assert ("crash", "1") in incidents and ("memory", "1") in incidents
    times = {r["student"]: float(r["seconds"]) for r in read_csv(course, "times")}
    assert sorted(times) == WITH_RECORD and all(t > 0 for t in times.values())


def test_the_scores_csv_matches_the_gradebook():
    course, _, _, _ = graded()
    rows = read_csv(course, "scores")
    with Gradebook(nbgrader_cli.gradebook_url(course)) as gb:
        assert sorted(r["student"] for r in rows) == sorted(s.id for s in gb.students)
        for row in rows:
            assert float(row["score"]) == pytest.approx(gb.find_submission(A, row["student"]).score), row["student"]
            for name in [f"test_{item.check_id}" for item in registry.graded(A)]:
                assert float(row[name]) == pytest.approx(gb.find_grade(name, A, A, row["student"]).score)


def test_without_a_service_database_the_page_says_the_service_was_not_used():
    _, _, _, page = graded()
    assert "The feedback service was not used" in page


def test_no_hidden_test_code_or_input_appears_in_the_report():
    course, _, _, page = graded()
    text = page + "".join(p.read_text() for p in (course / "reports" / A).glob("*.csv"))
    for secret in ("BEGIN HIDDEN TESTS", "from autograder", 'grade("', "grade(&quot;"):
        assert secret not in text
    checks = load_all()
    values = set()
    for item in registry.graded(A):
        for case in checks[item.check_id].cases():
            for value in case.inputs.values():
                if hasattr(value, "dtype") and value.dtype.kind == "f":
                    values.update(f"{v:.6f}" for v in value.ravel()[:50] if abs(v) > 1e-3)
    leaked = [v for v in values if v in text]
    assert values and not leaked, leaked[:5]


def test_the_report_of_a_course_without_that_assignment_graded_says_what_to_do(capsys):
    course, _, _, _ = graded()
    assert main(["report", "a1_backprop", "--course", str(course), "--to", str(course / "elsewhere")]) == 2
    assert "autograder generate a1_backprop" in capsys.readouterr().err
