"""The instructor's command line: `autograder <command>` (or `python -m autograder <command>`).

Exit codes: 0 success; 1 the work ran and found problems (drift, leaks, a score that differs in
an audit); 2 bad usage or a course that is not ready; 3 graded, but some submissions could not be
read (each is listed with the reason); 130 interrupted (run the same command again to resume).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from autograder.commands import authoring
from autograder.grading import nbgrader_cli
from autograder.commands.courses import DEFAULT_COURSE, default_course, summary_table
from autograder.spec import registry


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
        problems = authoring.problems(path)
        if args.check and getattr(args, "prove", True) and not problems:
            # The proof runs the reference in the sandbox twice: only `sync --check`, not `generate`.
            problems = authoring.prove_demo_marking(args.course, assignment)
        for problem in problems:
            print(problem, file=sys.stderr)
            status = 1
    return status


def cmd_generate(args) -> int:
    """Make the student versions in release/ with nbgrader, after checking the sources."""
    status = cmd_sync(argparse.Namespace(**{**vars(args), "check": True, "prove": False}))
    if status:
        print("autograder: fix the source notebooks first (`autograder sync`)", file=sys.stderr)
        return status
    for assignment in _assignments(args):
        leaks = authoring.generate(args.course, assignment)
        for leak in leaks:
            print(leak, file=sys.stderr)
        status |= bool(leaks)
        print(f"{assignment}: {args.course / 'release' / assignment}" + (" (LEAKS, see above)" if leaks else ""))
    return status


def cmd_grade(args) -> int:
    """Autograde every submission of the assignments, in parallel and sandboxed."""
    from autograder import sandbox
    from autograder.grading import pipeline

    limits = sandbox.Limits(cell_seconds=args.cell_timeout, submission_seconds=args.timeout,
                            memory_bytes=int(args.memory_gb * (1 << 30)))
    print(f"sandbox: {sandbox.describe(args.insecure)}")
    start = time.perf_counter()
    try:
        results = pipeline.grade_class(args.course, _assignments(args), students=args.student or None, jobs=args.jobs,
                                       scheduler=args.scheduler, limits=limits, force=args.force, insecure=args.insecure,
                                       run_all=args.run_all)
    except pipeline.CourseError as err:
        print(f"autograder: {err}", file=sys.stderr)
        return 2
    status = 0
    for assignment, outcomes in results.items():
        print(summary_table(assignment, outcomes))
        counts = {s: sum(o.status == s for o in outcomes) for s in ("graded", "resumed", "unreadable", "error")}
        print(f"{assignment}: {counts['graded']} graded, {counts['resumed']} unchanged since the last run, "
              f"{counts['unreadable']} unreadable, {counts['error']} failed to grade\n")
        if counts["unreadable"] or counts["error"]:
            status = 3
    print(f"graded in {time.perf_counter() - start:.1f} s")
    return status


def cmd_feedback(args) -> int:
    """Per-student feedback HTML (nbgrader generate_feedback, hidden test code removed), readable offline."""
    from autograder.commands import feedback

    for assignment in _assignments(args):
        pages = feedback.generate(args.course, assignment)
        print(f"{assignment}: {len(pages)} pages in {args.course / 'feedback'}")
    return 0


def cmd_collect(args) -> int:
    """Gather submissions into submitted/: from an LMS zip download, or from nbgrader's exchange."""
    from autograder.commands import collect

    if len(args.assignments) != 1:
        raise SystemExit("autograder collect: name exactly one assignment")
    (assignment,) = _assignments(args)
    if args.zip:
        report = collect.from_lms_zip(args.zip, args.course, assignment, args.roster, update=args.update)
    else:
        report = collect.from_exchange(args.course, assignment, update=args.update)
    print(report)
    return 0 if not report.unmatched else 3


def cmd_export(args) -> int:
    """Write nbgrader's grades CSV and a Canvas gradebook import CSV."""
    from autograder.commands import export

    args.to.mkdir(parents=True, exist_ok=True)
    nbgrader = export.nbgrader_csv(args.course, args.to / "grades.csv", overwrite=True)
    canvas = export.canvas_csv(args.course, args.to / "canvas.csv", args.assignments or None, args.roster, overwrite=True)
    print(f"nbgrader CSV: {nbgrader}\nCanvas CSV:   {canvas}")
    return 0


def cmd_report(args) -> int:
    """What the class got wrong: per assignment a self-contained HTML page and CSVs, and a page across them."""
    from autograder.commands import report

    to = args.to if args.to is not None else args.course / "reports"
    return report.run(args.course, _assignments(args), to, args.service_db, not args.no_similarity,
                      explicit=bool(args.assignments))


def cmd_audit(args) -> int:
    """Re-check graded submissions from scratch; list differing scores and forbidden imports."""
    from autograder.grading.audit import audit_assignment

    status = 0
    for assignment in _assignments(args):
        findings = audit_assignment(args.course, assignment, jobs=args.jobs, insecure=args.insecure)
        for f in findings:
            print(f"{assignment}  {f.student}: {f.what}")
        print(f"{assignment}: {len(findings)} finding(s)")
        status |= bool(findings)
    return status


def cmd_bundle(args) -> int:
    """Zip the student distribution: lectures, the course package, the release notebooks."""
    from autograder.commands import bundle

    root = DEFAULT_COURSE.parent
    out = bundle.build(args.course, args.out, root / "lectures", root / "course", overwrite=True)
    print(f"student bundle: {out}")
    return 0


def cmd_demo(args) -> int:
    """Build a small class from the embedded course, grade it with nbgrader and print the gradebook."""
    from autograder.commands.demo import run_demo

    return run_demo(args.output, _assignments(args))


def cmd_self_study(args) -> int:
    """Build the self-study edition: hidden tests that run the full check in the learner's kernel."""
    from autograder.commands import selfstudy

    try:
        lines = selfstudy.build(args.course, args.out, _assignments(args), force=args.force)
    except selfstudy.SelfStudyError as err:
        print(f"autograder: {err}", file=sys.stderr)
        return 2
    print("\n".join(lines))
    print(f"self-study edition in {args.out.resolve()}: open it with `{Path(sys.executable).parent / 'jupyter'} lab {args.out}`")
    return 0


def cmd_serve(args) -> int:
    """Answer students' requests for the hidden tests' feedback before the deadline (an HTTP service)."""
    from autograder.commands import serve

    return serve.serve(args)


def cmd_tokens(args) -> int:
    """Issue, revoke or list the students' tokens for the feedback service."""
    from autograder.commands import serve

    return serve.tokens(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="autograder", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name, func, help_text):
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("assignments", nargs="*", metavar="ASSIGNMENT", help="assignment ids (default: all)")
        p.add_argument("--course", type=Path, default=None,
                       help="the nbgrader course root (default: this folder if it holds nbgrader_config.py, "
                            f"else {DEFAULT_COURSE})")
        p.set_defaults(func=func)
        return p

    p = add("sync", cmd_sync, "regenerate the graded cells of the source notebooks from solutions/")
    p.add_argument("--check", action="store_true",
                   help="only report drift and structural problems, and prove that skipping the demonstration "
                        "cells changes no score of the reference (runs it in the sandbox)")
    add("generate", cmd_generate, "make the student versions (nbgrader generate_assignment) and check them for leaks")
    p = add("grade", cmd_grade, "autograde every submission: parallel, sandboxed, scored outside the notebook")
    p.add_argument("--jobs", "-j", type=int, default=None, help="submissions graded at once on this machine (default: the cores)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="run the sandboxes on this Dask cluster (tcp://host:8786)")
    p.add_argument("--student", action="append", help="grade only this student (repeatable)")
    p.add_argument("--force", action="store_true", help="regrade submissions already graded and unchanged")
    p.add_argument("--cell-timeout", type=float, default=120.0, metavar="S", help="seconds per cell (default: %(default)s)")
    p.add_argument("--timeout", type=float, default=900.0, metavar="S", help="seconds per submission (default: %(default)s)")
    p.add_argument("--memory-gb", type=float, default=6.0, metavar="GB", help="address space per submission (default: %(default)s)")
    p.add_argument("--insecure", action="store_true",
                   help="grade even where no sandbox can be had (student code then runs as you, with limits only)")
    p.add_argument("--run-all", action="store_true",
                   help="also run the demonstration cells (experiments no grade depends on; kept as submitted by default)")
    add("feedback", cmd_feedback, "write per-student feedback HTML into feedback/")
    p = add("collect", cmd_collect, "gather submissions from an LMS zip download (--zip) or nbgrader's exchange")
    p.add_argument("--zip", type=Path, help="the LMS bulk download (Canvas naming or one folder per student)")
    p.add_argument("--roster", type=Path, help="CSV with student_id and lms_id/name columns")
    p.add_argument("--update", action="store_true", help="replace submissions already collected")
    p = add("export", cmd_export, "write grades.csv (nbgrader) and canvas.csv (Canvas gradebook import)")
    p.add_argument("--to", type=Path, default=Path("."), help="output folder (default: here)")
    p.add_argument("--roster", type=Path, help="CSV with student_id, lms_id, name, section for the Canvas columns")
    p = add("report", cmd_report, "after grading: common mistakes, uncatalogued failures, incidents, feedback-service "
            "use and similar submissions, per assignment (HTML and CSV)")
    p.add_argument("--to", type=Path, default=None, help="output folder (default: reports/ in the course root)")
    p.add_argument("--service-db", metavar="URL", default=None,
                   help="the feedback service's database (default: .tdn-service/service.sqlite in the course, if there)")
    p.add_argument("--no-similarity", action="store_true", help="leave out the similarity of submissions")
    p = add("audit", cmd_audit, "re-check graded submissions cleanly; list differing scores and forbidden imports")
    p.add_argument("--jobs", "-j", type=int, default=None, help="submissions re-checked at once (default: the cores)")
    p.add_argument("--insecure", action="store_true", help="re-check even where no sandbox can be had")
    p = add("bundle", cmd_bundle, "zip the student distribution (lectures, course/, release notebooks)")
    p.add_argument("--out", type=Path, default=Path("student-bundle.zip"), help="the zip to write (default: %(default)s)")
    p = add("demo", cmd_demo, "grade a synthetic class with real nbgrader and print the gradebook")
    p.add_argument("--output", type=Path, default=Path("demo-output"), help="where the demo course goes (default: %(default)s)")
    p = add("self-study", cmd_self_study, "build the self-study edition: hidden tests run the full check in the "
            "learner's own kernel and print the feedback (no grade; never into the course)")
    p.add_argument("--out", type=Path, default=Path("self-study"), help="where the edition goes (default: %(default)s)")
    p.add_argument("--force", action="store_true", help="rebuild notebooks already there (their work is lost)")
    from autograder.commands import serve

    p = add("serve", cmd_serve, "the feedback service: students send a notebook before the deadline and read what the "
            "hidden tests say (no grade is written)")
    serve.add_serve_options(p)
    p = sub.add_parser("tokens", help="issue, revoke or list students' tokens for the feedback service",
                       description="issue, revoke or list students' tokens for the feedback service")
    serve.add_tokens_options(p)
    p.set_defaults(func=cmd_tokens)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if hasattr(args, "course"):
        args.course = default_course() if args.course is None else args.course.resolve()
    if hasattr(args, "course") and not (args.course / "nbgrader_config.py").exists():
        print(f"autograder: {args.course} is not a course root (no nbgrader_config.py)", file=sys.stderr)
        return 2
    try:
        return args.func(args)
    except nbgrader_cli.NbgraderError as err:
        print(f"autograder: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nautograder: interrupted; finished students are saved, run the same command to resume", file=sys.stderr)
        return 130
