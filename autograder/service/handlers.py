"""The service's HTTP interface (Tornado handlers). Every path is under the service's base URL.

    GET  /                                  the web page (upload a notebook, read your feedback)
    GET  /api/me                            who you are, the assignments, your use of the rate limit
    POST /api/assignments/<id>/requests     send a notebook (the request body is the .ipynb file)
    GET  /api/assignments/<id>/requests     your requests for one assignment, newest first
    GET  /api/requests                      all your requests, newest first
    GET  /api/requests/<n>[?wait=S]         one of your requests; with wait, up to S s (at most 60)
                                            until it is answered

Answers are JSON. A request without valid credentials gets 401 and an empty body, whatever it
asks for; another student's request is 404, as one that does not exist. Sending answers:
202 queued (Location: the request), 200 the same notebook was already sent (that request again,
free), 400 not JSON or not text, 404 no such assignment, 413 too large, 422 not a notebook or
another assignment's, 429 over the rate limit (with `next_allowed_at` and Retry-After), 503 the
queue is full (Retry-After).
"""
from __future__ import annotations

import json
import math
from datetime import timezone
from pathlib import Path

import tornado.escape
import tornado.web

from autograder.service import store as db
from autograder.service import tokens

STATIC = Path(__file__).resolve().parent / "static"
MAX_WAIT_SECONDS = 60.0


def bearer(handler: tornado.web.RequestHandler) -> str | None:
    header = handler.request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() in ("bearer", "token") and value.strip() else None


class Base:
    """Identifies the student (a roster token, else the Hub when the service runs on one).

    A mixin, not a RequestHandler: `classes` puts JupyterHub's HubOAuthenticated between it and
    tornado's RequestHandler in Hub mode, so that `super().get_current_user()` (and the login URL,
    and the XSRF token) are the Hub's there, and tornado's plain ones standalone. A request that
    comes with the OAuth cookie must carry the page's XSRF token (HubOAuth checks it as it reads
    the cookie); a token in the Authorization header is never sent by a browser on its own.
    """

    def initialize(self, service):
        self.service = service
        if service.hub_auth is not None:
            self.hub_auth = service.hub_auth

    def set_default_headers(self):
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Referrer-Policy", "no-referrer")
        self.set_header("X-Frame-Options", "DENY")
        self.set_header("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'")

    def get_current_user(self):
        student = tokens.authenticate(self.service.store, bearer(self))
        if student is not None or self.service.hub_auth is None:
            return student
        model = super().get_current_user()  # HubOAuthenticated's: the Hub's token or OAuth cookie
        return model["name"] if model and model.get("kind", "user") == "user" else None

    def write_json(self, status: int, payload: dict, **headers) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        for name, value in headers.items():
            self.set_header(name.replace("_", "-"), value)
        self.finish(json.dumps(payload))

    def write_error(self, status_code, **kwargs):
        if status_code == 401:
            self.finish()
            return
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps({"error": self._reason}))


class Api(Base):
    """Every API request: 401 with an empty body unless the student is identified."""

    def prepare(self):
        if self.current_user is None:
            self.set_status(401)
            self.clear_header("Content-Type")
            self.set_header("WWW-Authenticate", 'Bearer realm="tdn-feedback"')
            self.finish()


class Me(Api):
    async def get(self):
        service, student = self.service, self.current_user
        quotas = await service.run(lambda: [service.quota(student, a) for a in service.assignments])
        assignments = [{"id": a, **service.describe(a), **q} for a, q in zip(service.assignments, quotas)]
        self.write_json(200, {"student": self.current_user, "assignments": assignments,
                              "rate": {"count": service.config.rate.count, "seconds": service.config.rate.seconds,
                                       "text": str(service.config.rate)},
                              "max_upload_bytes": service.config.max_upload_bytes})


class Requests(Api):
    """POST: send a notebook (read as it streams, never past the size limit). GET: the history."""

    def prepare(self):
        self._chunks, self._size, self._too_large, self._held = [], 0, False, 0
        super().prepare()
        if self._finished:
            return
        assignment = self.path_kwargs["assignment"]
        if assignment not in self.service.assignments:
            self.write_json(404, {"error": f"there is no assignment {assignment!r} here; this service answers for "
                                           f"{', '.join(self.service.assignments)}"})
            return
        if self.request.method == "POST":
            length = self.request.headers.get("Content-Length", "")
            # at least 1: an empty body holds no memory, but `hold` answers 0 for "no room"
            size = max(1, min(int(length), self.service.config.max_upload_bytes)) if length.isdigit() \
                else self.service.config.max_upload_bytes
            self._held = self.service.hold(size)
            if not self._held:  # memory: the bodies being received at one moment are bounded in bytes
                self.write_json(503, {"error": "the service is receiving too many notebooks right now: try again in a few "
                                               "seconds; this did not count against your limit", "retry_after": 5.0},
                                Retry_After="5")
                return
            limit = self.service.config.max_upload_bytes
            # The rest of a larger body is read and dropped (up to 4 times the limit), so the student's
            # client gets this answer rather than a connection reset in the middle of its upload.
            self.request.connection.set_max_body_size(max(4 * limit, 64 << 20))
            length = self.request.headers.get("Content-Length")
            if length and length.isdigit() and int(length) > limit:
                self._too_large = True

    def on_finish(self):
        if getattr(self, "_held", 0):
            self.service.release(self._held)
            self._held = 0

    def on_connection_close(self):
        self.on_finish()  # a client that hangs up in the middle of its upload frees its place too
        super().on_connection_close()

    def data_received(self, chunk: bytes):
        if self._too_large:
            return
        self._size += len(chunk)
        if self._size > self.service.config.max_upload_bytes:
            self._too_large, self._chunks = True, []
        else:
            self._chunks.append(chunk)

    async def post(self, assignment: str):
        if self._too_large:
            limit = self.service.config.max_upload_bytes
            size = int(self.request.headers.get("Content-Length") or 0) or None
            await self.service.run(self.service.store.refuse, self.current_user, assignment, "too large", size)
            self.write_json(413, {"error": f"the file is larger than {limit / (1 << 20):g} MB: clear the outputs of your "
                                           "cells (Edit > Clear Outputs of All Cells), save, and send it again"})
            return
        status, payload, headers = await self.service.run(self.service.submit, self.current_user, assignment,
                                                          b"".join(self._chunks))
        self._chunks = []
        self.write_json(status, payload, **headers)

    async def get(self, assignment: str):
        rows = await self.service.run(self.service.store.history, self.current_user, assignment)
        self.write_json(200, {"requests": [self.service.public(r, with_answer=False) for r in rows]})


class History(Api):
    async def get(self):
        rows = await self.service.run(self.service.store.history, self.current_user)
        self.write_json(200, {"requests": [self.service.public(r, with_answer=False) for r in rows]})


class One(Api):
    async def get(self, request_id: str):
        try:
            wait = min(max(float(self.get_argument("wait", "0")), 0.0), MAX_WAIT_SECONDS)
        except ValueError:
            wait = 0.0
        row = await self.service.run(self.service.store.request, int(request_id))
        if row is None or row["student"] != self.current_user:
            self.write_json(404, {"error": f"you have no request {request_id}"})
            return
        if row["status"] in db.PENDING and wait > 0:
            row = await self.service.wait_for(int(request_id), wait)
        self.write_json(200, await self.service.run(self.service.view, row))


class Page(Base):
    """The web page. On a Hub, a visitor without a session is sent to the Hub's login first."""

    def get(self):
        if self.service.hub_auth is not None and self.current_user is None:
            self.redirect(self.get_login_url())
            return
        xsrf = self.xsrf_token.decode() if self.service.hub_auth is not None else ""
        page = (STATIC / "index.html").read_text()
        for key, value in {"BASE_URL": self.service.config.base_url, "MODE": "hub" if self.service.hub_auth else "token",
                           "XSRF": xsrf, "STUDENT": self.current_user or ""}.items():
            page = page.replace("{{" + key + "}}", tornado.escape.xhtml_escape(value))
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(page)


class Static(tornado.web.StaticFileHandler):
    """The page's script and style, with the page's own security headers (nosniff above all)."""

    def set_default_headers(self):
        Base.set_default_headers(self)


class NotFound(Base):
    def prepare(self):
        self.write_json(404, {"error": "no such page"})


def classes(hub_mixin=None) -> dict[str, type]:
    """The concrete handler classes: each of the above over HubOAuthenticated (Hub mode) and RequestHandler."""
    bases = (hub_mixin, tornado.web.RequestHandler) if hub_mixin else (tornado.web.RequestHandler,)
    made = {cls.__name__: type(cls.__name__, (cls, *bases), {}) for cls in (Page, Me, Requests, History, One, NotFound)}
    made["Requests"] = tornado.web.stream_request_body(made["Requests"])  # the upload is read as it arrives
    return made


def retry_after(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))


def utc_text(moment) -> str:
    return moment.astimezone(timezone.utc).strftime("%H:%M:%S UTC")
