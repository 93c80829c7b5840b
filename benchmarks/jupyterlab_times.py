"""Notebooks in a kernel started like a plain `jupyter lab`: the course's thread cap against default threads.

Usage: PATH=.venv/bin:$PATH .venv/bin/python benchmarks/jupyterlab_times.py [notebook.ipynb ...]

The Makefile and the grader set OPENBLAS_NUM_THREADS=1 and OMP_NUM_THREADS=1; a reader who runs
`jupyter lab` sets nothing. This script executes every lecture and every assignment's source
notebook (assignments/source/<id>/<id>.ipynb, which holds the solutions: a filled-in notebook),
each with nbclient in a fresh python3 kernel whose environment has none of OPENBLAS_NUM_THREADS,
OMP_NUM_THREADS, MKL_NUM_THREADS, MPLBACKEND (so matplotlib uses the inline backend, as in
JupyterLab), in the notebook's own folder, twice:

- capped: TDN_THREADS unset, so `import course` caps NumPy's and torch's threads (course.threads);
- default: TDN_THREADS=0, the opt-out: every library starts as many threads as it likes.

It prints the seconds of each run (kernel start included), default / capped (above 1: the cap is
faster), and the thread counts each kernel ended with (BLAS / OpenMP / torch intra-op, one number
per library loaded, e.g. 1+1 for NumPy's and SciPy's OpenBLAS), read in one extra cell after the
notebook's own. Notebooks are read, never written. The two runs of a
notebook follow each other, so a change in the machine's load hits both; close other heavy
programs first all the same, and look at the load average printed at the start and the end.
"""
from __future__ import annotations

import os
import pathlib
import sys
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = pathlib.Path(__file__).resolve().parents[1]
LECTURES = sorted((ROOT / "lectures").glob("[0-9][0-9]_*.ipynb"))
ASSIGNMENTS = sorted(p / f"{p.name}.ipynb" for p in (ROOT / "assignments" / "source").iterdir()
                     if (p / f"{p.name}.ipynb").exists())
NOT_SET_BY_JUPYTER_LAB = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "MPLBACKEND", "TDN_THREADS")
CELL_TIMEOUT_SECONDS = 1200

THREADS_REPORT = """\
import sys, threadpoolctl
_pools = {}
for _pool in threadpoolctl.threadpool_info():  # every library loaded: NumPy's and SciPy's OpenBLAS, ...
    _pools.setdefault(_pool["user_api"], []).append(str(_pool["num_threads"]))
_torch = sys.modules["torch"].get_num_threads() if "torch" in sys.modules else "-"
print(f"{'+'.join(_pools.get('blas', ['-']))}/{'+'.join(_pools.get('openmp', ['-']))}/{_torch}")
"""


def kernel_environment(capped: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in NOT_SET_BY_JUPYTER_LAB}
    if not capped:
        env["TDN_THREADS"] = "0"
    return env


def run(path: pathlib.Path, capped: bool) -> tuple[float | None, str]:
    """(seconds, thread counts) of one execution, or (None, what failed)."""
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(THREADS_REPORT))
    client = NotebookClient(nb, timeout=CELL_TIMEOUT_SECONDS, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    try:
        client.execute(env=kernel_environment(capped))
    except CellExecutionError as err:
        return None, "failed: " + str(err).strip().splitlines()[-1][:80]
    seconds = time.perf_counter() - start
    threads = "".join(o.get("text", "") for o in nb.cells[-1].outputs).strip()
    return seconds, threads


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg()) + f" on {os.cpu_count()} cores"


def main(paths: list[pathlib.Path]) -> int:
    print(load())
    print(f"{'notebook':<24} {'capped s':>9} {'default s':>10} {'default/capped':>15}   threads capped | default")
    totals = [0.0, 0.0]
    failed = False
    for path in paths:
        capped, capped_threads = run(path, capped=True)
        default, default_threads = run(path, capped=False)
        if capped is None or default is None:
            failed = True
            print(f"{path.stem:<24} {capped_threads if capped is None else default_threads}", flush=True)
            continue
        totals[0] += capped
        totals[1] += default
        print(f"{path.stem:<24} {capped:9.1f} {default:10.1f} {default / capped:15.2f}   "
              f"{capped_threads:>14} | {default_threads}", flush=True)
    if totals[0]:
        print(f"{'total':<24} {totals[0]:9.1f} {totals[1]:10.1f} {totals[1] / totals[0]:15.2f}")
    print("threads: BLAS / OpenMP / torch intra-op at the end of each run, per library ('-': not loaded)")
    print(load())
    return 1 if failed else 0


if __name__ == "__main__":
    chosen = [pathlib.Path(p).resolve() for p in sys.argv[1:]] or [*LECTURES, *ASSIGNMENTS]
    sys.exit(main(chosen))
