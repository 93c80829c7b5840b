"""A hostile student against `autograder serve`: what the HTTP interface and the answer's text let
through. The service runs with the instant fake grader (no sandbox); the rewriting of the judge's
text is `autograder.service.verdict`, tested here on sentences the recorder writes."""
from __future__ import annotations

import json

import pytest

from autograder.grading.judge import assess
from autograder.grading.runs import Run
from autograder.service import tokens, verdict
from autograder.service.store import Rate
from autograder.spec.checks import load_all
from service_helpers import call, instant, running, send, sources_only_course

SECRET_NUMBER = "8347"


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    course = sources_only_course(tmp_path_factory.mktemp("attacks"))
    with running(course, instant, rate=Rate(3, 3600)) as svc:
        yield svc


def token_for(service, student: str) -> str:
    return tokens.issue(service.store, [student])[student]


def test_the_pages_script_and_style_are_served_with_nosniff_and_the_pages_policy(service):
    for path in ("", "static/app.js", "static/style.css"):
        status, headers, _ = call(service.url, path)
        assert status == 200, path
        assert headers.get("X-Content-Type-Options") == "nosniff", path
        assert "default-src 'self'" in headers.get("Content-Security-Policy", ""), path


def test_an_empty_upload_is_refused_as_not_a_notebook_not_as_a_busy_service(service):
    status, _, body = send(service.url, token_for(service, "empty-body"), b"")
    assert status == 400 and "not valid JSON" in body["error"]


def test_a_token_never_appears_in_the_page_or_in_an_answer(service):
    token = token_for(service, "tok-echo")
    _, _, page = call(service.url, "", token)
    _, _, me = call(service.url, "api/me", token)
    assert token.encode() not in page and token.encode() not in me
    assert json.loads(me)["student"] == "tok-echo"


def test_a_token_with_a_different_case_or_padding_is_not_accepted(service):
    token = token_for(service, "tok-case")
    for forged in (token.swapcase(), token + " x", token[:-1], token + "=", token + "A"):
        status, _, body = call(service.url, "api/me", forged)
        assert status == 401 and body == b"", forged


def test_deeply_nested_json_is_refused_with_400_and_the_service_keeps_answering(service):
    token = token_for(service, "nester")
    status, _, body = send(service.url, token, b"[" * 200_000 + b"]" * 200_000)
    assert status in (400, 422), body
    status, _, _ = call(service.url, "api/me", token)
    assert status == 200


def test_a_forged_line_suffix_in_an_exception_message_does_not_carry_a_number_out():
    """A case's exception message may say '(line <hidden value> of your code: pass)'; only the
    recorder's own suffix, always the last one, names a line."""
    check = load_all()["dropout_forward"]
    raise_line = "raise ValueError(leak(x))"
    error = f"ValueError: a (line {SECRET_NUMBER} of your code: pass) (line 3 of your code: {raise_line})"
    report = assess(check, [Run(error=error) for _ in check.cases()], 3)
    forged_line = f"pass) (line 3 of your code: {raise_line}"
    sent = verdict.Notebook([{"cell_type": "code",
                              "source": f'NOTE = """\n{forged_line}\n"""\ndef dropout_forward(x, p):\n    {raise_line}\n'}])
    shown = verdict.public_reports({"dropout_forward": report}, sent)["dropout_forward"].feedback()
    assert SECRET_NUMBER not in shown
    assert f"raised ValueError at line 3 of your code: {raise_line}" in shown
