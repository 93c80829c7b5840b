"""Run a lecture notebook the way a reader does, top to bottom in a fresh kernel.

Shared by tests/test_lectures_execute.py and benchmarks/lecture_times.py, so the test and the
timing run execute the lectures identically: the venv's python3 kernel, working directory
lectures/, MPLBACKEND=Agg.
"""
from __future__ import annotations

import os
import pathlib
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = pathlib.Path(__file__).resolve().parents[1]
LECTURE_DIR = ROOT / "lectures"
LECTURES = sorted(LECTURE_DIR.glob("[0-9][0-9]_*.ipynb"))
BUDGET_SECONDS = 90  # the most one lecture may take on a 2-core laptop CPU; aim for 60
CELL_TIMEOUT_SECONDS = 600


class LectureError(Exception):
    """A lecture cell raised: the message names the notebook, the cell and the error."""


def execute_lecture(path: pathlib.Path) -> tuple[nbformat.NotebookNode, float]:
    """Execute the notebook at `path` in a fresh python3 kernel.

    Returns (executed notebook, wall-clock seconds). Raises LectureError naming the first cell
    that raised.
    """
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=CELL_TIMEOUT_SECONDS, kernel_name="python3",
                            resources={"metadata": {"path": str(LECTURE_DIR)}})
    start = time.perf_counter()
    try:
        client.execute(env={**os.environ, "MPLBACKEND": "Agg"})  # no display, no windows
    except CellExecutionError as err:
        raise LectureError(_describe_failure(path, nb, err)) from None
    return nb, time.perf_counter() - start


def _describe_failure(path: pathlib.Path, nb: nbformat.NotebookNode, err: CellExecutionError) -> str:
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                first_line = cell.source.strip().splitlines()[0] if cell.source.strip() else ""
                return (f"{path.name}: cell {index} (starting {first_line!r}) raised "
                        f"{output['ename']}: {output['evalue']}")
    return f"{path.name}: {err}"
