"""Grade one synthetic class with plain nbgrader and with `autograder grade`; print the ratio.

Usage: .venv/bin/python benchmarks/grading.py [--assignments a1_backprop ...] [--copies N] [--jobs J]

One course copy is generated and one class handed in: per assignment and copy, ten notebooks
(the reference and the first round of one-line slips from `synthetic.EDITS`, with experiments run;
the same two and the second round of slips without running the experiments; a quarter, half and
three quarters of the answers done; two untouched release notebooks). The same submissions are
then graded twice, in one run:
- baseline: `nbgrader autograde <assignment> --force`, one assignment after another, on one copy;
- ours: `autograder.grading.pipeline.grade_class(jobs=J, force=True)` on another copy.
Then both graders' autograded totals are compared notebook by notebook, and a breakdown shows
where one notebook's time goes: the sandbox's start-up, running the cells, judging; against
nbgrader's cost of one notebook whose cells all do nothing.

Other jobs on the machine slow both graders; the load average is printed before and after.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# As `make` runs things: one BLAS and one OpenMP thread per kernel (nbgrader's kernels inherit this).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

import nbformat  # noqa: E402

from autograder import sandbox  # noqa: E402
from autograder.sandbox import staging  # noqa: E402
from autograder.commands.cli import main as autograder_main  # noqa: E402
from autograder.commands.courses import DEFAULT_COURSE, copy_course  # noqa: E402
from autograder.demo import synthetic  # noqa: E402
from autograder.grading import nbgrader_cli, pipeline as grading  # noqa: E402
from autograder.grading.submission import prepare  # noqa: E402
from autograder.spec import registry  # noqa: E402

TRIVIAL = "trivial"  # the do-nothing assignment that measures nbgrader's cost per notebook
BREAKDOWN_REPEATS = 3
STUDENTS_TIMED = ("blank", "reference-no-experiments")  # the breakdown's two notebooks


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# ------------------------------------------------------------------ the class

def hurried(nb):
    """Hand in without running the experiments: empty the code cells that nbgrader does not track.

    Cells that import stay, so every name the graded cells use is still defined (the same rule as
    `synthetic.with_mistakes` without keep_experiments).
    """
    for cell in nb.cells:
        if cell.cell_type == "code" and "nbgrader" not in cell.metadata and "import" not in cell.source:
            cell.source = ""
    return nb


def partly_done(source: Path, release: Path, fraction: float):
    """The first `fraction` of the answer cells solved, the rest still the release's stubs; no experiments."""
    nb, stubs = synthetic.reference(source), synthetic.blank(release)
    stub_of = {c.metadata["nbgrader"]["grade_id"]: c.source for c in stubs.cells if "nbgrader" in c.metadata}
    answers = [c for c in nb.cells if c.metadata.get("tdn", {}).get("solution_of")]
    for cell in answers[round(len(answers) * fraction):]:
        cell.source = stub_of[cell.metadata["nbgrader"]["grade_id"]]
    return hurried(nb)


def hand_in(course: Path, assignment: str, copies: int) -> None:
    """Write `copies` x 10 submissions of one assignment into submitted/.

    Only two of the ten run the experiments: they take most of each grader's time, and more
    of them would not fit the whole benchmark in 10 minutes on two cores.
    """
    source = course / "source" / assignment / f"{assignment}.ipynb"
    release = course / "release" / assignment / f"{assignment}.ipynb"
    first, second = synthetic.EDITS[assignment]
    makers = {
        "reference": lambda: synthetic.reference(source),
        "edits-1": lambda: synthetic.with_edits(source, first),
        "reference-no-experiments": lambda: hurried(synthetic.reference(source)),
        "edits-1-no-experiments": lambda: hurried(synthetic.with_edits(source, first)),
        "edits-2-no-experiments": lambda: hurried(synthetic.with_edits(source, second)),
        "quarter-done": lambda: partly_done(source, release, 0.25),
        "half-done": lambda: partly_done(source, release, 0.5),
        "three-quarters-done": lambda: partly_done(source, release, 0.75),
        "blank": lambda: synthetic.blank(release),
        "blank-2": lambda: synthetic.blank(release),
    }
    for copy in range(copies):
        for name, make in makers.items():
            synthetic.write(make(), course, name if copy == 0 else f"{name}-c{copy}", assignment)


# ------------------------------------------------------------------ the two graders

def run_nbgrader(course: Path, assignments: list[str]) -> dict[str, float]:
    seconds = {}
    for assignment in assignments:
        n = len(grading.students_of(course, assignment))
        say(f"nbgrader autograde {assignment} ({n} notebooks, serial) ...")
        start = time.perf_counter()
        nbgrader_cli.run(course, "autograde", assignment, "--force")
        seconds[assignment] = time.perf_counter() - start
        say(f"  done in {seconds[assignment]:.1f} s ({seconds[assignment] / n:.1f} s per notebook)")
    return seconds


def run_ours(course: Path, assignments: list[str], jobs: int):
    n = sum(len(grading.students_of(course, a)) for a in assignments)
    say(f"autograder grade, {n} notebooks, jobs={jobs} ...")
    start = time.perf_counter()
    outcomes = grading.grade_class(course, assignments, jobs=jobs, limits=sandbox.Limits(), force=True, progress=False)
    seconds = time.perf_counter() - start
    say(f"  done in {seconds:.1f} s ({seconds / n:.1f} s per notebook)")
    return outcomes, seconds


def nbgrader_totals(course: Path, assignment: str) -> dict[str, float]:
    """student -> the sum of the autograded test cells' scores in nbgrader's gradebook."""
    from nbgrader.api import Gradebook

    totals = {}
    with Gradebook(nbgrader_cli.gradebook_url(course)) as gb:
        for submission in gb.assignment_submissions(assignment):
            notebook = gb.find_submission_notebook(assignment, assignment, submission.student_id)
            totals[submission.student_id] = round(sum(g.auto_score or 0.0 for g in notebook.grades
                                                      if g.name.startswith("test_")), 2)
    return totals


# ------------------------------------------------------------------ where one notebook's time goes

def trivial_source(real_source: Path) -> nbformat.NotebookNode:
    """A real assignment's notebook (same cells, same metadata) with every code cell doing nothing."""
    nb = nbformat.read(real_source, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.source = "pass"
    return nb


def nbgrader_overhead(root: Path, template: str, students: int = 5, repeats: int = 2) -> tuple[float, float]:
    """(seconds per notebook, seconds per autograde command) of nbgrader on do-nothing notebooks.

    Runs with one and with `students` submissions (the fastest of `repeats` each) separate the
    fixed cost of one command (start-up, configuration, gradebook) from the cost of each
    notebook (its kernel, its cells).
    """
    course = copy_course(DEFAULT_COURSE, root / "overhead")
    (course / "source" / TRIVIAL).mkdir()
    path = course / "source" / TRIVIAL / f"{TRIVIAL}.ipynb"
    nbformat.write(trivial_source(course / "source" / template / f"{template}.ipynb"), path)
    nbgrader_cli.run(course, "generate_assignment", TRIVIAL, "--force")
    fastest = {}
    for count in (1, students):
        for i in range(count):
            synthetic.write(nbformat.read(path, as_version=4), course, f"idle-{i}", TRIVIAL)
        runs = []
        for _ in range(repeats):
            start = time.perf_counter()
            nbgrader_cli.run(course, "autograde", TRIVIAL, "--force")
            runs.append(time.perf_counter() - start)
        fastest[count] = min(runs)
    per_notebook = (fastest[students] - fastest[1]) / (students - 1)
    return per_notebook, fastest[1] - per_notebook


def our_breakdown(course: Path, assignment: str, runtime: Path, repeats: int = BREAKDOWN_REPEATS) -> dict[str, float]:
    """Median seconds of the sandbox's start-up, and of running and judging two notebooks."""
    source = nbformat.read(course / "source" / assignment / f"{assignment}.ipynb", as_version=4)
    points = {item.check_id: item.points for item in registry.graded(assignment)}
    times: dict[str, list[float]] = {}

    def timed(key, work):
        start = time.perf_counter()
        result = work()
        times.setdefault(key, []).append(time.perf_counter() - start)
        return result

    for _ in range(repeats):
        cases = grading.encoded_cases(assignment)
        timed("start-up (empty job)", lambda: sandbox.run_cells({"cells": []}, cases, runtime))
        for student in STUDENTS_TIMED:
            prepared = timed(f"{student}: prepare", lambda: prepare(course, assignment, student, source))
            execution = timed(f"{student}: sandbox", lambda: sandbox.run_cells(prepared.job, cases, runtime))
            timed(f"{student}: judge", lambda: grading.judge_execution(prepared, execution.as_data(), points))
    return {key: statistics.median(values) for key, values in times.items()}


# ------------------------------------------------------------------ the report

def print_timings(args, counts: dict[str, int], baseline: dict[str, float], outcomes, ours: float) -> None:
    total, baseline_total = sum(counts.values()), sum(baseline.values())
    print(f"\n== grading {total} notebooks ({args.copies} cop{'y' if args.copies == 1 else 'ies'} of the class)")
    print(f"{'assignment':<20} {'notebooks':>9} {'nbgrader s':>11} {'s/notebook':>11} {'ours: sandbox s/notebook':>25}")
    for assignment, count in counts.items():
        sandboxed = [o.seconds for o in outcomes[assignment] if o.status == "graded"]
        print(f"{assignment:<20} {count:9d} {baseline[assignment]:11.1f} "
              f"{baseline[assignment] / count:11.2f} {statistics.mean(sandboxed):25.2f}")
    print(f"\n{'grader':<40} {'wall s':>8} {'s/notebook':>11}")
    print(f"{'nbgrader autograde (serial, baseline)':<40} {baseline_total:8.1f} {baseline_total / total:11.2f}")
    print(f"{f'autograder grade (jobs={args.jobs})':<40} {ours:8.1f} {ours / total:11.2f}")
    print(f"ratio baseline / ours: {baseline_total / ours:.2f}x")
    in_sandboxes = sum(o.seconds for outs in outcomes.values() for o in outs)
    print(f"ours: {in_sandboxes:.1f} s inside sandboxes in all, {in_sandboxes / (ours * args.jobs):.0%} of "
          f"{args.jobs} slots x {ours:.1f} s wall; the rest is staging, judging, writing and waiting")


def print_breakdown(assignment: str, nb_per_notebook: float, nb_per_command: float, parts: dict[str, float]) -> None:
    start_up = parts["start-up (empty job)"]
    print(f"\n== where one notebook's time goes ({assignment}; medians of {BREAKDOWN_REPEATS})")
    print(f"nbgrader, a notebook whose cells all do nothing: {nb_per_notebook:.2f} s per notebook "
          f"(kernel, cells, gradebook) + {nb_per_command:.2f} s per autograde command")
    print(f"ours, sandbox start-up (bwrap, python, IPython, imports; empty job): {start_up:.2f} s")
    for student in STUDENTS_TIMED:
        sandboxed = parts[f"{student}: sandbox"]
        print(f"ours, {student:<24} prepare {parts[f'{student}: prepare']:.2f} s, sandbox {sandboxed:.2f} s "
              f"(cells {sandboxed - start_up:.2f} s after start-up), "
              f"judge {parts[f'{student}: judge']:.3f} s (warm cache)")


def print_agreement(outcomes, nbgrader_scores: dict[str, dict[str, float]]) -> int:
    """Print both graders' totals side by side; return how many differ."""
    print("\n== autograded totals: nbgrader vs ours")
    print(f"{'assignment':<20} {'student':<26} {'nbgrader':>9} {'ours':>7} {'max':>5} {'ours: sandbox s':>16}")
    disagreements, total = 0, 0
    for assignment, outs in outcomes.items():
        for o in outs:
            theirs = nbgrader_scores[assignment].get(o.student)
            differs = theirs is None or abs(theirs - o.score) > 0.01
            disagreements += differs
            total += 1
            print(f"{assignment:<20} {o.student:<26} {'-' if theirs is None else f'{theirs:g}':>9} {o.score:7g} "
                  f"{o.max_score:5g} {o.seconds:16.1f}" + ("  DIFFERS" if differs else ""))
    print(f"{disagreements} of {total} totals differ")
    return disagreements


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignments", nargs="+", default=list(registry.ASSIGNMENTS), metavar="ID")
    parser.add_argument("--copies", type=int, default=1, help="class size multiplier: 10 notebooks per assignment each")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="sandboxes at once (default: the cores)")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    load_before = os.getloadavg()[0]
    say(f"load average {load_before:.1f} on {os.cpu_count()} cores; sandbox: {sandbox.describe()}")

    root = Path(tempfile.mkdtemp(prefix="tdn-bench-grading-"))
    try:
        course = copy_course(DEFAULT_COURSE, root / "course")
        say(f"generating {', '.join(args.assignments)} in {course} ...")
        with contextlib.redirect_stdout(io.StringIO()):
            if autograder_main(["generate", *args.assignments, "--course", str(course)]) != 0:
                raise SystemExit("autograder generate failed")
        for assignment in args.assignments:
            hand_in(course, assignment, args.copies)
        baseline_course, our_course = root / "nbgrader", root / "ours"
        shutil.copytree(course, baseline_course)
        shutil.copytree(course, our_course)
        counts = {a: len(grading.students_of(course, a)) for a in args.assignments}
        say(f"handed in {sum(counts.values())} notebooks ({', '.join(f'{a}: {n}' for a, n in counts.items())})")

        baseline = run_nbgrader(baseline_course, args.assignments)
        outcomes, ours = run_ours(our_course, args.assignments, args.jobs)
        nbgrader_scores = {a: nbgrader_totals(baseline_course, a) for a in args.assignments}

        say("breakdown: nbgrader on do-nothing notebooks ...")
        nb_per_notebook, nb_per_command = nbgrader_overhead(root, args.assignments[0])
        say("breakdown: our sandbox and judge ...")
        parts = our_breakdown(our_course, args.assignments[0], staging.stage(root / "runtime"))
    finally:
        shutil.rmtree(root, ignore_errors=True)

    print_timings(args, counts, baseline, outcomes, ours)
    print_breakdown(args.assignments[0], nb_per_notebook, nb_per_command, parts)
    disagreements = print_agreement(outcomes, nbgrader_scores)
    print(f"\nload average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after; "
          f"whole run {time.perf_counter() - began:.0f} s")
    return 1 if disagreements else 0


if __name__ == "__main__":
    sys.exit(main())
