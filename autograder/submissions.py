"""Synthetic students, for the demo and the tests: notebooks as a class would hand them in.

- `reference`: the source notebook itself (every solution in place): must earn every point.
- `blank`: the release notebook untouched: must earn nothing, quickly.
- `with_mistakes`: the source notebook with known mistakes from the catalogue planted in the
  solution cells that define the affected names. Its experiment cells can be emptied, as a
  student in a hurry might, so that grading many of them stays fast.
"""
from __future__ import annotations

import itertools
from pathlib import Path

import nbformat

from autograder import registry
from autograder.mistakes import Mistake, mistakes_for


def reference(source_nb: Path):
    return nbformat.read(source_nb, as_version=4)


def blank(release_nb: Path):
    return nbformat.read(release_nb, as_version=4)


def with_mistakes(source_nb: Path, mistakes: list[Mistake], keep_experiments: bool = False):
    """The source notebook with each mistake's wrong definitions bound right after the right ones."""
    nb = nbformat.read(source_nb, as_version=4)
    planted = set()
    for cell in nb.cells:
        defines = set(cell.get("metadata", {}).get("tdn", {}).get("solution_of", []))
        for m in mistakes:
            for name in sorted(defines & set(m.replace)):
                cell.source += (
                    f"\n\n# planted mistake: {m.check}/{m.slug}\n"
                    f"from autograder.mistakes import implementation\n"
                    f"{name} = implementation({m.check!r}, {m.slug!r}, {name!r})"
                )
                planted.add((m.check, m.slug))
    missing = {(m.check, m.slug) for m in mistakes} - planted
    if missing:
        raise ValueError(f"{source_nb}: no solution cell defines what these mistakes replace: {sorted(missing)}")
    if not keep_experiments:
        for cell in nb.cells:
            if cell.cell_type == "code" and "nbgrader" not in cell.metadata and "import" not in cell.source:
                cell.source = ""
    return nb


def mistake_rounds(assignment: str) -> list[list[Mistake]]:
    """The assignment's catalogue split into rounds with at most one mistake per graded item.

    One mistake per item keeps each item's verdict about one known mistake, and the number of
    notebooks to grade is the largest number of mistakes of any one item, not their total.
    """
    per_item = [mistakes_for(item.check_id) for item in registry.graded(assignment)]
    rounds = itertools.zip_longest(*per_item)
    return [[m for m in r if m is not None] for r in rounds]


def write(nb, course_root: Path, student: str, assignment: str) -> Path:
    """Place a notebook where nbgrader autograde looks for it: submitted/<student>/<assignment>/."""
    path = Path(course_root) / "submitted" / student / assignment / f"{assignment}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path
