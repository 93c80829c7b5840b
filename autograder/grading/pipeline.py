"""Grade a class: every submission in its own sandbox, in parallel; every score computed here.

The flow for one assignment:
1. prepare each submission in this process (read as data, never run: `submission`);
2. run its cells in a sandbox (`autograder.sandbox`), on a local pool of `jobs` slots or on a Dask
   cluster (`scheduler`), serving the hidden cases generated here; what comes back is data;
3. judge it here, in a process that never ran student code (`judge`);
4. write the autograded notebook and the grades from this one thread only (one writer: SQLite
   never sees two), and a state file that lets an interrupted run resume.

Nothing a submission does can stop the others: a submission that cannot be read is reported and
scored 0 with the reason; a cell that hangs, kills its process or breaks the protocol costs that
cell; an error while finishing one submission is that submission's, reported by name.
"""
from __future__ import annotations

import concurrent.futures as cf
import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import nbformat
from tqdm.auto import tqdm

from autograder import sandbox
from autograder.grading import gradebook, records, state
from autograder.grading.judge import CaseVerdict, Finding, Report, assess, attribute
from autograder.grading.notebook import autograded_notebook
from autograder.grading.runs import read_run
from autograder.grading.submission import Prepared, SubmissionError, prepare
from autograder.runtime import wire
from autograder.sandbox import slots, staging
from autograder.spec import registry
from autograder.spec.checks import load_all


class CourseError(RuntimeError):
    """The course itself (or the command) is not ready: nothing was graded."""


@dataclass
class Outcome:
    """What happened to one student's submission."""

    student: str
    status: str  # 'graded', 'unreadable', 'error' (grading it failed) or 'resumed' (unchanged since)
    score: float = 0.0
    max_score: float = 0.0
    message: str = ""
    reports: dict[str, Report] = field(default_factory=dict)
    seconds: float = 0.0


# ------------------------------------------------------------------ what every submission is given

@lru_cache(maxsize=None)
def encoded_cases(assignment: str) -> dict[str, list[dict]]:
    """Check id -> its cases as wire data, generated once per process: the same for every student.
    The inputs are serialized here, once (`inputs_json`): a1's are 25 MB, sent to every sandbox."""
    checks = load_all()
    return {item.check_id: [{"inputs_json": json.dumps(wire.encode(c.inputs)), "seconds": c.seconds}
                            for c in checks[item.check_id].cases()]
            for item in registry.graded(assignment)}


def shipped_files(course_root: Path, assignment: str) -> list[tuple[str, bytes]]:
    """Data files the release has beside its notebook, as (name, bytes): jobs carry them, not paths."""
    release = Path(course_root) / "release" / assignment
    return [(p.name, p.read_bytes()) for p in sorted(release.iterdir()) if p.is_file() and p.suffix != ".ipynb"] \
        if release.is_dir() else []


class RuntimeSkew(RuntimeError):
    """A worker's grading runtime differs from the client's: its grades could differ too."""


def execute_job(job: dict, cases: dict, limits: dict, insecure: bool = False, fingerprint: str | None = None) -> dict:
    """Run one prepared job in a sandbox on this machine; plain data back (Dask ships it).

    Everything it needs travels with it (cell sources, shipped files as bytes, the cases as data):
    a Dask worker needs no access to the course folder. It refuses to run without isolation
    (unless `insecure`), and with a runtime whose `fingerprint` is not the client's.
    """
    if fingerprint is not None and fingerprint != staging.fingerprint():
        import socket

        raise RuntimeSkew(f"the worker on {socket.gethostname()} has grading runtime {staging.fingerprint()}, the client "
                          f"{fingerprint}: install the same version of this package (and of Python, NumPy, IPython) there")
    chosen = sandbox.require(insecure)
    with slots.slot() as slot:
        return sandbox.run_cells(job, cases, staging.runtime(), sandbox.Limits(**limits), slot, chosen).as_data()


# ------------------------------------------------------------------ judging and writing, here only

def judge_execution(prepared: Prepared, executed: dict, points: dict[str, int]) -> dict[str, Report]:
    """A Report per graded check of the assignment, from what the sandbox recorded."""
    checks = load_all()
    runs = {int(k): v for k, v in executed["runs"].items()}
    incidents = {int(k): v for k, v in executed["incidents"].items()}
    reports = {}
    for index, cell in enumerate(prepared.notebook.cells):
        check_id = cell.metadata.get("tdn", {}).get("check")
        if not check_id:
            continue
        check, name = checks[check_id], registry.find(check_id).name
        if name in prepared.forbidden:
            reports[check_id] = _zero(check, points[check_id], f"the cell that defines {name} uses {prepared.forbidden[name]}, "
                                      "which graded answers may not use: write it with NumPy")
        elif index in runs:
            reports[check_id] = assess(check, [None if r is None else read_run(r) for r in runs[index]], points[check_id])
        else:
            reason = incidents.get(index) or _earlier_incident(index, incidents) or "the test did not run"
            reports[check_id] = _zero(check, points[check_id], reason)
    attribute(reports, checks)
    return reports


def _earlier_incident(index: int, incidents: dict[int, str]) -> str | None:
    earlier = [i for i in incidents if i < index]
    return f"not run: an earlier cell stopped the notebook ({incidents[max(earlier)]})" if earlier else None


def _zero(check, points: float, message: str) -> Report:
    return Report(check.function, points, [CaseVerdict("this test", [Finding("*", False, message)])])


def _unchanged_answers(prepared: Prepared, release: nbformat.NotebookNode) -> set[str]:
    from nbgrader.utils import compute_checksum, is_grade, is_solution

    stubs = {c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"].get("checksum")
             for c in release.cells if "nbgrader" in c.metadata and is_grade(c) and is_solution(c)}
    return {c.metadata["nbgrader"]["grade_id"] for c in prepared.notebook.cells
            if c.metadata.get("nbgrader", {}).get("grade_id") in stubs
            and compute_checksum(c) == stubs[c.metadata["nbgrader"]["grade_id"]]}


def _timestamp(student_dir: Path):
    from nbgrader.utils import parse_utc

    stamp = student_dir / "timestamp.txt"
    try:
        return parse_utc(stamp.read_text().strip()) if stamp.exists() else None
    except (ValueError, OSError):
        return None


# ------------------------------------------------------------------ the class

@lru_cache(maxsize=None)
def points_of(assignment: str) -> dict[str, int]:
    return {item.check_id: item.points for item in registry.graded(assignment)}


def students_of(course_root: Path, assignment: str) -> list[str]:
    submitted = Path(course_root) / "submitted"
    return sorted(p.name for p in submitted.iterdir() if (p / assignment).is_dir()) if submitted.is_dir() else []


def grade_assignment(course_root: Path, assignment: str, **options) -> list[Outcome]:
    """Grade every (or the named) student's submission of one assignment; see grade_class."""
    return grade_class(course_root, [assignment], **options)[assignment]


def grade_class(course_root: Path, assignments: list[str], *, students: list[str] | None = None, jobs: int | None = None,
                scheduler: str | None = None, limits: sandbox.Limits = sandbox.Limits(), force: bool = False,
                progress: bool | None = None, insecure: bool = False, run_all: bool = False) -> dict[str, list[Outcome]]:
    """Grade the submissions of several assignments through one pool of sandboxes (module docstring).

    `run_all` also runs the demonstration cells (experiments no grade depends on), which are
    otherwise kept as submitted.
    """
    course_root = Path(course_root).resolve()
    try:
        sandbox.require(insecure)
    except sandbox.SandboxUnavailable as err:
        raise CourseError(str(err)) from None
    if students:
        known = {s for a in assignments for s in students_of(course_root, a)}
        unknown = sorted(set(students) - known)
        if unknown:
            raise CourseError(f"no submission in {course_root / 'submitted'} for student(s) {', '.join(unknown)} "
                              f"of {', '.join(assignments)}")
    with gradebook.Gradebook(course_root) as gb:
        return _grade(course_root, assignments, gb, students=students, jobs=jobs, scheduler=scheduler, limits=limits,
                      force=force, progress=progress, insecure=insecure, run_all=run_all)


def _grade(course_root: Path, assignments: list[str], gb: gradebook.Gradebook, *, students, jobs, scheduler, limits,
           force, progress, insecure, run_all) -> dict[str, list[Outcome]]:
    outcomes: dict[str, list[Outcome]] = {a: [] for a in assignments}
    pending, releases, digests = [], {}, {}
    for assignment in assignments:
        source_path = course_root / "source" / assignment / f"{assignment}.ipynb"
        release_path = course_root / "release" / assignment / f"{assignment}.ipynb"
        if not source_path.exists():
            raise CourseError(f"no source notebook {source_path}")
        if not release_path.exists():
            raise CourseError(f"{assignment} has no student version yet: run `autograder generate {assignment}` first")
        source = nbformat.read(source_path, as_version=4)
        releases[assignment] = nbformat.read(release_path, as_version=4)
        digests[assignment] = state.grading_digest(source_path, {**limits.as_dict(), "run_all": run_all})
        files = shipped_files(course_root, assignment)
        max_score = float(sum(points_of(assignment).values()))
        for student in students_of(course_root, assignment) if not students else \
                [s for s in students if (course_root / "submitted" / s / assignment).is_dir()]:
            try:
                prepared = prepare(course_root, assignment, student, source, run_all=run_all)
            except (SubmissionError, OSError) as err:
                outcomes[assignment].append(_record_unreadable(gb, assignment, student, str(err)))
                continue
            prepared.digest = f"{prepared.digest}:{digests[assignment]}"
            prepared.job["files"] = files
            previous = state.read(course_root / "autograded" / student / assignment / state.STATE_FILE)
            if not force and previous.get("digest") == prepared.digest and gb.has_submission(assignment, student):
                outcomes[assignment].append(Outcome(student, "resumed", previous.get("score", 0.0), max_score,
                                                    "unchanged since last graded"))
                continue
            pending.append(prepared)

    limit_fields = limits.as_dict()
    executor, client = _executor(jobs, scheduler)
    futures = {}
    try:
        # On a cluster the cases (tens of MB for a1) travel to each worker once, not with every job.
        cases = {a: client.scatter(encoded_cases(a), broadcast=True) if client else encoded_cases(a) for a in assignments}
        runtime_id = staging.fingerprint()
        futures = {executor.submit(execute_job, p.job, cases[p.assignment], limit_fields, insecure, runtime_id): p
                   for p in pending}
        with tqdm(total=len(futures), desc="grading", unit="notebook", disable=_quiet(progress), leave=False) as bar:
            for future in cf.as_completed(futures):
                p = futures[future]
                outcomes[p.assignment].append(_finish_safely(course_root, gb, p, future, releases[p.assignment]))
                bar.update(1)
    except KeyboardInterrupt:
        for future in futures:
            future.cancel()
        sandbox.kill_all()
        raise
    finally:
        if client is None:
            executor.shutdown(wait=False, cancel_futures=True)
        else:
            executor.shutdown(wait=False)
            client.close()
    return {a: sorted(o, key=lambda o: o.student) for a, o in outcomes.items()}


def _finish_safely(course_root: Path, gb: gradebook.Gradebook, prepared: Prepared, future, release) -> Outcome:
    """_finish, with any failure reported as this submission's (the class goes on)."""
    max_score = float(sum(points_of(prepared.assignment).values()))
    try:
        return _finish(course_root, gb, prepared, future.result(), release)
    except KeyboardInterrupt:
        raise
    except Exception as err:  # noqa: BLE001 - one submission's problem, reported by name
        return Outcome(prepared.student, "error", 0.0, max_score,
                       f"{prepared.student}: grading {prepared.path.name} failed ({type(err).__name__}: {err}); "
                       "the gradebook was not changed for this student")


def _finish(course_root: Path, gb: gradebook.Gradebook, prepared: Prepared, executed: dict, release) -> Outcome:
    assignment, points = prepared.assignment, points_of(prepared.assignment)
    reports = judge_execution(prepared, executed, points)
    nb = autograded_notebook(prepared.notebook, executed, reports, prepared.notes)
    folder = course_root / "autograded" / prepared.student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    state.atomic_write(folder / f"{assignment}.ipynb", nbformat.writes(nb))
    stamp = course_root / "submitted" / prepared.student / assignment / "timestamp.txt"
    if stamp.exists():
        state.atomic_write(folder / "timestamp.txt", stamp.read_text())
    scores = {f"test_{check}": report.score for check, report in reports.items()}
    comments = {"*": "; ".join(prepared.notes)} if prepared.notes else {}
    gb.write(assignment, prepared.student, scores, comments, _unchanged_answers(prepared, release), _timestamp(stamp.parent))
    total = round(sum(scores.values()), 2)
    records.write(folder, prepared, executed, reports)
    state.atomic_write(folder / state.STATE_FILE, json.dumps({"digest": prepared.digest, "score": total}))
    incidents = sorted(set(executed["incidents"].values()))
    message = "; ".join(prepared.notes + incidents[:2])
    return Outcome(prepared.student, "graded", total, float(sum(points.values())), message, reports, executed["seconds"])


def _record_unreadable(gb: gradebook.Gradebook, assignment, student, message) -> Outcome:
    """Zero for every test, with the reason as each test's comment, so the gradebook says why."""
    points = points_of(assignment)
    try:
        gb.write(assignment, student, {f"test_{c}": 0.0 for c in points}, {"*": f"not graded: {message}"}, set(), None)
    except Exception as err:  # noqa: BLE001 - the report below still names the student
        message += f" (and the gradebook could not record it: {err})"
    return Outcome(student, "unreadable", 0.0, float(sum(points.values())), message)


def _executor(jobs: int | None, scheduler: str | None):
    if scheduler:
        from dask.distributed import Client

        client = Client(scheduler)
        return client.get_executor(pure=False), client
    import os

    return cf.ThreadPoolExecutor(max_workers=jobs or os.cpu_count() or 1), None


def _quiet(progress: bool | None):
    return None if progress is None else not progress
