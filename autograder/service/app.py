"""The service itself: the database, the workers and the Tornado application, started and stopped together.

Why Tornado: it is what Jupyter is built on (jupyter_server, JupyterHub and its services are
Tornado applications), it is installed with Jupyter already, and JupyterHub's own OAuth support for
services (`HubOAuthenticated`, `HubOAuthCallbackHandler`) are Tornado handler mixins, so running
as a Hub-managed service takes JupyterHub's maintained code rather than a re-implementation. It
streams request bodies (the upload limit is enforced while reading) and waits on many open
requests on one thread, which long-polling students need; grading happens in worker threads.

Work on the event loop is kept short: every database call and every upload check runs on a small
thread pool (`run`), and a finished grade wakes the requests waiting for it (`wait_for`).
"""
from __future__ import annotations

import asyncio
import concurrent.futures as cf
import hashlib
import json
import logging
import os
import secrets
import threading
from datetime import timedelta

import tornado.httpserver
import tornado.netutil
import tornado.web

from autograder.service import handlers, hub, intake
from autograder.service import store as db
from autograder.service.config import Config
from autograder.service.grading import Grade, SandboxGrader
from autograder.service.workers import Workers
from autograder.spec import registry

log = logging.getLogger("autograder.service")


class Service:
    """`Service(config).serve_forever()`, or `start_background()` / `stop()` (tests, benchmarks).

    `grade` replaces the sandbox and judge (see autograder.service.grading); by default the real
    grader is built from the course, which needs a sandbox (or `config.insecure`).
    """

    def __init__(self, config: Config, grade: Grade | None = None):
        self.config = config
        self.injected = grade is not None
        self.grader = grade
        self.store: db.Store | None = None
        self.workers: Workers | None = None
        self.hub_auth = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.port: int | None = None
        self._server = None
        self._thread: threading.Thread | None = None
        self._waiters: dict[int, set[asyncio.Future]] = {}
        self._pool = cf.ThreadPoolExecutor(max_workers=4, thread_name_prefix="tdn-db")
        self._held, self._held_lock = 0, threading.Lock()  # bytes of upload bodies being received now
        self._stopped = None

    # ------------------------------------------------------------------ starting and stopping

    def open(self) -> None:
        """Everything but listening: the course, the database (recovering what a stopped service left),
        the workers. Raises pipeline.CourseError or sandbox.SandboxUnavailable with what to do."""
        from autograder import sandbox
        from autograder.grading.preview import Course

        config = self.config
        self.ids = intake.grade_ids(config.course)
        if not config.assignments:
            config.assignments = [a for a in registry.ASSIGNMENTS
                                  if (config.course / "release" / a / f"{a}.ipynb").exists() and a in self.ids]
        if not config.assignments:
            from autograder.grading.pipeline import CourseError

            raise CourseError(f"no assignment of {config.course} has a student version yet: run `autograder generate` first")
        if self.grader is None:
            sandbox.require(config.insecure)
            self.grader = SandboxGrader(Course(config.course, config.assignments, config.limits), config.insecure)
        else:
            log.warning("grading with %s instead of the sandbox and the judge: answers are not grades",
                        getattr(self.grader, "__name__", self.grader))
        if config.hub:
            self.hub_auth = hub.oauth()
        self.store = db.Store(config.database)
        recovered = self.store.recover(config.max_attempts)
        if any(recovered.values()):
            log.warning("requests left running by the last run: %d queued again, %d failed", recovered[db.QUEUED],
                        recovered[db.FAILED])
        self.workers = Workers(self.store, self.grader, config.workers, config.max_attempts, on_done=self._done)
        self.workers.start()
        if config.warm and not self.injected:
            threading.Thread(target=self._warm, name="tdn-warm", daemon=True).start()

    def application(self) -> tornado.web.Application:
        base, routes = self.config.base_url, []
        if self.hub_auth is None:
            classes = handlers.classes()
        else:
            mixin, callback = hub.mixin_and_callback()
            classes = handlers.classes(mixin)

            class Callback(callback):
                def initialize(self, hub_auth):
                    self.hub_auth = hub_auth  # the instance that made the OAuth state

            routes.append((base + "oauth_callback", Callback, {"hub_auth": self.hub_auth}))
        args = {"service": self}
        routes += [
            (base, classes["Page"], args),
            (base + "api/me", classes["Me"], args),
            (base + r"api/assignments/(?P<assignment>[^/]+)/requests", classes["Requests"], args),
            (base + "api/requests", classes["History"], args),
            (base + r"api/requests/(\d{1,12})", classes["One"], args),
            (base + "static/(.*)", handlers.Static, {"path": str(handlers.STATIC)}),
        ]
        return tornado.web.Application(routes, default_handler_class=classes["NotFound"], default_handler_args=args,
                                       cookie_secret=self._cookie_secret(), xsrf_cookies=False, compress_response=True)

    async def listen(self) -> None:
        self.loop = asyncio.get_running_loop()
        sockets = tornado.netutil.bind_sockets(self.config.port, self.config.host)
        self._server = tornado.httpserver.HTTPServer(self.application(), xheaders=self.config.hub,
                                                     max_body_size=max(4 * self.config.max_upload_bytes, 64 << 20))
        self._server.add_sockets(sockets)
        self.port = sockets[0].getsockname()[1]
        log.info("answering for %s at %s (rate %s, queue %d, %d workers, database %s)", ", ".join(self.config.assignments),
                 self.url, self.config.rate, self.config.queue, self.config.workers, _without_password(self.config.database))

    @property
    def url(self) -> str:
        return f"http://{self.config.host}:{self.port}{self.config.base_url}"

    def serve_forever(self) -> None:
        """Open, listen, and serve until SIGINT or SIGTERM."""
        import signal

        async def main():
            self.open()
            await self.listen()
            self._stopped = asyncio.Event()
            for sig in (signal.SIGINT, signal.SIGTERM):
                asyncio.get_running_loop().add_signal_handler(sig, self._stopped.set)
            await self._stopped.wait()
            self._close()

        asyncio.run(main())

    def start_background(self) -> "Service":
        """Open and listen on a thread of its own; returns once it listens (tests, benchmarks)."""
        ready, failure = threading.Event(), []

        def run():
            async def main():
                try:
                    self.open()
                    await self.listen()
                except BaseException as err:  # noqa: BLE001 - handed to the caller
                    failure.append(err)
                    ready.set()
                    return
                self._stopped = asyncio.Event()
                ready.set()
                await self._stopped.wait()
                self._close()

            asyncio.run(main())

        self._thread = threading.Thread(target=run, name="tdn-service", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            raise failure[0]
        return self

    def stop(self) -> None:
        if self.loop is not None and self._stopped is not None:
            self.loop.call_soon_threadsafe(self._stopped.set)
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _close(self) -> None:
        if self._server is not None:
            self._server.stop()
        if self.workers is not None:
            self.workers.stop()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _cookie_secret(self) -> bytes:
        """Kept in <course>/.tdn-service/, so a restart keeps students' OAuth sessions."""
        path = self.config.course / ".tdn-service" / "cookie_secret"
        try:
            return path.read_bytes()
        except OSError:
            secret = secrets.token_bytes(32)
            try:
                path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as fh:
                    fh.write(secret)
            except OSError:
                pass  # a read-only course folder: sessions then last until the service restarts
            return secret

    def _warm(self) -> None:
        from autograder.grading.preview import warm

        try:
            warm(self.config.assignments)
            for assignment in self.config.assignments:
                reference = (self.config.course / "source" / assignment / f"{assignment}.ipynb").read_bytes()
                result = self.grader(assignment, reference)
                level = logging.INFO if result["score"] == result["max_score"] else logging.ERROR
                log.log(level, "the reference notebook of %s scores %g of %g here", assignment, result["score"],
                        result["max_score"])
        except Exception:  # noqa: BLE001 - warming is an optimization; grading will say what is wrong
            log.exception("warming the grader failed")

    # ------------------------------------------------------------------ what the handlers use

    @property
    def assignments(self) -> list[str]:
        return self.config.assignments

    def describe(self, assignment: str) -> dict:
        items = registry.graded(assignment)
        return {"functions": [i.name for i in items], "max_score": float(sum(i.points for i in items))}

    def quota(self, student: str, assignment: str) -> dict:
        rate = self.config.rate
        used = self.store.used(student, assignment, rate)
        full = len(used) >= rate.count
        next_allowed = db.parse(used[len(used) - rate.count]) + timedelta(seconds=rate.seconds) if full else None
        return {"used": len(used), "limit": rate.count, "remaining": max(0, rate.count - len(used)),
                "next_allowed_at": db.stamp(next_allowed) if next_allowed else None}

    def hold(self, size: int) -> int:
        """Reserve memory for an upload of `size` bytes: `size`, or 0 when `config.upload_memory_bytes` is taken."""
        with self._held_lock:
            if self._held + size > self.config.upload_memory_bytes:
                return 0
            self._held += size
            return size

    def release(self, size: int) -> None:
        with self._held_lock:
            self._held -= size

    async def run(self, function, *args):
        """`function(*args)` on the service's thread pool (database calls, upload checks)."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, function, *args)

    def digest(self, assignment: str) -> str:
        return self.grader.digest(assignment) if hasattr(self.grader, "digest") else f"injected:{self.grader!r}"

    def submit(self, student: str, assignment: str, notebook: bytes) -> tuple[int, dict, dict]:
        """Check and admit one upload: (HTTP status, JSON payload, headers). Runs on the pool."""
        try:
            intake.check(notebook, assignment, self.ids)
        except intake.Refusal as refusal:
            self.store.refuse(student, assignment, refusal.message, len(notebook))
            return refusal.status, {"error": refusal.message}, {}
        rate, now = self.config.rate, db.now()
        admission = self.store.admit(student, assignment, notebook, hashlib.sha256(notebook).hexdigest(),
                                     self.digest(assignment), rate, self.config.queue, now)
        if admission.status == "queued":
            self.workers.wake()
            payload = self.view(admission.request)
            payload["message"] = f"queued: {admission.used} of {rate.count} requests for {assignment} used in the last {_window(rate)}"
            return 202, payload, {"Location": f"{self.config.base_url}api/requests/{admission.request['id']}"}
        if admission.status == "duplicate":
            payload = self.view(admission.request)
            payload.update(duplicate=True, message=f"this notebook was already sent (request {admission.request['id']}): "
                                                   "the same answer, and it did not count again")
            return 200, payload, {}
        if admission.status == "rate":
            wait = (admission.next_allowed - now).total_seconds()
            return 429, {"error": f"You have sent {_count(admission.used, 'notebook')} for {assignment} in the last {_window(rate)} "
                                  f"(the limit is {rate}). Your next request is allowed at "
                                  f"{handlers.utc_text(admission.next_allowed)} (in {_minutes(wait)}).",
                         "next_allowed_at": db.stamp(admission.next_allowed), "retry_after": float(round(wait, 1)),
                         "used": admission.used, "limit": rate.count}, {"Retry_After": handlers.retry_after(wait)}
        wait = max(5.0, admission.pending / max(1, self.config.workers) * self.workers.mean_seconds)
        return 503, {"error": f"The service is busy: {_count(admission.pending, 'notebook')} being graded or waiting. "
                              f"Try again in about {_minutes(wait)}; this did not count against your limit.",
                     "retry_after": float(round(wait, 1))}, {"Retry_After": handlers.retry_after(wait)}

    def view(self, row: dict, with_answer: bool = True) -> dict:
        """A request as its student may see it. Runs on the pool (a queued one's position is looked up)."""
        payload = self.public(row, with_answer)
        if row["status"] == db.QUEUED:
            payload["position"] = self.store.position(row["id"])
        return payload

    def public(self, row: dict, with_answer: bool = True) -> dict:
        payload = {k: row[k] for k in ("id", "assignment", "status", "received_at", "started_at", "finished_at",
                                       "score", "max_score", "error")}
        payload["counted"] = bool(row["counted"])
        if with_answer and row.get("feedback"):
            payload["answer"] = json.loads(row["feedback"])
        return payload

    async def wait_for(self, request_id: int, seconds: float) -> dict:
        """The request once it is answered or failed, or after `seconds`, whichever comes first."""
        future = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(request_id, set()).add(future)
        try:
            row = await self.run(self.store.request, request_id)
            if row["status"] in db.PENDING:
                await asyncio.wait({future}, timeout=seconds)
        finally:
            waiting = self._waiters.get(request_id, set())
            waiting.discard(future)
            if not waiting:
                self._waiters.pop(request_id, None)
        return await self.run(self.store.request, request_id)

    def _done(self, request_id: int) -> None:
        """Called by a worker thread when a request is answered or failed."""
        if self.loop is not None and not self.loop.is_closed():
            try:
                self.loop.call_soon_threadsafe(self._wake_waiters, request_id)
            except RuntimeError:
                pass  # the loop is closing

    def _wake_waiters(self, request_id: int) -> None:
        for future in self._waiters.get(request_id, ()):
            if not future.done():
                future.set_result(None)


def _count(n: int, thing: str) -> str:
    return f"{n} {thing}{'' if n == 1 else 's'}"


def _window(rate: db.Rate) -> str:
    return db.duration(rate.seconds)


def _minutes(seconds: float) -> str:
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    return f"{round(seconds / 60)} min"


def _without_password(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


__all__ = ["Config", "Service"]
