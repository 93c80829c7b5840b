"""The feedback service as a JupyterHub-managed service, against a real JupyterHub and its proxy.

The Hub starts `autograder serve` itself (its `services` configuration, as the README shows) and
students reach it through the Hub's proxy at /services/tdn-feedback/. A student signs in to the
Hub once (its own login page, then OAuth, no token to type); a notebook on the Hub asks with the
student's own Hub token. Only users the Hub grants `access:services!service=tdn-feedback` get in.
Grading is the cheap stand-in: the OAuth path is what is under test here.
"""
from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from service_helpers import A, call, fake_answer, sources_only_course, variant

jupyterhub = pytest.importorskip("jupyterhub", reason="JupyterHub is in the dev extra (pip install -e '.[dev]')")
requests = pytest.importorskip("requests")
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("hub")]
ROOT = Path(__file__).resolve().parents[1]
SERVICE = "tdn-feedback"
ADMIN_TOKEN = "test-admin-token-0123456789abcdef"


def _free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    import hubproxy

    proxy = hubproxy.install_proxy()
    if proxy is None:
        pytest.skip("configurable-http-proxy is missing and npm could not install it")
    folder = tmp_path_factory.mktemp("hub")
    course = sources_only_course(folder)
    public, hub_port, proxy_api, service_port = _free_ports(4)
    serve = [sys.executable, "-m", "autograder", "serve", A, "--course", str(course), "--grader", "service_helpers:instant",
             "--database", f"sqlite:///{folder / 'service.sqlite'}"]
    config = folder / "jupyterhub_config.py"
    config.write_text(f"""
c = get_config()  # noqa
c.JupyterHub.bind_url = "http://127.0.0.1:{public}"
c.JupyterHub.hub_bind_url = "http://127.0.0.1:{hub_port}"
c.ConfigurableHTTPProxy.command = [{proxy!r}]
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{proxy_api}"
c.JupyterHub.db_url = "sqlite:///{folder / 'hub.sqlite'}"
c.JupyterHub.cookie_secret_file = "{folder / 'cookie_secret'}"
c.JupyterHub.pid_file = "{folder / 'hub.pid'}"
c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = "secret"
c.Authenticator.allow_all = True
c.JupyterHub.load_groups = {{"students": {{"users": ["ada"]}}}}
c.JupyterHub.services = [
    {{"name": "{SERVICE}", "url": "http://127.0.0.1:{service_port}", "command": {serve!r}, "oauth_no_confirm": True,
      "environment": {{"PYTHONPATH": {str(ROOT / 'tests') + os.pathsep + str(ROOT)!r}}}}},
    {{"name": "test-admin", "api_token": "{ADMIN_TOKEN}"}},
]
c.JupyterHub.load_roles = [
    {{"name": "feedback", "scopes": ["access:services!service={SERVICE}"], "groups": ["students"]}},
    {{"name": "test-admin", "scopes": ["admin:users", "tokens"], "services": ["test-admin"]}},
]
""")
    log = open(folder / "hub.log", "w")
    process = subprocess.Popen([sys.executable, "-m", "jupyterhub", "-f", str(config)], cwd=folder, stdout=log,
                               stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{public}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base}/services/{SERVICE}/api/me", timeout=2).status_code == 401:
                break
        except requests.RequestException:
            pass
        if process.poll() is not None:
            break
        time.sleep(0.3)
    else:
        process.terminate()
    if process.poll() is not None or time.monotonic() >= deadline:
        process.kill()
        pytest.fail("JupyterHub or the service did not start:\n" + (folder / "hub.log").read_text()[-4000:])
    yield {"base": base, "service": f"{base}/services/{SERVICE}/", "course": course}
    process.terminate()
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()


def sign_in(hub, user: str) -> tuple[requests.Session, requests.Response]:
    """A browser's way in: the service sends it to the Hub's login, then back through OAuth."""
    session = requests.Session()
    login = session.get(hub["service"], timeout=30)
    assert "/hub/login" in login.url, login.url
    xsrf = re.search(r'name="_xsrf" value="([^"]+)"', login.text)[1]
    page = session.post(login.url, data={"username": user, "password": "secret", "_xsrf": xsrf}, timeout=30)
    return session, page


def hub_token(hub, user: str, scopes: list[str] | None = None) -> str:
    """A Hub API token of `user` (with `scopes`, else everything the user may do)."""
    body = {"note": "test", **({"scopes": scopes} if scopes is not None else {})}
    response = requests.post(f"{hub['base']}/hub/api/users/{user}/tokens", headers={"Authorization": f"token {ADMIN_TOKEN}"},
                             json=body, timeout=30)
    assert response.status_code == 201, response.text
    return response.json()["token"]


def test_a_student_signs_in_through_the_hub_and_asks_from_the_page(hub):
    session, page = sign_in(hub, "ada")
    assert page.status_code == 200 and page.url.rstrip("/") == hub["service"].rstrip("/")
    assert 'data-student="ada"' in page.text and 'data-mode="hub"' in page.text
    xsrf = re.search(r'data-xsrf="([^"]+)"', page.text)[1]
    headers = {"X-XSRFToken": xsrf, "Sec-Fetch-Mode": "cors", "Sec-Fetch-Site": "same-origin"}
    me = session.get(hub["service"] + "api/me", headers=headers, timeout=30)
    assert me.status_code == 200 and me.json()["student"] == "ada"
    notebook = variant(hub["course"], 1)
    sent = session.post(hub["service"] + f"api/assignments/{A}/requests", data=notebook, headers=headers, timeout=30)
    assert sent.status_code == 202, sent.text
    answered = session.get(hub["service"] + f"api/requests/{sent.json()['id']}?wait=30", headers=headers, timeout=60).json()
    assert answered["status"] == "answered" and answered["answer"] == fake_answer(A, notebook)


def test_a_cookie_request_without_the_pages_xsrf_token_is_not_accepted(hub):
    session, page = sign_in(hub, "ada")
    assert page.status_code == 200
    forged = session.post(hub["service"] + f"api/assignments/{A}/requests", data=variant(hub["course"], 2),
                          headers={"Sec-Fetch-Mode": "cors", "Sec-Fetch-Site": "cross-site"}, timeout=30)
    assert forged.status_code == 401 and forged.content == b""


def test_a_hub_user_without_access_to_the_service_gets_nothing(hub):
    _, page = sign_in(hub, "bob")
    assert page.status_code == 403 and 'data-student="bob"' not in page.text
    token = hub_token(hub, "bob")  # everything bob may do, which is not this service
    assert call(hub["service"], "api/me", token)[:3:2] == (401, b"")
    refused = requests.post(f"{hub['base']}/hub/api/users/bob/tokens", headers={"Authorization": f"token {ADMIN_TOKEN}"},
                            json={"scopes": [f"access:services!service={SERVICE}"]}, timeout=30)
    assert refused.status_code == 400  # the Hub itself will not hand bob the right


def test_a_notebook_on_the_hub_asks_with_the_students_own_hub_token(hub, tmp_path, monkeypatch, capsys):
    from course.ask import ask_hidden_tests

    narrow = hub_token(hub, "ada", ["read:users:name!user=ada"])
    assert call(hub["service"], "api/me", narrow)[0] == 401  # a Hub token without the service's scope
    token = hub_token(hub, "ada", ["access:services!service=tdn-feedback"])
    notebook = tmp_path / f"{A}.ipynb"
    notebook.write_bytes(variant(hub["course"], 3))
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", token)
    monkeypatch.setenv("TDN_FEEDBACK_URL", hub["service"])
    monkeypatch.delenv("TDN_FEEDBACK_TOKEN", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert ask_hidden_tests(A, notebook) is None
    printed = capsys.readouterr().out
    assert f"Hidden tests for {A}: {fake_answer(A, notebook.read_bytes())['score']:g} of 9 points" in printed
    history = json.loads(call(hub["service"], "api/requests", token)[2])["requests"]
    assert {r["status"] for r in history} == {"answered"} and len(history) >= 1
