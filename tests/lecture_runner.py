"""Run a lecture notebook the way a reader does, top to bottom in a fresh kernel.

Shared by the lecture tests and benchmarks/lecture_times.py, so the tests and the timing run
execute the lectures identically: the venv's python3 kernel, working directory lectures/,
MPLBACKEND=Agg. Each run also measures every figure the lecture shows (tests/figure_probe.py).

Within one test run a lecture is executed once: `executed_lecture` keeps the result on disk for
every test and every pytest-xdist worker that asks for it (tests/test_lectures_execute.py checks
that it runs, tests/test_lecture_prose.py reads its outputs, tests/test_lecture_figures.py its
figures).
"""
from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import os
import pathlib
import tempfile
import time
from dataclasses import dataclass, field

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = pathlib.Path(__file__).resolve().parents[1]
LECTURE_DIR = ROOT / "lectures"
LECTURES = sorted(LECTURE_DIR.glob("[0-9][0-9]_*.ipynb"))
BUDGET_SECONDS = 90  # the most one lecture may take on a 2-core laptop CPU; aim for 60
CELL_TIMEOUT_SECONDS = 600
FIGURE_PROBE = pathlib.Path(__file__).with_name("figure_probe.py")


class LectureError(Exception):
    """A lecture cell raised: the message names the notebook, the cell and the error."""


@dataclass
class ExecutedLecture:
    """A lecture after a run: its own cells with their outputs, the wall time, its figures."""

    path: pathlib.Path
    notebook: nbformat.NotebookNode
    seconds: float
    figures: list[dict] = field(default_factory=list)  # one per PNG shown, see figure_probe.py

    def cell_of(self, figure: dict) -> int:
        """Index (in the lecture) of the code cell whose output shows `figure`."""
        for index, cell in enumerate(self.notebook.cells):
            for output in cell.get("outputs", []):
                png = output.get("data", {}).get("image/png")
                if png and hashlib.sha1(base64.b64decode(png)).hexdigest() == figure["sha1"]:
                    return index
        raise KeyError(f"{self.path.name}: no cell shows the figure {figure['sha1']}")


def execute_lecture(path: pathlib.Path) -> ExecutedLecture:
    """Execute the notebook at `path` in a fresh python3 kernel.

    Returns the ExecutedLecture (wall time includes starting the kernel). Raises LectureError
    naming the first cell that raised.
    """
    nb = nbformat.read(path, as_version=4)
    probe = nbformat.v4.new_code_cell(FIGURE_PROBE.read_text())
    report = nbformat.v4.new_code_cell("print(_tdn_figures())")
    nb.cells = [probe, *nb.cells, report]
    client = NotebookClient(nb, timeout=CELL_TIMEOUT_SECONDS, kernel_name="python3",
                            resources={"metadata": {"path": str(LECTURE_DIR)}})
    start = time.perf_counter()
    try:
        client.execute(env={**os.environ, "MPLBACKEND": "Agg"})  # no display, no windows
    except CellExecutionError as err:
        nb.cells = nb.cells[1:-1]
        raise LectureError(_describe_failure(path, nb, err)) from None
    seconds = time.perf_counter() - start
    figures = json.loads("".join(o.get("text", "") for o in nb.cells[-1].outputs))
    nb.cells = nb.cells[1:-1]
    return ExecutedLecture(path, nb, seconds, figures)


def executed_lecture(path: pathlib.Path, config) -> ExecutedLecture:
    """`execute_lecture(path)`, done once per test run and shared by every test and xdist worker.

    `config` is the pytest config (the `pytestconfig` fixture). The first caller executes the
    lecture under a lock; later callers, in any worker, read the stored result. A lecture that
    raised raises the same LectureError for every caller.
    """
    run_id = _test_run_id(config)
    if (path, run_id) in _EXECUTED:
        return _EXECUTED[path, run_id]
    store = _store(config)
    result_file, notebook_file = store / f"{path.stem}.json", store / f"{path.stem}.ipynb"
    with open(store / f"{path.stem}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        stored = json.loads(result_file.read_text()) if result_file.exists() else {}
        if stored.get("run") != run_id:
            stored = _execute_and_store(path, run_id, result_file, notebook_file)
    if stored["error"]:
        raise LectureError(stored["error"])
    lecture = ExecutedLecture(path, nbformat.read(notebook_file, as_version=4), stored["seconds"], stored["figures"])
    _EXECUTED[path, run_id] = lecture
    return lecture


_EXECUTED: dict[tuple[pathlib.Path, str], ExecutedLecture] = {}


def _execute_and_store(path, run_id, result_file, notebook_file) -> dict:
    try:
        lecture = execute_lecture(path)
        nbformat.write(lecture.notebook, notebook_file)
        stored = {"run": run_id, "error": None, "seconds": lecture.seconds, "figures": lecture.figures}
    except LectureError as err:
        stored = {"run": run_id, "error": str(err), "seconds": None, "figures": []}
    result_file.write_text(json.dumps(stored))
    return stored


def _test_run_id(config) -> str:
    """The same string in every pytest-xdist worker of one run; unique to this process otherwise."""
    workerinput = getattr(config, "workerinput", None)
    return workerinput["testrunuid"] if workerinput else f"pid-{os.getpid()}"


def _store(config) -> pathlib.Path:
    if getattr(config, "cache", None) is not None:
        return config.cache.mkdir("tdn_executed_lectures")
    store = pathlib.Path(tempfile.gettempdir()) / f"tdn-executed-lectures-{_test_run_id(config)}"
    store.mkdir(exist_ok=True)
    return store


def _describe_failure(path: pathlib.Path, nb: nbformat.NotebookNode, err: CellExecutionError) -> str:
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                first_line = cell.source.strip().splitlines()[0] if cell.source.strip() else ""
                return (f"{path.name}: cell {index} (starting {first_line!r}) raised "
                        f"{output['ename']}: {output['evalue']}")
    return f"{path.name}: {err}"
