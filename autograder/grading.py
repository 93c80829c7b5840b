"""Grade a class: every submission in its own sandbox, in parallel; every score computed here.

The flow for one assignment:
1. prepare each submission in this process (read as data, never run: `autograder.submission`);
2. run its cells in a sandbox (`autograder.sandbox`), on a local pool of `jobs` slots or on a
   Dask cluster (`scheduler`); what comes back is recorded outputs, nothing more;
3. judge the recorded outputs here, in a process that never ran student code, against the NumPy
   reference and PyTorch (`autograder.judge`);
4. write the autograded notebook and the grades, from this one thread only (one writer: SQLite
   never sees two), and a small state file that lets an interrupted run resume without regrading
   finished students.

Nothing a submission does can stop the others: a submission that cannot be read is reported and
scored 0 with the reason; a cell that hangs or kills its process costs that cell's tests.
"""
from __future__ import annotations

import atexit
import concurrent.futures as cf
import contextlib
import fcntl
import json
import os
import shutil
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import nbformat
from tqdm.auto import tqdm

from autograder import nbgrader_cli, registry, sandbox
from autograder.judge import Finding, Report, assess
from autograder.probes import load_all
from autograder.recording import runs_from_json
from autograder.submission import Prepared, SubmissionError, prepare

STATE_FILE = ".tdn-grade.json"


class CourseError(RuntimeError):
    """The course itself is not ready (no source notebook, not generated): nothing was graded."""


@dataclass
class Outcome:
    """What happened to one student's submission."""

    student: str
    status: str  # 'graded', 'unreadable' or 'resumed' (graded earlier, unchanged since)
    score: float = 0.0
    max_score: float = 0.0
    message: str = ""
    reports: dict[str, Report] = field(default_factory=dict)
    seconds: float = 0.0


# ------------------------------------------------------------------ the part that runs anywhere

_RUNTIME: Path | None = None
SLOT_LOCKS = Path(tempfile.gettempdir()) / "tdn-sandbox-slots"


def _runtime() -> Path:
    global _RUNTIME
    if _RUNTIME is None:
        _RUNTIME = sandbox.stage_runtime(Path(tempfile.mkdtemp(prefix="tdn-runtime-")))
        atexit.register(shutil.rmtree, _RUNTIME, ignore_errors=True)
    return _RUNTIME


@contextlib.contextmanager
def _slot():
    """A sandbox slot no other grading process on this machine holds (an flock per slot).

    The slot picks the sandbox's uid, and the process limit counts per uid: two submissions
    sharing one would share it, and one fork bomb would starve the other.
    """
    SLOT_LOCKS.mkdir(exist_ok=True)
    for slot in range(4096):
        handle = open(SLOT_LOCKS / f"{slot}.lock", "w")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        try:
            yield slot
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()
        return
    raise RuntimeError(f"all sandbox slots in {SLOT_LOCKS} are taken")


def execute_job(job: dict, limits: dict) -> dict:
    """Run one prepared job in a sandbox on this machine; return plain data (Dask ships it back)."""
    with _slot() as slot:
        execution = sandbox.run_cells(job, _runtime(), sandbox.Limits(**limits), slot=slot)
    return {"results": {str(k): v for k, v in execution.results.items()},
            "incidents": {str(k): v for k, v in execution.incidents.items()}, "seconds": execution.seconds}


# ------------------------------------------------------------------ judging and writing, here only

def judge_execution(prepared: Prepared, executed: dict, points: dict[str, int]) -> dict[str, Report]:
    """A Report per graded check of the assignment, from what the sandbox recorded."""
    probes = load_all()
    results = {int(k): v for k, v in executed["results"].items()}
    incidents = {int(k): v for k, v in executed["incidents"].items()}
    reports = {}
    for index, cell in enumerate(prepared.notebook.cells):
        check = cell.metadata.get("tdn", {}).get("check")
        if not check:
            continue
        probe = probes[check]
        name = registry.find(check).name
        if name in prepared.forbidden:
            reports[check] = _zero(probe, points[check], f"the cell that defines {name} imports {prepared.forbidden[name]}, "
                                   "which this assignment does not allow: write it in NumPy")
        elif index in results and results[index].get("check") == check:
            reports[check] = assess(probe, runs_from_json(results[index].get("runs")), points[check])
        else:
            reason = incidents.get(index) or _earlier_incident(index, incidents) or "the test did not run"
            reports[check] = _zero(probe, points[check], reason)
    return reports


def _earlier_incident(index: int, incidents: dict[int, str]) -> str | None:
    earlier = [i for i in incidents if i < index]
    return f"not run: an earlier cell stopped the notebook ({incidents[max(earlier)]})" if earlier else None


def _zero(probe, points: float, message: str) -> Report:
    return Report(probe.function, points, [Finding("this test", "*", False, message)])


def autograded_notebook(prepared: Prepared, executed: dict, reports: dict[str, Report]) -> nbformat.NotebookNode:
    """The merged notebook with its outputs, each test cell showing its feedback instead of code output."""
    nb = prepared.notebook
    results = {int(k): v for k, v in executed["results"].items()}
    incidents = {int(k): v for k, v in executed["incidents"].items()}
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        check = cell.metadata.get("tdn", {}).get("check")
        if check:
            text = reports[check].feedback()
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text + "\n")]
        elif index in results:
            cell.outputs = [nbformat.from_dict(o) for o in results[index].get("outputs", []) if isinstance(o, dict)]
        elif index in incidents:
            cell.outputs = [nbformat.v4.new_output("error", ename="GradingStopped", evalue=incidents[index], traceback=[])]
    if prepared.notes:
        nb.cells.insert(0, nbformat.v4.new_markdown_cell("**Grading notes**\n\n" + "\n".join(f"- {n}" for n in prepared.notes)))
        nb.cells[0].metadata["tdn"] = {"notes": True}
    return nb


def _write_gradebook(course_root: Path, assignment: str, student: str, scores: dict[str, float],
                     comments: dict[str, str], unchanged_answers: set[str], timestamp) -> None:
    from nbgrader.api import Gradebook
    from sqlalchemy.exc import OperationalError, SAWarning

    delay = 0.2
    for attempt in range(12):
        try:
            with warnings.catch_warnings(), Gradebook(nbgrader_cli.gradebook_url(course_root)) as gb:
                # nbgrader's own update_or_create_submission trips SQLAlchemy's autoflush warnings.
                warnings.simplefilter("ignore", SAWarning)
                gb.update_or_create_student(student)
                gb.update_or_create_submission(assignment, student, timestamp=timestamp)
                notebook = gb.find_submission_notebook(assignment, assignment, student)
                for grade in notebook.grades:
                    if grade.name in scores:
                        grade.auto_score, grade.needs_manual_grade = scores[grade.name], False
                    elif grade.name in unchanged_answers:
                        grade.auto_score, grade.needs_manual_grade = 0.0, False
                    else:
                        grade.auto_score, grade.needs_manual_grade = None, True
                for comment in notebook.comments:  # nbgrader keeps comments on answer cells only
                    comment.auto_comment = comments.get(comment.name, comments.get("*"))
                gb.db.commit()
            return
        except OperationalError as err:  # another program holds the SQLite lock: wait, do not abort
            if "locked" not in str(err) or attempt == 11:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


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
def _points(assignment: str) -> dict[str, int]:
    return {item.check_id: item.points for item in registry.graded(assignment)}


def students_of(course_root: Path, assignment: str) -> list[str]:
    submitted = Path(course_root) / "submitted"
    return sorted(p.name for p in submitted.iterdir() if (p / assignment).is_dir()) if submitted.is_dir() else []


def grade_assignment(course_root: Path, assignment: str, **options) -> list[Outcome]:
    """Grade every (or the named) student's submission of one assignment; see grade_class."""
    return grade_class(course_root, [assignment], **options)[assignment]


def grade_class(course_root: Path, assignments: list[str], *, students: list[str] | None = None, jobs: int | None = None,
                scheduler: str | None = None, limits: sandbox.Limits = sandbox.Limits(), force: bool = False,
                progress: bool | None = None) -> dict[str, list[Outcome]]:
    """Grade the submissions of several assignments through one pool of sandboxes (module docstring)."""
    course_root = Path(course_root).resolve()
    outcomes: dict[str, list[Outcome]] = {a: [] for a in assignments}
    pending, releases = [], {}
    for assignment in assignments:
        source_path = course_root / "source" / assignment / f"{assignment}.ipynb"
        release_path = course_root / "release" / assignment / f"{assignment}.ipynb"
        if not source_path.exists():
            raise CourseError(f"no source notebook {source_path}")
        if not release_path.exists():
            raise CourseError(f"{assignment} has no student version yet: run `autograder generate {assignment}` first")
        source = nbformat.read(source_path, as_version=4)
        releases[assignment] = nbformat.read(release_path, as_version=4)
        max_score = float(sum(_points(assignment).values()))
        for student in students or students_of(course_root, assignment):
            try:
                prepared = prepare(course_root, assignment, student, source, cell_timeout=limits.cell_seconds)
            except (SubmissionError, OSError) as err:
                outcomes[assignment].append(_record_unreadable(course_root, assignment, student, str(err), _points(assignment)))
                continue
            state = _read_state(course_root / "autograded" / student / assignment / STATE_FILE)
            if not force and state.get("digest") == prepared.digest:
                outcomes[assignment].append(Outcome(student, "resumed", state.get("score", 0.0), max_score,
                                                    "unchanged since last graded"))
                continue
            pending.append(prepared)

    limit_fields = {k: getattr(limits, k) for k in sandbox.Limits.__dataclass_fields__}
    executor, client = _executor(jobs, scheduler)
    futures = {}
    try:
        futures = {executor.submit(execute_job, p.job, limit_fields): p for p in pending}
        with tqdm(total=len(futures), desc="grading", unit="notebook", disable=_quiet(progress), leave=False) as bar:
            for future in cf.as_completed(futures):
                p = futures[future]
                outcomes[p.assignment].append(
                    _finish(course_root, p.assignment, p, future.result(), releases[p.assignment], _points(p.assignment)))
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


def _finish(course_root, assignment, prepared: Prepared, executed: dict, release, points) -> Outcome:
    reports = judge_execution(prepared, executed, points)
    nb = autograded_notebook(prepared, executed, reports)
    folder = course_root / "autograded" / prepared.student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    _atomic_write(folder / f"{assignment}.ipynb", nbformat.writes(nb))
    stamp = course_root / "submitted" / prepared.student / assignment / "timestamp.txt"
    if stamp.exists():
        _atomic_write(folder / "timestamp.txt", stamp.read_text())
    scores = {f"test_{check}": report.score for check, report in reports.items()}
    comments = {"*": "; ".join(prepared.notes)} if prepared.notes else {}
    _write_gradebook(course_root, assignment, prepared.student, scores, comments,
                     _unchanged_answers(prepared, release), _timestamp(stamp.parent))
    total = round(sum(scores.values()), 2)
    _atomic_write(folder / STATE_FILE, json.dumps({"digest": prepared.digest, "score": total}))
    incidents = sorted(set(executed["incidents"].values()))
    message = "; ".join(prepared.notes + incidents[:2])
    return Outcome(prepared.student, "graded", total, float(sum(points.values())), message, reports, executed["seconds"])


def _record_unreadable(course_root, assignment, student, message, points) -> Outcome:
    """Zero for every test, with the reason as each test's comment, so the gradebook says why."""
    try:
        _write_gradebook(course_root, assignment, student, {f"test_{c}": 0.0 for c in points},
                         {"*": f"not graded: {message}"}, set(), None)
    except Exception as err:  # noqa: BLE001 - the report below still names the student
        message += f" (and the gradebook could not record it: {err})"
    return Outcome(student, "unreadable", 0.0, float(sum(points.values())), message)


def _executor(jobs: int | None, scheduler: str | None):
    if scheduler:
        from dask.distributed import Client

        client = Client(scheduler)
        return client.get_executor(pure=False), client
    return cf.ThreadPoolExecutor(max_workers=jobs or os.cpu_count() or 1), None


def _quiet(progress: bool | None):
    return None if progress is None else not progress


def _read_state(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
