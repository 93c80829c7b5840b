"""How a submission is shut in: bubblewrap, with or without root, and nothing less unless asked.

In every mode the sandbox sees only: the system's read-only directories (/usr, /etc, ...), the
Python environment read-only with PyTorch, TensorFlow and JAX hidden (an empty directory over
each), the staged runtime (`course` and `autograder.runtime`, read-only), and the submission's
private working directory. The course root, `source/`, other students' work, the gradebook and the
home directory do not exist in there; what may be written is capped memory (/tmp, /submission,
/dev/shm), the rest is read-only. New PID, IPC, UTS and network namespaces: no network.
A system-call filter (`syscall_filter`) refuses the kernel's keyrings, which would otherwise
outlive the sandbox (a uid's user keyring) or reach the grader's (the inherited session keyring).

- `root`: bubblewrap started as root, the runtime under an unprivileged uid of its own per slot
  (setpriv), so process limits are per submission.
- `rootless`: bubblewrap in a user namespace, as an ordinary account can (Linux with
  unprivileged user namespaces); the runtime keeps the account's uid outside, with the same
  namespaces and limits.
- `insecure`: no isolation, only limits; used only with `--insecure`, and said so.

`require(insecure)` refuses, with what to install or how to run in a container, when there is no
isolation and `--insecure` was not given.
"""
from __future__ import annotations

import contextlib
import importlib.util
import os
import platform
import shutil
import struct
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

FIRST_UID = 60_000
TMPFS_BYTES = 512 << 20  # the sandbox's /tmp and /submission are memory: each is capped
# SciPy and scikit-learn stay: the course's data loaders read through them (mnist1d, the digits
# CSV). Answers that use them are caught by autograder.grading.answers instead.
HIDDEN_PACKAGES = ("torch", "torchvision", "torchaudio", "functorch", "torchgen", "triton",
                   "tensorflow", "keras", "jax", "jaxlib", "sympy", "solutions", "autograder")


class SandboxUnavailable(RuntimeError):
    """No isolation can be had on this machine, and grading without it was not asked for."""


@lru_cache(maxsize=1)
def _bwrap_works() -> bool:
    if shutil.which("bwrap") is None:
        return False
    args = ["bwrap", "--ro-bind", "/", "/", "--unshare-pid"]
    if os.geteuid() != 0:
        args.append("--unshare-user")
    try:
        return subprocess.run([*args, "true"], capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def mode(insecure: bool = False) -> str | None:
    """'root', 'rootless', 'insecure' (only when asked for and nothing better works), or None."""
    if _bwrap_works():
        return "root" if os.geteuid() == 0 else "rootless"
    return "insecure" if insecure else None


def describe(insecure: bool = False) -> str:
    return {
        "root": "bubblewrap namespaces + an unprivileged uid per slot + resource limits",
        "rootless": "bubblewrap in a user namespace (rootless) + resource limits",
        "insecure": "NO ISOLATION (--insecure): resource limits only; student code can read what this account can",
        None: "unavailable: " + _why_unavailable(),
    }[mode(insecure)]


def _why_unavailable() -> str:
    if sys.platform != "linux":
        return (f"sandboxed grading needs Linux namespaces, and this is {sys.platform}: run `autograder grade` in a "
                "Linux container (for example `docker run --security-opt seccomp=unconfined ...`), or pass --insecure")
    if shutil.which("bwrap") is None:
        return ("bubblewrap is not installed: `sudo apt-get install bubblewrap` (Debian/Ubuntu) or "
                "`sudo dnf install bubblewrap` (Fedora), or pass --insecure to grade without isolation")
    return ("bubblewrap cannot create namespaces here (unprivileged user namespaces are disabled: "
            "`sudo sysctl kernel.unprivileged_userns_clone=1`, or on Ubuntu 24.04+ allow bwrap in AppArmor; "
            "inside a container, run it with --privileged or seccomp=unconfined), or pass --insecure")


def require(insecure: bool = False) -> str:
    """The mode grading will use; SandboxUnavailable when there is none and `insecure` is False."""
    chosen = mode(insecure)
    if chosen is None:
        raise SandboxUnavailable(f"no sandbox: {_why_unavailable()}")
    return chosen


@lru_cache(maxsize=1)
def hidden_paths() -> tuple[str, ...]:
    """Installed directories of the packages graded code must not reach (found without importing them)."""
    found = set()
    for name in HIDDEN_PACKAGES:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            continue
        for location in (spec.submodule_search_locations or []) if spec else []:
            if Path(location).is_dir():
                found.add(str(Path(location).resolve()))
    return tuple(sorted(found))


def environment(home: str, runtime: str, mpl: str, ipython: str) -> dict[str, str]:
    """The whole environment of the runtime: nothing of the grader's own is passed on."""
    return {
        "HOME": home, "PATH": f"{Path(sys.prefix) / 'bin'}:/usr/bin:/bin", "PYTHONPATH": runtime,
        "MPLBACKEND": "Agg", "MPLCONFIGDIR": mpl, "TDN_MPL_SEED": f"{runtime}/mplconfig",
        "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "TDN_THREADS": "1",
        "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0", "PYTHONNOUSERSITE": "1", "LANG": "C.UTF-8",
        "IPYTHONDIR": ipython,
    }


# Per architecture: its seccomp audit value, and the numbers of add_key, request_key and keyctl.
_KEYRING_CALLS = {"x86_64": (0xC000003E, (248, 249, 250)), "aarch64": (0xC00000B7, (217, 218, 219))}


def _keyring_filter(machine: str) -> bytes | None:
    """A classic-BPF seccomp program (struct sock_filter[], as bubblewrap's --seccomp reads it)
    that fails add_key, request_key and keyctl with ENOSYS, as on a kernel without keyrings, and
    every system call of another ABI (x32, or i386 through int 0x80), where the same calls have
    other numbers. None on an architecture it does not know."""
    if machine not in _KEYRING_CALLS:
        return None
    arch, calls = _KEYRING_CALLS[machine]
    load, jeq, jge, ret = 0x20, 0x15, 0x35, 0x06  # BPF_LD|W|ABS, BPF_JMP|JEQ|K, BPF_JMP|JGE|K, BPF_RET|K
    allow, refuse = 0x7FFF0000, 0x00050000 | 38  # SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO | ENOSYS
    # Offsets are counted from the next instruction; the refusal is the last one.
    program = [(load, 0, 0, 4), (jeq, 0, len(calls) + 3, arch), (load, 0, 0, 0), (jge, len(calls) + 1, 0, 0x40000000)]
    program += [(jeq, len(calls) - i, 0, nr) for i, nr in enumerate(calls)]
    program += [(ret, 0, 0, allow), (ret, 0, 0, refuse)]
    return b"".join(struct.pack("=HBBI", *instruction) for instruction in program)


@contextlib.contextmanager
def syscall_filter():
    """A file descriptor holding the sandbox's seccomp program, for `--seccomp` in `command` and
    `zygote_command` (None where this architecture has none): pass it to the process that starts
    bubblewrap, which reads it before the sandbox starts, and close it after."""
    program = _keyring_filter(platform.machine())
    if program is None:
        yield None
        return
    fd = os.memfd_create("tdn-seccomp")
    try:
        os.write(fd, program)
        os.lseek(fd, 0, os.SEEK_SET)
        yield fd
    finally:
        os.close(fd)


def command(chosen: str, runtime: Path, workdir: Path, slot: int, seccomp: int | None) -> list[str]:
    """The command line that starts the runtime for one submission in `chosen` mode; `seccomp`
    is the file descriptor of `syscall_filter`, which the process that runs it must inherit."""
    python = Path(sys.executable)
    run = [str(python), "-m", "autograder.runtime.runner"]
    if chosen == "insecure":
        env = environment(str(workdir), str(runtime), str(workdir / ".mplconfig"), str(workdir / ".ipython"))
        return ["env", "-i", *(f"{k}={v}" for k, v in env.items()), *run]
    if chosen == "root":
        run = ["setpriv", f"--reuid={slot_uid(slot)}", f"--regid={slot_uid(slot)}", "--clear-groups", "--inh-caps=-all",
               "--bounding-set=-all", *run]
    # /submission is a capped tmpfs, not a host folder: nothing a notebook writes reaches the host's
    # disk, and the files the release ships are bound in read-only (no symlink games on restart).
    shipped = []
    for path in sorted(workdir.iterdir()):
        shipped += ["--ro-bind", str(path), f"/submission/{path.name}"]
    return _bwrap(chosen, runtime, {}, seccomp) + shipped + ["--chdir", "/submission"] + run


# What a root zygote needs to give each child namespaces, mounts, limits and the slot's uid: no
# more (no CAP_DAC_OVERRIDE, CAP_SYS_MODULE, CAP_SYS_PTRACE, ...), though it never runs student code.
ZYGOTE_CAPABILITIES = ("CAP_SYS_ADMIN", "CAP_SETUID", "CAP_SETGID", "CAP_SETPCAP")


def zygote_command(chosen: str, runtime: Path, control_fd: int, seccomp: int | None) -> list[str]:
    """The command line of a slot's pre-warmed sandbox (`autograder.runtime.zygote`), in `chosen`
    mode ('root' or 'rootless'). It starts with the namespaces, file system and system-call filter
    of `command`; its children give each submission its own on top (see the zygote's docstring)."""
    run = [str(Path(sys.executable)), "-m", "autograder.runtime.zygote"]
    caps = []
    if chosen == "root":
        caps = ["--cap-drop", "ALL", *(arg for cap in ZYGOTE_CAPABILITIES for arg in ("--cap-add", cap))]
    return _bwrap(chosen, runtime, {"TDN_CONTROL_FD": str(control_fd)}, seccomp) + caps + ["--chdir", "/submission"] + run


def slot_uid(slot: int) -> int:
    """As root, the unprivileged uid a slot's submissions run under: one per slot, so process
    limits count per submission."""
    return FIRST_UID + slot


def _bwrap(chosen: str, runtime: Path, extra_env: dict[str, str], seccomp: int | None) -> list[str]:
    """bubblewrap's arguments for the shared part of every sandbox: namespaces, environment,
    system-call filter, and what of the file system exists in there."""
    python = Path(sys.executable)
    cmd = ["bwrap", "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try",
           "--die-with-parent", "--new-session", "--clearenv"]
    if seccomp is not None:
        cmd += ["--seccomp", str(seccomp)]
    if chosen == "rootless":
        cmd += ["--unshare-user", "--cap-drop", "ALL"]
    for key, value in {**environment("/submission", "/runtime", "/tmp/mplconfig", "/tmp/ipython"), **extra_env}.items():
        cmd += ["--setenv", key, value]
    # A private /tmp first: an environment that lives under /tmp is then bound on top of it.
    cmd += ["--perms", "1777", "--size", str(TMPFS_BYTES), "--tmpfs", "/tmp", "--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc"]
    for link in ("bin", "lib", "lib64", "sbin"):
        target = Path("/") / link
        if target.is_symlink():
            cmd += ["--symlink", os.readlink(target), f"/{link}"]
        elif target.exists():
            cmd += ["--ro-bind", str(target), f"/{link}"]
    for path in sorted({Path(sys.prefix), Path(sys.base_prefix), python.resolve().parent.parent}):
        for parent in reversed(path.parents[:-1]):  # directories bwrap would otherwise create 0700
            cmd += ["--perms", "0755", "--dir", str(parent)]
        cmd += ["--ro-bind", str(path), str(path)]
    for hidden in hidden_paths():
        if any(hidden == str(p) or hidden.startswith(f"{p}/") for p in (Path(sys.prefix), Path(sys.base_prefix))):
            cmd += ["--perms", "0555", "--tmpfs", hidden]
    cmd += ["--ro-bind", str(runtime), "/runtime", "--perms", "0777", "--size", str(TMPFS_BYTES), "--tmpfs", "/submission"]
    cmd += ["--proc", "/proc", "--dev", "/dev"]
    if not Path("/dev/shm").is_symlink():  # bubblewrap copies a link (to /run/shm) and makes no directory
        cmd += ["--perms", "1777", "--size", str(TMPFS_BYTES), "--tmpfs", "/dev/shm"]
    # The rest read-only: rootless, the account owns the sandbox's root and /dev (tmpfs, uncapped),
    # and in a zygote what one child wrote there would wait for the next.
    return cmd + ["--remount-ro", "/dev", "--remount-ro", "/"]
