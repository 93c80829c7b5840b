"""The instructor's command line: `autograder <command>` (or `python -m autograder <command>`).

Exit codes: 0 success; 1 the work ran and found problems (drift, leaks, failed grading);
2 bad usage or missing files.
"""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from autograder import authoring, nbgrader_cli, registry

DEFAULT_COURSE = Path(__file__).resolve().parents[1] / "assignments"


def _assignments(args) -> list[str]:
    chosen = args.assignments or list(registry.ASSIGNMENTS)
    unknown = [a for a in chosen if a not in registry.ASSIGNMENTS]
    if unknown:
        raise SystemExit(f"autograder: unknown assignment(s) {unknown}; known: {', '.join(registry.ASSIGNMENTS)}")
    return chosen


def cmd_sync(args) -> int:
    """Regenerate graded cells from solutions/ and the registry (or only check, with --check)."""
    status = 0
    for assignment in _assignments(args):
        path = args.course / "source" / assignment / f"{assignment}.ipynb"
        if not path.exists():
            print(f"missing: {path}", file=sys.stderr)
            status = 1
            continue
        if not args.check and authoring.sync(path):
            print(f"updated {path}")
        for problem in authoring.problems(path):
            print(problem, file=sys.stderr)
            status = 1
    return status


def cmd_generate(args) -> int:
    """Make the student versions in release/ with nbgrader, after checking the sources."""
    status = cmd_sync(argparse.Namespace(**{**vars(args), "check": True}))
    if status:
        print("autograder: fix the source notebooks first (`autograder sync`)", file=sys.stderr)
        return status
    for assignment in _assignments(args):
        nbgrader_cli.run(args.course, "generate_assignment", assignment, "--force")
        release = args.course / "release" / assignment / f"{assignment}.ipynb"
        source = args.course / "source" / assignment / f"{assignment}.ipynb"
        leaks = authoring.release_leaks(release, source)
        for leak in leaks:
            print(leak, file=sys.stderr)
        status |= bool(leaks)
        print(f"{assignment}: {release}" + (" (LEAKS, see above)" if leaks else ""))
    return status


def cmd_demo(args) -> int:
    """Build a small class from the embedded course, grade it with nbgrader and print the gradebook."""
    from autograder.demo import run_demo

    return run_demo(args.output, _assignments(args))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="autograder", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name, func, help_text):
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("assignments", nargs="*", metavar="ASSIGNMENT", help="assignment ids (default: all)")
        p.add_argument("--course", type=Path, default=DEFAULT_COURSE, help="the nbgrader course root (default: %(default)s)")
        p.set_defaults(func=func)
        return p

    p = add("sync", cmd_sync, "regenerate the graded cells of the source notebooks from solutions/")
    p.add_argument("--check", action="store_true", help="only report drift and structural problems")
    add("generate", cmd_generate, "make the student versions (nbgrader generate_assignment) and check them for leaks")
    p = add("demo", cmd_demo, "grade a synthetic class with real nbgrader and print the gradebook")
    p.add_argument("--output", type=Path, default=Path("demo-output"), help="where the demo course goes (default: %(default)s)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if hasattr(args, "course") and not (args.course / "nbgrader_config.py").exists():
        print(f"autograder: {args.course} is not a course root (no nbgrader_config.py)", file=sys.stderr)
        return 2
    try:
        return args.func(args)
    except nbgrader_cli.NbgraderError as err:
        print(f"autograder: {err}", file=sys.stderr)
        return 1


def copy_course(course: Path, destination: Path) -> Path:
    """A fresh copy of the course's config and sources (never its gradebook or submissions)."""
    if destination.exists():
        shutil.rmtree(destination)
    destination.mkdir(parents=True)
    shutil.copy2(course / "nbgrader_config.py", destination)
    shutil.copytree(course / "source", destination / "source")
    return destination
