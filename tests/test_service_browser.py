"""The service's web page in headless Chromium, used as a student would: sign in with a token,
choose the saved notebook, ask, read the feedback and the history, and meet the rate limit."""
from __future__ import annotations

import json

import pytest

from autograder.service import tokens
from autograder.service.store import Rate
from cdp import Page
from service_helpers import A, fake_answer, instant, running, sources_only_course, variant

pytestmark = pytest.mark.slow


def test_a_student_uploads_reads_the_feedback_and_the_history_and_meets_the_rate_limit(chromium, tmp_path):
    course = sources_only_course(tmp_path)
    with running(course, instant, rate=Rate(1, 3600)) as service, Page(chromium, tmp_path) as page:
        token = tokens.issue(service.store, ["ada"])["ada"]
        first, second = tmp_path / "first.ipynb", tmp_path / "second.ipynb"
        first.write_bytes(variant(course, 1))
        second.write_bytes(variant(course, 2))

        page.open(service.url)
        assert page.run("document.querySelector('#login').hidden") is False
        page.run(f"document.querySelector('#token').value = {json.dumps(token)}")
        page.run("document.querySelector('#login-form').requestSubmit()")
        page.wait("!document.querySelector('#main').hidden")
        assert page.text("#who") == "ada" and "0 of 1 requests used" in page.text("#quota")

        page.upload("#file", first)
        page.run("document.querySelector('#send').requestSubmit()")
        page.wait("document.querySelector('#answer').innerText.includes('The hidden tests would give')")
        expected = fake_answer(A, first.read_bytes())
        answer = page.text("#answer")
        assert f"{expected['score']:g} of 9 points" in answer and "fake feedback" in answer
        assert "dropout_forward" in page.text("#answer details summary")
        page.wait("document.querySelectorAll('#history tbody tr').length === 1")
        assert "answered" in page.text("#history tbody tr") and "1 of 1 requests used" in page.text("#quota")

        page.upload("#file", second)
        page.run("document.querySelector('#send').requestSubmit()")
        page.wait("document.querySelector('#status').className === 'refused'")
        status = page.text("#status")
        assert "the limit is 1 per hour" in status and "next request is allowed at" in status
        assert "Next one allowed at" in page.text("#quota")

        page.run("document.querySelector('#answer').replaceChildren()")
        rows = "[...document.querySelectorAll('#history tbody tr')]"
        assert page.run(f"{rows}.map(r => r.cells[3].innerText).join(',')") == "refused,answered"
        page.run(f"{rows}.find(r => r.cells[3].innerText === 'answered').click()")  # an earlier answer, from the history
        page.wait("document.querySelector('#answer').innerText.includes('fake feedback')")
        page.screenshot(tmp_path / "service-page.png")

        service.store.revoke("ada")
        page.run("document.querySelector('#send').requestSubmit()")
        page.wait("!document.querySelector('#login').hidden")
        assert "not accepted" in page.text("#login-error")
