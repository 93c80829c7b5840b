"""Every lecture runs top to bottom without an error, and is committed without outputs."""
import nbformat
import pytest

from lecture_runner import LECTURES, LectureError, executed_lecture


def test_there_are_lectures_to_check():
    assert LECTURES, "no lectures/NN_*.ipynb found"


@pytest.mark.parametrize("path", LECTURES, ids=[p.stem for p in LECTURES])
def test_lecture_is_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    dirty = [index for index, cell in enumerate(nb.cells)
             if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)]
    assert dirty == [], (f"{path.name}: code cells {dirty} have outputs or an execution count; "
                         "clear them (Edit > Clear Outputs of All Cells) before committing")


@pytest.mark.slow
@pytest.mark.parametrize("path", LECTURES, ids=[p.stem for p in LECTURES])
def test_lecture_executes_without_error(path, pytestconfig):
    try:
        executed_lecture(path, pytestconfig)  # the run the prose and figure tests read too
    except LectureError as err:
        pytest.fail(str(err), pytrace=False)
