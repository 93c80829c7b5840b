"""The feedback service under a class's load: 50 students send 3 notebooks each, all at once.

Usage: .venv/bin/python benchmarks/service_load.py [--students 50] [--notebooks 3] [--workers W] [--no-real]

`autograder serve` runs in its own process (as in production), on localhost. Every student sends
their notebooks at the same moment (one thread per notebook), then waits for each answer by long
polling; the answer time of a notebook is from just before its upload to the answer's arrival.
Two runs:

1. **service only**: grading is a stand-in that answers at once (`--grader`), so the figures are
   the service's own cost (HTTP, the database, the queue);
2. **real**: the sandbox and the judge, a4_regularization notebooks of three kinds (the reference,
   a one-line slip, the release untouched), each answer checked against what `autograder grade`
   gives the same notebook.

Then five students send five more notebooks each: with 6 per hour allowed, exactly 3 of them must
be taken and 2 refused with the time of the next allowed request. Prints the median, 95th
percentile and largest answer time, answered / told to retry, the service's peak memory (VmHWM)
and the load average; exits 1 if a request is lost, an answer differs or the limit does not hold.
"""
from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

A = "a4_regularization"
RATE = "6/hour"


def instant(assignment: str, notebook: bytes) -> dict:
    """The stand-in grader of run 1 (`autograder serve --grader service_load:instant`)."""
    return {"score": 0.0, "max_score": 9.0, "notes": [], "functions": []}


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def http(url: str, token: str, data: bytes | None = None, timeout: float = 120) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET",
                                     headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


def ask(base: str, token: str, notebook: bytes, deadline: float) -> dict:
    """Send one notebook and wait for its answer: {'status', 'seconds', 'score' | 'retry_after'}."""
    start = time.monotonic()
    status, body = http(f"{base}api/assignments/{A}/requests", token, notebook)
    if status not in (200, 202):
        return {"status": status, "seconds": time.monotonic() - start, "retry_after": body.get("retry_after")}
    while body.get("status") in ("queued", "running") and time.monotonic() < deadline:
        _, body = http(f"{base}api/requests/{body['id']}?wait=30", token)
    answer = body.get("answer") or {}
    return {"status": body.get("status"), "seconds": time.monotonic() - start, "score": answer.get("score"),
            "failing": [f["feedback"] for f in answer.get("functions", []) if not f["passed"]] + answer.get("notes", [])}


class Served:
    """`autograder serve` in a process of its own, on a free port."""

    def __init__(self, course: Path, database: str, workers: int, grader: str | None):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        command = [sys.executable, "-m", "autograder", "serve", A, "--course", str(course), "--port", str(self.port),
                   "--database", database, "--workers", str(workers), "--queue", "500", "--rate", RATE]
        env = {**os.environ, "PYTHONPATH": f"{ROOT / 'benchmarks'}{os.pathsep}{ROOT}"}
        self.process = subprocess.Popen(command + (["--grader", grader] if grader else []), env=env,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.log: list[str] = []
        for line in self.process.stderr:
            self.log.append(line)
            if "answering for" in line:
                break
        else:
            raise SystemExit("the service did not start:\n" + "".join(self.log[-30:]))
        threading.Thread(target=lambda: self.log.extend(self.process.stderr), daemon=True).start()
        self.url = f"http://127.0.0.1:{self.port}/"

    def peak_mb(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(30)


def run(label: str, course: Path, notebooks: dict[str, bytes], expected: dict[str, float] | None, args) -> bool:
    from autograder.service import tokens
    from autograder.service.store import Store

    database = f"sqlite:///{course / f'{label}.sqlite'}"
    store = Store(database)
    students = [f"s{i:03d}" for i in range(args.students)]
    keys = tokens.issue(store, students)
    served = Served(course, database, args.workers, None if expected else "service_load:instant")
    kinds = list(notebooks)
    try:
        if expected:  # the first answers may not pay for generating cases and filling the judge's caches
            time.sleep(2)
        jobs = [(s, kinds[(i + k) % len(kinds)], k) for i, s in enumerate(students) for k in range(args.notebooks)]
        deadline = time.monotonic() + 1800
        say(f"{label}: {len(jobs)} notebooks from {len(students)} students at once")
        start = time.monotonic()
        with cf.ThreadPoolExecutor(len(jobs)) as pool:
            results = list(pool.map(lambda job: (job, ask(served.url, keys[job[0]], _distinct(notebooks[job[1]], job[2]),
                                                          deadline)), jobs))
        wall = time.monotonic() - start
        answered = [r for _, r in results if r["status"] == "answered"]
        retry = [r for _, r in results if r["status"] in (429, 503)]
        lost = [(job, r) for job, r in results if r["status"] not in ("answered", 429, 503)]
        wrong = [(job, r["score"], r["failing"]) for job, r in results if expected and r["status"] == "answered"
                 and r["score"] != expected[job[1]]]
        times = sorted(r["seconds"] for r in answered)
        p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))] if times else float("nan")
        print(f"\n{label}: {len(answered)} answered, {len(retry)} told when to retry, {len(lost)} lost, "
              f"{len(wrong)} answers differing from `autograder grade`, in {wall:.1f} s")
        if times:
            print(f"  answer time: median {statistics.median(times):.2f} s, 95th percentile {p95:.2f} s, "
                  f"largest {times[-1]:.2f} s; {len(answered) / wall:.2f} notebooks/s")
        for job, score, failing in wrong[:3]:
            print(f"  DIFFERS: {job[0]}'s {job[1]} notebook scored {score}, `autograder grade` gives {expected[job[1]]}:")
            print("    " + "\n    ".join("\n".join(failing).splitlines()[:12]))
        print(f"  service peak memory (VmHWM): {served.peak_mb():.0f} MB; load average {os.getloadavg()[0]:.1f}")

        # The rate limit under concurrency: each of five students sends five more at once.
        limited = students[:5]
        extra = [(s, k) for s in limited for k in range(5)]
        def more(job):
            student, k = job
            return student, http(f"{served.url}api/assignments/{A}/requests", keys[student],
                                 _distinct(notebooks[kinds[0]], 100 + k))

        with cf.ThreadPoolExecutor(len(extra)) as pool:
            outcomes = list(pool.map(more, extra))
        per_student = {s: sorted(status for who, (status, _) in outcomes if who == s) for s in limited}
        allowed = 6 - args.notebooks
        holds = all(v == [202] * allowed + [429] * (5 - allowed) for v in per_student.values())
        has_time = all(body.get("next_allowed_at") for _, (status, body) in outcomes if status == 429)
        print(f"  rate limit ({RATE}) for 5 students sending 5 more at once: "
              f"{'exact' if holds and has_time else 'BROKEN'} {per_student[limited[0]]}")
        return not lost and not wrong and holds and has_time
    finally:
        served.stop()


def _distinct(notebook: bytes, k: int) -> bytes:
    """The same notebook with a marker cell: a student's k-th send is a new file, not a repeat."""
    nb = json.loads(notebook)
    nb["cells"].append({"cell_type": "markdown", "id": f"marker-{k}", "metadata": {}, "source": f"version {k}"})
    return json.dumps(nb).encode()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=50)
    parser.add_argument("--notebooks", type=int, default=3, help="per student (at most 5, under the limit of 6)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--no-real", action="store_true", help="only the service-only run")
    args = parser.parse_args()

    import nbformat

    from autograder.commands.cli import main as autograder_main
    from autograder.commands.courses import DEFAULT_COURSE, copy_course
    from autograder.demo import synthetic
    from autograder.grading import pipeline

    course = copy_course(DEFAULT_COURSE, Path(tempfile.mkdtemp(prefix="tdn-service-load-")) / "course")
    say(f"course copy in {course}; load average {os.getloadavg()[0]:.1f}")
    assert autograder_main(["generate", A, "--course", str(course)]) == 0
    source, release = course / "source" / A / f"{A}.ipynb", course / "release" / A / f"{A}.ipynb"
    notebooks = {"reference": synthetic.reference(source), "slip": synthetic.with_edits(source, synthetic.EDITS[A][0]),
                 "blank": synthetic.blank(release)}
    notebooks = {kind: nbformat.writes(nb).encode() for kind, nb in notebooks.items()}
    ok = run("service only", course, notebooks, None, args)
    if not args.no_real:
        for kind, data in notebooks.items():
            path = course / "submitted" / kind / A / f"{A}.ipynb"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(_distinct(data, 0))
        expected = {o.student: o.score for o in pipeline.grade_assignment(course, A, progress=False)}
        say(f"`autograder grade` gives {expected}")
        ok &= run("real sandbox and judge", course, notebooks, expected, args)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
