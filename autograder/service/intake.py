"""What an upload must be before it may wait in the queue: a notebook, of the assignment it is sent to.

Each check is cheap (one JSON parse) and says what to do instead, so a wrong file costs the
student nothing but a clear 4xx; the full reading and repair of the notebook (`submission.prepare`)
happens when it is graded, as in `autograder grade`.
"""
from __future__ import annotations

import json
from pathlib import Path

import nbformat


class Refusal(Exception):
    """An upload that cannot be taken: HTTP `status` and a message for the student."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def grade_ids(course_root: Path) -> dict[str, set[str]]:
    """Assignment -> the nbgrader grade ids of its source notebook, for every source in the course."""
    found = {}
    for path in sorted((Path(course_root) / "source").glob("*/*.ipynb")):
        if path.stem != path.parent.name:
            continue
        nb = nbformat.read(path, as_version=4)
        found[path.stem] = {c.metadata["nbgrader"]["grade_id"] for c in nb.cells if "grade_id" in c.metadata.get("nbgrader", {})}
    return found


def check(data: bytes, assignment: str, ids: dict[str, set[str]]) -> None:
    """Raise Refusal unless `data` is a notebook with cells of `assignment` (module docstring).

    - ids: assignment -> its grade ids (`grade_ids`)
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise Refusal(400, "the file is not text (UTF-8): send the .ipynb notebook file itself, not a zip or a PDF") from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as err:
        raise Refusal(400, f"the file is not valid JSON (line {err.lineno}, column {err.colno}): send the .ipynb "
                           "notebook file as Jupyter saved it") from None
    except RecursionError:
        raise Refusal(400, "the file is not a notebook (its JSON is nested too deeply)") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("cells"), list):
        raise Refusal(422, "the file is JSON but not a Jupyter notebook (it has no list of cells)")
    sent = {_grade_id(c) for c in raw["cells"]} - {None}
    # Assignments share a few cells (a network written in an earlier one): what matters is how
    # much of each assignment's own cells the notebook has.
    share = {a: len(sent & known) / len(known) for a, known in ids.items() if known}
    mine = share.get(assignment, 0.0)
    best = max(share, key=share.get, default=assignment)
    if best != assignment and share[best] > mine and mine < 0.5:
        raise Refusal(422, f"this is the notebook of {best}, not of {assignment}: send it to {best}, "
                           f"or send your {assignment}.ipynb here")
    if mine == 0:
        raise Refusal(422, f"none of this notebook's cells belong to {assignment}: send the {assignment}.ipynb you "
                           "downloaded and worked in (its cells carry the assignment's metadata)")


def _grade_id(cell) -> str | None:
    if not isinstance(cell, dict):
        return None
    nbgrader = (cell.get("metadata") or {}).get("nbgrader") if isinstance(cell.get("metadata"), dict) else None
    grade_id = nbgrader.get("grade_id") if isinstance(nbgrader, dict) else None
    return grade_id if isinstance(grade_id, str) else None
