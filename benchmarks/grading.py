"""Grade the same synthetic submissions with plain nbgrader and with `autograder grade`; then a
class of 500 and a Dask cluster with one and two workers. One run, one table per question.

Usage: .venv/bin/python benchmarks/grading.py [--notebooks 40] [--class-size 500] [--jobs J] [--no-dask]

1. **Against nbgrader**, on `--notebooks` a1 submissions of the usual mix (per ten: the reference
   and a one-line slip with the experiments run; the same two and another slip without them;
   a quarter, half and three quarters done; two untouched). The baseline is what a plain nbgrader
   course does: `nbgrader autograde`, serially, with the hidden checks running in each notebook's
   own kernel (the same checks, cases and oracle, scored by nbgrader's partial credit). Ours is
   `grade_class(jobs=J)`: sandboxed, experiments skipped as demonstration cells. Both graders'
   totals must agree notebook by notebook.
2. **Where the time goes**: per assignment, the sandbox seconds of a blank and of a finished
   notebook (no demonstration cells), the sandbox's start-up (an empty job) and the judge.
3. **Scale**: seconds per notebook for a class of 50 and of `--class-size` over the four
   assignments: it should not grow with the class.
4. **Dask**: the 50-notebook class through `dask scheduler` and one, then two, `dask worker`
   processes started in empty folders: notebooks per second.

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


def makers(course: Path, assignment: str) -> dict:
    """The usual mix of ten submissions: name -> a function that makes that notebook."""
    source = course / "source" / assignment / f"{assignment}.ipynb"
    release = course / "release" / assignment / f"{assignment}.ipynb"
    first, second = synthetic.EDITS[assignment]
    return {
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


def hand_in(course: Path, assignment: str, notebooks: int) -> None:
    """Write `notebooks` submissions of one assignment into submitted/, the mix repeated."""
    made = {name: nbformat.writes(make()) for name, make in makers(course, assignment).items()}
    names = list(made)
    for k in range(notebooks):
        name = names[k % len(names)]
        student = name if k < len(names) else f"{name}-c{k // len(names)}"
        synthetic.write(nbformat.reads(made[name], as_version=4), course, student, assignment)


def hand_in_class(course: Path, size: int) -> None:
    """`size` submissions spread evenly over the four assignments."""
    for k, assignment in enumerate(registry.ASSIGNMENTS):
        hand_in(course, assignment, size // len(registry.ASSIGNMENTS) + (k < size % len(registry.ASSIGNMENTS)))


# ------------------------------------------------------------------ the two graders

IN_KERNEL_TEST = """### BEGIN HIDDEN TESTS
import warnings
warnings.simplefilter("ignore")
from autograder.grading.judge import check_namespace
check_namespace({check!r}, globals()).score
### END HIDDEN TESTS"""


def with_checks_in_the_kernel(course: Path, assignment: str) -> None:
    """Make `course` a plain nbgrader course: each hidden test cell runs its check in the notebook's
    own kernel and shows the score, which nbgrader takes as partial credit."""
    path = course / "source" / assignment / f"{assignment}.ipynb"
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        check = cell.metadata.get("tdn", {}).get("check")
        if check:
            cell.source = IN_KERNEL_TEST.format(check=check)
    nbformat.write(nb, path)
    nbgrader_cli.run(course, "generate_assignment", assignment, "--force")


def run_nbgrader(course: Path, assignment: str) -> float:
    n = len(grading.students_of(course, assignment))
    say(f"nbgrader autograde {assignment} ({n} notebooks, serial, checks in each kernel) ...")
    start = time.perf_counter()
    nbgrader_cli.run(course, "autograde", assignment, "--force")
    seconds = time.perf_counter() - start
    say(f"  done in {seconds:.1f} s ({seconds / n:.2f} s per notebook)")
    return seconds


def run_ours(course: Path, assignments: list[str], jobs: int, scheduler: str | None = None):
    n = sum(len(grading.students_of(course, a)) for a in assignments)
    say(f"autograder grade, {n} notebooks, {f'scheduler {scheduler}' if scheduler else f'jobs={jobs}'} ...")
    start = time.perf_counter()
    outcomes = grading.grade_class(course, assignments, jobs=jobs, scheduler=scheduler, limits=sandbox.Limits(),
                                   force=True, progress=False)
    seconds = time.perf_counter() - start
    failed = [o for outs in outcomes.values() for o in outs if o.status != "graded"]
    say(f"  done in {seconds:.1f} s ({seconds / n:.3f} s per notebook)" + (f"; {len(failed)} NOT GRADED" if failed else ""))
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

def our_breakdown(course: Path, assignment: str, runtime: Path, repeats: int = BREAKDOWN_REPEATS) -> dict[str, float]:
    """Median seconds of the sandbox's start-up, and of preparing, running and judging two notebooks."""
    source = nbformat.read(course / "source" / assignment / f"{assignment}.ipynb", as_version=4)
    points = {item.check_id: item.points for item in registry.graded(assignment)}
    cases = grading.encoded_cases(assignment)
    times: dict[str, list[float]] = {}

    def timed(key, work):
        start = time.perf_counter()
        result = work()
        times.setdefault(key, []).append(time.perf_counter() - start)
        return result

    sandbox.run_cells({"cells": []}, cases, runtime)  # the slot's zygote starts once, not per notebook
    for _ in range(repeats):
        timed("start-up", lambda: sandbox.run_cells({"cells": []}, cases, runtime))
        for student in STUDENTS_TIMED:
            prepared = timed(f"{student}: prepare", lambda: prepare(course, assignment, student, source))
            execution = timed(f"{student}: sandbox", lambda: sandbox.run_cells(prepared.job, cases, runtime))
            timed(f"{student}: judge", lambda: grading.judge_execution(prepared, execution.as_data(), points))
    return {key: statistics.median(values) for key, values in times.items()}


# ------------------------------------------------------------------ Dask, as separate processes

@contextlib.contextmanager
def dask_cluster(root: Path, workers: int):
    """`dask scheduler` and `workers` x `dask worker` (one thread each), each in an empty folder."""
    import json
    import signal
    import subprocess

    dask = str(Path(sys.executable).parent / "dask")
    top = Path(tempfile.mkdtemp(prefix="dask-", dir=root))
    folders = [top / name for name in ["scheduler", *(f"worker-{k}" for k in range(workers))]]
    for folder in folders:
        folder.mkdir()
    env = {"PATH": os.environ["PATH"], "HOME": str(top), "OPENBLAS_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    scheduler_file = folders[0] / "scheduler.json"
    processes = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--no-dashboard", "--scheduler-file",
                                   str(scheduler_file)], cwd=folders[0], env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, start_new_session=True)]
    try:
        while not (scheduler_file.exists() and scheduler_file.read_text().strip()):
            time.sleep(0.1)
        address = json.loads(scheduler_file.read_text())["address"]
        for folder in folders[1:]:
            processes.append(subprocess.Popen([dask, "worker", address, "--nthreads", "1", "--no-dashboard",
                                               "--local-directory", str(folder)], cwd=folder, env=env,
                                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))
        from dask.distributed import Client

        with Client(address, timeout=60) as client:
            client.wait_for_workers(workers, timeout=120)
        yield address
    finally:
        for process in processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


# ------------------------------------------------------------------ the report

def print_against_nbgrader(count: int, baseline: float, ours: float, jobs: int, outcomes) -> None:
    in_sandboxes = sum(o.seconds for o in outcomes)
    print(f"\n== 1. a1_backprop, {count} notebooks: nbgrader against ours")
    print(f"{'grader':<58} {'wall s':>8} {'s/notebook':>11}")
    print(f"{'nbgrader autograde (serial; hidden checks in the kernel)':<58} {baseline:8.1f} {baseline / count:11.2f}")
    print(f"{f'autograder grade (jobs={jobs}; sandboxed)':<58} {ours:8.1f} {ours / count:11.2f}")
    print(f"ratio baseline / ours: {baseline / ours:.1f}x")
    print(f"ours: {in_sandboxes:.1f} s inside sandboxes in all ({in_sandboxes / count:.2f} s per notebook), "
          f"{in_sandboxes / (ours * jobs):.0%} of {jobs} slots x {ours:.1f} s wall; the rest is preparing, "
          "judging and writing on the host")


def print_breakdown(parts: dict[str, dict[str, float]]) -> None:
    print(f"\n== 2. where one notebook's time goes (medians of {BREAKDOWN_REPEATS}, seconds)")
    print(f"{'assignment':<20} {'start-up':>9} {'blank: sandbox':>15} {'finished: sandbox':>18} "
          f"{'prepare':>8} {'judge (finished)':>17}")
    for assignment, p in parts.items():
        print(f"{assignment:<20} {p['start-up']:9.3f} {p['blank: sandbox']:15.3f} "
              f"{p['reference-no-experiments: sandbox']:18.3f} {p['reference-no-experiments: prepare']:8.3f} "
              f"{p['reference-no-experiments: judge']:17.3f}")
    print("finished = the reference without its demonstration cells; start-up = an empty job forked from the warm sandbox")


def print_agreement(outcomes, theirs: dict[str, float]) -> int:
    """Print both graders' totals side by side; return how many differ."""
    print("\n== autograded totals: nbgrader vs ours (a1_backprop)")
    print(f"{'student':<32} {'nbgrader':>9} {'ours':>7} {'max':>5} {'ours: sandbox s':>16}")
    disagreements = 0
    for o in outcomes:
        total = theirs.get(o.student)
        differs = total is None or abs(total - o.score) > 0.01
        disagreements += differs
        print(f"{o.student:<32} {'-' if total is None else f'{total:g}':>9} {o.score:7g} {o.max_score:5g} "
              f"{o.seconds:16.2f}" + ("  DIFFERS" if differs else ""))
    print(f"{disagreements} of {len(outcomes)} totals differ")
    return disagreements


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notebooks", type=int, default=40, help="a1 submissions graded by both graders")
    parser.add_argument("--class-size", type=int, default=500, help="the large class (0: skip)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="sandboxes at once (default: the cores)")
    parser.add_argument("--no-dask", action="store_true", help="skip the Dask cluster runs")
    parser.add_argument("--parts", default="1234", help="which tables to make (default: %(default)s)")
    args = parser.parse_args(argv)
    began, load_before = time.perf_counter(), os.getloadavg()[0]
    say(f"load average {load_before:.1f} on {os.cpu_count()} cores; sandbox: {sandbox.describe()}")
    root = Path(tempfile.mkdtemp(prefix="tdn-bench-grading-"))
    status = 0
    try:
        course = copy_course(DEFAULT_COURSE, root / "course")
        say(f"generating the four assignments in {course} ...")
        with contextlib.redirect_stdout(io.StringIO()):
            if autograder_main(["generate", "--course", str(course)]) != 0:
                raise SystemExit("autograder generate failed")

        # 1. against nbgrader, on the same a1 submissions
        A1 = next(iter(registry.ASSIGNMENTS))
        baseline_course, our_course = root / "nbgrader", root / "ours"
        for target in (baseline_course, our_course):
            shutil.copytree(course, target)
            hand_in(target, A1, args.notebooks)
        if "1" in args.parts:
            with_checks_in_the_kernel(baseline_course, A1)
            baseline = run_nbgrader(baseline_course, A1)
            outcomes, ours = run_ours(our_course, [A1], args.jobs)
            print_against_nbgrader(args.notebooks, baseline, ours, args.jobs, outcomes[A1])
            status |= bool(print_agreement(outcomes[A1], nbgrader_totals(baseline_course, A1)))

        # 2. per assignment
        if "2" in args.parts:
            say("breakdown: blank and finished notebooks in the sandbox ...")
            runtime, parts = staging.runtime(), {}
            for assignment in registry.ASSIGNMENTS:
                hand_in(our_course, assignment, 10)
                parts[assignment] = our_breakdown(our_course, assignment, runtime)
            print_breakdown(parts)

        # 3. scale (the 50-notebook class is Dask's too)
        per_notebook = {}
        for size in [50] + ([args.class_size] if args.class_size and "3" in args.parts else []):
            klass = root / f"class-{size}"
            shutil.copytree(course, klass)  # generated: its release and gradebook come along
            hand_in_class(klass, size)
            _, seconds = run_ours(klass, list(registry.ASSIGNMENTS), args.jobs)
            per_notebook[size] = seconds / size
        print(f"\n== 3. a class over the four assignments (jobs={args.jobs})")
        for size, value in per_notebook.items():
            print(f"{size:5d} notebooks: {value:.3f} s per notebook ({1 / value:.1f} notebooks per second)")
        if len(per_notebook) == 2:
            print(f"per-notebook time at {args.class_size} / at 50: {per_notebook[args.class_size] / per_notebook[50]:.2f}")

        # 4. Dask
        if not args.no_dask and "4" in args.parts:
            rates = {}
            for workers in (1, 2):
                with dask_cluster(root, workers) as address:
                    _, seconds = run_ours(root / "class-50", list(registry.ASSIGNMENTS), args.jobs, scheduler=address)
                rates[workers] = 50 / seconds
            print("\n== 4. the 50-notebook class on a Dask cluster (separate processes, one thread per worker)")
            for workers, rate in rates.items():
                print(f"{workers} worker{'s' if workers > 1 else ''}: {rate:.2f} notebooks per second")
            print(f"two workers / one: {rates[2] / rates[1]:.2f}x")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"\nload average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after; "
          f"whole run {time.perf_counter() - began:.0f} s")
    return status


if __name__ == "__main__":
    sys.exit(main())
