"""The self-study edition: the assignments for a self-learner, whose hidden test cells run the full
check in the learner's own kernel and print the grader's feedback, built without touching the
instructor's course.

The edition is built once (`autograder self-study`, as `make self-study` runs it) from a temporary
copy of the course, and A1's notebook is executed with nbclient as a learner runs it: with the
reference answers, with one known mistake, and untouched.
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from autograder.commands import authoring, cli
from autograder.commands.courses import DEFAULT_COURSE, copy_course
from autograder.commands.selfstudy import check_cell_source
from autograder.spec import registry
from test_selfchecks import grade_id, namespace, reference_source, source_notebook

# One worker builds the edition once and runs every test here, one after another: they share it.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("selfstudy")]

ASSIGNMENT = "a1_backprop"
TANH_NOT_SQUARED = "def tanh_backward(dout, cache):\n    return dout * (1 - cache)\n"
TANH_HINT = "tanh'(x) = 1 - tanh(x)**2: the square is missing"


def tree(root: Path) -> dict[str, str]:
    """Every file under `root` (relative path -> sha256 of its bytes)."""
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """(course copy, its files before the build, the edition's folder, what the command printed)."""
    base = tmp_path_factory.mktemp("selfstudy")
    course = copy_course(DEFAULT_COURSE, base / "course")
    before = tree(course)
    out = base / "self-study"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        status = cli.main(["self-study", "--course", str(course), "--out", str(out)])
    assert status == 0, printed.getvalue()
    return course, before, out, printed.getvalue()


def edition_notebook(out: Path, assignment: str) -> nbformat.NotebookNode:
    return nbformat.read(out / assignment / f"{assignment}.ipynb", as_version=4)


def hidden_test_cells(nb) -> dict[str, nbformat.NotebookNode]:
    return {c.metadata["tdn"]["check"]: c for c in nb.cells if c.cell_type == "code" and "check" in c.metadata.get("tdn", {})}


def answered(nb, solutions: dict[str, str], demos: bool = True) -> nbformat.NotebookNode:
    """A copy of the edition's notebook with the solution cells named in `solutions` (grade id ->
    code) filled in, as the learner would, and without the demonstration cells unless `demos`
    (experiments no check depends on; `autograder sync --check` proves it)."""
    nb = nbformat.from_dict(nb)
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution") and grade_id(cell) in solutions:
            cell.source = solutions[grade_id(cell)]
    if not demos:
        nb.cells = [c for c in nb.cells if not c.metadata.get("tdn", {}).get("demo")]
    return nb


def reference_answers(assignment: str) -> dict[str, str]:
    """grade id -> the reference code of every solution cell (the source notebook, markers removed)."""
    return {grade_id(c): reference_source(c) for c in source_notebook(assignment).cells
            if c.metadata.get("tdn", {}).get("solution_of")}


def execute(nb, folder: Path, allow_errors: bool) -> dict[str, str]:
    """Run the notebook top to bottom in a fresh python3 kernel from this environment, in `folder`;
    check id -> what its hidden test cell printed. A hidden test cell that raised fails the test."""
    client = NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=allow_errors,
                            resources={"metadata": {"path": str(folder)}})
    client.execute(env={**os.environ, "MPLBACKEND": "Agg", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"})
    printed = {}
    for check_id, cell in hidden_test_cells(nb).items():
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert errors == [], f"the hidden test cell of {check_id} raised: {errors[0].ename}: {errors[0].evalue}"
        printed[check_id] = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
    return printed


# ------------------------------------------------------------------ what is built, and where

def test_every_assignment_opens_with_a_note_that_this_is_the_self_study_edition(built):
    _, _, out, _ = built
    for assignment in registry.ASSIGNMENTS:
        first = edition_notebook(out, assignment).cells[0]
        text = " ".join(first.source.replace(">", " ").split())
        assert first.cell_type == "markdown"
        assert "Self-study edition." in text
        assert "run the course's full hidden checks **here, in this notebook's kernel**" in text
        assert "The instructor edition differs" in text and "graded in a sandbox after the deadline" in text


def test_every_hidden_test_cell_runs_its_check_in_the_kernel_and_keeps_a_valid_checksum(built):
    from nbgrader.utils import compute_checksum

    _, _, out, _ = built
    for assignment in registry.ASSIGNMENTS:
        nb = edition_notebook(out, assignment)
        cells = hidden_test_cells(nb)
        assert sorted(cells) == sorted(item.check_id for item in registry.graded(assignment))
        for check_id, cell in cells.items():
            assert cell.source == check_cell_source(check_id)
            assert cell.source.endswith(f'from autograder.selfstudy import check\ncheck("{check_id}", globals())')
            assert cell.metadata.nbgrader["checksum"] == compute_checksum(cell)
        assert not any("autograder.kernel" in c.source for c in nb.cells)


def test_the_answers_are_left_for_the_learner_to_write(built):
    _, _, out, _ = built
    for assignment in registry.ASSIGNMENTS:
        solution_cells = [c for c in edition_notebook(out, assignment).cells if c.metadata.get("tdn", {}).get("solution_of")]
        assert solution_cells and all("raise NotImplementedError()" in c.source for c in solution_cells)
        assert not any("BEGIN SOLUTION" in c.source for c in solution_cells)


def test_building_the_edition_writes_nothing_into_the_course(built):
    course, before, out, printed = built
    assert tree(course) == before
    assert not (course / "release").exists()
    assert not out.is_relative_to(course)
    assert f"{ASSIGNMENT}: {out / ASSIGNMENT / (ASSIGNMENT + '.ipynb')}" in printed


def test_the_instructor_release_still_holds_no_reference_and_no_check_code(built):
    course, _, _, _ = built
    leaks = authoring.generate(course, ASSIGNMENT)

    release = nbformat.read(course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    assert leaks == []
    assert not any("selfstudy" in c.source or "Self-study" in c.source for c in release.cells)
    for check_id, cell in hidden_test_cells(release).items():
        assert "check(" not in cell.source and "grade(" not in cell.source, check_id


def test_the_edition_refuses_to_go_into_the_course(built, capsys):
    course, _, _, _ = built
    before = tree(course)
    status = cli.main(["self-study", "--course", str(course), "--out", str(course / "release"), ASSIGNMENT])

    assert status == 2
    assert "must not mix with the instructor's course" in capsys.readouterr().err
    assert tree(course) == before


def test_building_again_keeps_the_learners_notebook_unless_forced(built, tmp_path):
    course, _, _, _ = built
    out, assignment = tmp_path / "self-study", "a4_regularization"
    args = ["self-study", "--course", str(course), "--out", str(out), assignment]
    with contextlib.redirect_stdout(io.StringIO()):
        cli.main(args)
    notebook = out / assignment / f"{assignment}.ipynb"
    notebook.write_text(notebook.read_text().replace("raise NotImplementedError()", "return None  # my work"))
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        cli.main(args)
    kept = notebook.read_text()
    with contextlib.redirect_stdout(io.StringIO()):
        cli.main([*args, "--force"])

    assert "my work" in kept and f"kept your notebook {notebook}" in printed.getvalue()
    assert "my work" not in notebook.read_text()


def test_make_self_study_bootstraps_the_venv_and_the_lectures_say_how_to_use_it():
    root = DEFAULT_COURSE.parent
    makefile = (root / "Makefile").read_text()
    intro = " ".join((root / "lectures" / "intro.md").read_text().split())

    assert "\nself-study: $(STAMP)\n\t$(RUN) $(BIN)/autograder self-study\n" in makefile
    assert "/self-study/" in (root / ".gitignore").read_text().splitlines()
    assert "`make self-study`" in intro and "`.venv/bin/jupyter lab self-study/`" in intro


# ------------------------------------------------------------------ a learner runs A1

def test_with_the_reference_answers_every_hidden_test_cell_prints_that_it_passed(built):
    _, _, out, _ = built
    nb = answered(edition_notebook(out, ASSIGNMENT), reference_answers(ASSIGNMENT))
    printed = execute(nb, out / ASSIGNMENT, allow_errors=False)

    assert sorted(printed) == sorted(item.check_id for item in registry.graded(ASSIGNMENT))
    for check_id, text in printed.items():
        item = registry.find(check_id)
        assert f"Self-study check of {item.name}: PASSED" in text, text
        assert f"{item.points} of {item.points} points" in text and "All checks passed." in text, text


def test_a_known_mistake_gets_the_graders_diagnosis_in_its_own_cell_and_blames_nothing_else(built):
    _, _, out, _ = built
    answers = {**reference_answers(ASSIGNMENT), "tanh_backward": TANH_NOT_SQUARED}
    printed = execute(answered(edition_notebook(out, ASSIGNMENT), answers, demos=False), out / ASSIGNMENT,
                      allow_errors=True)  # the visible self-check of tanh_backward fails too, as it should

    wrong = printed.pop("tanh_backward")
    assert "Self-study check of tanh_backward: NOT PASSED, 0 of 1 points" in wrong
    assert "tanh_backward: 0/" in wrong and "dx differs from" in wrong
    assert f"Hint: {TANH_HINT}" in wrong
    for check_id, text in printed.items():
        assert ": PASSED" in text and "All checks passed." in text, (check_id, text)
        assert "Note:" not in text and "Hint:" not in text, (check_id, text)


def test_the_untouched_notebook_says_each_function_is_not_implemented_without_a_traceback(built):
    _, _, out, _ = built
    printed = execute(answered(edition_notebook(out, ASSIGNMENT), {}, demos=False), out / ASSIGNMENT,
                      allow_errors=True)  # the visible self-checks and experiments raise, as they do in a release

    assert sorted(printed) == sorted(item.check_id for item in registry.graded(ASSIGNMENT))
    for check_id, text in printed.items():
        name = registry.find(check_id).name
        assert f"Self-study check of {name}: NOT PASSED, 0 of" in text, text
        assert "raised NotImplementedError" in text and "Hint: this function is not implemented yet" in text, text
        assert "Traceback" not in text


# ------------------------------------------------------------------ in-process: what the grader adds

@pytest.fixture
def fresh_kernel(monkeypatch):
    """`autograder.selfstudy` as a fresh kernel has it: no report of an earlier check."""
    from autograder import selfstudy

    monkeypatch.setattr(selfstudy, "_REPORTS", {})
    return selfstudy


def test_an_answer_that_uses_pytorch_is_checked_but_told_it_would_score_zero(fresh_kernel, capsys):
    check = fresh_kernel.check

    ns = namespace(ASSIGNMENT, redefine="""
        import torch

        def relu_forward(x):
            return torch.relu(torch.as_tensor(x)).numpy(), x
    """)
    check("relu_forward", ns)
    text = capsys.readouterr().out

    assert "Self-study check of relu_forward: NOT PASSED, 0 of 1 points" in text
    assert "relu_forward uses torch, which graded answers may not use: write it with NumPy" in text


def test_a_network_built_on_a_failing_layer_says_to_fix_that_layer_first(fresh_kernel, capsys):
    check = fresh_kernel.check

    ns = namespace(ASSIGNMENT, redefine="""
        def affine_forward(x, w, b):
            return x.reshape(x.shape[0], -1) @ w, (x, w)
    """)
    check("affine_forward", ns)
    check("two_layer_net", ns)
    check("two_layer_net", ns)
    affine, network, again = capsys.readouterr().out.split("Self-study check of TwoLayerNet")
    ns["affine_forward"] = namespace(ASSIGNMENT)["affine_forward"]
    check("affine_forward", ns)
    check("two_layer_net", ns)
    fixed = capsys.readouterr().out.split("Self-study check of TwoLayerNet")[1]

    assert "Hint: the bias b is missing: out = x w + b" in affine
    assert "Note: affine_forward failed its own test; TwoLayerNet calls it, so fix affine_forward first" in network
    assert again.count("Note:") == 1
    assert fixed.startswith(": PASSED") and "Note:" not in fixed


def test_the_edition_has_no_cell_that_asks_a_feedback_service(built):
    from autograder.commands.selfstudy import SERVICE_CELL_IDS

    release = nbformat.read(DEFAULT_COURSE / "source" / "a1_backprop" / "a1_backprop.ipynb", as_version=4)
    assert {c.get("id") for c in release.cells} >= set(SERVICE_CELL_IDS)  # the source has them
    assert len(list(built[2].rglob("*.ipynb"))) == len(registry.ASSIGNMENTS)
    for notebook in sorted(built[2].rglob("*.ipynb")):
        cells = nbformat.read(notebook, as_version=4).cells
        assert not any("ask_hidden_tests" in c.source for c in cells), notebook
