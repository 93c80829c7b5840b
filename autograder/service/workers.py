"""Worker threads that grade queued requests, and the watchdog that replaces one that dies.

The queue is the database (`store`): a request is taken by `store.claim` (atomically, so two
workers, or two service processes, never take the same one), graded by the grade function, and
answered or failed in the database; nothing waits only in memory, so a restart loses nothing.

Each worker runs one grade at a time, so at most `count` sandboxes run at once. An exception from
a grade is that request's failure and the worker goes on. A worker thread that dies all the same
(SystemExit from a library, a bug here) is noticed by the watchdog within `WATCH_SECONDS`: the
request it held is queued again (or failed after `max_attempts` tries, not counted against the
student) and a new thread takes its place.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Callable

from autograder.service import store as db
from autograder.service.grading import Grade, Unreadable

log = logging.getLogger("autograder.service")
WATCH_SECONDS = 0.25
SERVICE_FAULT = "the service could not grade it ({}); this did not count against your limit: send it again later"


class Workers:
    """`count` grading threads over `store`, calling `grade`; `on_done(request_id)` after each request ends."""

    def __init__(self, store: db.Store, grade: Grade, count: int, max_attempts: int = 2,
                 on_done: Callable[[int], None] = lambda request_id: None, poll_seconds: float = 1.0):
        self.store, self.grade, self.count, self.max_attempts = store, grade, max(1, count), max_attempts
        self.on_done, self.poll_seconds = on_done, poll_seconds
        self._signal = threading.Semaphore(0)
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._threads: dict[str, threading.Thread] = {}
        self._current: dict[str, int] = {}  # worker name -> the request it is grading
        self._serial = 0
        self.replaced = 0  # workers that died and were replaced
        self.mean_seconds = 2.0  # a running mean of the time a grade takes, for Retry-After

    def start(self) -> None:
        for _ in range(self.count):
            self._spawn()
        threading.Thread(target=self._watch, name="tdn-watchdog", daemon=True).start()

    def stop(self) -> None:
        """Stop taking requests. Grades under way finish in their threads; one cut short by the process
        ending stays 'running' in the database and is queued again at the next start (`store.recover`)."""
        self._stopping.set()
        for _ in range(self.count):
            self._signal.release()

    def wake(self) -> None:
        """A request was queued: one idle worker takes it now rather than at its next poll."""
        self._signal.release()

    def alive(self) -> int:
        with self._lock:
            return sum(t.is_alive() for t in self._threads.values())

    def _spawn(self) -> None:
        with self._lock:
            self._serial += 1
            name = f"tdn-worker-{self._serial}"
            thread = threading.Thread(target=self._run, name=name, daemon=True)
            self._threads[name] = thread
        thread.start()

    def _run(self) -> None:
        name = threading.current_thread().name
        while not self._stopping.is_set():
            try:
                claimed = self.store.claim()
            except Exception:  # noqa: BLE001 - the database is away for a moment: wait, do not die
                log.exception("could not take a request from the queue")
                self._stopping.wait(self.poll_seconds)
                continue
            if claimed is None:
                self._signal.acquire(timeout=self.poll_seconds)
                continue
            request, notebook = claimed
            with self._lock:
                self._current[name] = request["id"]
            self._grade(request, notebook)
            with self._lock:
                self._current.pop(name, None)
            self.on_done(request["id"])

    def _grade(self, request: dict, notebook: bytes) -> None:
        started = time.monotonic()
        try:
            result = self.grade(request["assignment"], notebook)
        except Unreadable as err:
            self._record(self.store.fail, request["id"], f"the notebook could not be graded: {err}")
        except Exception as err:  # noqa: BLE001 - one request's failure, never the worker's
            log.exception("grading request %s (%s, %s) failed", request["id"], request["student"], request["assignment"])
            self._record(self.store.fail, request["id"], SERVICE_FAULT.format(type(err).__name__))
        else:
            self._record(self.store.answer, request["id"], result)
        self.mean_seconds = 0.8 * self.mean_seconds + 0.2 * (time.monotonic() - started)

    def _record(self, write, request_id: int, value) -> None:
        for attempt in range(5):
            try:
                write(request_id, value)
                return
            except Exception:  # noqa: BLE001 - keep trying; the watchdog or the next start settles it
                log.exception("could not record the outcome of request %s (attempt %d)", request_id, attempt + 1)
                time.sleep(0.5 * (attempt + 1))

    def _watch(self) -> None:
        while not self._stopping.wait(WATCH_SECONDS):
            with self._lock:
                dead = [name for name, t in self._threads.items() if not t.is_alive()]
                held = {name: self._current.pop(name, None) for name in dead}
                for name in dead:
                    del self._threads[name]
            for name, request_id in held.items():
                log.error("%s died%s; starting another", name, f" while grading request {request_id}" if request_id else "")
                if request_id is not None:
                    try:
                        status = self.store.release(request_id, self.max_attempts, "the grading worker stopped while grading it")
                    except Exception:  # noqa: BLE001 - left 'running': the next start queues it again
                        log.exception("could not release request %s", request_id)
                        status = None
                    if status == db.FAILED:
                        self.on_done(request_id)
                    else:
                        self.wake()
                self.replaced += 1
                self._spawn()
