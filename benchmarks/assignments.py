"""Time each assignment's source notebook and its hidden checks against their budgets.

Usage: .venv/bin/python benchmarks/assignments.py [--assignments a1_backprop ...]

- notebook: the source notebook (every solution in place) executed top to bottom with nbclient
  in a fresh kernel from this venv, working directory the notebook's folder, MPLBACKEND=Agg,
  OPENBLAS_NUM_THREADS=1 and OMP_NUM_THREADS=1 (as `make` runs things; PyTorch's OpenMP threads
  otherwise spin on a busy 2-core machine); the time includes starting the kernel. Budget: 60 s (the course
  promises students each assignment runs in under a minute).
- hidden checks: every graded item's `autograder.grading.judge.check_namespace` against the reference solutions,
  all in one fresh Python process, as the hidden test cells run in one kernel; the time is that
  process's wall time, so interpreter start-up and imports (NumPy, PyTorch for the oracle) count.
  Budget: 5 s per assignment.

Assignments run one after another; close other heavy programs first, or the numbers measure them too.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autograder.commands.courses import DEFAULT_COURSE  # noqa: E402
from autograder.grading import nbgrader_cli  # noqa: E402
from autograder.spec import registry  # noqa: E402

NOTEBOOK_BUDGET_SECONDS = 60.0
HIDDEN_CHECKS_BUDGET_SECONDS = 5.0

# Runs in the fresh process: times each check, notes which check first imports PyTorch (its
# oracle) and torch._dynamo (which torch.optim loads on first use), prints one JSON line.
_CHECKS = """
import json, sys, time
from autograder.grading.judge import check_namespace as check, reference_namespace
namespace = reference_namespace()
seconds, failed, first_import = {}, [], {}
for check_id in sys.argv[1:]:
    before = set(sys.modules)
    t = time.perf_counter()
    report = check(check_id, namespace)
    seconds[check_id] = time.perf_counter() - t
    for module in ("torch", "torch._dynamo"):
        if module in set(sys.modules) - before:
            first_import[module] = check_id
    if report.score < report.points:
        failed.append(check_id)
print(json.dumps({"checks": seconds, "failed": failed, "first_import": first_import}))
"""


def kernel_environment() -> dict[str, str]:
    """The grading environment (venv bin/ first on PATH, for the kernel's `python`), one BLAS/OpenMP thread."""
    return {**nbgrader_cli.environment(), "MPLBACKEND": "Agg", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}


def time_notebook(path: Path) -> float:
    """Wall seconds to execute the notebook at `path` in a fresh kernel; raises if a cell fails."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    os.environ.update(kernel_environment())  # the kernel inherits this process's environment
    client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()
    return time.perf_counter() - start


def time_hidden_checks(assignment: str) -> tuple[float, dict]:
    """(wall seconds of one fresh process running every graded item's check, what it reported)."""
    checks = [item.check_id for item in registry.graded(assignment)]
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", _CHECKS, *checks], cwd=ROOT, env=kernel_environment(),
                            capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f"hidden checks of {assignment} failed:\n{result.stderr[-3000:]}")
    return seconds, json.loads(result.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignments", nargs="+", default=list(registry.ASSIGNMENTS), metavar="ID")
    args = parser.parse_args(argv)

    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    header = (f"{'assignment':<20} {'notebook s':>10} {'of 60 s':>8} {'checks s':>9} {'of 5 s':>7}"
              f"  slowest check")
    rows, over, failed = [], [], []
    for assignment in args.assignments:
        path = DEFAULT_COURSE / "source" / assignment / f"{assignment}.ipynb"
        print(f"{assignment}: executing the notebook ...", flush=True)
        notebook = time_notebook(path)
        print(f"{assignment}: running the hidden checks ...", flush=True)
        checks, detail = time_hidden_checks(assignment)
        slowest = max(detail["checks"], key=detail["checks"].get)
        imported = [m for m, c in detail["first_import"].items() if c == slowest]
        failed += [f"{assignment}/{c}" for c in detail["failed"]]
        if notebook > NOTEBOOK_BUDGET_SECONDS or checks > HIDDEN_CHECKS_BUDGET_SECONDS:
            over.append(assignment)
        rows.append(f"{assignment:<20} {notebook:10.1f} {notebook / NOTEBOOK_BUDGET_SECONDS:8.0%} {checks:9.2f} "
                    f"{checks / HIDDEN_CHECKS_BUDGET_SECONDS:7.0%}  "
                    f"{slowest} {detail['checks'][slowest]:.2f} s"
                    + (f" (imports {', '.join(imported)})" if imported else ""))
    print()
    print(header)
    print("\n".join(rows))
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    if failed:
        print("reference lost points on:", ", ".join(failed))
    if over:
        print("over budget:", ", ".join(over))
    return 1 if over or failed else 0


if __name__ == "__main__":
    sys.exit(main())
