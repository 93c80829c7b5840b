"""`autograder audit`: re-check a graded assignment from scratch and list what does not add up.

For every student in the gradebook it grades the submitted notebook again (sandboxed, judged in
this clean process, nothing written) and compares each test cell's score with the one the
gradebook holds. A difference means the recorded grade did not come from a clean check: a
gradebook edited by hand or graded by another tool that the notebook could fool. It also lists
answer cells that use modules graded answers may not use (torch, scipy, solutions, ...).
"""
from __future__ import annotations

import concurrent.futures as cf
from dataclasses import dataclass
from pathlib import Path

import nbformat

from autograder import sandbox
from autograder.grading import nbgrader_cli
from autograder.grading.pipeline import encoded_cases, execute_job, judge_execution, points_of, shipped_files
from autograder.grading.submission import SubmissionError, prepare


@dataclass
class Finding:
    student: str
    what: str


def recorded_scores(course_root: Path, assignment: str) -> dict[str, dict[str, float | None]]:
    from nbgrader.api import Gradebook, MissingEntry

    scores = {}
    with Gradebook(nbgrader_cli.gradebook_url(course_root)) as gb:
        for student in gb.students:
            try:
                notebook = gb.find_submission_notebook(assignment, assignment, student.id)
            except MissingEntry:
                continue
            scores[student.id] = {g.name: g.auto_score for g in notebook.grades if g.name.startswith("test_")}
    return scores


def audit_assignment(course_root: Path, assignment: str, jobs: int | None = None,
                     limits: sandbox.Limits = sandbox.Limits(), insecure: bool = False) -> list[Finding]:
    """Findings for every graded student of `assignment` whose recorded grade a clean re-check does not give."""
    course_root = Path(course_root).resolve()
    source = nbformat.read(course_root / "source" / assignment / f"{assignment}.ipynb", as_version=4)
    points = points_of(assignment)
    files = shipped_files(course_root, assignment)
    recorded = recorded_scores(course_root, assignment)
    findings, prepared = [], []
    for student in sorted(recorded):
        try:
            p = prepare(course_root, assignment, student, source)
        except SubmissionError as err:
            findings.append(Finding(student, f"cannot be re-checked: {err}"))
            continue
        for name, module in sorted(p.forbidden.items()):
            findings.append(Finding(student, f"the cell defining {name} uses {module}"))
        p.job["files"] = files
        prepared.append(p)
    fields = limits.as_dict()
    with cf.ThreadPoolExecutor(max_workers=jobs or None) as pool:
        futures = {pool.submit(execute_job, p.job, encoded_cases(assignment), fields, insecure): p for p in prepared}
        for future in cf.as_completed(futures):
            p = futures[future]
            reports = judge_execution(p, future.result(), points)
            for check, report in sorted(reports.items()):
                was = recorded[p.student].get(f"test_{check}")
                if was is None or abs(was - report.score) > 1e-6:
                    findings.append(Finding(p.student, f"test_{check}: gradebook has {was}, a clean re-check gives {report.score:g}"))
    return sorted(findings, key=lambda f: (f.student, f.what))
