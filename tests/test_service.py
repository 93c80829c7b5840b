"""The feedback service (`autograder serve`) on localhost: who may ask, what is refused, how often,
and what it survives. Grading here is a cheap stand-in (tests/service_helpers.py) put in through
the service's injection point; tests/test_service_grading.py runs the real sandbox and judge.
"""
from __future__ import annotations

import concurrent.futures as cf
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from autograder.commands.cli import main
from autograder.service import store as db
from autograder.service import tokens
from autograder.service.config import parse_rate
from autograder.service.store import Rate
from service_helpers import A, Gate, answer_of, call, fake_answer, instant, running, send, sources_only_course, variant

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    return sources_only_course(tmp_path_factory.mktemp("service"))


@pytest.fixture(scope="module")
def service(course):
    """One service for the tests that only read or send a few requests each (each uses its own students)."""
    with running(course, instant, rate=Rate(6, 3600)) as svc:
        yield svc


def token_for(service, student: str) -> str:
    return tokens.issue(service.store, [student])[student]


# ------------------------------------------------------------------ who may ask

@pytest.mark.parametrize("path, data", [("api/me", None), ("api/requests", None), ("api/requests/1", None),
                                        (f"api/assignments/{A}/requests", b"{}"), (f"api/assignments/{A}/requests", None),
                                        ("api/assignments/nope/requests", b"{}")])
def test_an_unauthenticated_request_gets_401_and_nothing_else(service, path, data):
    for token in (None, "not-a-token", "x" * 5000):
        status, headers, body = call(service.url, path, token, data)
        assert status == 401 and body == b"", (path, token, body)
        assert "Location" not in headers


def test_a_revoked_token_stops_working_at_once(service, course):
    token = token_for(service, "rita")
    assert call(service.url, "api/me", token)[0] == 200
    assert main(["tokens", "revoke", "rita", "--course", str(course), "--database", service.config.database]) == 0
    status, _, body = call(service.url, "api/me", token)
    assert (status, body) == (401, b"")
    assert send(service.url, token, variant(course, 0))[0] == 401


def test_one_student_can_never_read_another_students_requests(service, course):
    ada, bob = token_for(service, "ada-private"), token_for(service, "bob-private")
    status, _, sent = send(service.url, ada, variant(course, 1, marker="ada's secret work"))
    assert status == 202
    assert answer_of(service.url, ada, sent["id"])["status"] == "answered"
    status, _, body = call(service.url, f"api/requests/{sent['id']}", bob)
    assert status == 404 and b"secret" not in body and b"dropout" not in body
    history = json.loads(call(service.url, "api/requests", bob)[2])["requests"]
    assert history == []
    assert [r["id"] for r in json.loads(call(service.url, "api/requests", ada)[2])["requests"]] == [sent["id"]]
    assert json.loads(call(service.url, "api/me", bob)[2])["student"] == "bob-private"


# ------------------------------------------------------------------ bad input costs nothing

@pytest.mark.parametrize("data, status, words", [
    (b'{"cells": [', 400, "not valid JSON (line 1"),
    (b"\xff\xfe\x00binary", 400, "not text"),
    (b'{"nbformat": 4}', 422, "not a Jupyter notebook"),
    (b'[1, 2, 3]', 422, "not a Jupyter notebook"),
    (b'{"cells": [{"cell_type": "code", "source": "x = 1", "metadata": {}}]}', 422, "none of this notebook's cells"),
])
def test_a_file_that_is_not_this_assignments_notebook_gets_a_clear_4xx_and_costs_nothing(service, data, status, words):
    token = token_for(service, f"careless-{status}-{len(data)}")
    got, _, body = send(service.url, token, data)
    assert got == status and words in body["error"], body
    me = json.loads(call(service.url, "api/me", token)[2])
    assert me["assignments"][0]["used"] == 0


def test_another_assignments_notebook_is_refused_naming_the_right_one(service, course):
    token = token_for(service, "mixed-up")
    status, _, body = send(service.url, token, variant(course, 2, assignment="a1_backprop"))
    assert status == 422 and "notebook of a1_backprop" in body["error"]
    status, _, body = send(service.url, token, variant(course, 2), assignment="a9_nothing")
    assert status == 404 and A in body["error"]


def test_a_50_mb_upload_is_refused_with_413_while_reading_and_costs_nothing(service):
    token = token_for(service, "big-file")
    status, headers, body = send(service.url, token, b"{" + b" " * (50 << 20) + b"}")
    assert status == 413 and "larger than 16 MB" in body["error"] and "Clear Outputs" in body["error"]
    rows = service.store.history("big-file")
    assert [(r["status"], r["counted"]) for r in rows] == [("refused", False)]


def test_the_same_notebook_sent_again_is_answered_again_for_free(service, course):
    token = token_for(service, "repeater")
    notebook = variant(course, 3)
    status, _, first = send(service.url, token, notebook)
    assert status == 202
    answered = answer_of(service.url, token, first["id"])
    status, _, again = send(service.url, token, notebook)
    assert status == 200 and again["duplicate"] and again["id"] == first["id"]
    assert again["answer"] == answered["answer"]
    assert json.loads(call(service.url, "api/me", token)[2])["assignments"][0]["used"] == 1


# ------------------------------------------------------------------ how often

def test_the_rate_limit_holds_exactly_when_one_student_sends_many_notebooks_at_once(course, tmp_path):
    with running(course, instant, database=f"sqlite:///{tmp_path / 's.sqlite'}", rate=Rate(6, 3600)) as svc:
        token = token_for(svc, "eager")
        notebooks = [variant(course, 100 + i) for i in range(14)]
        with cf.ThreadPoolExecutor(14) as pool:
            results = list(pool.map(lambda nb: send(svc.url, token, nb), notebooks))
        accepted = [r for r in results if r[0] == 202]
        refused = [r for r in results if r[0] == 429]
        assert len(accepted) == 6 and len(refused) == 8, [r[0] for r in results]
        first = min(db.parse(r[2]["received_at"]) for r in accepted)
        for _, headers, body in refused:
            assert db.parse(body["next_allowed_at"]) == first + timedelta(hours=1)
            assert 3500 < int(headers["Retry-After"]) <= 3600
            assert "limit is 6 per hour" in body["error"] and "next request is allowed at" in body["error"]
        assert all(answer_of(svc.url, token, r[2]["id"])["status"] == "answered" for r in accepted)


def test_the_rate_limit_holds_exactly_across_two_service_processes_sharing_a_database(course, tmp_path):
    database = f"sqlite:///{tmp_path / 'shared.sqlite'}"
    with running(course, instant, database=database, rate=Rate(5, 3600)) as one, \
            running(course, instant, database=database, rate=Rate(5, 3600)) as two:
        token = token_for(one, "twice")
        jobs = [(one if i % 2 else two, variant(course, 200 + i)) for i in range(12)]
        with cf.ThreadPoolExecutor(12) as pool:
            statuses = list(pool.map(lambda job: send(job[0].url, token, job[1])[0], jobs))
        assert sorted(statuses) == [202] * 5 + [429] * 7


def test_the_next_allowed_time_is_when_the_oldest_request_leaves_the_window(course, tmp_path):
    with running(course, instant, database=f"sqlite:///{tmp_path / 's.sqlite'}", rate=Rate(2, 3)) as svc:
        token = token_for(svc, "patient")
        sent = [send(svc.url, token, variant(course, 300 + i)) for i in range(2)]
        assert [s[0] for s in sent] == [202, 202]
        status, headers, refused = send(svc.url, token, variant(course, 302))
        assert status == 429
        next_allowed = db.parse(refused["next_allowed_at"])
        assert next_allowed == db.parse(sent[0][2]["received_at"]) + timedelta(seconds=3)
        time.sleep(max(0.0, (next_allowed - datetime.now(next_allowed.tzinfo)).total_seconds()) + 0.05)
        assert send(svc.url, token, variant(course, 303))[0] == 202


def test_a_full_queue_answers_503_with_retry_after_and_the_refusal_does_not_count(course, tmp_path):
    gate = Gate()
    with running(course, gate, database=f"sqlite:///{tmp_path / 's.sqlite'}", workers=1, queue=3) as svc:
        early = token_for(svc, "early")
        late = token_for(svc, "late")
        taken = [send(svc.url, early, variant(course, 400 + i)) for i in range(3)]
        assert [t[0] for t in taken] == [202] * 3
        status, headers, body = send(svc.url, late, variant(course, 410))
        assert status == 503 and int(headers["Retry-After"]) >= 1 and "busy" in body["error"]
        assert json.loads(call(svc.url, "api/me", late)[2])["assignments"][0]["used"] == 0
        gate.open()
        assert [answer_of(svc.url, early, t[2]["id"])["status"] for t in taken] == ["answered"] * 3
        assert send(svc.url, late, variant(course, 410))[0] == 202


def test_a_rate_is_read_as_count_per_period():
    assert parse_rate("6/hour") == Rate(6, 3600) and parse_rate("10/30min") == Rate(10, 1800)
    assert parse_rate("3 / 600s") == Rate(3, 600) and parse_rate("20/day") == Rate(20, 86400)
    with pytest.raises(ValueError, match="COUNT/PERIOD"):
        parse_rate("lots")


# ------------------------------------------------------------------ what it survives

class DiesOnce:
    """A grade function whose thread dies (SystemExit escapes) the first time it sees each marked notebook."""

    def __init__(self, always: bool = False):
        self.seen, self.always = set(), always

    def __call__(self, assignment, notebook):
        if b"die here" in notebook and (self.always or notebook not in self.seen):
            self.seen.add(notebook)
            raise SystemExit("a library called sys.exit()")
        return fake_answer(assignment, notebook)


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")  # the death is the test
def test_a_worker_thread_that_dies_is_replaced_and_its_request_is_answered(course, tmp_path):
    with running(course, DiesOnce(), database=f"sqlite:///{tmp_path / 's.sqlite'}", workers=2) as svc:
        token = token_for(svc, "unlucky")
        status, _, sent = send(svc.url, token, variant(course, 500, marker="die here"))
        assert status == 202
        answered = answer_of(svc.url, token, sent["id"])
        assert answered["status"] == "answered" and answered["answer"]["functions"]
        assert svc.workers.replaced == 1
        deadline = time.monotonic() + 5
        while svc.workers.alive() < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert svc.workers.alive() == 2
        assert svc.store.request(sent["id"])["attempts"] == 2


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")  # the death is the test
def test_a_request_that_kills_every_worker_fails_after_its_attempts_without_counting(course, tmp_path):
    with running(course, DiesOnce(always=True), database=f"sqlite:///{tmp_path / 's.sqlite'}", workers=1,
                 max_attempts=2) as svc:
        token = token_for(svc, "cursed")
        _, _, sent = send(svc.url, token, variant(course, 501, marker="die here"))
        failed = answer_of(svc.url, token, sent["id"])
        assert failed["status"] == "failed" and not failed["counted"] and "send it again" in failed["error"]
        _, _, fine = send(svc.url, token, variant(course, 502))
        assert answer_of(svc.url, token, fine["id"])["status"] == "answered"
        assert json.loads(call(svc.url, "api/me", token)[2])["assignments"][0]["used"] == 1


def test_a_grader_error_fails_that_request_only_and_costs_the_student_nothing(course, tmp_path):
    def sandbox_breaks(assignment, notebook):
        if b"break" in notebook:
            raise RuntimeError("the sandbox broke: /usr/bin/bwrap vanished")
        return fake_answer(assignment, notebook)

    with running(course, sandbox_breaks, database=f"sqlite:///{tmp_path / 's.sqlite'}") as svc:
        token = token_for(svc, "bystander")
        _, _, broken = send(svc.url, token, variant(course, 600, marker="break"))
        _, _, fine = send(svc.url, token, variant(course, 601))
        failed = answer_of(svc.url, token, broken["id"])
        assert failed["status"] == "failed" and not failed["counted"]
        assert "bwrap" not in failed["error"] and "did not count" in failed["error"]
        assert answer_of(svc.url, token, fine["id"])["status"] == "answered"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(course: Path, database: str, port: int) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "tests") + os.pathsep + str(ROOT), "TDN_FAKE_SECONDS": "0.6"}
    process = subprocess.Popen([sys.executable, "-m", "autograder", "serve", A, "--course", str(course), "--port", str(port),
                                "--database", database, "--workers", "1", "--grader", "service_helpers:slow"],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    for line in process.stderr:
        if "answering for" in line:
            threading.Thread(target=process.stderr.read, daemon=True).start()  # keep the pipe drained
            return process
    raise AssertionError(f"the service did not start (exit code {process.wait()})")


def test_a_service_killed_mid_queue_answers_every_request_after_restart(course, tmp_path):
    database, port = f"sqlite:///{tmp_path / 's.sqlite'}", _free_port()
    url = f"http://127.0.0.1:{port}/"
    first = _serve(course, database, port)
    try:
        store = db.Store(database)
        token = tokens.issue(store, ["survivor"])["survivor"]
        sent = [send(url, token, variant(course, 700 + i)) for i in range(5)]
        assert [s[0] for s in sent] == [202] * 5
        deadline = time.monotonic() + 20
        while store.request(sent[0][2]["id"])["status"] != "running" and time.monotonic() < deadline:
            time.sleep(0.05)
        first.send_signal(signal.SIGKILL)
        first.wait()
        before = [store.request(s[2]["id"])["status"] for s in sent]
        assert "running" in before and "queued" in before, before
        second = _serve(course, database, port)
        try:
            after = [answer_of(url, token, s[2]["id"]) for s in sent]
        finally:
            second.terminate()
            second.wait(20)
        assert [r["status"] for r in after] == ["answered"] * 5
        assert store.request(sent[0][2]["id"])["attempts"] == 2  # the one cut short was graded again
        assert store.used("survivor", A, Rate()) and len(store.used("survivor", A, Rate())) == 5
    finally:
        if first.poll() is None:
            first.kill()


# ------------------------------------------------------------------ tokens from the roster

def test_tokens_are_issued_from_a_roster_csv_stored_hashed_and_listed(course, tmp_path, capsys):
    database = f"sqlite:///{tmp_path / 't.sqlite'}"
    roster = tmp_path / "roster.csv"
    roster.write_text("student_id,name\nada,Ada L\nbob,Bob K\n")
    out = tmp_path / "tokens.csv"
    args = ["--course", str(course), "--database", database]
    assert main(["tokens", "issue", "--roster", str(roster), "--out", str(out), *args]) == 0
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    issued = dict(line.split(",") for line in out.read_text().split()[1:])
    assert sorted(issued) == ["ada", "bob"]
    store = db.Store(database)
    assert tokens.authenticate(store, issued["ada"]) == "ada"
    with store.engine.begin() as conn:
        stored = conn.exec_driver_sql("SELECT digest FROM tokens").scalars().all()
    assert issued["ada"] not in stored and tokens.digest(issued["ada"]) in stored
    assert main(["tokens", "revoke", "bob", *args]) == 0
    capsys.readouterr()
    assert main(["tokens", "list", *args]) == 0
    listing = capsys.readouterr().out
    assert "ada" in listing and "active" in listing and "revoked" in listing and issued["ada"] not in listing


def test_a_roster_with_an_unsafe_student_id_is_refused_by_line(course, tmp_path, capsys):
    roster = tmp_path / "roster.csv"
    roster.write_text("student_id\nada\n../etc\n")
    assert main(["tokens", "issue", "--roster", str(roster), "--course", str(course),
                 "--database", f"sqlite:///{tmp_path / 't.sqlite'}"]) == 2
    assert "line 3" in capsys.readouterr().err


def test_tokens_are_issued_to_the_gradebooks_students_by_default(course, tmp_path, capsys):
    from nbgrader.api import Gradebook

    from autograder.grading import nbgrader_cli

    with Gradebook(nbgrader_cli.gradebook_url(course)) as gb:
        gb.update_or_create_student("carol")
        gb.update_or_create_student("dan")
    assert main(["tokens", "issue", "--course", str(course), "--database", f"sqlite:///{tmp_path / 't.sqlite'}"]) == 0
    printed = dict(line.split("\t") for line in capsys.readouterr().out.split("\n") if "\t" in line)
    assert sorted(printed) == ["carol", "dan"]


# ------------------------------------------------------------------ the notebook's client

def test_the_notebook_client_sends_the_saved_file_and_prints_the_feedback(service, course, tmp_path, monkeypatch, capsys):
    from course.ask import ask_hidden_tests

    token = token_for(service, "from-notebook")
    notebook = tmp_path / f"{A}.ipynb"
    notebook.write_bytes(variant(course, 800))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tdn-feedback.json").write_text(json.dumps({"url": service.url}))
    monkeypatch.setenv("TDN_FEEDBACK_TOKEN", token)
    monkeypatch.delenv("TDN_FEEDBACK_URL", raising=False)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    assert ask_hidden_tests(A) is None
    printed = capsys.readouterr().out
    expected = fake_answer(A, notebook.read_bytes())
    assert f"Hidden tests for {A}: {expected['score']:g} of 9 points" in printed
    assert "fake feedback" in printed and "Sending a4_regularization.ipynb" in printed
    result = ask_hidden_tests(A, quiet=True)  # the same file again: the same answer, free
    assert result["answer"] == expected and capsys.readouterr().out == ""


def test_the_notebook_client_says_plainly_when_no_service_is_configured(tmp_path, monkeypatch, capsys):
    from course.ask import NO_SERVICE, ask_hidden_tests

    (tmp_path / f"{A}.ipynb").write_text("{}")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    for name in ("TDN_FEEDBACK_URL", "TDN_FEEDBACK_TOKEN", "JPY_SESSION_NAME"):
        monkeypatch.delenv(name, raising=False)
    assert ask_hidden_tests(A) is None
    assert capsys.readouterr().out.strip() == NO_SERVICE


def test_the_notebook_client_shows_the_rate_limit_and_a_revoked_token(course, tmp_path, monkeypatch):
    from course.ask import ask_hidden_tests

    with running(course, instant, database=f"sqlite:///{tmp_path / 's.sqlite'}", rate=Rate(1, 3600)) as svc:
        token = token_for(svc, "limited")
        monkeypatch.setenv("TDN_FEEDBACK_URL", svc.url)
        monkeypatch.setenv("TDN_FEEDBACK_TOKEN", token)
        paths = []
        for i in range(2):
            paths.append(tmp_path / f"try{i}" / f"{A}.ipynb")
            paths[-1].parent.mkdir()
            paths[-1].write_bytes(variant(course, 900 + i))
        assert ask_hidden_tests(A, paths[0], quiet=True)["status"] == "answered"
        refused = ask_hidden_tests(A, paths[1], quiet=True)
        assert refused["status_code"] == 429 and "next request is allowed at" in refused["error"]
        svc.store.revoke("limited")
        assert "did not accept your token" in ask_hidden_tests(A, paths[1], quiet=True)["error"]


def test_the_notebook_client_imports_only_the_standard_library():
    import ast

    tree = ast.parse((ROOT / "course" / "ask.py").read_text())
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level == 0}
    assert imported <= set(sys.stdlib_module_names), imported


def test_every_release_notebook_asks_in_a_demonstration_cell_near_its_end():
    import nbformat

    from autograder.grading.submission import is_demo
    from autograder.spec import registry

    for assignment in registry.ASSIGNMENTS:
        nb = nbformat.read(ROOT / "assignments" / "source" / assignment / f"{assignment}.ipynb", as_version=4)
        asks = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and "ask_hidden_tests" in c.source]
        assert len(asks) == 1 and is_demo(nb.cells[asks[0]]), assignment
        assert f'ask_hidden_tests("{assignment}")' in nb.cells[asks[0]].source
        assert len(nb.cells) - asks[0] <= 3 and "hidden tests" in nb.cells[asks[0] - 1].source


# ------------------------------------------------------------------ the page's files

def test_the_web_page_sets_every_text_it_shows_as_text_never_as_html():
    script = (ROOT / "autograder" / "service" / "static" / "app.js").read_text()
    assert "innerHTML" not in script and "insertAdjacentHTML" not in script and "document.write" not in script


def test_the_memory_uploads_take_is_bounded_and_the_next_upload_is_told_to_retry(course, tmp_path):
    with running(course, instant, database=f"sqlite:///{tmp_path / 's.sqlite'}", upload_memory_bytes=120_000) as svc:
        token = token_for(svc, "slow-uploader")
        with socket.create_connection(("127.0.0.1", svc.port)) as slow:  # sends its headers, then dawdles
            slow.sendall(f"POST /api/assignments/{A}/requests HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
                         f"Content-Length: 100000\r\n\r\n{{".encode())
            time.sleep(0.3)
            status, headers, body = send(svc.url, token, variant(course, 1000))
            assert status == 503 and headers["Retry-After"] == "5" and "did not count" in body["error"]
        deadline = time.monotonic() + 5
        while send(svc.url, token, variant(course, 1001))[0] == 503 and time.monotonic() < deadline:
            time.sleep(0.1)  # the dawdler's connection closed: its place is free again
        assert json.loads(call(svc.url, "api/me", token)[2])["assignments"][0]["used"] == 1


def test_the_class_report_reads_the_requests_the_service_records(tmp_path):
    from autograder.report.service import read_requests

    url = f"sqlite:///{tmp_path / 's.sqlite'}"
    store = db.Store(url)
    taken = store.admit("ada", A, b"{}", "one", "g", Rate(1, 3600), 10)
    store.answer(taken.request["id"], fake_answer(A, b'{"cells": []}'))
    assert store.admit("ada", A, b"{}", "two", "g", Rate(1, 3600), 10).status == "rate"
    store.refuse("bob", A, "not JSON")
    rows = sorted((student, status) for student, _, status in read_requests(url, A))
    assert rows == [("ada", "answered"), ("ada", "refused"), ("bob", "refused")]
