"""The feedback service on PostgreSQL: the same database code as on SQLite, with the admission lock
taken as `SELECT ... FOR UPDATE`, so the rate limit and the queue stay exact across processes."""
from __future__ import annotations

import concurrent.futures as cf

import pytest

from autograder.service import store as db
from autograder.service import tokens
from autograder.service.store import Rate
from service_helpers import A, answer_of, instant, running, send, sources_only_course, variant

pytest.importorskip("psycopg", reason="psycopg is in the dev extra (pip install -e '.[dev]')")
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("postgres")]


@pytest.fixture(scope="module")
def postgres():
    import postgres as server

    running_server = server.start()
    if running_server is None:
        pytest.skip("PostgreSQL is not installed and could not be installed or started here")
    yield running_server.url
    running_server.stop()


def test_the_rate_limit_is_exact_across_two_stores_on_one_postgres_database(postgres):
    stores = [db.Store(postgres), db.Store(postgres)]
    admitted = lambda i: stores[i % 2].admit("pg-eager", A, b"{}", f"sha-{i}", "g", Rate(4, 3600), 100).status  # noqa: E731
    with cf.ThreadPoolExecutor(12) as pool:
        outcomes = list(pool.map(admitted, range(12)))
    assert sorted(outcomes) == ["queued"] * 4 + ["rate"] * 8
    claimed = []
    with cf.ThreadPoolExecutor(8) as pool:
        for _ in range(8):
            pool.submit(lambda: claimed.append(stores[len(claimed) % 2].claim()))
    ids = [c[0]["id"] for c in claimed if c is not None]
    assert len(ids) == 4 and len(set(ids)) == 4  # every queued request taken once, by one worker
    for request_id in ids:
        stores[0].fail(request_id, "a test's request")  # nothing left running for the next test's service


def test_the_service_answers_and_keeps_tokens_on_postgres(postgres, tmp_path):
    course = sources_only_course(tmp_path)
    with running(course, instant, database=postgres) as service:
        token = tokens.issue(service.store, ["pg-student"])["pg-student"]
        status, _, sent = send(service.url, token, variant(course, 1))
        assert status == 202
        assert answer_of(service.url, token, sent["id"])["status"] == "answered"
        service.store.revoke("pg-student")
        assert send(service.url, token, variant(course, 2))[0] == 401
