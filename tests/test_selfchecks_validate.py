"""`nbgrader validate`, run where a student runs it, reports every unimplemented function and every
failing self-check, and says "Success!" only for a notebook that runs clean.

Each assignment is released by the real `nbgrader generate_assignment` in a temporary copy of the
course; the student's copy of the release folder includes the `nbgrader_config.py` of
assignments/source/<id>/, which makes validate look at every cell (in a release the graded cells
are empty, so by default validate would report success whatever the self-checks say).
"""
from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from test_selfchecks import ASSIGNMENTS, ROOT, SOURCE, grade_id, reference_source, source_notebook

COURSE = ROOT / "assignments"
SUCCESS = "Success! Your notebook passes all the tests."
pytestmark = pytest.mark.slow


def environment() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")  # nbgrader calls alembic
    env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MPLBACKEND="Agg")
    return env


@pytest.fixture(scope="session")
def released(tmp_path_factory):
    """assignment -> its release folder, generated once by nbgrader in a temporary course copy."""
    @functools.lru_cache(maxsize=None)
    def generate(assignment: str) -> Path:
        course = tmp_path_factory.mktemp(f"course-{assignment}")
        shutil.copy2(COURSE / "nbgrader_config.py", course)
        shutil.copytree(SOURCE, course / "source")
        subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", assignment, "--force"],
                       cwd=course, env=environment(), check=True, capture_output=True, text=True)
        return course / "release" / assignment
    return generate


def student_copy(release: Path, tmp_path: Path, solutions: dict[str, str] | None = None,
                 answers: bool = False) -> Path:
    """A student's folder: the release, with the solution cells named in `solutions` (grade id ->
    code) filled in and, with `answers`, every written answer given."""
    assignment = release.name
    folder = tmp_path / assignment
    shutil.copytree(release, folder)
    path = folder / f"{assignment}.ipynb"
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        nbg = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and nbg.get("solution") and grade_id(cell) in (solutions or {}):
            cell.source = solutions[grade_id(cell)]
        elif cell.cell_type == "markdown" and nbg.get("solution") and answers:
            cell.source = "The plots show it: a few sentences of explanation."
    nbformat.write(nb, path)
    return path


def reference_solutions(assignment: str) -> dict[str, str]:
    """grade id -> the reference code, for every solution cell of the source notebook."""
    return {grade_id(c): reference_source(c) for c in source_notebook(assignment).cells
            if c.metadata.get("tdn", {}).get("solution_of")}


def validate(notebook: Path) -> str:
    """What `nbgrader validate` prints when run in the notebook's folder, whitespace collapsed
    (messages are wrapped and indented)."""
    result = subprocess.run([sys.executable, "-m", "nbgrader", "validate", notebook.name], cwd=notebook.parent,
                            env=environment(), capture_output=True, text=True, timeout=900)
    return " ".join((result.stdout + result.stderr).split())


def selfcheck_headers(assignment: str) -> dict[str, str]:
    """grade id -> the first line of each self-check cell, which validate prints for a failing one."""
    return {grade_id(c): c.source.splitlines()[0] for c in source_notebook(assignment).cells
            if grade_id(c).startswith("selfcheck_")}


def implemented_names(assignment: str) -> list[str]:
    """Every function and class the student writes."""
    return list(dict.fromkeys(name for cell in source_notebook(assignment).cells
                              for name in cell.metadata.get("tdn", {}).get("solution_of", [])))


def written_answers(assignment: str) -> int:
    return sum(1 for c in source_notebook(assignment).cells
               if c.cell_type == "markdown" and c.metadata.get("nbgrader", {}).get("solution"))


def test_every_assignment_ships_the_same_student_config():
    configs = {a: (SOURCE / a / "nbgrader_config.py").read_text() for a in ASSIGNMENTS}
    assert len(set(configs.values())) == 1, "the four student-side nbgrader_config.py files differ"
    assert "c.Validator.validate_all = True" in configs[ASSIGNMENTS[0]]


@pytest.mark.parametrize("assignment", [pytest.param(a, marks=pytest.mark.xdist_group(a)) for a in ASSIGNMENTS])
def test_an_untouched_release_names_every_unimplemented_function_and_failing_selfcheck(assignment, released, tmp_path):
    output = validate(student_copy(released(assignment), tmp_path))

    assert SUCCESS not in output
    assert "No nbgrader_config.py file found" not in output
    for name in implemented_names(assignment):
        assert f" {name}" in output.split("not implemented yet:", 1)[-1], f"validate never names {name}"
    for check, header in selfcheck_headers(assignment).items():
        assert " ".join(header.split()) in output, f"validate does not report the failing {check}"
    assert output.count("You did not provide a response.") == written_answers(assignment)


# assignment -> (solution cell -> (buggy code, what validate must say about it)), and self-checks
# that the bugs do not touch, which must pass.
PLANTED = {
    "a1_backprop": ({
        "softmax_loss": (
            "def softmax_loss(x, y):\n"
            "    shifted = x - x.max(axis=1, keepdims=True)\n"
            "    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))\n"
            "    dx = np.exp(log_probs)\n"
            "    dx[np.arange(len(x)), y] -= 1\n"
            "    return -log_probs[np.arange(len(x)), y].mean(), dx\n",
            "every entry is 5.00 times the expected value: did you forget to divide by N (= 5)?"),
        "relu_forward": (
            "def relu_forward(x):\n"
            "    x[x < 0] = 0\n"
            "    return x, x\n",
            "relu_forward changed x in place"),
    }, ("selfcheck_affine_forward", "selfcheck_affine_backward", "selfcheck_sigmoid_forward")),
    "a4_regularization": ({
        "dropout_forward": (
            "def dropout_forward(x, dropout_param):\n"
            "    p = dropout_param['p']\n"
            "    if dropout_param['mode'] == 'test':\n"
            "        return x.copy(), (None, 1.0)\n"
            "    mask = np.random.default_rng(dropout_param.get('seed')).random(x.shape) >= p\n"
            "    return x * mask, (mask, 1.0)\n",
            "the kept units are not rescaled: inverted dropout divides them by (1 - p)"),
    }, ("selfcheck_from_earlier_assignments",)),
}


@pytest.mark.parametrize("assignment", [pytest.param(a, marks=pytest.mark.xdist_group(a)) for a in PLANTED])
def test_planted_bugs_are_reported_and_the_rest_is_not(assignment, released, tmp_path):
    bugs, unaffected = PLANTED[assignment]
    solutions = reference_solutions(assignment)
    solutions.update({name: code for name, (code, _) in bugs.items()})
    output = validate(student_copy(released(assignment), tmp_path, solutions, answers=True))

    assert SUCCESS not in output
    assert "VALIDATION FAILED" in output
    headers = selfcheck_headers(assignment)
    for name, (_, message) in bugs.items():
        assert message in output
        assert " ".join(headers[f"selfcheck_{name}"].split()) in output
    assert "not implemented yet" not in output
    for check in unaffected:
        assert " ".join(headers[check].split()) not in output, f"{check} should pass"


@pytest.mark.parametrize("assignment", [pytest.param(a, marks=pytest.mark.xdist_group(a)) for a in ASSIGNMENTS])
def test_a_correct_notebook_validates_with_success(assignment, released, tmp_path):
    output = validate(student_copy(released(assignment), tmp_path, reference_solutions(assignment), answers=True))

    assert SUCCESS in output, output[-3000:]
