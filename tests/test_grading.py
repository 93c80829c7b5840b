"""The instructor pipeline on a class with hostile students: `autograder grade` end to end.

One course copy (a4_regularization, the shortest assignment) is graded once per test session and
shared by the tests of this module (one xdist group).
"""
from __future__ import annotations

import functools
import hashlib
import tempfile
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from autograder import sandbox
from autograder.demo import synthetic
from autograder.grading import nbgrader_cli, pipeline as grading
from autograder.grading.audit import audit_assignment
from autograder.spec import registry
from autograder.commands.cli import main
from autograder.commands.courses import DEFAULT_COURSE, copy_course

A = "a4_regularization"
# Generous per cell (a reference experiment cell takes a few seconds even on a busy machine), short
# enough that the hostile endless loops do not dominate the suite.
LIMITS = sandbox.Limits(cell_seconds=20, submission_seconds=240)
MAX = float(sum(i.points for i in registry.graded(A)))
pytestmark = pytest.mark.xdist_group("grading")
ISOLATED = sandbox.mode() in ("root", "rootless")

NUMERICAL_BACKWARD = """
from course.gradcheck import numerical_gradient_array

def dropout_backward(dout, cache):
    # Finite differences through the student's own forward pass, instead of the mask.
    x, param = cache
    return numerical_gradient_array(lambda v: dropout_forward(v, param)[0], x.copy(), dout)
"""


def new_course() -> Path:
    course = copy_course(DEFAULT_COURSE, Path(tempfile.mkdtemp(prefix="tdn-grading-")) / "course")
    assert main(["generate", A, "--course", str(course)]) == 0
    return course


def paths(course: Path) -> tuple[Path, Path]:
    return course / "source" / A / f"{A}.ipynb", course / "release" / A / f"{A}.ipynb"


@functools.lru_cache(maxsize=None)
def graded_class() -> tuple[Path, dict, str]:
    course = new_course()
    source, release = paths(course)
    synthetic.write(synthetic.reference(source), course, "ada", A)
    synthetic.write(synthetic.blank(release), course, "blank", A)
    for kind in synthetic.HOSTILE_CELLS:
        synthetic.write(synthetic.hostile(kind, source, release), course, kind, A)
    synthetic.write(synthetic.tampered_tests(release), course, "tampered-tests", A)
    synthetic.write(synthetic.reference_with_deleted_and_duplicated_cells(source), course, "deleted-cells", A)
    synthetic.write(synthetic.with_edits(source, synthetic.EDITS[A][0]), course, "mistakes", A)
    synthetic.write(synthetic.reference(source), course, "invalid-json", A).write_text('{"cells": [')
    renamed = synthetic.write(synthetic.reference(source), course, "renamed", A)
    renamed.rename(renamed.with_name("homework 4 (1).ipynb"))
    nb = synthetic.reference(source)
    for cell in nb.cells:
        if cell.metadata.get("tdn", {}).get("solution_of") == ["dropout_forward"]:
            cell.source = "import torch\n" + cell.source
    synthetic.write(nb, course, "imports-torch", A)
    nb = synthetic.reference(source)  # torch bound in another cell, used in an answer without an import
    nb.cells.insert(2, nbformat.v4.new_code_cell("import torch as T"))
    for cell in nb.cells:
        if cell.metadata.get("tdn", {}).get("solution_of") == ["dropout_backward"]:
            cell.source += "\n\n_ = T"
    synthetic.write(nb, course, "uses-bound-torch", A)
    nb = synthetic.reference(source)
    for cell in nb.cells:
        if cell.metadata.get("tdn", {}).get("solution_of") == ["dropout_forward"]:
            cell.source = cell.source.replace("cache = (mask, scale)", "cache = (x, dict(dropout_param))")
        if cell.metadata.get("tdn", {}).get("solution_of") == ["dropout_backward"]:
            cell.source += "\n" + NUMERICAL_BACKWARD
    synthetic.write(nb, course, "numerical-gradient", A)
    source_hash = hashlib.sha256(source.read_bytes()).hexdigest()
    outcomes = {o.student: o for o in grading.grade_assignment(course, A, jobs=2, limits=LIMITS, progress=False)}
    return course, outcomes, source_hash


def test_reference_and_repairable_submissions_earn_every_autograded_point():
    _, outcomes, _ = graded_class()
    for student in ("ada", "deleted-cells", "renamed", "warning-on-stderr", "loop-after-solutions"):
        assert outcomes[student].score == MAX, (student, outcomes[student].message)
    assert "homework 4 (1).ipynb" in outcomes["renamed"].message
    assert "restored" in outcomes["deleted-cells"].message


@pytest.mark.parametrize("student", [k for k, (base, _) in synthetic.HOSTILE_CELLS.items() if base == "blank"] + ["tampered-tests"])
def test_a_hostile_submission_cannot_raise_its_score(student):
    if student in ("read-source", "write-gradebook", "real-torch") and not ISOLATED:
        pytest.skip("needs bubblewrap's filesystem isolation")
    _, outcomes, _ = graded_class()
    assert outcomes[student].status == "graded"
    assert outcomes[student].score == 0, outcomes[student].reports


@pytest.mark.parametrize("student, reasons", [
    ("segfault", ["SIGSEGV"]), ("os-exit", ["exited with code"]),
    ("infinite-loop", ["time limit", "endless loop"]), ("fork-bomb", ["time limit", "endless loop"]),
])
def test_a_dead_or_hung_kernel_costs_its_cell_and_is_named_in_the_feedback(student, reasons):
    course, outcomes, _ = graded_class()
    autograded = (course / "autograded" / student / A / f"{A}.ipynb").read_text()
    assert any(reason in autograded for reason in reasons)
    # Only the cell that misbehaved was lost: the tests after it ran (and found nothing implemented).
    assert all("not implemented" in r.feedback() for r in outcomes[student].reports.values())


def test_a_slip_in_the_code_loses_points_and_is_named():
    _, outcomes, _ = graded_class()
    report = outcomes["mistakes"].reports["dropout_forward"]  # the edit removes the 1/(1-p) scale
    assert report.score < report.points
    assert any("not inverted" in hint for hint in report.hints), report.feedback()


def test_a_forbidden_import_costs_the_function_defined_with_it():
    _, outcomes, _ = graded_class()
    reports = outcomes["imports-torch"].reports
    assert reports["dropout_forward"].score == 0 and "uses torch" in reports["dropout_forward"].feedback()
    assert reports["dropout_backward"].score == reports["dropout_backward"].points


def test_torch_bound_by_another_cell_and_used_in_an_answer_costs_that_answer():
    _, outcomes, _ = graded_class()
    reports = outcomes["uses-bound-torch"].reports
    assert reports["dropout_backward"].score == 0 and "uses torch" in reports["dropout_backward"].feedback()
    assert reports["dropout_forward"].score == reports["dropout_forward"].points


def test_a_backward_pass_by_finite_differences_cannot_finish_its_large_case():
    _, outcomes, _ = graded_class()
    report = outcomes["numerical-gradient"].reports["dropout_backward"]
    assert report.score < report.points, report.feedback()
    large = [c for c in report.cases if "large" in c.label]
    assert large and not large[0].passed
    assert "numerically" in report.feedback(), report.feedback()


def test_forged_protocol_messages_cost_only_the_forger():
    course, outcomes, _ = graded_class()
    forger = outcomes["protocol-forge"]
    assert forger.status == "graded" and forger.score == 0
    autograded = (course / "autograded" / "protocol-forge" / A / f"{A}.ipynb").read_text()
    assert "grading of this cell was stopped" in autograded
    nbformat.validate(nbformat.reads(autograded, as_version=4))
    assert outcomes["ada"].score == MAX


def test_an_unreadable_submission_is_reported_by_name_and_recorded_as_zero_with_the_reason():
    course, outcomes, _ = graded_class()
    bad = outcomes["invalid-json"]
    assert bad.status == "unreadable" and "invalid-json" in bad.message and "not valid JSON (line 1" in bad.message
    with Gradebook(nbgrader_cli.gradebook_url(course)) as gb:
        notebook = gb.find_submission_notebook(A, A, "invalid-json")
        assert notebook.score == 0
        assert any("not valid JSON" in (c.auto_comment or "") for c in notebook.comments)


def test_grades_in_the_gradebook_match_the_outcomes_and_the_sources_are_untouched():
    course, outcomes, source_hash = graded_class()
    assert hashlib.sha256(paths(course)[0].read_bytes()).hexdigest() == source_hash
    with Gradebook(nbgrader_cli.gradebook_url(course)) as gb:
        for student, outcome in outcomes.items():
            assert gb.find_submission(A, student).code_score == pytest.approx(outcome.score), student


def test_huge_output_is_truncated_in_the_autograded_notebook():
    course, _, _ = graded_class()
    path = course / "autograded" / "huge-output" / A / f"{A}.ipynb"
    assert path.stat().st_size < 1_000_000
    assert "output truncated" in path.read_text()


def test_feedback_shows_the_diagnosis_but_no_hidden_test_code():
    course, _, _ = graded_class()
    nbgrader_cli.run(course, "generate_feedback", A, "--force")
    html = (course / "feedback" / "mistakes" / A / f"{A}.html").read_text()
    assert "cases passed" in html
    for secret in ("BEGIN HIDDEN TESTS", "from autograder", "grade(&quot;", 'grade("'):
        assert secret not in html


def test_regrading_an_unchanged_class_resumes_and_a_changed_submission_is_regraded():
    course, outcomes, _ = graded_class()
    again = {o.student: o for o in grading.grade_assignment(course, A, jobs=2, limits=LIMITS, progress=False)}
    assert {o.status for s, o in again.items() if s != "invalid-json"} == {"resumed"}
    assert all(again[s].score == outcomes[s].score for s in outcomes)


def test_an_interrupted_run_keeps_finished_students_and_resumes(monkeypatch):
    course = new_course()
    source, release = paths(course)
    for student in ("s1", "s2", "s3"):
        synthetic.write(synthetic.blank(release), course, student, A)
    real_finish, calls = grading._finish, []

    def finish_then_interrupt(*args, **kwargs):
        if calls:
            raise KeyboardInterrupt
        calls.append(1)
        return real_finish(*args, **kwargs)

    monkeypatch.setattr(grading, "_finish", finish_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        grading.grade_assignment(course, A, jobs=1, limits=LIMITS, progress=False)
    monkeypatch.setattr(grading, "_finish", real_finish)
    resumed = {o.student: o.status for o in grading.grade_assignment(course, A, jobs=2, limits=LIMITS, progress=False)}
    assert sorted(resumed.values()) == ["graded", "graded", "resumed"]
    with Gradebook(nbgrader_cli.gradebook_url(course)) as gb:
        assert sorted(s.id for s in gb.students) == ["s1", "s2", "s3"]


def test_the_same_class_graded_on_a_dask_cluster_gets_the_same_scores():
    distributed = pytest.importorskip("dask.distributed")
    course, outcomes, _ = graded_class()
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=True, dashboard_address=None) as cluster:
        students = ["ada", "mistakes", "blank"]
        regraded = grading.grade_assignment(course, A, students=students, scheduler=cluster.scheduler_address,
                                            limits=LIMITS, force=True, progress=False)
    assert {o.student: o.score for o in regraded} == {s: outcomes[s].score for s in students}


def test_audit_finds_a_score_edited_in_the_gradebook_and_a_forbidden_import():
    course, _, _ = graded_class()
    with Gradebook(nbgrader_cli.gradebook_url(course)) as gb:
        grade = gb.find_grade("test_dropout_forward", A, A, "blank")
        grade.auto_score = 3.0
        gb.db.commit()
    findings = audit_assignment(course, A, jobs=2, limits=LIMITS)
    texts = [f"{f.student}: {f.what}" for f in findings]
    assert any(t.startswith("blank: test_dropout_forward: gradebook has 3.0") for t in texts), texts
    assert any(t.startswith("imports-torch: the cell defining dropout_forward uses torch") for t in texts), texts
    assert not any(t.startswith("ada:") for t in texts)


# ------------------------------------------------------------------ resume and the gradebook

def small_course(students=("s1", "s2")) -> Path:
    course = new_course()
    _, release = paths(course)
    for student in students:
        synthetic.write(synthetic.blank(release), course, student, A)
    return course


def statuses(course: Path, **options) -> dict[str, str]:
    return {o.student: o.status for o in grading.grade_assignment(course, A, jobs=2, progress=False, **options)}


def test_resume_regrades_when_the_limits_or_the_source_change_and_when_a_gradebook_row_is_gone():
    course = small_course()
    assert statuses(course, limits=LIMITS) == {"s1": "graded", "s2": "graded"}
    assert statuses(course, limits=LIMITS) == {"s1": "resumed", "s2": "resumed"}
    assert set(statuses(course, limits=sandbox.Limits(cell_seconds=21, submission_seconds=240)).values()) == {"graded"}
    source, _ = paths(course)
    source.write_text(source.read_text().replace("# A4", "# A4 (revised)", 1))
    assert set(statuses(course, limits=LIMITS).values()) == {"graded"}
    with Gradebook(nbgrader_cli.gradebook_url(course)) as gb:
        gb.remove_submission(A, "s1")
    assert statuses(course, limits=LIMITS) == {"s1": "graded", "s2": "resumed"}


def test_a_manual_score_and_its_state_survive_a_regrade():
    course = small_course(("s1",))
    statuses(course, limits=LIMITS)
    with Gradebook(nbgrader_cli.gradebook_url(course)) as gb:
        written = [g for g in gb.find_submission_notebook(A, A, "s1").grades if g.cell.cell_type == "markdown"]
        written[0].manual_score = 1.5
        written[0].needs_manual_grade = False
        gb.db.commit()
        name = written[0].name
    statuses(course, limits=LIMITS, force=True)
    with Gradebook(nbgrader_cli.gradebook_url(course)) as gb:
        grade = gb.find_grade(name, A, A, "s1")
        assert grade.manual_score == 1.5 and not grade.needs_manual_grade


def test_an_unknown_student_is_an_error_not_a_phantom_row(capsys):
    course = small_course(("s1",))
    assert main(["grade", A, "--course", str(course), "--student", "nobody"]) == 2
    assert "nobody" in capsys.readouterr().err
    with Gradebook(nbgrader_cli.gradebook_url(course)) as gb:
        assert [s.id for s in gb.students] == []


def test_the_driver_patch_really_replaced_what_the_runtime_calls_and_still_earned_nothing():
    # Proof that the attack reached the code the runtime runs: the forged outputs were judged
    # (a kept fraction of 1, not "not implemented"), and they earned nothing.
    _, outcomes, _ = graded_class()
    feedback = outcomes["driver-patch"].reports["dropout_forward"].feedback()
    assert "not implemented" not in feedback and "kept fraction is 1" in feedback, feedback
    assert outcomes["driver-patch"].score == 0


def test_feedback_pages_read_offline_name_each_test_and_say_what_awaits_a_grader():
    from autograder.commands import feedback

    course, _, _ = graded_class()
    pages = {p.parent.parent.name: p.read_text() for p in feedback.generate(course, A)}
    page = pages["mistakes"]
    import re

    remote = re.findall(r'<(?:script|link|img)[^>]+(?:src|href)="((?:https?:)?//[^"]+)"', page)
    assert remote == [], remote
    assert page.count("<math") > 5 and "$$" not in page
    assert '>dropout_forward (hidden tests)</a>' in page and ">Test cell</a>" not in page
    assert "not graded yet" in page  # the written answers wait for a person
    for secret in ("BEGIN HIDDEN TESTS", "from autograder", 'grade("'):
        assert secret not in page


def test_a_feedback_page_shows_its_math_and_its_diagnosis_in_a_browser_without_network(chromium, tmp_path):
    import re

    import browser
    from autograder.commands import feedback

    course, _, _ = graded_class()
    page = next(p for p in feedback.generate(course, A) if p.parent.parent.name == "mistakes")
    dom = browser.run(chromium, tmp_path, "--dump-dom", page.as_uri()).stdout
    assert dom.count("<math") > 5 and "dropout_forward (hidden tests)" in dom
    assert "cases passed" in dom and "Hint:" in dom
    assert not re.search(r'<(script|link)[^>]+(src|href)="https?://', dom)
    shot = tmp_path / "feedback.png"
    browser.run(chromium, tmp_path, f"--screenshot={shot}", "--window-size=1200,2400", page.as_uri())
    import matplotlib.image as mpimg
    import numpy as np

    pixels = mpimg.imread(shot)[..., :3]
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 50  # text, panels and math, not a blank page


# ------------------------------------------------------------------ demonstration cells

def test_demonstration_cells_are_kept_as_submitted_and_the_reference_scores_the_same_without_them():
    from autograder.commands import authoring

    course, outcomes, _ = graded_class()
    assert outcomes["ada"].score == MAX  # graded without its experiments
    nb = nbformat.read(course / "autograded" / "ada" / A / f"{A}.ipynb", as_version=4)
    demo = [c for c in nb.cells if c.metadata.get("tdn", {}).get("demo")]
    assert demo and all(c.outputs and "as submitted, not re-run" in c.outputs[0].text for c in demo)
    assert authoring.prove_demo_marking(course, A) == []


def test_run_all_runs_the_demonstration_cells_too():
    course = small_course(("s1",))
    outcome = grading.grade_assignment(course, A, limits=LIMITS, run_all=True, progress=False)[0]
    nb = nbformat.read(course / "autograded" / "s1" / A / f"{A}.ipynb", as_version=4)
    demo = [c for c in nb.cells if c.metadata.get("tdn", {}).get("demo")]
    assert demo and not any("as submitted" in "".join(o.get("text", "") for o in c.outputs) for c in demo)
    assert outcome.score == 0


def test_a_marking_under_which_a_graded_cell_needs_a_skipped_one_is_refused():
    from autograder.commands import authoring

    source, _ = paths(new_course())
    nb = nbformat.read(source, as_version=4)
    setup = next(c for c in nb.cells if c.cell_type == "code")
    setup.metadata.setdefault("tdn", {})["demo"] = True  # the cell that imports numpy as np
    problems = authoring.demo_marking_problems(nb, "a4")
    assert any("uses 'np', which only the demonstration cell" in p for p in problems), problems
