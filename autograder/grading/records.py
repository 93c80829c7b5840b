"""The grading record of one submission: what `autograder report` reads besides the gradebook.

The gradebook holds one number per test cell; the record keeps what the judge knew when it gave
it. It is written by the pipeline each time a submission is judged, beside the autograded
notebook, as `autograded/<student>/<assignment>/.tdn-record.json` (JSON, version RECORD_VERSION):

    {"version", "student", "assignment", "graded_at" (UTC ISO-8601), "score", "max_score",
     "seconds" (wall time of the notebook in the sandbox), "restarts", "notes" (repairs made on the way),
     "checks": {check id: {"function", "points", "score", "status" ('judged', 'forbidden' or 'not run'),
                           "reason" (why, when not judged), "cases", "passed", "blamed_on" (graded functions
                           it calls that failed their own check: its failure may come from there),
                           "deductions" {reason: fraction}, "notes" [...],
                           "failing": [{"label", "edge", "kind", "mistake" (catalogue slug or null), "hint",
                                        "outputs": [{"output", "message", "error", "nonfinite"}]}]}},
     "cells": {cell index: {"cell" (grade id or null), "after" (the grade id above an ungraded cell),
                            "check" (of a test cell, or null),
                            "incident" (the sandbox's text, or null), "error" (exception type a cell raised),
                            "truncated" (its output was cut at the runtime's limit)}},
     "answers": {grade id: {"defines": [graded names], "source": the student's cell}}}

`kind` names what went wrong in a failing case, from the judge's findings: 'value', 'nan or inf',
'shape', 'missing', 'raised <Exception>', 'timeout', 'not implemented', 'not run' or 'other'.
A record that cannot be written is reported on stderr and costs the student nothing: the report
then counts that student from the gradebook alone.
"""
from __future__ import annotations

import json
import re
import sys
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from autograder.grading.judge import failed_dependencies
from autograder.spec import registry
from autograder.spec.checks import load_all

RECORD_FILE = ".tdn-record.json"
RECORD_VERSION = 1
TRUNCATED_MARK = "[output truncated:"  # what the runtime appends to a stream it cut (runtime.runner)
_SCALAR = re.compile(r" is \S+, expected \S+$")  # the judge's words for a statistic or scalar that differs


@dataclass
class FailedOutput:
    output: str
    message: str
    error: float | None = None
    nonfinite: bool = False


@dataclass
class FailingCase:
    label: str
    kind: str
    outputs: list[FailedOutput]
    mistake: str | None = None
    hint: str | None = None
    edge: bool = False


@dataclass
class CheckRecord:
    function: str
    points: float
    score: float
    status: str  # 'judged', 'forbidden' (its cell uses a module answers may not use), 'not run'
    cases: int
    passed: int
    reason: str | None = None
    blamed_on: list[str] = field(default_factory=list)
    deductions: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    failing: list[FailingCase] = field(default_factory=list)


@dataclass
class CellEvent:
    cell: str | None = None
    after: str | None = None  # for a cell without a grade id (the student's own, a demonstration): the one above
    check: str | None = None
    incident: str | None = None
    error: str | None = None
    truncated: bool = False


@dataclass
class Answer:
    defines: list[str]
    source: str


@dataclass
class Record:
    student: str
    assignment: str
    graded_at: str
    score: float
    max_score: float
    seconds: float
    restarts: int
    checks: dict[str, CheckRecord]
    cells: dict[int, CellEvent] = field(default_factory=dict)
    answers: dict[str, Answer] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    version: int = RECORD_VERSION

    def to_json(self) -> str:
        data = asdict(self)
        data["cells"] = {str(k): v for k, v in data["cells"].items()}
        return json.dumps(data, indent=1)

    @classmethod
    def from_json(cls, text: str) -> "Record":
        """The record in `text`; ValueError (with what is wrong) for anything else."""
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("version") != RECORD_VERSION:
            raise ValueError(f"not a version {RECORD_VERSION} grading record")
        try:
            checks = {k: CheckRecord(**{**c, "failing": [FailingCase(**{**f, "outputs": [FailedOutput(**o) for o in f["outputs"]]})
                                                         for f in c["failing"]]})
                      for k, c in data["checks"].items()}
            cells = {int(k): CellEvent(**v) for k, v in data["cells"].items()}
            answers = {k: Answer(**v) for k, v in data["answers"].items()}
            return cls(**{**data, "checks": checks, "cells": cells, "answers": answers})
        except (KeyError, TypeError, AttributeError) as err:
            raise ValueError(f"malformed grading record ({type(err).__name__}: {err})") from None


# ------------------------------------------------------------------ from what the judge knew

def failure_kind(findings) -> str:
    """What went wrong in one failing case, from the judge's findings (module docstring)."""
    failed = [f for f in findings if not f.passed]
    if not failed:
        return "other"
    if any(f.nonfinite for f in failed):
        return "nan or inf"
    message = failed[0].message
    if message.startswith("raised "):
        exception = re.match(r"[\w.]*", message[len("raised "):]).group(0) or "an exception"
        return {"CaseTimeout": "timeout", "NotImplementedError": "not implemented"}.get(exception, f"raised {exception}")
    if message == "was not run":
        return "not run"
    if any(f.error is not None or _SCALAR.search(f.message) for f in failed):
        return "value"
    if any(" has shape " in f.message for f in failed):
        return "shape"
    if any(" is missing" in f.message for f in failed):
        return "missing"
    return "other"


def _check_record(report, status: str, reason: str | None) -> CheckRecord:
    failing = [FailingCase(c.label, failure_kind(c.findings) if status == "judged" else status,
                           [FailedOutput(f.output, f.message, f.error, f.nonfinite) for f in c.findings if not f.passed],
                           c.mistake, c.hint, c.edge)
               for c in report.cases if not c.passed]
    return CheckRecord(report.function, report.points, report.score, status,
                       cases=len(report.cases) if status == "judged" else 0,
                       passed=sum(c.passed for c in report.cases) if status == "judged" else 0,
                       reason=reason, deductions=dict(report.deductions), notes=list(report.notes), failing=failing)


def build(student: str, assignment: str, notebook, executed: dict, reports: dict, forbidden: dict[str, str],
          notes: list[str]) -> Record:
    """The record of one judged submission.

    Inputs:
    - notebook: the merged notebook that was run (cells in the order `executed` indexes them)
    - executed: the sandbox's data (outputs, runs, incidents, seconds, restarts), as the pipeline has it
    - reports: check id -> judge.Report
    - forbidden: graded name -> the forbidden module its cell uses (those checks scored 0 unjudged)
    """
    runs = {int(k) for k in executed.get("runs", {})}
    incidents = {int(k): v for k, v in executed.get("incidents", {}).items()}
    outputs = {int(k): [o for o in v if isinstance(o, dict)] if isinstance(v, list) else []  # the sandbox's: untrusted
               for k, v in executed.get("outputs", {}).items()}
    cells, tests, answers, above = {}, {}, {}, None
    for index, cell in enumerate(notebook.cells):
        tdn, grade_id = cell.metadata.get("tdn", {}), cell.metadata.get("nbgrader", {}).get("grade_id")
        if tdn.get("check"):
            tests[tdn["check"]] = index
        if tdn.get("solution_of"):
            answers[grade_id or f"cell {index}"] = Answer(list(tdn["solution_of"]), cell.source)
        errors = [o.get("ename") for o in outputs.get(index, []) if o.get("output_type") == "error"]
        truncated = any(TRUNCATED_MARK in str(o.get("text", "")) for o in outputs.get(index, []))
        if index in incidents or errors or truncated:
            cells[index] = CellEvent(grade_id, None if grade_id else above, tdn.get("check"), incidents.get(index),
                                     str(errors[0])[:200] if errors else None, truncated)
        above = grade_id or above
    checks, specs = {}, load_all()
    for check_id, report in reports.items():
        name = registry.find(check_id).name
        if name in forbidden:
            checks[check_id] = _check_record(report, "forbidden", f"uses {forbidden[name]}")
        elif tests.get(check_id) in runs:
            checks[check_id] = _check_record(report, "judged", None)
        else:
            checks[check_id] = _check_record(report, "not run", report.cases[0].findings[0].message
                                             if report.cases and report.cases[0].findings else "the test did not run")
        if not report.passed:
            checks[check_id].blamed_on = failed_dependencies(check_id, reports, specs)
    return Record(student, assignment, datetime.now(timezone.utc).isoformat(timespec="seconds"),
                  round(sum(r.score for r in reports.values()), 2), float(sum(r.points for r in reports.values())),
                  float(executed.get("seconds", 0.0)), int(executed.get("restarts", 0)), checks, cells, answers, list(notes))


def write(folder: Path, prepared, executed: dict, reports: dict) -> Path | None:
    """Write the record of a judged submission into its autograded folder (the pipeline's one call).

    Never raises for a file it cannot write: the grade is already safe in the gradebook, and the
    report counts a student without a record from the gradebook alone (and says so)."""
    path = Path(folder) / RECORD_FILE
    try:
        record = build(prepared.student, prepared.assignment, prepared.notebook, executed, reports, prepared.forbidden,
                       prepared.notes)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(record.to_json())
        tmp.replace(path)
        return path
    except (OSError, ValueError, TypeError) as err:
        print(f"autograder: {prepared.student}: could not write the grading record {path} ({err}); "
              "`autograder report` will count this student from the gradebook only", file=sys.stderr)
        return None


def path_of(course_root: Path, student: str, assignment: str) -> Path:
    return Path(course_root) / "autograded" / student / assignment / RECORD_FILE


def read(path: Path) -> Record:
    """The record at `path`; ValueError naming the file when it is not a readable record."""
    try:
        return Record.from_json(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise ValueError(f"{path}: {err}") from None
