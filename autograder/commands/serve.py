"""`autograder serve` (the feedback service) and `autograder tokens` (who may use it).

    autograder serve [ASSIGNMENT ...] [--port 8400] [--rate 6/hour] [--queue 100] [--workers N]
    autograder tokens issue [STUDENT ...] [--roster roster.csv] [--out tokens.csv]
    autograder tokens revoke STUDENT ... | --all
    autograder tokens list

Both work on the same database (`--database`, default: SQLite in <course>/.tdn-service/). Started
by JupyterHub as a managed service, `serve` finds the Hub in its environment and authenticates
students with the Hub's OAuth (README: JupyterHub). This module only reads arguments; the service
is `autograder.service`.
"""
from __future__ import annotations

import argparse
import csv
import logging
import os
import sys
from pathlib import Path

from autograder.service.config import DEFAULT_PORT, DEFAULT_QUEUE, DEFAULT_UPLOAD_MB


def add_serve_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default=None, help="address to listen on (default: 127.0.0.1, or what JupyterHub says)")
    p.add_argument("--port", type=int, default=None, help=f"port (default: {DEFAULT_PORT}, or what JupyterHub says)")
    p.add_argument("--base-url", default=None, help="path prefix (default: /, or /services/<name>/ under JupyterHub)")
    p.add_argument("--database", default=None, metavar="URL",
                   help="SQLAlchemy URL (default: sqlite:///<course>/.tdn-service/service.sqlite)")
    p.add_argument("--rate", default="6/hour", help="requests per student and assignment, COUNT/PERIOD (default: %(default)s)")
    p.add_argument("--queue", type=int, default=DEFAULT_QUEUE,
                   help="requests waiting or being graded at once, over all students; more get 503 (default: %(default)s)")
    p.add_argument("--workers", type=int, default=None, help="notebooks graded at once (default: the cores)")
    p.add_argument("--max-upload-mb", type=float, default=DEFAULT_UPLOAD_MB, help="largest notebook accepted (default: %(default)s)")
    p.add_argument("--cell-timeout", type=float, default=None, metavar="S", help="seconds per cell (default: as `grade`)")
    p.add_argument("--timeout", type=float, default=None, metavar="S", help="seconds per notebook (default: as `grade`)")
    p.add_argument("--memory-gb", type=float, default=None, metavar="GB", help="address space per notebook (default: as `grade`)")
    p.add_argument("--insecure", action="store_true", help="grade even where no sandbox can be had (never on a shared machine)")
    p.add_argument("--hub", choices=("auto", "yes", "no"), default="auto",
                   help="authenticate with JupyterHub's OAuth (default: when started by JupyterHub)")
    p.add_argument("--no-warm", action="store_true", help="do not judge each reference notebook once at start")
    p.add_argument("--grader", metavar="MODULE:FUNCTION",
                   help="grade with this function instead of the sandbox and the judge (load tests only: answers are not grades)")


def add_tokens_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=("issue", "revoke", "list"), help="issue new tokens, revoke tokens, or list them")
    p.add_argument("students", nargs="*", metavar="STUDENT", help="student ids (issue: default, the whole roster)")
    p.add_argument("--course", type=Path, default=None, help="the nbgrader course root (as for the other commands)")
    p.add_argument("--database", default=None, metavar="URL", help="the service's database (as for `serve`)")
    p.add_argument("--roster", type=Path, help="issue: a CSV with a student_id column (default: the gradebook's students)")
    p.add_argument("--out", type=Path, help="issue: write student,token to this CSV (created readable by you only) "
                                            "instead of printing the tokens")
    p.add_argument("--all", action="store_true", help="revoke: every student's tokens")


def serve(args) -> int:
    from autograder import sandbox
    from autograder.grading.pipeline import CourseError
    from autograder.service import hub
    from autograder.service.app import Service
    from autograder.service.config import Config, parse_rate
    from autograder.service.grading import load

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        rate = parse_rate(args.rate)
        grade = load(args.grader) if args.grader else None
    except (ValueError, ImportError, AttributeError) as err:
        print(f"autograder serve: {err}", file=sys.stderr)
        return 2
    on_hub = args.hub == "yes" or (args.hub == "auto" and hub.detected())
    hub_host, hub_port, hub_prefix = hub.bind() if on_hub else (None, None, None)
    defaults = sandbox.Limits()
    limits = sandbox.Limits(cell_seconds=args.cell_timeout or defaults.cell_seconds,
                            submission_seconds=args.timeout or defaults.submission_seconds,
                            memory_bytes=int(args.memory_gb * (1 << 30)) if args.memory_gb else defaults.memory_bytes)
    config = Config(args.course, list(args.assignments), database=_database(args), host=args.host or hub_host or "127.0.0.1",
                    port=args.port if args.port is not None else hub_port or DEFAULT_PORT,
                    base_url=args.base_url or hub_prefix or "/", rate=rate, queue=args.queue,
                    workers=args.workers or os.cpu_count() or 1, max_upload_bytes=int(args.max_upload_mb * (1 << 20)),
                    limits=limits, insecure=args.insecure, hub=on_hub, warm=not args.no_warm)
    print(f"sandbox: {sandbox.describe(args.insecure)}" if grade is None else f"grading with {args.grader} (not the sandbox)")
    try:
        Service(config, grade).serve_forever()
    except (CourseError, sandbox.SandboxUnavailable, OSError, KeyError) as err:
        print(f"autograder serve: {err.args[0] if isinstance(err, KeyError) else err}", file=sys.stderr)
        return 2
    except ImportError as err:
        print(f"autograder serve: running on JupyterHub needs the jupyterhub package ({err})", file=sys.stderr)
        return 2
    return 0


def tokens(args) -> int:
    from autograder.service import tokens as issued
    from autograder.service.store import Store

    store = Store(_database(args))
    try:
        if args.action == "issue":
            students = args.students or issued.roster(args.course, args.roster)
            if not students:
                print("autograder tokens: nobody to issue tokens to (the gradebook has no students; name them, "
                      "or give --roster)", file=sys.stderr)
                return 2
            new = issued.issue(store, students)
            if args.out:
                _write_private_csv(args.out, new)
                print(f"{len(new)} token(s) written to {args.out}; hand each student their own, then delete the file")
            else:
                for student, token in new.items():
                    print(f"{student}\t{token}")
            return 0
        if args.action == "revoke":
            students = sorted({r["student"] for r in store.token_rows()}) if args.all else args.students
            if not students:
                print("autograder tokens revoke: name the students (or --all)", file=sys.stderr)
                return 2
            for student, count in issued.revoke(store, students).items():
                print(f"{student}: {count} token(s) revoked" if count else f"{student}: no active token")
            return 0
        rows = store.token_rows()
        print(f"{'student':<20} {'issued (UTC)':<20} {'state':<8} {'requests':>8}  last request (UTC)")
        for r in rows:
            print(f"{r['student']:<20} {r['issued_at'][:19]:<20} {'revoked' if r['revoked_at'] else 'active':<8} "
                  f"{r['requests'] or 0:>8}  {(r['last_request'] or '')[:19]}")
        return 0
    except issued.RosterError as err:
        print(f"autograder tokens: {err}", file=sys.stderr)
        return 2
    finally:
        store.close()


def _database(args) -> str:
    from autograder.service.store import default_url

    return args.database or default_url(args.course)


def _write_private_csv(path: Path, rows: dict[str, str]) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["student_id", "token"])
        writer.writerows(rows.items())
