"""Grades out of nbgrader's gradebook: nbgrader's own CSV, or a CSV that Canvas imports.

Canvas matches rows by `ID` (its user id), then `SIS User ID`, then `SIS Login ID`, and reads each
further column `<assignment> (<max points>)` as an assignment. A score is the submission's total,
autograded plus manual (nbgrader's `SubmittedAssignment.score`, where a manual score replaces the
autograded one of its cell); a student with no submission gets an empty cell, which Canvas leaves
ungraded, not a 0. Both exports refuse to replace an existing file unless `overwrite=True`, and
write to a temporary file that is then renamed, so a reader never sees half a CSV (the file is
readable by its owner only, as grades should be).
"""
from __future__ import annotations

import csv
import os
import tempfile
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from autograder.grading import nbgrader_cli
from autograder.commands.collect import read_roster

CANVAS_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]


class ExportError(ValueError):
    pass


def _check_target(out_path: Path, overwrite: bool) -> Path:
    out_path = Path(out_path).resolve()
    if out_path.exists() and not overwrite:
        raise ExportError(f"{out_path} already exists; pass overwrite=True to replace it")
    if not out_path.parent.is_dir():
        raise ExportError(f"{out_path.parent} is not a folder; cannot write {out_path.name} there")
    return out_path


def _write_then_rename(out_path: Path, write) -> Path:
    """Call write(temporary path) beside out_path, then rename it into place (removed on failure)."""
    fd, tmp = tempfile.mkstemp(dir=out_path.parent, prefix=f".{out_path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, out_path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return out_path


def nbgrader_csv(course_root: Path, out_path: Path, *, overwrite: bool = False) -> Path:
    """`nbgrader export --to out_path`: one row per student and assignment, nbgrader's columns."""
    return _write_then_rename(_check_target(out_path, overwrite),
                              lambda tmp: nbgrader_cli.run(Path(course_root), "export", "--to", str(tmp)))


def _points(value: float) -> str:
    return f"{round(value, 2):g}"


def canvas_csv(course_root: Path, out_path: Path, assignments: list[str] | None = None,
               roster_csv: Path | None = None, *, overwrite: bool = False) -> Path:
    """A Canvas gradebook import CSV with one row per student in the gradebook.

    Inputs:
    - assignments: assignment ids in column order (default: every assignment of the gradebook, by name)
    - roster_csv: columns student_id plus any of lms_id (Canvas user id), name, section,
      sis_user_id, sis_login_id; without it (or for a student it lacks) the ids are the student id

    Returns the path written.
    """
    out_path = _check_target(out_path, overwrite)
    course_root = Path(course_root)
    if not (course_root / "gradebook.db").exists():
        raise ExportError(f"{course_root} has no gradebook.db; generate or autograde an assignment first")
    roster = {row["student_id"]: row for row in read_roster(roster_csv, ("lms_id", "name", "section"))} if roster_csv else {}
    with Gradebook(nbgrader_cli.gradebook_url(course_root)) as gb:
        known = {a.name: a for a in gb.assignments}
        chosen = list(assignments) if assignments is not None else sorted(known)
        unknown = [a for a in chosen if a not in known]
        if unknown:
            raise ExportError(f"{course_root / 'gradebook.db'} has no assignment {', '.join(unknown)}; "
                              f"it has {', '.join(sorted(known)) or 'none'}")
        header = CANVAS_COLUMNS + [f"{a} ({_points(known[a].max_score)})" for a in chosen]
        rows = []
        for student in sorted(s.id for s in gb.students):
            ids = roster.get(student, {})
            row = [ids.get("name") or student, ids.get("lms_id") or student, ids.get("sis_user_id") or student,
                   ids.get("sis_login_id") or student, ids.get("section", "")]
            for assignment in chosen:
                try:
                    row.append(_points(gb.find_submission(assignment, student).score))
                except MissingEntry:
                    row.append("")
            rows.append(row)

    def write(tmp: Path) -> None:
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            csv.writer(fh).writerows([header, *rows])

    return _write_then_rename(out_path, write)
