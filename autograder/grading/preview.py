"""Grade one notebook into reports, without the gradebook: what `autograder serve` answers with.

The steps are the pipeline's own, for one notebook that arrives as bytes rather than as a folder in
`submitted/`: `submission.prepare` (read as data, merged with the source notebook, its job built),
`pipeline.execute_job` (the sandbox), `pipeline.judge_execution` (the judge, in this process,
which never runs student code). So a preview scores exactly what `autograder grade` would score
for the same file under the same limits. Nothing is written into the course: the notebook is laid
out as `submitted/<student>/<assignment>/<assignment>.ipynb` in a private temporary folder, which
is removed as soon as it has been read.

Judging is serial in a process (`_JUDGE_LOCK`), as in `autograder grade`, where one thread judges
and many sandboxes run: the judge's caches of reference and oracle outputs are filled once, not
raced, and the sandboxes of several previews still run side by side.
"""
from __future__ import annotations

import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from autograder import sandbox
from autograder.grading import pipeline, state
from autograder.grading.judge import Report
from autograder.grading.submission import Prepared, SubmissionError, prepare
from autograder.spec import registry

_JUDGE_LOCK = threading.Lock()
_FOLDER = "student"  # the temporary folder's name for whoever sent the notebook (ids may hold any character)


@dataclass
class Preview:
    """The verdict on one notebook: a Report per graded check, and the repairs made on the way.

    - reports: check id -> Report (see autograder.grading.judge), in the notebook's order
    - notes: what `prepare` repaired or ignored (a renamed notebook, restored cells)
    - prepared: the merged notebook that ran (the student's cells under the instructor's)
    - cell_incidents: (first line of the cell, what the sandbox said) for each code cell that was
      stopped (a crash, a flood); a test cell's incident is in its report already
    - cell_errors: (first line of the cell, exception name) for each code cell that raised, as the
      sandbox reported it (CellTimeout: it ran past the cell time limit)
    """

    assignment: str
    reports: dict[str, Report]
    notes: list[str]
    prepared: Prepared
    seconds: float = 0.0
    restarts: int = 0
    cell_incidents: list[tuple[str, str]] = field(default_factory=list)
    cell_errors: list[tuple[str, str]] = field(default_factory=list)

    @property
    def score(self) -> float:
        return round(sum(r.score for r in self.reports.values()), 2)

    @property
    def max_score(self) -> float:
        return float(sum(pipeline.points_of(self.assignment).values()))


class Course:
    """What every preview of a course needs, read once: the source notebooks, the files each release
    ships beside its notebook, and the digest of everything that decides a grade.

    Raises pipeline.CourseError when an assignment has no source or no release yet, with the
    command that makes it.
    """

    def __init__(self, course_root: Path, assignments: list[str], limits: sandbox.Limits = sandbox.Limits()):
        self.root, self.limits = Path(course_root).resolve(), limits
        self.sources: dict[str, nbformat.NotebookNode] = {}
        self.files: dict[str, list[tuple[str, bytes]]] = {}
        self.digests: dict[str, str] = {}
        for assignment in assignments:
            registry.graded(assignment)  # an unknown id raises, listing the known ones
            source = self.root / "source" / assignment / f"{assignment}.ipynb"
            release = self.root / "release" / assignment / f"{assignment}.ipynb"
            if not source.exists():
                raise pipeline.CourseError(f"no source notebook {source}")
            if not release.exists():
                raise pipeline.CourseError(f"{assignment} has no student version yet: run `autograder generate {assignment}` first")
            self.sources[assignment] = nbformat.read(source, as_version=4)
            self.files[assignment] = pipeline.shipped_files(self.root, assignment)
            self.digests[assignment] = state.grading_digest(source, {**limits.as_dict(), "run_all": False})

    @property
    def assignments(self) -> list[str]:
        return list(self.sources)

    def grade(self, assignment: str, notebook: bytes, insecure: bool = False) -> Preview:
        """Prepare, run and judge one notebook of `assignment` (module docstring).

        Raises SubmissionError (the message says what is wrong with the file, without any path of
        this machine) when it cannot be read as a notebook; sandbox.SandboxError when the sandbox
        itself fails (this machine's problem, not the notebook's).
        """
        prepared = self._prepare(assignment, notebook)
        prepared.job["files"] = self.files[assignment]
        executed = pipeline.execute_job(prepared.job, pipeline.encoded_cases(assignment), self.limits.as_dict(), insecure)
        with _JUDGE_LOCK:
            reports = pipeline.judge_execution(prepared, executed, pipeline.points_of(assignment))
        code = sorted(c["index"] for c in prepared.job["cells"] if c["kind"] == "code")
        first_line = {i: prepared.notebook.cells[i].source.strip().split("\n")[0][:80] for i in code}
        stopped = [(first_line[i], executed["incidents"][str(i)]) for i in code if str(i) in executed["incidents"]]
        raised = [(first_line[i], str(o.get("ename"))[:100]) for i in code for o in executed["outputs"].get(str(i), [])
                  if isinstance(o, dict) and o.get("output_type") == "error"]
        return Preview(assignment, reports, list(prepared.notes), prepared, executed["seconds"], executed["restarts"],
                       stopped, raised)

    def _prepare(self, assignment: str, notebook: bytes) -> Prepared:
        with tempfile.TemporaryDirectory(prefix="tdn-preview-") as tmp:
            path = Path(tmp) / "submitted" / _FOLDER / assignment / f"{assignment}.ipynb"
            path.parent.mkdir(parents=True)
            path.write_bytes(notebook)
            try:
                return prepare(Path(tmp), assignment, _FOLDER, self.sources[assignment])
            except SubmissionError as err:
                raise SubmissionError(str(err).removeprefix(f"{_FOLDER}: ").replace(str(path), "the notebook")) from None


def warm(assignments: list[str]) -> None:
    """Generate every assignment's hidden cases now (seconds for a1), not on a student's first request."""
    for assignment in assignments:
        pipeline.encoded_cases(assignment)
