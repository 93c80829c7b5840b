"""Every cell the grader runs of each reference notebook runs cleanly in the sandbox, and the
reference earns full marks there: a cell that failed there (the setup cell, say) would fail for
every student, and cost whatever needs the names it did not define."""
from __future__ import annotations

import nbformat
import pytest

from autograder import sandbox
from autograder.commands.courses import DEFAULT_COURSE
from autograder.grading import pipeline
from autograder.grading.submission import Prepared, job_for, merge
from autograder.spec import registry


@pytest.mark.skipif(sandbox.mode() not in ("root", "rootless"), reason="needs bubblewrap")
@pytest.mark.parametrize("assignment", list(registry.ASSIGNMENTS))
def test_the_reference_runs_without_an_error_and_earns_every_point_in_the_sandbox(assignment):
    path = DEFAULT_COURSE / "source" / assignment / f"{assignment}.ipynb"
    merged, _ = merge(*(2 * [nbformat.read(path, as_version=4)]))
    job = {**job_for(merged), "files": pipeline.shipped_files(DEFAULT_COURSE, assignment)}
    executed = pipeline.execute_job(job, pipeline.encoded_cases(assignment), sandbox.Limits().as_dict())
    errors = {index: (o["ename"], o["evalue"][:200]) for index, outputs in executed["outputs"].items()
              for o in outputs if o.get("output_type") == "error"}
    assert errors == {} and executed["incidents"] == {}
    reports = pipeline.judge_execution(Prepared("reference", assignment, path, merged, job), executed,
                                       pipeline.points_of(assignment))
    assert {c: r.score for c, r in reports.items()} == pipeline.points_of(assignment)
