"""A pre-warmed sandbox: `python -m autograder.runtime.zygote`, one long-lived process per slot.

It starts once, already inside the slot's bubblewrap sandbox, imports what every notebook needs
(NumPy, matplotlib with Agg, IPython, `course` and this runtime), and then only forks. It never
runs a line of student code: each submission attempt runs in a child that gets, before any cell:

- a new mount namespace with its own empty /tmp, /submission and /dev/shm (capped tmpfs) and the
  files its assignment ships bound read-only into /submission; everything else it sees is the
  zygote's and read-only (`isolation` makes the sandbox's root and /dev so);
- a new PID namespace whose init dies with the submission, so nothing it started survives into
  the next one, and a new IPC namespace, so no SysV or POSIX message queue, semaphore or shared
  memory segment does either;
- the submission's resource limits, the slot's uid (as root) or no capabilities at all (in a
  user namespace of its own, rootless), and no_new_privs; the sandbox's system-call filter
  (`isolation.syscall_filter`, no kernel keyrings) is the zygote's, inherited;
- a fresh random seed; every other piece of state (environment, `sys.modules`, matplotlib's
  rcParams) is the zygote's untouched copy, so what one submission changes dies with it.

The zygote talks to the supervisor over one Unix seqpacket socket (its number in
TDN_CONTROL_FD), a JSON object per message:
  from the supervisor: {"fork": id, "uid": n or null, "limits": {...}, "tmpfs_bytes": n}
                       with two file descriptors attached: the child's stdin and stdout pipes
  to the supervisor:   {"ready": true} once warm (or {"fatal": why}, where its children could not be
                       isolated: the supervisor then starts cold sandboxes);
                       {"exited": id, "status": code} per child, where
                       code is its exit code, or 128 + N when signal N killed it (as bubblewrap
                       reports it)
On the child's stdin the supervisor first sends its setup, `<length>\n{"files": [[name, base64], ...]}`,
then speaks the protocol of `autograder.runtime.runner`.
"""
from __future__ import annotations

import base64
import ctypes
import json
import os
import resource
import selectors
import signal
import socket
import sys

CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWUSER, CLONE_NEWIPC = 0x00020000, 0x20000000, 0x10000000, 0x08000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 2, 4, 32, 4096, 16384, 1 << 18
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 1, 4, 24, 38
PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 47, 4
_LIBC = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    enc = (lambda s: None if s is None else s.encode())
    _check(_LIBC.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)), f"mount {target}")


def warm() -> None:
    """Import, once, what every notebook and the runner need: the children inherit it all."""
    import shutil

    # matplotlib reads its config directory when imported: seed it from the staged font cache.
    if os.environ.get("TDN_MPL_SEED") and os.path.isdir(os.environ["TDN_MPL_SEED"]):
        shutil.copytree(os.environ["TDN_MPL_SEED"], os.environ["MPLCONFIGDIR"], dirs_exist_ok=True)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot  # noqa: F401
    import numpy  # noqa: F401
    from IPython.core.interactiveshell import InteractiveShell  # noqa: F401
    from IPython.utils.capture import capture_output  # noqa: F401

    import IPython.core.pylabtools
    import matplotlib_inline.backend_inline  # noqa: F401

    # What `%matplotlib inline` looks up first: matplotlib's backend registry reads the installed
    # packages' entry points (a quarter of a second), once here instead of in every notebook.
    IPython.core.pylabtools.find_gui_and_backend("inline")

    import course  # noqa: F401
    from autograder.runtime import no_torch, recorder, runner, wire  # noqa: F401
    from autograder.runtime.drivers import load_all

    load_all()
    runner.make_shell()


# ------------------------------------------------------------------ the child: one submission attempt

def _drop_bounding_set() -> None:
    """Capabilities that could ever be regained: none (needs CAP_SETPCAP, so before the uid changes)."""
    _LIBC.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    for cap in range(64):
        _LIBC.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)  # EINVAL past the last capability: harmless


def _drop_capabilities() -> None:
    """No capability left in any set, none gainable: what a submission runs with."""

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]

    header, data = Header(0x20080522, 0), (Data * 2)()
    _check(_LIBC.capset(ctypes.byref(header), ctypes.byref(data)), "capset")
    _check(_LIBC.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    with open("/proc/self/status") as status:
        sets = {k: v.strip() for k, v in (line.split(":", 1) for line in status) if k in ("CapEff", "CapPrm", "CapBnd")}
    if any(int(value, 16) for value in sets.values()):
        raise RuntimeError(f"capabilities left after dropping them: {sets}")


def _rootless() -> bool:
    """Whether this zygote runs rootless: bubblewrap keeps the account's uid in its user
    namespace, and maps root only when started as root."""
    return os.getuid() != 0


def _enter_namespaces() -> None:
    """New mount, PID and IPC namespaces for the children of this process (and a user namespace,
    rootless, where mounting needs one)."""
    if _rootless():
        uid, gid = os.getuid(), os.getgid()
        _check(_LIBC.unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC), "unshare")
        for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
            with open(f"/proc/self/{name}", "w") as f:
                f.write(text)
    else:
        _check(_LIBC.unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC), "unshare")
    _mount(None, "/", None, MS_REC | MS_PRIVATE)


def _isolation_refused() -> str | None:
    """Why this machine will not give a child the namespaces `_enter_namespaces` creates (a
    nested user namespace is refused by some kernels, containers and security modules), or None.
    Tried once, in a child that exits at once, before the zygote says it is ready."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.close(read)
            _enter_namespaces()
            code = 0
        except BaseException as err:  # noqa: BLE001 - reported through the pipe
            os.write(write, f"{type(err).__name__}: {err}".encode()[:1000])
        finally:
            os._exit(code)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        why = pipe.read().decode(errors="replace")
    status = os.waitpid(pid, 0)[1]
    return None if os.waitstatus_to_exitcode(status) == 0 else why or f"exit status {status}"


def _environment_under_tmp() -> list[str]:
    """The folders of this Python environment that lie under /tmp, outermost first."""
    roots = {sys.prefix, sys.base_prefix, os.path.dirname(os.path.dirname(os.path.realpath(sys.executable)))}
    under = sorted(r for r in roots if r.startswith("/tmp/"))
    return [r for r in under if not any(r != o and r.startswith(o + "/") for o in under)]


def _make_dirs(path: str) -> None:
    """`path` and the folders above it in the fresh /tmp, world-readable, none of them writable."""
    parts, current = path.strip("/").split("/"), ""
    for part in parts:
        current += "/" + part
        if not os.path.isdir(current):
            os.mkdir(current)
            os.chmod(current, 0o755)


def _fresh_filesystem(files: list, tmpfs_bytes: int) -> None:
    """An empty /tmp, /submission and /dev/shm of this attempt's own (the zygote's are shared by
    every child); the shipped files read-only in /submission."""
    shm = ["/dev/shm"] if os.path.isdir("/dev/shm") and not os.path.islink("/dev/shm") else []
    # A Python environment that lives under /tmp (a checkout there, say) was bound over bubblewrap's
    # /tmp: held open here, and bound again (with the hidden packages' covers) over the fresh one.
    kept = [(path, os.open(path, os.O_PATH | os.O_DIRECTORY)) for path in _environment_under_tmp()]
    for target in ("/tmp", "/submission", *shm):
        _mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, f"size={tmpfs_bytes},mode=1777")
    for path, fd in kept:
        _make_dirs(path)
        _mount(f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC)
        _mount(None, path, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
        os.close(fd)
    for name, data in files:
        path = "/submission/" + os.path.basename(name)
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))
        os.chmod(path, 0o444)
        # Bound read-only onto itself: no path to a writable copy is left for the notebook.
        _mount(path, path, None, MS_BIND)
        _mount(path, path, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV)
    os.chdir("/submission")  # not the zygote's own /submission, which every child shares


def _limit(limits: dict) -> None:
    """The submission's resource limits (`autograder.sandbox.limits`), or this machine's where they
    are lower: raising a hard limit needs CAP_SYS_RESOURCE, which the zygote does not hold."""
    cpu = int(limits["submission_seconds"]) + 5
    for which, soft, hard in ((resource.RLIMIT_AS, limits["memory_bytes"], limits["memory_bytes"]),
                              (resource.RLIMIT_NPROC, limits["processes"], limits["processes"]),
                              (resource.RLIMIT_FSIZE, limits["file_bytes"], limits["file_bytes"]),
                              (resource.RLIMIT_CORE, 0, 0), (resource.RLIMIT_CPU, cpu, cpu + 5)):
        ceiling = resource.getrlimit(which)[1]
        if ceiling != resource.RLIM_INFINITY:
            soft, hard = min(soft, ceiling), min(hard, ceiling)
        resource.setrlimit(which, (soft, hard))


def _wait_status(status: int) -> int:
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


def _read_setup(fd: int) -> bytes:
    """The setup message: its length on a line of its own, then that many bytes. Read without a
    buffer, so that not one byte of the protocol that follows is taken from the runner."""
    length = b""
    while not length.endswith(b"\n"):
        byte = os.read(fd, 1)
        if not byte or len(length) > 20:
            raise EOFError("no setup message from the supervisor")
        length += byte
    data, size = bytearray(), int(length)
    while len(data) < size:
        chunk = os.read(fd, min(1 << 20, size - len(data)))
        if not chunk:
            raise EOFError("the setup message was cut short")
        data += chunk
    return bytes(data)


def _init(stdin: int, stdout: int, request: dict) -> int:
    """PID 1 of the attempt's namespace: set up its file system, start the runner, reap, report."""
    setup = json.loads(_read_setup(stdin))
    _fresh_filesystem(setup.get("files", []), request["tmpfs_bytes"])
    runner_pid = os.fork()
    if runner_pid == 0:
        try:
            _become_runner(stdin, stdout, request)
        finally:
            os._exit(70)
    os.close(stdin)
    os.close(stdout)
    # The only signal with a handler here (Python's, for SIGINT) is the only one the notebook's
    # processes could deliver to their namespace's init, rootless: ignored, init cannot be stopped.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:  # orphans of the notebook are reparented here: reap them until the runner ends
        pid, status = os.wait()
        if pid == runner_pid:
            return _wait_status(status)


def _become_runner(stdin: int, stdout: int, request: dict) -> None:
    """Drop to what a submission may have, then run its cells: never returns."""
    os.dup2(stdin, 0)
    os.dup2(stdout, 1)
    os.closerange(3, 1 << 16)
    _limit(request["limits"])
    _drop_bounding_set()
    if not _rootless():
        uid = int(request["uid"])  # as root, a child always gets the slot's uid: never root's
        if uid <= 0:
            raise ValueError(f"refusing to run a submission as uid {uid}")
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
        # The uid change made it undumpable, its /proc/self files root's: as after an exec (a cold start).
        _LIBC.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)
    _drop_capabilities()
    _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    os.chdir("/submission")
    import random

    import numpy

    numpy.random.seed()  # a fresh process would draw a fresh seed; the zygote's state is not shared
    random.seed()
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    from autograder.runtime import runner

    os._exit(runner.main())


def _keeper(stdin: int, stdout: int, request: dict) -> int:
    """The zygote's child: create the namespaces, start their init, and exit with its status."""
    _enter_namespaces()
    pid = os.fork()
    if pid == 0:
        code = 70
        try:
            code = _init(stdin, stdout, request)
        finally:
            os._exit(code)
    os.close(stdin)
    os.close(stdout)
    return _wait_status(os.waitpid(pid, 0)[1])


# ------------------------------------------------------------------ the zygote's loop

def serve(control: socket.socket) -> None:
    children: dict[int, object] = {}  # keeper pid -> request id
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    selector = selectors.DefaultSelector()
    selector.register(control, selectors.EVENT_READ)
    selector.register(wake_r, selectors.EVENT_READ)
    control.send(json.dumps({"ready": True}).encode())
    while True:
        for key, _ in selector.select():
            if key.fileobj == wake_r:
                os.read(wake_r, 4096)
                continue
            message, fds, _, _ = socket.recv_fds(control, 1 << 16, 2)
            if not message:
                return  # the supervisor went away
            request = json.loads(message)
            if len(fds) != 2:
                for fd in fds:
                    os.close(fd)
                continue
            pid = os.fork()
            if pid == 0:
                code = 70
                try:
                    selector.close()
                    control.close()
                    signal.set_wakeup_fd(-1)
                    os.close(wake_r)
                    os.close(wake_w)
                    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                    code = _keeper(fds[0], fds[1], request)
                finally:
                    os._exit(code)
            for fd in fds:
                os.close(fd)
            children[pid] = request["fork"]
        while children:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                break
            if pid in children:
                control.send(json.dumps({"exited": children.pop(pid), "status": _wait_status(status)}).encode())


def main() -> int:
    control = socket.socket(fileno=int(os.environ.pop("TDN_CONTROL_FD")))
    refused = _isolation_refused()
    if refused:
        control.send(json.dumps({"fatal": f"this machine refuses a namespace per submission: {refused}"[-2000:]}).encode())
        return 1
    try:
        warm()
    except Exception as err:  # noqa: BLE001 - said to the supervisor, which falls back or reports
        control.send(json.dumps({"fatal": f"{type(err).__name__}: {err}"[-2000:]}).encode())
        return 1
    serve(control)
    return 0


if __name__ == "__main__":
    sys.exit(main())
