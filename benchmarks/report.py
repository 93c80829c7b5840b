"""`autograder report` on a class of 500: seconds for the whole report and for each of its parts.

Usage: .venv/bin/python benchmarks/report.py [--class-size 500] [--budget 30]

The class is synthetic (`autograder.demo.report_class.random_class`) and made without the sandbox:
per student and a1 check the reference, a catalogued mistake, the stub or an uncatalogued slip,
judged for real in this process once per variant; answer cells in one of six independent styles
with names changed, a grading record each, and the gradebook filled in one transaction. Making
the class is not timed; the report is: reading the gradebook and the records, every section,
the similarity of all submissions, the page and the CSVs. Exits 1 over `--budget` seconds.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")


def timed(label: str, rows: list, work):
    start = time.perf_counter()
    result = work()
    rows.append((label, time.perf_counter() - start))
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--class-size", type=int, default=500)
    parser.add_argument("--budget", type=float, default=30.0, help="seconds the whole report may take")
    args = parser.parse_args()

    from autograder.commands.cli import main as cli
    from autograder.commands.courses import DEFAULT_COURSE, copy_course
    from autograder.demo import report_class
    from autograder.report import build, failures, incidents, mistakes, scores, service
    from autograder.report.inputs import load

    print(f"load average before: {os.getloadavg()[0]:.2f}")
    course = copy_course(DEFAULT_COURSE, Path(tempfile.mkdtemp(prefix="tdn-bench-report-")) / "course")
    start = time.perf_counter()
    with open(os.devnull, "w") as quiet:
        stdout, sys.stdout = sys.stdout, quiet
        try:
            assert cli(["generate", "a1_backprop", "--course", str(course)]) == 0
        finally:
            sys.stdout = stdout
    report_class.random_class(course, args.class_size, seed=0)
    print(f"made a class of {args.class_size} (a1_backprop, not timed) in {time.perf_counter() - start:.1f} s\n")

    rows: list[tuple[str, float]] = []
    start = time.perf_counter()
    data = timed("read the gradebook and the records", rows, lambda: load(course, "a1_backprop"))
    timed("scores per function", rows, lambda: scores.per_function(data))
    timed("catalogued mistakes", rows, lambda: mistakes.counted(data))
    timed("uncatalogued failures, with examples", rows, lambda: failures.uncatalogued(data))
    timed("incidents and times", rows, lambda: (incidents.per_cell(data), incidents.timing(data)))
    sim = timed("similarity of every submission", rows, lambda: build.similarity_of(data))
    sections = timed("all sections again, as `build` does", rows,
                     lambda: build.sections(data, service.default_url(course), with_similarity=True))
    timed("the page (plots included) and the CSVs", rows,
                 lambda: build.write(sections, course / "reports" / "a1_backprop"))
    total = time.perf_counter() - start
    end_to_end = timed("end to end: build.build", rows,
                       lambda: build.build(course, "a1_backprop", course / "reports"))
    planted = {frozenset({f"s{a:04d}", f"s{b:04d}"}) for a, b in report_class.copies_of(args.class_size).items()}
    ranks = [i for i, p in enumerate(sim.pairs, start=1) if frozenset({p.a, p.b}) in planted]
    width = max(len(label) for label, _ in rows)
    print(f"{'part':<{width}}  seconds")
    for label, seconds in rows:
        print(f"{label:<{width}}  {seconds:7.2f}")
    whole = rows[-1][1]
    print(f"\nclass of {len(data.submissions)}: {len(data.records)} records, {len(sim.documents)} submissions compared, "
          f"{sim.pairs_sharing} pairs share a fingerprint, {len(sim.pairs)} listed; "
          f"page {end_to_end.page.stat().st_size / 1e6:.1f} MB")
    print(f"planted copies: {len(planted)}, found at ranks {ranks} of the listed pairs")
    print(f"the whole report: {whole:.1f} s end to end (budget {args.budget:g} s); the parts above: {total:.1f} s")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0 if whole <= args.budget else 1


if __name__ == "__main__":
    sys.exit(main())
