"""What the feedback-service tests share: a course to serve, cheap grade functions, an HTTP client.

The cheap grade functions stand in for the sandbox and the judge through the service's documented
injection point (`Service(config, grade=...)`, `autograder serve --grader MODULE:FUNCTION`), so
tests of queueing, limits and recovery take milliseconds per request; tests/test_service_grading.py
runs the real sandbox and judge.
"""
from __future__ import annotations

import contextlib
import json
import os
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import nbformat

from autograder.commands.courses import DEFAULT_COURSE, copy_course
from autograder.service.app import Service
from autograder.service.config import Config

A = "a4_regularization"


def sources_only_course(folder: Path) -> Path:
    """A copy of the embedded course's config and sources: enough for a service with a cheap grader."""
    return copy_course(DEFAULT_COURSE, Path(folder) / "course")


def variant(course: Path, n: int, assignment: str = A, marker: str = "") -> bytes:
    """The source notebook of `assignment` with one extra cell: a distinct file (a new request) per n."""
    nb = nbformat.read(Path(course) / "source" / assignment / f"{assignment}.ipynb", as_version=4)
    nb.cells.append(nbformat.v4.new_markdown_cell(f"variant {n} {marker}"))
    return nbformat.writes(nb).encode()


def fake_answer(assignment: str, notebook: bytes) -> dict:
    """A cheap answer of the right shape: one point per markdown cell whose text says 'point'."""
    cells = json.loads(notebook)["cells"]
    points = sum("point" in "".join(c.get("source", "")) for c in cells if c.get("cell_type") == "markdown")
    score = float(min(points, 9))
    return {"score": score, "max_score": 9.0, "notes": [],
            "functions": [{"check": "dropout_forward", "function": "dropout_forward", "points": 9.0, "score": score,
                           "passed": score == 9.0, "cases": 1, "cases_passed": int(score == 9.0),
                           "feedback": f"dropout_forward: fake feedback, {score:g} of 9 points"}]}


def instant(assignment: str, notebook: bytes) -> dict:
    return fake_answer(assignment, notebook)


def slow(assignment: str, notebook: bytes) -> dict:
    """`instant`, after TDN_FAKE_SECONDS (default 1) of waiting: a grade that takes time."""
    time.sleep(float(os.environ.get("TDN_FAKE_SECONDS", "1")))
    return fake_answer(assignment, notebook)


class Gate:
    """A grade function that holds every grade until `open()`, and counts the grades that began."""

    def __init__(self):
        self.opened, self.started = threading.Event(), 0
        self._lock = threading.Lock()

    def __call__(self, assignment: str, notebook: bytes) -> dict:
        with self._lock:
            self.started += 1
        self.opened.wait(30)
        return fake_answer(assignment, notebook)

    def open(self):
        self.opened.set()


@contextlib.contextmanager
def running(course: Path, grade, database: str | None = None, **settings):
    """A service on a free localhost port, in this process, stopped afterwards."""
    settings.setdefault("assignments", [A])
    config = Config(course, port=0, warm=False, database=database or f"sqlite:///{Path(course) / 'service.sqlite'}",
                    **settings)
    service = Service(config, grade).start_background()
    try:
        yield service
    finally:
        service.stop()


def call(url: str, path: str = "", token: str | None = None, data: bytes | None = None, timeout: float = 60,
         headers: dict | None = None) -> tuple[int, dict, bytes]:
    """(status, headers, body) of one HTTP request; errors are answers too."""
    request = urllib.request.Request(url + path, data=data, method="POST" if data is not None else "GET")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def send(url: str, token: str, notebook: bytes, assignment: str = A) -> tuple[int, dict, dict]:
    status, headers, body = call(url, f"api/assignments/{assignment}/requests", token, notebook)
    return status, headers, json.loads(body) if body else {}


def answer_of(url: str, token: str, request_id: int, seconds: float = 60) -> dict:
    """The request once it is no longer pending (long polls)."""
    deadline = time.monotonic() + seconds
    while True:
        status, _, body = call(url, f"api/requests/{request_id}?wait=20", token)
        assert status == 200, (status, body)
        request = json.loads(body)
        if request["status"] not in ("queued", "running") or time.monotonic() > deadline:
            return request
