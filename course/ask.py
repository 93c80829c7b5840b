"""Ask the course's feedback service what the hidden tests say about your saved notebook.

    from course.ask import ask_hidden_tests
    ask_hidden_tests("a1_backprop")

sends the saved file `a1_backprop.ipynb` (save first: Ctrl-S) and prints, per graded function,
the points the hidden tests would give and what they found. No grade is recorded: your grade
comes from the notebook you submit by the deadline. Each notebook you send counts towards a limit
per hour (the answer says how many are left); sending the same file again costs nothing.

Where the service is, and who you are, come from (first found wins):
- the environment: TDN_FEEDBACK_URL, TDN_FEEDBACK_TOKEN;
- a file `tdn-feedback.json` ({"url": ..., "token": ...}, either part) beside the notebook or in
  a folder above it, as a release may ship it, or in ~/.config/tdn/feedback.json;
- on JupyterHub, your server's own Hub token (JUPYTERHUB_API_TOKEN): no token to type.
When no service is configured, it says so and sends nothing. Only the standard library is used.
"""
from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from datetime import datetime
from pathlib import Path

CONFIG_FILE = "tdn-feedback.json"
USER_CONFIG = Path("~/.config/tdn/feedback.json")
PENDING = ("queued", "running")
NO_SERVICE = ("No feedback service is configured for this course, so nothing was sent. If your instructor runs one, "
              "they will give you its address (set TDN_FEEDBACK_URL, or put it in tdn-feedback.json beside this "
              "notebook); until then, the visible self-checks above are your feedback.")


class Service:
    """Where to send (`url`), as whom (`token`), and where each came from (for the messages)."""

    def __init__(self, url: str, token: str | None, source: str):
        self.url, self.token, self.source = url.rstrip("/") + "/", token, source

    def call(self, path: str, data: bytes | None = None, timeout: float = 60.0) -> tuple[int, dict, dict]:
        """(HTTP status, JSON body, headers) of one request to the service."""
        request = urllib.request.Request(self.url + path, data=data, method="POST" if data is not None else "GET")
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        if data is not None:
            request.add_header("Content-Type", "application/x-ipynb+json")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, _json(response.read()), dict(response.headers)
        except urllib.error.HTTPError as err:
            return err.code, _json(err.read()), dict(err.headers)


def _json(raw: bytes) -> dict:
    try:
        value = json.loads(raw or b"{}")
        return value if isinstance(value, dict) else {}
    except ValueError:
        return {}


def find_service(notebook: Path | None = None, environ=os.environ) -> Service | None:
    """The service this notebook should ask (module docstring), or None when none is configured."""
    url, token, source = environ.get("TDN_FEEDBACK_URL"), environ.get("TDN_FEEDBACK_TOKEN"), "TDN_FEEDBACK_URL"
    folders = list(Path(notebook).resolve().parent.parents) if notebook else []
    candidates = ([Path(notebook).resolve().parent / CONFIG_FILE] if notebook else []) + \
        [folder / CONFIG_FILE for folder in folders] + [USER_CONFIG.expanduser()]
    for path in candidates:
        if url and token:
            break
        try:
            settings = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if not isinstance(settings, dict):
            continue
        if not url and settings.get("url"):
            url, source = str(settings["url"]), str(path)
        token = token or (str(settings["token"]) if settings.get("token") else None)
    if not url:
        return None
    return Service(url, token or environ.get("JUPYTERHUB_API_TOKEN"), source)


def saved_notebook(assignment: str, notebook: str | Path | None = None, environ=os.environ) -> Path | None:
    """The saved file to send: the one named, else the notebook this kernel runs (Jupyter says which),
    else <assignment>.ipynb in the current folder."""
    if notebook is not None:
        return Path(notebook)
    session = environ.get("JPY_SESSION_NAME", "")
    if session.endswith(".ipynb") and Path(session).is_file():
        return Path(session)
    here = Path.cwd() / f"{assignment}.ipynb"
    return here if here.is_file() else None


def ask_hidden_tests(assignment: str, notebook: str | Path | None = None, *, wait_seconds: float = 600.0,
                     quiet: bool = False) -> dict | None:
    """Send the saved notebook of `assignment` to the feedback service and print the answer.

    Returns nothing (the answer is printed), or with quiet=True prints nothing and returns the
    request as the service gave it ({"status", "score", "max_score", "answer": {"functions": ...}},
    or {"error": ...}). Never raises for the service's sake: what went wrong is said instead.
    """
    say = (lambda *a: None) if quiet else print
    path = saved_notebook(assignment, notebook)
    if path is None:
        return _said(say, quiet, {"error": f"cannot find {assignment}.ipynb here ({Path.cwd()}): pass its path, "
                                    f"ask_hidden_tests({assignment!r}, 'path/to/{assignment}.ipynb')"})
    service = find_service(path)
    if service is None:
        return _said(say, quiet, {"error": NO_SERVICE})
    if not service.token:
        return _said(say, quiet, {"error": f"the feedback service is at {service.url}, but you have no token for it: your "
                                    "instructor gives you one; set TDN_FEEDBACK_TOKEN, or put it in "
                                    f"{USER_CONFIG} as {{\"token\": \"...\"}}"})
    data = path.read_bytes()
    saved = datetime.fromtimestamp(path.stat().st_mtime)
    age = time.time() - path.stat().st_mtime
    say(f"Sending {path.name}, saved at {saved:%H:%M} ({_ago(age)}): unsaved changes are not sent (Ctrl-S first).")
    try:
        status, body, _ = service.call(f"api/assignments/{assignment}/requests", data)
    except (urllib.error.URLError, OSError) as err:
        return _said(say, quiet, {"error": f"cannot reach the feedback service at {service.url} ({getattr(err, 'reason', err)}); "
                                    "try again later"})
    if status == 401:
        return _said(say, quiet, {"error": "the feedback service did not accept your token (mistyped, or revoked): ask your instructor"})
    if status not in (200, 202):
        return _said(say, quiet, {"error": body.get("error") or f"the feedback service answered {status}", "status_code": status,
                           **{k: body[k] for k in ("next_allowed_at", "retry_after") if k in body}})
    if body.get("message"):
        say(body["message"])
    request = _follow(service, body, wait_seconds, say)
    if quiet:
        return request
    _print_answer(request)
    return None


def _follow(service: Service, request: dict, wait_seconds: float, say) -> dict:
    """Wait for the answer: long polls, and retries while the service restarts (it keeps the request)."""
    deadline, shown = time.monotonic() + wait_seconds, None
    while request.get("status") in PENDING and time.monotonic() < deadline:
        state = (request["status"], request.get("position"))
        if state != shown:
            say("Waiting in the queue" + (f" ({request['position']} ahead)" if request.get("position") else "") + "..."
                if request["status"] == "queued" else "The hidden tests are running...")
            shown = state
        try:
            status, body, _ = service.call(f"api/requests/{request['id']}?wait=25", timeout=40)
        except (urllib.error.URLError, OSError):
            time.sleep(3)
            continue
        if status == 200:
            request = body
        else:
            time.sleep(3)
    return request


def _said(say, quiet: bool, result: dict) -> dict | None:
    say(result["error"])
    return result if quiet else None


def _print_answer(request: dict) -> None:
    if request.get("status") in PENDING:
        print(f"No answer yet (request {request['id']} is {request['status']}); it is kept: "
              "ask again with the same file later, which costs nothing.")
        return
    if request.get("status") != "answered":
        print(f"Request {request.get('id')} was not graded: {request.get('error')}")
        return
    answer = request["answer"]
    print(f"\nHidden tests for {request['assignment']}: {answer['score']:g} of {answer['max_score']:g} points "
          f"(request {request['id']}; nothing was recorded as a grade)")
    for note in answer.get("notes", []):
        print(f"  Note: {note}")
    for function in answer["functions"]:
        lines = function["feedback"].splitlines() or [
            f"{function['function']}: {function['score']:g} of {function['points']:g} points"]
        print(f"  {'ok  ' if function['passed'] else 'FAIL'} {lines[0]}")
        if not function["passed"]:
            print("\n".join("       " + line.strip() for line in lines[1:]))


def _ago(seconds: float) -> str:
    if seconds < 90:
        return f"{max(0, round(seconds))} s ago"
    if seconds < 5400:
        return f"{round(seconds / 60)} min ago"
    return f"{seconds / 3600:.1f} h ago"
