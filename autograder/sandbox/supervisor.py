"""Run one submission's cells in a sandbox, serve it the hidden cases, and survive whatever it does.

The protocol (see autograder.runtime.runner) is followed strictly: the supervisor knows which cell
comes next, sends a test cell's cases one at a time only once that cell has started, and times
each case against its own budget from outside. Every line from the runtime is untrusted: it is
size-limited and parsed defensively, and a message that is malformed, forged, out of order or
over a limit is an incident of the cell that was running, exactly like a crash: the process is
killed and restarted past that cell (up to `Limits.restarts` times). Nothing a submission sends
can raise an exception here, stop another submission, or reach the judge except as data.

Every cell's incident goes into its autograded notebook; a test case that was stopped or never
came back is recorded as that case's error, so the judge counts it as a failing case.
"""
from __future__ import annotations

import json
import os
import queue
import selectors
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from autograder.sandbox import isolation, prewarm
from autograder.sandbox.limits import Limits, apply

RESUME = -1  # what `_attempt` returns to restart without skipping a cell (a test resumes at its next case)
_LIVE: set = set()  # sandboxes running now (_Cold or prewarm.Forked), for kill_all on Ctrl-C
_LIVE_LOCK = threading.Lock()


class SandboxError(RuntimeError):
    """The sandbox itself (not the student's code) failed: a problem with this machine's set-up."""


class Violation(Exception):
    """The runtime said something the protocol does not allow at this point."""


@dataclass
class Execution:
    """What came back: per code cell its outputs, per test cell one run per case, and incidents."""

    outputs: dict[int, list] = field(default_factory=dict)  # code cell index -> raw nbformat outputs
    runs: dict[int, list] = field(default_factory=dict)  # test cell index -> per case: run data, or None
    incidents: dict[int, str] = field(default_factory=dict)  # cell index -> why it has no (complete) result
    seconds: float = 0.0
    restarts: int = 0
    received: int = 0  # bytes, and lines, the runtime sent over all attempts
    messages: int = 0

    def as_data(self) -> dict:
        return {"outputs": {str(k): v for k, v in self.outputs.items()}, "runs": {str(k): v for k, v in self.runs.items()},
                "incidents": {str(k): v for k, v in self.incidents.items()}, "seconds": self.seconds,
                "restarts": self.restarts}


def kill_all() -> None:
    """Stop every sandbox this process started (an interrupted grading run)."""
    with _LIVE_LOCK:
        processes = list(_LIVE)
    for process in processes:
        process.kill()
    prewarm.stop_all()


class _Cold:
    """A sandbox started for one attempt only (no zygote to fork from), with prewarm.Forked's interface."""

    preamble = b""

    def __init__(self, chosen: str, runtime: Path, workdir: Path, slot: int, limits: Limits):
        with isolation.syscall_filter() as seccomp:
            self.process = subprocess.Popen(isolation.command(chosen, runtime, workdir, slot, seccomp),
                                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.PIPE,
                                            preexec_fn=apply(limits), close_fds=True, cwd=workdir,
                                            pass_fds=() if seccomp is None else (seccomp,))
        self.stdin, self.stdout = self.process.stdin, self.process.stdout

    def poll(self) -> int | None:
        return self.process.poll()

    def wait(self, timeout: float | None = None) -> int | None:
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.process.wait()


def _launch(chosen: str, runtime: Path, workdir: Path, slot: int, limits: Limits, files: list):
    """One attempt's process: forked from the slot's pre-warmed sandbox where there is one."""
    return prewarm.start(chosen, runtime, slot, limits.as_dict(), files) or _Cold(chosen, runtime, workdir, slot, limits)


def _why_it_died(returncode: int) -> str:
    if returncode > 128 and returncode - 128 in signal.valid_signals():
        returncode = -(returncode - 128)  # bwrap reports a child killed by signal N as 128 + N
    if returncode < 0:
        name = signal.Signals(-returncode).name
        reasons = {"SIGSEGV": "a segmentation fault", "SIGKILL": "it was killed (memory?)", "SIGXCPU": "its CPU time ran out",
                   "SIGABRT": "it aborted (often: memory exhausted)", "SIGXFSZ": "it wrote a file that was too large"}
        return f"the notebook's process died with {name}: {reasons.get(name, 'a signal')}"
    return f"the notebook's process exited with code {returncode} in this cell (os._exit or sys.exit?)"


def run_cells(job: dict, cases: dict[str, list[dict]], runtime: Path, limits: Limits = Limits(), slot: int = 0,
              chosen: str | None = None) -> Execution:
    """Execute the job's cells in a fresh sandbox, serving `cases[check]` to its test cells.

    - job: {'cells': [{'index', 'kind': 'code', 'source'} | {'index', 'kind': 'test', 'check', 'driver'}],
            'files': [(name, bytes)]} where files are data the assignment ships beside its notebook
    - cases: check id -> [{'inputs_json': encoded inputs as JSON text (or 'inputs': encoded inputs),
             'seconds': budget}], the same for every student
    """
    chosen = chosen or isolation.require()
    start = time.monotonic()
    execution = Execution()
    skip: set[int] = set()
    # The shipped files, written once by this process into a folder of its own, before any student
    # code runs: the sandbox sees them read-only (isolation.command), so nothing is written on a
    # restart, when a notebook could have left a symlink behind.
    workdir = Path(tempfile.mkdtemp(prefix="tdn-submission-"))
    try:
        for name, data in job.get("files", []):
            (workdir / Path(name).name).write_bytes(data)
        if chosen == "insecure":
            os.chmod(workdir, 0o700)
        for path in [workdir, *workdir.iterdir()]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        for attempt in range(limits.restarts + 1):
            execution.restarts = attempt
            launch = lambda: _launch(chosen, runtime, workdir, slot, limits, job.get("files", []))  # noqa: E731
            for _ in range(3):
                try:
                    finished, culprit = _attempt(launch, job, cases, skip, execution, limits, start)
                    break
                except prewarm.ZygoteFailed:
                    continue  # the warm sandbox died before this attempt began: the next launch starts another
            else:
                raise SandboxError("the pre-warmed sandbox kept dying before a notebook could start: "
                                   "grade with TDN_PREWARM=0 and report this machine's set-up")
            if finished or culprit is None:
                break
            if culprit != RESUME:
                skip.add(culprit)
        for cell in job["cells"]:
            index = cell["index"]
            if cell["kind"] == "test":
                runs = execution.runs.setdefault(index, [None] * len(cases[cell["check"]]))
                if any(r is None for r in runs) and index not in execution.incidents:
                    execution.incidents[index] = "not run: the submission's time or restart budget was used up"
            elif index not in execution.outputs and index not in execution.incidents:
                execution.incidents[index] = "not run: the submission's time or restart budget was used up"
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    execution.seconds = time.monotonic() - start
    return execution


class _Channel:
    """Lines to the runtime's stdin, written by a thread so a runtime that never reads cannot block us."""

    def __init__(self, stream):
        self.stream, self.queue = stream, queue.Queue()
        self.thread = threading.Thread(target=self._write, daemon=True)
        self.thread.start()

    def send(self, message: dict) -> None:
        self.queue.put((json.dumps(message) + "\n").encode())

    def send_raw(self, data: bytes) -> None:
        if data:
            self.queue.put(data)

    def _write(self):
        while (line := self.queue.get()) is not None:
            try:
                self.stream.write(line)
                self.stream.flush()
            except (BrokenPipeError, OSError, ValueError):
                return

    def close(self):
        self.queue.put(None)
        try:
            self.stream.close()
        except OSError:
            pass


def _parse(line: bytes) -> dict:
    try:
        message = json.loads(line)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise Violation("a message that is not JSON") from None
    if not isinstance(message, dict):
        raise Violation("a message that is not a JSON object")
    return message


def _attempt(launch, job, cases, skip, execution: Execution, limits: Limits, start: float) -> tuple[bool, int | None]:
    """One run of the runtime. Returns (finished, the cell to skip next time, or None to give up)."""
    # Code cells run again after a restart (they rebuild the notebook's state); finished tests do not.
    todo = [c for c in job["cells"] if c["index"] not in skip
            and not (c["kind"] == "test" and c["index"] in execution.runs and all(r is not None for r in execution.runs[c["index"]]))]
    header = {"cells": [{k: v for k, v in c.items() if k in ("index", "kind", "source", "driver")} for c in todo],
              "cell_timeout": limits.cell_seconds}
    process = launch()
    with _LIVE_LOCK:
        _LIVE.add(process)
    channel = _Channel(process.stdin)
    channel.send_raw(process.preamble)
    channel.send(header)
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    state = _State(todo, cases, execution, channel)
    buffer, ended, hung_up = bytearray(), False, False  # hung_up: its output ended, yet it ran on
    try:
        while True:
            now = time.monotonic()
            if now - start > limits.submission_seconds:
                state.incident(f"stopped: the whole submission exceeded {limits.submission_seconds:g} s")
                return False, None
            overdue = state.overdue(now, limits)
            if overdue:
                return False, state.fail(overdue)
            if not selector.select(timeout=0.1):
                if process.poll() is not None:
                    # Exited, but a leftover child may hold the pipe open: end the group, then
                    # read what is already there.
                    process.kill()
                    if not selector.select(timeout=0):
                        break
                continue
            chunk = os.read(process.stdout.fileno(), 1 << 16)
            if not chunk:
                ended = True
                break
            execution.received += len(chunk)  # counted over every attempt of this submission
            if execution.received > limits.report_bytes:
                return False, state.fail(f"stopped: produced more than {limits.report_bytes >> 20} MB of output")
            buffer += chunk
            if b"\n" not in chunk:
                continue  # a long line arrives in pieces: split only once it ends
            *lines, rest = bytes(buffer).split(b"\n")
            buffer = bytearray(rest)
            for line in lines:
                execution.messages += 1
                if execution.messages > limits.max_messages:
                    return False, state.fail(f"stopped: sent more than {limits.max_messages} messages")
                try:
                    if state.receive(_parse(line)):
                        process.wait(2.0)  # it is exiting: a warm zygote need not be stopped for it
                        return True, None
                except Violation as err:
                    if state.current is None and not state.started_any:
                        if isinstance(process, prewarm.Forked):  # perhaps only warm: the retry is cold
                            prewarm.retire(process.zygote)
                            raise prewarm.ZygoteFailed(f"the grading runtime failed in a pre-warmed sandbox: {err}") from None
                        raise SandboxError(f"the grading runtime failed before the notebook ran: {err}") from None
                    return False, state.fail(f"grading of this cell was stopped: the notebook's process sent {err}")
    finally:
        selector.close()
        channel.close()
        # A process whose output ended is exiting: give it a moment to say how, rather than
        # stopping it (and with it a warm zygote).
        if process.poll() is None and not (ended and process.wait(1.0) is not None):
            hung_up = ended
            process.kill()
        process.stdout.close()
        with _LIVE_LOCK:
            _LIVE.discard(process)
    returncode = process.wait()
    if state.current is not None:
        return False, state.fail("the notebook's process closed its channel to the grader and went on running (os.close?)"
                                 if hung_up else _why_it_died(returncode))
    if not state.started_any and isinstance(process, prewarm.Forked):
        # No student code ran: the warm sandbox failed on its own (it died, or this machine refuses
        # what its children need). The retry starts another, or a cold sandbox.
        prewarm.retire(process.zygote)
        raise prewarm.ZygoteFailed(f"a pre-warmed sandbox's child ended (exit code {returncode}) before its notebook started")
    if not state.started_any:
        raise SandboxError(f"the sandbox did not start (exit code {returncode}): run `autograder grade` with --jobs 1 "
                           "and check that bubblewrap works on this machine")
    return False, None


class _State:
    """Where the conversation with the runtime stands: which cell is running, which case was sent."""

    def __init__(self, todo: list[dict], cases: dict, execution: Execution, channel: _Channel):
        self.todo, self.cases, self.execution, self.channel = list(todo), cases, execution, channel
        self.position = 0  # index into todo of the cell expected next
        self.current: dict | None = None
        self.case: int | None = None  # the case sent and not answered yet
        self.since = time.monotonic()
        self.started_any = False

    def _runs(self, cell: dict) -> list:
        return self.execution.runs.setdefault(cell["index"], [None] * len(self.cases[cell["check"]]))

    def _send_next_case(self):
        runs = self._runs(self.current)
        pending = [k for k, r in enumerate(runs) if r is None]
        self.since = time.monotonic()
        if pending:
            self.case = pending[0]
            case = self.cases[self.current["check"]][self.case]
            inputs = case["inputs_json"] if "inputs_json" in case else json.dumps(case["inputs"])
            self.channel.send_raw(f'{{"case": {self.case}, "inputs": {inputs}, "seconds": {float(case["seconds"])!r}}}\n'.encode())
        else:
            self.case = None
            self.channel.send({"case": None})

    def receive(self, message: dict) -> bool:
        """Take one message; True when the runtime finished every cell."""
        if self.current is None:
            if message.get("finished") is True and self.position == len(self.todo):
                return True
            if "fatal" in message and not self.started_any:
                raise Violation(f"a runtime error: {str(message['fatal'])[-500:]}")
            expected = self.todo[self.position] if self.position < len(self.todo) else None
            if expected is None or message != {"cell": expected["index"], "status": "started"}:
                raise Violation("a message out of order (a cell that writes to the grader's channel?)")
            self.current, self.since, self.started_any = expected, time.monotonic(), True
            self.position += 1
            if expected["kind"] == "test":
                self._send_next_case()
            return False
        index = self.current["index"]
        if "fatal" in message:
            raise Violation("an error report from the grading runtime (a cell that breaks the runtime, or writes to its channel?)")
        if self.current["kind"] == "code":
            outputs = message.get("outputs")
            if set(message) != {"cell", "status", "outputs"} or message.get("cell") != index \
                    or message.get("status") != "done" or not isinstance(outputs, list):
                raise Violation("a message out of order")
            self.execution.outputs.setdefault(index, outputs)  # the first run's outputs are the ones shown
            self.current = None
            return False
        if self.case is not None:
            if set(message) != {"cell", "case", "run"} or message.get("cell") != index or message.get("case") != self.case \
                    or not isinstance(message.get("run"), dict):
                raise Violation("a message out of order")
            self._runs(self.current)[self.case] = message["run"]
            self._send_next_case()
            return False
        if message != {"cell": index, "status": "done"}:
            raise Violation("a message out of order")
        self.current = None
        return False

    def overdue(self, now: float, limits: Limits) -> str | None:
        if self.current is None:
            return None
        if self.current["kind"] == "code":
            if now - self.since > limits.cell_seconds + 5:
                return f"stopped after {limits.cell_seconds:g} s (an endless loop?)"
            return None
        budget = self.cases[self.current["check"]][self.case]["seconds"] if self.case is not None else 5.0
        if now - self.since > budget * limits.case_wall_factor + limits.case_grace_seconds:
            return f"stopped: ran past its {budget:g} s budget"
        return None

    def fail(self, reason: str) -> int | None:
        """Record `reason` against what was running; return the cell to skip on the next start."""
        if self.current is None:
            culprit = self.todo[self.position - 1]["index"] if self.position else None
            if culprit is not None:
                self.execution.incidents.setdefault(culprit, reason)
            return None
        index = self.current["index"]
        if self.current["kind"] == "test" and self.case is not None:
            error = f"CaseTimeout: {reason}" if "budget" in reason else reason
            self._runs(self.current)[self.case] = {"error": error, "outputs": None, "mutated": []}
            self.execution.incidents[index] = f"case {self.case + 1}: {reason}"
            # The test resumes at its next case after the restart; only a cell with nothing left is skipped.
            return index if all(r is not None for r in self._runs(self.current)) else RESUME
        self.execution.incidents[index] = reason
        return index

    def incident(self, reason: str) -> None:
        if self.current is not None:
            self.fail(reason)
