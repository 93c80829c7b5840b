"""Execute every lecture as the tests do and print its wall time against the budget.

Usage: .venv/bin/python benchmarks/lecture_times.py [lectures/04_normalization.ipynb ...]

Lectures run one after another, each in a fresh kernel; times include starting the kernel. The
budget (tests/lecture_runner.py) is per lecture on a 2-core laptop CPU: aim for 60 s, never above 90 s.
Close other heavy programs first, or the numbers measure them too.
"""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests"))
from lecture_runner import BUDGET_SECONDS, LECTURES, execute_lecture  # noqa: E402


def main(paths: list[pathlib.Path]) -> int:
    total, over = 0.0, []
    print(f"{'lecture':<28} {'seconds':>8} {'of budget':>10}")
    for path in paths:
        seconds = execute_lecture(path).seconds
        total += seconds
        if seconds > BUDGET_SECONDS:
            over.append(path.name)
        print(f"{path.stem:<28} {seconds:8.1f} {seconds / BUDGET_SECONDS:10.0%}", flush=True)
    print(f"{'total':<28} {total:8.1f} {total / (BUDGET_SECONDS * len(paths)):10.0%}  "
          f"(budget {BUDGET_SECONDS} s per lecture)")
    if over:
        print("over budget:", ", ".join(over))
    return 1 if over else 0


if __name__ == "__main__":
    chosen = [pathlib.Path(p).resolve() for p in sys.argv[1:]] or LECTURES
    sys.exit(main(chosen))
