"""Run on its own (`python tests/prewarm_probe.py`): grade, on one slot, a submission that tries to
leave something behind, then submissions that look for it, and print what each one saw as JSON.

Run as root by tests/test_prewarm.py, and as an ordinary account (the rootless sandbox), so that
both ways a zygote isolates its children are proven the same way.

`python tests/prewarm_probe.py --nested-user-namespaces-refused` first nests this process 31 user
namespaces deep: bubblewrap still starts, with the kernel's last two (one of its own, one more to
mount /dev/pts), but a zygote's child cannot have a user namespace of its own, as on machines
that refuse nested ones. It then grades two submissions and prints how.

`python tests/prewarm_probe.py --until-killed` prints the command line of a process that a looping
submission started, and waits to be killed.
"""
from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from autograder import sandbox  # noqa: E402
from autograder.grading.judge import assess  # noqa: E402
from autograder.grading.runs import read_run  # noqa: E402
from autograder.runtime import wire  # noqa: E402
from autograder.sandbox import prewarm, slots, staging  # noqa: E402
from autograder.spec.checks import load_all  # noqa: E402

LIMITS = sandbox.Limits(cell_seconds=20, submission_seconds=120)
SHIPPED = [("data.txt", b"as shipped")]
RELU = "import numpy as np\ndef relu_forward(x):\n    return np.maximum(x, 0), x\n"
MARK = f"sleep 301.{os.getpid()}"  # A's leftover processes, found on the host by their command lines (one probe's)
KEYRING_CALLS = {"x86_64": (248, 250), "aarch64": (217, 219)}  # add_key and keyctl, per architecture
GRADER_SECRET = "tdn-grader-secret"  # a key in the grader's session keyring, which sandboxes inherit
# Where A writes, and B looks: the tmpfs of the attempt, the home, /dev/shm, and what every child
# of a zygote shares: its root, its /dev and the directories bubblewrap made above the Python.
PLANTED = ["/tmp/planted", "/submission/planted", "~/planted.txt", "/dev/shm/planted", "/planted", "/dev/planted",
           str(Path(sys.prefix).parent / "planted")]
SHM_KEY = 0x7D1  # A's SysV shared memory segment

# The kernel's other stores that outlive a process: SysV IPC, and keyrings (a uid's user keyring
# lives as long as its user namespace; a session keyring is shared by whoever inherited it).
KERNEL_STORES = textwrap.dedent(f"""
    import ctypes, os
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype, libc.shmat.restype = ctypes.c_long, ctypes.c_void_p
    ADD_KEY, KEYCTL = {KEYRING_CALLS!r}[os.uname().machine]
    USER_KEYRING, SESSION_KEYRING, SEARCH, READ = -4, -3, 10, 11

    def add_key(name, ring):
        made = libc.syscall(ADD_KEY, b"user", name.encode(), b"A", 1, ctypes.c_int(ring))
        return "added" if made >= 0 else os.strerror(ctypes.get_errno())

    def read_key(name, ring):
        key = libc.syscall(KEYCTL, SEARCH, ctypes.c_int(ring), b"user", name.encode(), 0)
        buffer = ctypes.create_string_buffer(64)
        size = libc.syscall(KEYCTL, READ, ctypes.c_long(key), buffer, 64) if key >= 0 else -1
        return buffer.raw[:size].decode() if size >= 0 else None

    def shared_memory(create):
        segment = libc.shmget({SHM_KEY}, 4096, 0o1666 if create else 0)
        if segment < 0:
            return None
        address = libc.shmat(segment, None, 0)
        if create:
            ctypes.memmove(address, b"A", 1)
        return ctypes.string_at(address, 1).decode()
""")

LEAVE_BEHIND = KERNEL_STORES + textwrap.dedent(f"""
    import os, sys, random, subprocess, json
    import numpy as np, matplotlib, matplotlib.pyplot as plt
    import course
    planted = {{}}
    for path in {PLANTED!r}:
        try:
            open(os.path.expanduser(path), "w").write("A")
            planted[path] = "written"
        except OSError as err:
            planted[path] = type(err).__name__
    planted["shared memory"] = shared_memory(create=True)
    planted["user key"], planted["session key"] = add_key("planted-u", USER_KEYRING), add_key("planted-s", SESSION_KEYRING)
    tried = []
    for attempt in (lambda: open("/submission/data.txt", "w").write("changed by A"),
                    lambda: os.unlink("/submission/data.txt"),
                    lambda: os.rename("/submission/data.txt", "/submission/moved.txt"),
                    lambda: os.chmod("/submission/data.txt", 0o666)):
        try:
            attempt()
            tried.append("DONE")
        except OSError as err:
            tried.append(type(err).__name__)
    os.environ["PLANTED"] = "A"
    sys.modules["planted_module"] = type(sys)("planted_module")
    np.allclose = lambda *args, **kwargs: True
    course.planted = True
    np.random.seed(1234)
    random.seed(1234)
    matplotlib.rcParams["lines.linewidth"] = 42.0
    plt.figure()
    leftover = subprocess.Popen({MARK.split()!r}, start_new_session=True)
    # And one in namespaces of its own (a user namespace needs no privilege): still inside A's.
    if subprocess.run(["unshare", "--user", "true"]).returncode == 0:
        nested = subprocess.Popen(["unshare", "--user", "--pid", "--fork", *{MARK.split()!r}], start_new_session=True)
        import time
        time.sleep(0.5)
        nested = "running" if nested.poll() is None else "not started"
    else:
        nested = "refused"  # this machine gives no user namespace to an unprivileged process
    print("TRIED", tried, "LEFTOVER", "running" if leftover.poll() is None else "not started", "NESTED", nested)
    print("PLANTED" + json.dumps(planted))
""")

LOOK = KERNEL_STORES + textwrap.dedent(f"""
    import os, sys, json, random, signal, time
    import numpy as np, matplotlib, matplotlib.pyplot as plt
    import course
    try:  # Python's SIGINT handler is the one signal its own namespace's init would take (rootless)
        os.kill(1, signal.SIGINT)
        interrupted_init = "sent"
    except PermissionError:
        interrupted_init = "refused"
    time.sleep(0.2)
    status = dict(line.split(":", 1) for line in open("/proc/self/status"))
    print("SEEN" + json.dumps({{
        "files": [p for p in {PLANTED!r} if os.path.exists(os.path.expanduser(p))],
        "shared memory": shared_memory(create=False),
        "keys": [read_key("planted-u", USER_KEYRING), read_key("planted-s", SESSION_KEYRING)],
        "grader secret": read_key({GRADER_SECRET!r}, SESSION_KEYRING),
        "shipped": open("/submission/data.txt").read(),
        "env": os.environ.get("PLANTED"),
        "module": "planted_module" in sys.modules,
        "allclose_patched": bool(np.allclose(1.0, 2.0)),
        "course_patched": hasattr(course, "planted"),
        "draw": float(np.random.rand()),
        "python_draw": random.random(),
        "linewidth": float(matplotlib.rcParams["lines.linewidth"]),
        "figures": plt.get_fignums(),
        "pids": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
        "uid": os.getuid(),
        "interrupted init": interrupted_init,
        "capabilities": {{k: status[k].strip() for k in ("CapEff", "CapPrm", "CapInh", "CapBnd", "CapAmb", "NoNewPrivs")}},
    }}))
""")


def cases() -> dict:
    return {"relu_forward": [{"inputs": wire.encode(c.inputs), "seconds": c.seconds}
                             for c in load_all()["relu_forward"].cases()]}


def submit(slot: int, *sources: str) -> dict:
    cells = [{"index": i, "kind": "code", "source": s} for i, s in enumerate(sources)]
    cells.append({"index": len(cells), "kind": "test", "check": "relu_forward", "driver": "relu_forward"})
    execution = sandbox.run_cells({"cells": cells, "files": SHIPPED}, cases(), staging.runtime(), LIMITS, slot)
    printed = {i: "".join(o.get("text", "") for o in execution.outputs.get(i, []) if o.get("output_type") == "stream")
               for i in range(len(sources))}
    runs = execution.runs.get(len(sources), [])
    score = assess(load_all()["relu_forward"], [None if r is None else read_run(r) for r in runs], 1).score
    return {"printed": printed, "incidents": {str(k): v for k, v in execution.incidents.items()}, "score": score,
            "zygote": prewarm.running().get(slot)}


def seen(result: dict) -> dict:
    text = result["printed"][0]
    return json.loads(text[text.index("SEEN") + 4:]) if "SEEN" in text else {"missing": text}


def planted(result: dict) -> dict | None:
    """What LEAVE_BEHIND managed to plant: path or store -> "written"/"added", or why not."""
    text = result["printed"][0]
    return json.loads(text[text.index("PLANTED") + 7:].splitlines()[0]) if "PLANTED" in text else None


def leftovers() -> int:
    found = subprocess.run(["pgrep", "-f", MARK], capture_output=True, text=True)
    return len(found.stdout.split())


def keep_a_grader_secret() -> bool:
    """Give this process a session keyring of its own holding GRADER_SECRET, as a login session's
    keyring may hold an instructor's credentials; True when this process can read it back."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    add_key, keyctl = KEYRING_CALLS[os.uname().machine]
    libc.syscall(keyctl, 1, None)  # KEYCTL_JOIN_SESSION_KEYRING: a new anonymous one
    key = libc.syscall(add_key, b"user", GRADER_SECRET.encode(), b"secret", 6, ctypes.c_int(-3))
    buffer = ctypes.create_string_buffer(16)
    return key >= 0 and libc.syscall(keyctl, 11, ctypes.c_long(key), buffer, 16) == 6  # KEYCTL_READ


def zygote_status(bwrap_pid: int | None) -> dict:
    """The capability sets of the zygote's Python process, found under its bubblewrap."""
    pending = [bwrap_pid] if bwrap_pid else []
    while pending:
        pid = pending.pop()
        try:
            if Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[1:3] == [b"-m", b"autograder.runtime.zygote"]:
                status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
                return {k: status[k].strip() for k in ("CapEff", "CapPrm", "CapBnd", "Seccomp")}
            pending += [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        except OSError:
            continue
    return {}


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def zombies() -> int:
    """Child processes of this one that exited and were never reaped."""
    found = subprocess.run(["ps", "--ppid", str(os.getpid()), "-o", "stat="], capture_output=True, text=True)
    return sum(line.startswith("Z") for line in found.stdout.split())


def refuse_nested_user_namespaces() -> None:
    """Nest this process 31 user namespaces deep (it must be single-threaded), then start this
    script again in there: bubblewrap's two are the kernel's last (it allows 33), so no zygote's
    child can have one. The uid stays the same all the way down; exec drops the capabilities."""
    libc = ctypes.CDLL(None, use_errno=True)
    uid, gid = os.getuid(), os.getgid()
    for _ in range(31):
        if libc.unshare(0x10000000) != 0:  # CLONE_NEWUSER
            raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWUSER)")
        for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
            with open(f"/proc/self/{name}", "w") as f:
                f.write(text)
    os.execv(sys.executable, [sys.executable, __file__, "--in-nested-user-namespaces"])


def grade_where_nested_user_namespaces_are_refused() -> None:
    report = {"mode": sandbox.require()}
    with slots.slot() as slot:
        graded = [submit(slot, LEAVE_BEHIND, RELU), submit(slot, LOOK, RELU)]
    report["planted"] = planted(graded[0])
    report["seen"] = seen(graded[1])
    report["scores"] = [g["score"] for g in graded]
    report["incidents"] = [g["incidents"] for g in graded]
    report["zygotes"] = [g["zygote"] for g in graded]
    print(json.dumps(report))


def grade_until_killed() -> None:
    """Grade, warm, a submission that starts a process (MARK) and loops, and wait to be killed."""
    looping = f"import subprocess\nsubprocess.Popen({MARK.split()!r}, start_new_session=True)\nwhile True:\n    pass\n"
    with slots.slot() as slot:
        threading.Thread(target=submit, args=(slot, looping), daemon=True).start()
        print(MARK, flush=True)
        threading.Event().wait()


def main() -> None:
    report = {"mode": sandbox.require(), "grader_secret_readable_outside": keep_a_grader_secret()}
    with slots.slot() as slot:
        report["slot"] = slot
        report["uid_of_slot"] = sandbox.isolation.slot_uid(slot)
        first = submit(slot, LEAVE_BEHIND, RELU)
        report["leave_behind"] = {"printed": first["printed"][0], "score": first["score"], "zygote": first["zygote"],
                                  "planted": planted(first)}
        fds_when_warm = open_fds()
        report["leftovers"] = leftovers()
        looks = [submit(slot, LOOK, RELU) for _ in range(2)]
        report["looks"] = [seen(look) for look in looks]
        report["look_zygotes"] = [look["zygote"] for look in looks]
        report["zygote_status"] = zygote_status(looks[-1]["zygote"])
        report["look_scores"] = [look["score"] for look in looks]
        crashed = submit(slot, "import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n", RELU)
        report["crash"] = {"incidents": crashed["incidents"], "zygote": crashed["zygote"]}
        after_crash = submit(slot, RELU, "pass")
        report["after_crash"] = {"score": after_crash["score"], "zygote": after_crash["zygote"]}
        if after_crash["zygote"]:
            os.killpg(after_crash["zygote"], signal.SIGKILL)  # the zygote dies between two submissions
        restarted = submit(slot, RELU, "pass")
        report["after_zygote_died"] = {"score": restarted["score"], "zygote": restarted["zygote"]}
        # A zygote started for a grading thread that then ends serves the next thread on its slot.
        if restarted["zygote"]:
            os.killpg(restarted["zygote"], signal.SIGKILL)
        in_thread: dict = {}
        worker = threading.Thread(target=lambda: in_thread.update(submit(slot, RELU, "pass")))
        worker.start()
        worker.join()
        after_thread = submit(slot, RELU, "pass")
        report["after_thread_ended"] = {"zygote_of_thread": in_thread.get("zygote"), "zygote": after_thread["zygote"],
                                        "scores": [in_thread.get("score"), after_thread["score"]]}
        # One warm zygote now as after the first submission: nothing of the seven since is still open.
        report["fds"] = {"warm": fds_when_warm, "after": open_fds(), "zombies": zombies()}
    prewarm.stop_all()
    print(json.dumps(report))


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if "--nested-user-namespaces-refused" in sys.argv:
        refuse_nested_user_namespaces()
    elif "--in-nested-user-namespaces" in sys.argv:
        grade_where_nested_user_namespaces_are_refused()
    elif "--until-killed" in sys.argv:
        grade_until_killed()
    else:
        main()
