"""Pre-warmed sandboxes: one zygote per slot, and the submission processes forked from it.

Starting a sandbox and importing NumPy, matplotlib, IPython and `course` in it costs more than an
honest notebook's graded work. So each slot keeps one long-lived, already isolated process (the
zygote, `autograder.runtime.zygote`) that has imported all of that and does nothing but fork; every
attempt at a submission runs in a fresh child with namespaces, limits and uid of its own (see the
zygote's docstring for what each child gets).

The zygote never runs student code, so nothing a submission does can change it. Stopping a child
from outside (a case past its budget, a protocol violation) stops the whole zygote: its PID
namespace takes every process of that submission with it, and the next attempt starts a new
zygote. A zygote that died for any other reason is restarted the same way. Where a zygote cannot
be had (no isolation, `TDN_PREWARM=0`, one that fails to start, or one whose child failed before
its notebook started, as where this machine refuses a nested user namespace: `retire`) each
attempt starts a sandbox of its own, as `isolation.command` describes.
"""
from __future__ import annotations

import base64
import concurrent.futures as cf
import json
import os
import queue
import select
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

from autograder.sandbox import isolation

READY_SECONDS = 60.0  # a warm start on a loaded machine; past it the slot falls back to cold starts
_POOL: dict[tuple, "Zygote"] = {}
_POOL_LOCK = threading.Lock()
_BROKEN: set[tuple] = set()  # (mode, runtime) whose zygote failed to start: cold starts from then on


class _Launcher:
    """Starts every zygote's bubblewrap from one thread that lasts as long as this process.

    bubblewrap's --die-with-parent stops a sandbox when the *thread* that started it ends, and a
    zygote serves whichever grading thread holds its slot next: started by a thread that then
    ends (a service's warm-up, a replaced worker), it would be killed under another's submission."""

    def __init__(self):
        self._requests: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def popen(self, *args, **kwargs) -> subprocess.Popen:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():  # not alive: in a forked child
                self._thread = threading.Thread(target=self._serve, name="tdn-zygote-launcher", daemon=True)
                self._thread.start()
        started: cf.Future = cf.Future()
        self._requests.put((args, kwargs, started))
        return started.result()

    def _serve(self) -> None:
        while True:
            args, kwargs, started = self._requests.get()
            try:
                started.set_result(subprocess.Popen(*args, **kwargs))
            except BaseException as err:  # noqa: BLE001 - raised in the thread that asked
                started.set_exception(err)


_LAUNCHER = _Launcher()


class ZygoteFailed(RuntimeError):
    """The pre-warmed sandbox did not start or answer: the caller starts a cold one instead."""


def enabled(chosen: str) -> bool:
    return chosen in ("root", "rootless") and os.environ.get("TDN_PREWARM", "1") != "0"


class Zygote:
    """One slot's pre-warmed sandbox, seen from the supervisor."""

    def __init__(self, chosen: str, runtime: Path, slot: int):
        self.chosen, self.slot, self.key = chosen, slot, (chosen, str(runtime))
        self.control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.exited: dict[int, int] = {}
        self._next_id = 0
        try:
            with isolation.syscall_filter() as seccomp:
                self.process = _LAUNCHER.popen(isolation.zygote_command(chosen, runtime, theirs.fileno(), seccomp),
                                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                               stderr=subprocess.DEVNULL, start_new_session=True,
                                               pass_fds=[fd for fd in (theirs.fileno(), seccomp) if fd is not None])
        except OSError:
            self.control.close()
            raise
        finally:
            theirs.close()
        message = self._receive(READY_SECONDS)
        if not message or not message.get("ready"):
            self.kill()
            raise ZygoteFailed(f"the pre-warmed sandbox of slot {slot} did not start: {message or 'no answer'}")

    def alive(self) -> bool:
        return self.process.poll() is None

    def fork(self, limits: dict, files: list[tuple[str, bytes]]) -> "Forked":
        """Start one submission attempt; its stdin and stdout are pipes to this process."""
        child_in, to_child = os.pipe()
        from_child, child_out = os.pipe()
        self._next_id += 1
        request = {"fork": self._next_id, "limits": limits, "tmpfs_bytes": isolation.TMPFS_BYTES,
                   "uid": isolation.slot_uid(self.slot) if self.chosen == "root" else None}
        try:
            socket.send_fds(self.control, [json.dumps(request).encode()], [child_in, child_out])
        except OSError as err:
            for fd in (to_child, from_child):
                os.close(fd)
            self.kill()
            raise ZygoteFailed(f"the pre-warmed sandbox of slot {self.slot} is gone ({err})") from None
        finally:
            os.close(child_in)
            os.close(child_out)
        setup = json.dumps({"files": [[name, base64.b64encode(data).decode()] for name, data in files]}).encode()
        return Forked(self, self._next_id, os.fdopen(to_child, "wb"), os.fdopen(from_child, "rb"),
                      str(len(setup)).encode() + b"\n" + setup)

    def status_of(self, request: int, timeout: float = 0.0) -> int | None:
        """The exit status of a child, once the zygote reported it (None until then)."""
        deadline = time.monotonic() + timeout
        while request not in self.exited:
            message = self._receive(max(0.0, deadline - time.monotonic()))
            if message is None:
                if not self.alive():
                    self.exited[request] = 128 + signal.SIGKILL
                    break
                if time.monotonic() >= deadline:
                    return None
                continue
            if isinstance(message.get("exited"), int) and isinstance(message.get("status"), int):
                self.exited[message["exited"]] = message["status"]
        return self.exited.pop(request)

    def _receive(self, timeout: float) -> dict | None:
        if self.control.fileno() < 0:
            return None  # closed by kill()
        poller = select.poll()  # not select(): a grader with many slots may hold fds past 1024
        poller.register(self.control, select.POLLIN)
        if not poller.poll(min(timeout, 3600.0) * 1000):  # poll's milliseconds must fit an int; callers loop
            return None
        try:
            data = self.control.recv(1 << 16)
        except OSError:
            data = b""
        if not data:
            self.kill()  # the zygote is gone or going: end what is left of it
            return None
        try:
            message = json.loads(data)
        except ValueError:
            return None
        return message if isinstance(message, dict) else None

    def kill(self) -> None:
        """Stop the zygote and every submission process under it (a second call does nothing)."""
        # Only while it is not reaped: once it is, its process group id may be another's.
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self.process.wait()
        self.control.close()


class Forked:
    """One submission attempt forked from a zygote, with the interface of the process the
    supervisor would otherwise start: stdin, stdout, poll(), wait(timeout), kill()."""

    def __init__(self, zygote: Zygote, request: int, stdin, stdout, preamble: bytes):
        self.zygote, self.request, self.stdin, self.stdout, self.preamble = zygote, request, stdin, stdout, preamble
        self.returncode: int | None = None

    def poll(self) -> int | None:
        return self.wait(0.0)

    def wait(self, timeout: float | None = None) -> int | None:
        if self.returncode is None:
            self.returncode = self.zygote.status_of(self.request, 1e9 if timeout is None else timeout)
        return self.returncode

    def kill(self) -> None:
        if self.returncode is None:
            self.zygote.kill()
            self.returncode = 128 + signal.SIGKILL


def start(chosen: str, runtime: Path, slot: int, limits: dict, files: list[tuple[str, bytes]]) -> Forked | None:
    """A forked child of the slot's zygote (started or restarted as needed), or None where there
    is none to be had and the caller should start a cold sandbox."""
    key = (chosen, str(runtime))
    if not enabled(chosen) or key in _BROKEN:
        return None
    with _POOL_LOCK:
        zygote = _POOL.get((*key, slot))
    if zygote is None or not zygote.alive():
        if zygote is not None:
            zygote.kill()  # reaped already: this closes its socket
        try:
            zygote = Zygote(chosen, runtime, slot)
        except (ZygoteFailed, OSError):
            _BROKEN.add(key)
            return None
        with _POOL_LOCK:
            _POOL[(*key, slot)] = zygote
    try:
        return zygote.fork(limits, files)
    except ZygoteFailed:
        return None


def retire(zygote: Zygote) -> None:
    """A child of `zygote` failed before its notebook started. Where the zygote itself died, the
    next attempt starts another; where it lives on, its children cannot be started on this
    machine, and every attempt from now on starts a cold sandbox."""
    if zygote.alive():
        _BROKEN.add(zygote.key)
    zygote.kill()


def stop_all() -> None:
    """Stop every zygote of this process (the end of a run, or Ctrl-C)."""
    with _POOL_LOCK:
        zygotes = list(_POOL.values())
        _POOL.clear()
    for zygote in zygotes:
        zygote.kill()


def running() -> dict[int, int]:
    """Slot -> process id of its zygote, for the zygotes of this process that are alive."""
    with _POOL_LOCK:
        return {key[-1]: z.process.pid for key, z in _POOL.items() if z.alive()}
