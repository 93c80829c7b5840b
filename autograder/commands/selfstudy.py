"""The self-study edition of the assignments (`autograder self-study`, `make self-study`), for a
learner who has the whole repository, reference included, and no grade at stake.

Each assignment is made by nbgrader exactly as `autograder generate` makes the student version,
but in a temporary copy of the course, so the instructor's release/ is never written. Then one
pass over each notebook:

- a markdown cell first says what this edition is and how the instructor edition differs;
- each hidden test cell (`metadata.tdn.check`) runs the full hidden check on the spot, in the
  learner's own kernel (`autograder.selfstudy.check`), and prints the verdict and the feedback;
  its nbgrader checksum is recomputed, so `nbgrader validate` still takes the cell as it is.

The files nbgrader ships beside the notebook (the student `nbgrader_config.py`) come along. A
notebook already in the output folder is the learner's work: it is kept unless `force`.
"""
from __future__ import annotations

import copy
import shutil
import tempfile
from pathlib import Path

import nbformat

from autograder.commands.authoring import points_phrase
from autograder.commands.courses import copy_course
from autograder.grading import nbgrader_cli
from autograder.spec import registry


class SelfStudyError(ValueError):
    """The edition cannot be built where asked; the message says why and what to do."""


NOTE = """\
> **Self-study edition.** This copy of the assignment is for learning on your own, with no grade at
> stake. Its hidden test cells run the course's full hidden checks **here, in this notebook's
> kernel**: each one calls your function on new inputs, compares it with the NumPy reference and
> PyTorch, and prints the verdict and the same feedback the grader gives (the function, the case
> and its shapes, which output differs and by how much, and a hint when it matches a known mistake).
>
> The instructor edition differs: there the hidden tests are not in the student's copy at all, and
> a submitted notebook is graded in a sandbox after the deadline (`autograder grade`). Nothing here
> is submitted or recorded, and the reference solutions are in the repository (`solutions/`): try
> not to look until your own version passes.
>
> Run it with the repository's environment (`make self-study` builds this folder, then
> `.venv/bin/jupyter lab self-study/`), top to bottom. Building again keeps your notebooks;
> `.venv/bin/autograder self-study --force` starts them over."""

CONFIG_NOTE = """\
# Self-study edition: unlike the student copy this file was written for, the hidden test cells here
# run the full hidden checks in your own kernel and print their verdict; nothing is submitted.
"""


def check_cell_source(check_id: str) -> str:
    """The source of a hidden test cell in the self-study edition: one call."""
    item = registry.find(check_id)
    return (
        f"# Self-study: the hidden tests of {item.name} run here, in this kernel, on new inputs against the course's\n"
        f"# NumPy reference and PyTorch, and print the verdict ({points_phrase(item.points)} in the graded course).\n"
        "from autograder.selfstudy import check\n"
        f'check("{check_id}", globals())'
    )


SERVICE_CELL_IDS = ("ask-hidden-tests-intro", "ask-hidden-tests")  # the release's cells that call the service


def self_study_notebook(release: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The self-study edition of a student version made by nbgrader (module docstring)."""
    from nbgrader.utils import compute_checksum

    nb = copy.deepcopy(release)
    # A self-learner has no feedback service: the checks run right here instead.
    nb.cells = [c for c in nb.cells if c.get("id") not in SERVICE_CELL_IDS]
    for cell in nb.cells:
        check_id = cell.get("metadata", {}).get("tdn", {}).get("check")
        if cell.cell_type == "code" and check_id:
            cell.source = check_cell_source(check_id)
            if "nbgrader" in cell.metadata:
                cell.metadata.nbgrader["checksum"] = compute_checksum(cell)
    note = nbformat.v4.new_markdown_cell(NOTE, metadata={"tdn": {"self_study": True}})
    nb.cells.insert(0, note)
    return nb


def build(course_root: Path, out: Path, assignments: list[str], force: bool = False) -> list[str]:
    """Write the self-study edition of `assignments` into `out`/<id>/; one line per assignment
    saying what was written or kept."""
    course_root, out = Path(course_root).resolve(), Path(out).resolve()
    if out == course_root or out.is_relative_to(course_root):
        raise SelfStudyError(f"{out} is inside the course {course_root}: the self-study edition must not mix with "
                             "the instructor's course (its release/ is what students get); choose --out elsewhere")
    done = []
    with tempfile.TemporaryDirectory(prefix="self-study-") as tmp:
        course = copy_course(course_root, Path(tmp) / "course")
        for assignment in assignments:
            target = out / assignment
            notebook = target / f"{assignment}.ipynb"
            if notebook.exists() and not force:
                done.append(f"{assignment}: kept your notebook {notebook} (--force starts it over)")
                continue
            # --no-db: nbgrader's gradebook belongs to the instructor's course; nothing is recorded here.
            nbgrader_cli.run(course, "generate_assignment", assignment, "--force", "--no-db")
            release = course / "release" / assignment
            target.mkdir(parents=True, exist_ok=True)
            for path in sorted(release.iterdir()):
                if path.name == f"{assignment}.ipynb":
                    nbformat.write(self_study_notebook(nbformat.read(path, as_version=4)), notebook)
                elif path.name == "nbgrader_config.py":
                    (target / path.name).write_text(CONFIG_NOTE + path.read_text())
                elif path.is_file():
                    shutil.copy2(path, target / path.name)
            done.append(f"{assignment}: {notebook}")
    return done
