"""Turn what a student handed in into something safe to run: found, parsed, repaired and merged.

Everything here reads files as data and never runs them. A submission that cannot be used raises
`SubmissionError` with a message naming the student and the file; everything that was repaired
on the way (a renamed notebook, duplicated cell ids, deleted or duplicated test cells) becomes a
note for the student's feedback.

Merging follows nbgrader's rules, done once and strictly: cells are matched to the source by
their nbgrader grade_id; test and read-only cells are replaced by the instructor's version;
answer cells keep the student's text under the instructor's metadata; a grade_id that appears
twice or that the source does not know becomes an ordinary cell; deleted graded cells are put
back where the source has them.
"""
from __future__ import annotations

import copy
import hashlib
import json
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from autograder.grading import answers



class SubmissionError(Exception):
    """A submission that cannot be graded; the message names the student and the file."""


@dataclass
class Prepared:
    student: str
    assignment: str
    path: Path
    notebook: nbformat.NotebookNode
    job: dict
    notes: list[str] = field(default_factory=list)
    forbidden: dict[str, str] = field(default_factory=dict)  # graded name -> forbidden module it imports
    digest: str = ""


def find_notebook(student_dir: Path, assignment: str, student: str) -> tuple[Path, list[str]]:
    """The notebook to grade: <assignment>.ipynb, or the only notebook there under another name."""
    expected = student_dir / f"{assignment}.ipynb"
    if expected.exists():
        return expected, []
    notebooks = sorted(p for p in student_dir.glob("*.ipynb") if not p.name.startswith("."))
    if len(notebooks) == 1:
        return notebooks[0], [f"your notebook was named {notebooks[0].name}, not {expected.name}; it was graded anyway"]
    if not notebooks:
        raise SubmissionError(f"{student}: no notebook in {student_dir} (expected {expected.name})")
    raise SubmissionError(f"{student}: {len(notebooks)} notebooks in {student_dir} and none is {expected.name}: "
                          f"{', '.join(p.name for p in notebooks)}")


def read_notebook(path: Path, student: str) -> nbformat.NotebookNode:
    text = path.read_bytes()
    try:
        raw = json.loads(text)
    except UnicodeDecodeError:
        raise SubmissionError(f"{student}: {path} is not text (UTF-8)") from None
    except json.JSONDecodeError as err:
        raise SubmissionError(f"{student}: {path} is not valid JSON (line {err.lineno}, column {err.colno})") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("cells"), list):
        raise SubmissionError(f"{student}: {path} is JSON but not a notebook (no list of cells)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # duplicate cell ids: merge() repairs them and says so
            return nbformat.reads(text.decode("utf-8"), as_version=4)
    except Exception as err:  # noqa: BLE001 - nbformat raises many kinds for malformed notebooks
        raise SubmissionError(f"{student}: {path} is not a readable notebook ({type(err).__name__}: {err})") from None


def _grade_id(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def merge(source: nbformat.NotebookNode, submitted: nbformat.NotebookNode) -> tuple[nbformat.NotebookNode, list[str]]:
    """The notebook to execute: the student's cells under the instructor's graded cells (see module docstring)."""
    graded = {_grade_id(c): c for c in source.cells if _grade_id(c)}
    order = [_grade_id(c) for c in source.cells if _grade_id(c)]
    notes, used, cells = [], set(), []
    for cell in submitted.cells:
        gid = _grade_id(cell)
        if gid in graded and gid not in used:
            used.add(gid)
            original = graded[gid]
            if original.metadata["nbgrader"].get("solution"):
                merged = copy.deepcopy(original)
                merged.source = cell.get("source", "")
            else:
                merged = copy.deepcopy(original)
            cells.append(merged)
        else:
            plain = copy.deepcopy(cell)
            if gid is not None:
                notes.append(f"a second cell with grade id {gid!r} (a duplicated cell?) was graded as an ordinary cell"
                             if gid in graded else f"a cell claims unknown grade id {gid!r}; it was treated as an ordinary cell")
            plain.metadata.pop("nbgrader", None)
            # A student's cell claims no check and no answer; it may keep the one mark that can only
            # make grading run less of the notebook (see `job_for`).
            tdn = plain.metadata.pop("tdn", None)
            if isinstance(tdn, dict) and tdn.get("demo") is True:
                plain.metadata["tdn"] = {"demo": True}
            cells.append(plain)
    for gid in order:
        if gid in used:
            continue
        previous = order[: order.index(gid)]
        at = max((i + 1 for i, c in enumerate(cells) if _grade_id(c) in previous), default=0)
        cells.insert(at, copy.deepcopy(graded[gid]))
        if graded[gid].metadata["nbgrader"].get("grade") or graded[gid].metadata["nbgrader"].get("solution"):
            notes.append(f"the cell {gid!r} was missing and was restored from the assignment")
    seen, repaired = set(), 0
    for cell in cells:
        if cell.get("id") in seen or not cell.get("id"):
            cell["id"] = uuid.uuid4().hex[:8]
            repaired += 1
        seen.add(cell["id"])
    if repaired:
        notes.append(f"{repaired} duplicate or missing cell id(s) were repaired")
    merged = copy.deepcopy(source)
    merged.cells = cells
    return merged, notes


def job_for(notebook: nbformat.NotebookNode, run_self_checks: bool = False, run_all: bool = False) -> dict:
    """The runtime's job: every code cell in order; hidden test cells become driver runs.

    Visible self-check cells (locked, ungraded, grade id `selfcheck_*`) are the student's own tool
    and are not re-run unless asked: no grade depends on them, and they use PyTorch. Neither are
    demonstration cells (`metadata.tdn.demo`: experiments and plots that only illustrate), unless
    `run_all`: their outputs stay as submitted. `autograder sync --check` proves that the
    reference scores the same with and without them.
    """
    from autograder.spec.checks import load_all

    checks = load_all()
    cells = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        check = cell.metadata.get("tdn", {}).get("check")
        if check:
            cells.append({"index": index, "kind": "test", "check": check, "driver": checks[check].driver_name})
        elif (run_self_checks or not (_grade_id(cell) or "").startswith("selfcheck_")) \
                and (run_all or not is_demo(cell)):
            cells.append({"index": index, "kind": "code", "source": cell.source})
    return {"cells": cells}


def is_demo(cell) -> bool:
    """A demonstration cell: an experiment or plot no grade depends on (see `job_for`)."""
    tdn = cell.get("metadata", {}).get("tdn", {})
    return isinstance(tdn, dict) and tdn.get("demo") is True


def forbidden_answers(notebook: nbformat.NotebookNode, graded_names: set[str]) -> dict[str, str]:
    """Graded name -> the module its defining cell may not use (see autograder.grading.answers).

    A defining cell is a solution cell (the names it is for) or any cell the student can edit that
    defines a graded name with `def` or `class`.
    """
    code = [c for c in notebook.cells if c.cell_type == "code"]
    names_bound = {}
    for cell in code:
        names_bound.update(answers.bindings(cell.source))
    found = {}
    for cell in code:
        nbg = cell.metadata.get("nbgrader", {})
        if nbg.get("locked"):
            continue
        defined = set(cell.metadata.get("tdn", {}).get("solution_of", [])) | (answers.defined_names(cell.source) & graded_names)
        if not defined:
            continue
        module = answers.forbidden_use(cell.source, names_bound)
        for name in sorted(defined) if module else []:
            found.setdefault(name, module)
    return found


def prepare(course_root: Path, assignment: str, student: str, source: nbformat.NotebookNode,
            run_self_checks: bool = False, run_all: bool = False) -> Prepared:
    """The submission of `student`, read, repaired and merged with `source`, and its job (module docstring)."""
    student_dir = Path(course_root) / "submitted" / student / assignment
    if not student_dir.is_dir():
        raise SubmissionError(f"{student}: nothing submitted for {assignment} (no folder {student_dir})")
    path, notes = find_notebook(student_dir, assignment, student)
    submitted = read_notebook(path, student)
    merged, merge_notes = merge(source, submitted)
    notes += merge_notes
    # Files the release itself ships (a student nbgrader_config.py, data) come back with the folder.
    shipped = {p.name for p in (Path(course_root) / "release" / assignment).glob("*")}
    extra = sorted(p.name for p in student_dir.iterdir() if p != path and p.name != "timestamp.txt" and p.name not in shipped)
    if extra:
        notes.append(f"extra files were ignored: {', '.join(extra[:5])}" + (" ..." if len(extra) > 5 else ""))
    from autograder.spec import registry

    forbidden = forbidden_answers(merged, {item.name for item in registry.graded(assignment)})
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    job = job_for(merged, run_self_checks, run_all)
    return Prepared(student, assignment, path, merged, job, notes, forbidden, digest)
