"""Run one submission's cells in a sandbox, and survive whatever they do.

Isolation, from the outside in:
- bubblewrap (`bwrap`), when the machine has it: a new mount namespace that holds only the
  system's read-only directories, the Python environment, a staged copy of the code the notebook
  may import (`course`, and the recording half of `autograder`; never `solutions`), and the
  submission's private working directory. The course root, `source/`, other students' work and
  the gradebook do not exist in there. New PID, IPC, UTS and network namespaces: no network.
- an unprivileged user (one uid per parallel slot, so limits are per submission), via setpriv;
- resource limits: address space (memory), processes (fork bombs), CPU time, file size;
- its own process group and session, killed as a whole;
- wall-time limits per cell and per submission, and a cap on the bytes it may report, enforced
  from this side.

Without bwrap the same runner starts under setpriv and the limits in a private directory, but it
could read world-readable files elsewhere: `describe()` says which mode is active.

A cell that hangs, crashes the process or floods the output costs that cell: the runner is
started again and skips it (up to `Limits.restarts` times), so the tests after it still run.
"""
from __future__ import annotations

import json
import os
import resource
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The only project code a submission may import: what students have anyway, plus the recorder.
RUNTIME_FILES = ["course", "autograder/__init__.py", "autograder/recording.py", "autograder/runner.py", "autograder/probes"]
FIRST_UID = 60_000
_LIVE: set[subprocess.Popen] = set()  # sandboxes running now, for kill_all on Ctrl-C


@dataclass(frozen=True)
class Limits:
    cell_seconds: float = 120.0
    submission_seconds: float = 900.0
    memory_bytes: int = 6 << 30  # address space; torch alone maps about 2 GiB
    processes: int = 64
    report_bytes: int = 32 << 20
    restarts: int = 3


class SandboxError(RuntimeError):
    """The sandbox itself (not the student's code) failed: a problem with this machine's set-up."""


@dataclass
class Execution:
    """What came back from a submission: per-cell results and what went wrong, in words."""

    results: dict[int, dict] = field(default_factory=dict)  # cell index -> the runner's 'done' message
    incidents: dict[int, str] = field(default_factory=dict)  # cell index -> why it has no result
    seconds: float = 0.0


def has_bwrap() -> bool:
    return shutil.which("bwrap") is not None and _bwrap_works()


_BWRAP_OK: bool | None = None


def _bwrap_works() -> bool:
    global _BWRAP_OK
    if _BWRAP_OK is None:
        try:
            probe = subprocess.run(["bwrap", "--ro-bind", "/", "/", "--unshare-pid", "true"], capture_output=True, timeout=10)
            _BWRAP_OK = probe.returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            _BWRAP_OK = False
    return _BWRAP_OK


def describe() -> str:
    if os.geteuid() != 0:
        return "limits only (not root: no separate user, no mount namespace)"
    if has_bwrap():
        return "bubblewrap namespaces + unprivileged user + resource limits"
    return "unprivileged user + resource limits (bubblewrap not found: files readable by everyone stay readable)"


def stage_runtime(destination: Path) -> Path:
    """Copy what a submission may import into `destination`, plus a warm matplotlib cache."""
    destination.mkdir(parents=True, exist_ok=True)
    for rel in RUNTIME_FILES:
        src, dst = ROOT / rel, destination / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__"), dirs_exist_ok=True)
        else:
            shutil.copy2(src, dst)
    mpl = destination / "mplconfig"
    subprocess.run([sys.executable, "-c", "import matplotlib.font_manager"], env={**os.environ, "MPLCONFIGDIR": str(mpl)},
                   capture_output=True, check=False)
    for path in [destination, *destination.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return destination


def _command(runtime: Path, workdir: Path, slot: int) -> list[str]:
    python = Path(sys.executable)
    venv, base = Path(sys.prefix), Path(sys.base_prefix)
    env = {
        "HOME": "/submission", "PATH": f"{venv / 'bin'}:/usr/bin:/bin", "PYTHONPATH": "/runtime",
        "MPLBACKEND": "Agg", "MPLCONFIGDIR": "/tmp/mplconfig", "TDN_MPL_SEED": "/runtime/mplconfig",
        "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
        "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0", "LANG": "C.UTF-8", "IPYTHONDIR": "/tmp/ipython",
    }
    run = [str(python), "-m", "autograder.runner", "/submission/job.json"]
    privileged = os.geteuid() == 0
    if privileged:
        uid = str(FIRST_UID + slot)
        run = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", *run]
    if not (privileged and has_bwrap()):
        env["PYTHONPATH"] = str(runtime)
        env["HOME"] = str(workdir)
        env["TDN_MPL_SEED"] = str(runtime / "mplconfig")
        env["MPLCONFIGDIR"] = str(workdir / ".mplconfig")
        env["IPYTHONDIR"] = str(workdir / ".ipython")
        run[-1] = str(workdir / "job.json")
        return ["env", "-i", *(f"{k}={v}" for k, v in env.items()), *run]
    cmd = ["bwrap", "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try",
           "--die-with-parent", "--new-session", "--clearenv"]
    for key, value in env.items():
        cmd += ["--setenv", key, value]
    # A private /tmp first: an environment that lives under /tmp is then bound on top of it.
    cmd += ["--perms", "1777", "--tmpfs", "/tmp", "--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc"]
    for link in ("bin", "lib", "lib64", "sbin"):
        target = Path("/") / link
        if target.is_symlink():
            cmd += ["--symlink", os.readlink(target), f"/{link}"]
        elif target.exists():
            cmd += ["--ro-bind", str(target), f"/{link}"]
    for path in sorted({venv, base, python.resolve().parent.parent}):
        for parent in reversed(path.parents[:-1]):  # directories bwrap would otherwise create 0700
            cmd += ["--perms", "0755", "--dir", str(parent)]
        cmd += ["--ro-bind", str(path), str(path)]
    cmd += ["--ro-bind", str(runtime), "/runtime", "--bind", str(workdir), "/submission", "--chdir", "/submission",
            "--proc", "/proc", "--dev", "/dev"]
    return cmd + run


def _limit(limits: Limits):
    def apply():
        os.setsid()
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
        resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))
        cpu = int(limits.submission_seconds) + 5
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
        resource.setrlimit(resource.RLIMIT_FSIZE, (256 << 20, 256 << 20))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    return apply


def kill_all() -> None:
    """Stop every sandbox this process started (an interrupted grading run)."""
    for process in list(_LIVE):
        _kill(process)


def _kill(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()


def _why_it_died(returncode: int) -> str:
    if returncode > 128 and returncode - 128 in signal.valid_signals():
        returncode = -(returncode - 128)  # bwrap reports a child killed by signal N as 128 + N
    if returncode < 0:
        name = signal.Signals(-returncode).name
        reasons = {"SIGSEGV": "a segmentation fault", "SIGKILL": "it was killed (memory?)", "SIGXCPU": "its CPU time ran out",
                   "SIGABRT": "it aborted (often: memory exhausted)", "SIGXFSZ": "it wrote a file that was too large"}
        return f"the notebook's process died with {name}: {reasons.get(name, 'a signal')}"
    return f"the notebook's process exited with code {returncode} in this cell (os._exit or sys.exit?)"


def run_cells(job: dict, runtime: Path, limits: Limits = Limits(), slot: int = 0) -> Execution:
    """Execute the job's cells (see autograder.runner) in a fresh sandbox; restart past bad cells."""
    start = time.monotonic()
    execution = Execution()
    skip: set[int] = set()
    workdir = Path(tempfile.mkdtemp(prefix="tdn-submission-"))
    os.chmod(workdir, 0o777)  # the sandbox user writes here, and nowhere else
    try:
        for attempt in range(limits.restarts + 1):
            for shipped in job.get("files", []):  # data files the assignment ships beside its notebook
                shutil.copy2(shipped, workdir / Path(shipped).name)
            done_tests = {i for i, r in execution.results.items() if "runs" in r}
            todo = {**job, "skip": sorted(skip | done_tests), "files": []}
            (workdir / "job.json").write_text(json.dumps(todo))
            finished, culprit = _attempt(_command(runtime, workdir, slot), execution, limits, start, _limit(limits))
            if finished:
                break
            if culprit is None:
                break
            skip.add(culprit)
        for cell in job["cells"]:
            if cell["index"] not in execution.results and cell["index"] not in execution.incidents:
                execution.incidents[cell["index"]] = "not run: the submission's time or restart budget was used up"
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    execution.seconds = time.monotonic() - start
    return execution


def _attempt(cmd, execution: Execution, limits: Limits, start: float, preexec) -> tuple[bool, int | None]:
    """One run of the runner. Returns (finished, the cell to skip next time or None to give up)."""
    process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                               preexec_fn=preexec, close_fds=True)
    _LIVE.add(process)
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    buffer, received, current, last, cell_started = b"", 0, None, None, time.monotonic()
    try:
        while True:
            now = time.monotonic()
            if now - start > limits.submission_seconds:
                _kill(process)
                if current is not None:
                    execution.incidents[current] = f"stopped: the whole submission exceeded {limits.submission_seconds:g} s"
                return False, None
            if current is not None and now - cell_started > limits.cell_seconds + 5:
                _kill(process)
                execution.incidents[current] = f"stopped after {limits.cell_seconds:g} s (an endless loop?)"
                return False, current
            if not selector.select(timeout=0.2):
                if process.poll() is not None:
                    # Exited, but a leftover child may hold the pipe open: end the group, then
                    # read what is already there.
                    _kill(process)
                    if not selector.select(timeout=0):
                        break
                continue
            chunk = os.read(process.stdout.fileno(), 1 << 16)
            if not chunk:
                break
            received += len(chunk)
            if received > limits.report_bytes:
                _kill(process)
                culprit = current if current is not None else last
                if culprit is not None:
                    execution.incidents[culprit] = f"stopped: produced more than {limits.report_bytes >> 20} MB of output"
                return False, culprit
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                message = _parse(line)
                if message is None:
                    continue
                if message.get("finished"):
                    _kill(process)  # also ends any process the notebook left behind
                    return True, None
                if "fatal" in message:
                    raise SandboxError(f"the grading runner failed before the notebook ran:\n{message['fatal']}")
                index = message.get("cell")
                if not isinstance(index, int):
                    continue
                if message.get("status") == "started":
                    current, last, cell_started = index, index, time.monotonic()
                elif message.get("status") == "done" and index not in execution.results:
                    execution.results[index] = message
                    execution.incidents.pop(index, None)
                    current = None
    finally:
        selector.close()
        if process.poll() is None:
            _kill(process)
        _LIVE.discard(process)
    returncode = process.wait()
    if current is not None:
        execution.incidents[current] = _why_it_died(returncode)
        return False, current
    return False, None


def _parse(line: bytes) -> dict | None:
    try:
        message = json.loads(line)
    except (ValueError, UnicodeDecodeError):
        return None
    return message if isinstance(message, dict) else None
