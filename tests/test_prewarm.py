"""Pre-warmed sandboxes: one submission cannot see or change anything a later one sees, a child
that dies costs its own submission only, and a zygote that dies is replaced.

Each proof runs `tests/prewarm_probe.py` in a process of its own, as root and as an ordinary
account (the rootless sandbox), so both ways a zygote isolates its children are held to it.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from autograder import sandbox

ROOT = Path(__file__).resolve().parents[1]
PROBE = ROOT / "tests" / "prewarm_probe.py"
ENV = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "MPLBACKEND": "Agg", "OPENBLAS_NUM_THREADS": "1"}
pytestmark = pytest.mark.skipif(sandbox.mode() not in ("root", "rootless"), reason="needs bubblewrap")


def probe(as_user: str | None = None, *args: str, **env) -> dict:
    if as_user is None:
        result = subprocess.run([sys.executable, str(PROBE), *args], capture_output=True, text=True, timeout=300,
                                env={**ENV, **env}, cwd=ROOT)
    else:
        work = Path(tempfile.mkdtemp(prefix="tdn-prewarm-"))
        os.chmod(work, 0o755)
        shutil.copy(PROBE, work / PROBE.name)  # the probe finds the repository through its own path
        script = (work / PROBE.name)
        script.write_text(script.read_text().replace("Path(__file__).resolve().parents[1]", repr(str(ROOT))))
        script.chmod(0o644)
        command = f"cd {work} && {sys.executable} {script} {' '.join(args)}"
        result = subprocess.run(["su", as_user, "-s", "/bin/sh", "-c", command],
                                capture_output=True, text=True, timeout=300, env={**ENV, **env})
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def as_root():
    if os.geteuid() != 0:
        pytest.skip("this account is not root; the rootless proof covers it")
    return probe()


def ordinary() -> str:
    if os.geteuid() != 0 or shutil.which("su") is None:
        pytest.skip("needs root to create the ordinary account")
    from accounts import ordinary_account

    return ordinary_account("tdn-instructor")


@pytest.fixture(scope="module")
def rootless(traversable_interpreter):
    return probe(ordinary())


@pytest.fixture(params=["as_root", "rootless"])
def report(request):
    return request.getfixturevalue(request.param)


def test_the_probe_ran_in_the_mode_it_proves(as_root, rootless):
    assert (as_root["mode"], rootless["mode"]) == ("root", "rootless")


def test_the_submission_that_leaves_things_behind_really_did_so(report):
    # Otherwise the proofs below would prove nothing: its writes to shipped files failed, its
    # background processes were running when its cell ended (the nested one where this machine
    # gives an unprivileged process a user namespace), what it may write it wrote, its SysV
    # segment was made, and it still graded.
    printed, planted = report["leave_behind"]["printed"], report["leave_behind"]["planted"]
    assert "DONE" not in printed and "LEFTOVER running" in printed and "NESTED not started" not in printed
    writable = ("/tmp/planted", "/submission/planted", "~/planted.txt", "/dev/shm/planted")
    assert {path: planted[path] for path in writable} == dict.fromkeys(writable, "written")
    assert planted["shared memory"] == "A"
    assert report["leave_behind"]["score"] == 1.0


def test_later_submissions_come_from_the_same_warm_zygote(report):
    assert report["leave_behind"]["zygote"] is not None
    assert report["look_zygotes"] == [report["leave_behind"]["zygote"]] * 2


def test_no_file_of_one_submission_is_seen_by_the_next_and_shipped_files_stay_as_shipped(report):
    for seen in report["looks"]:
        assert seen["files"] == [] and seen["shipped"] == "as shipped"


def shared_paths() -> list[str]:
    """Where a planted file would be shared: the root, /dev, and the folder above the Python
    environment, unless that lies in /tmp, which is each submission's own."""
    above = Path(sys.prefix).parent / "planted"
    return ["/planted", "/dev/planted"] + ([] if str(above).startswith("/tmp/") else [str(above)])


def test_what_every_child_of_a_zygote_shares_is_read_only_to_a_submission(report):
    # Rootless, a child owns the zygote's root, its /dev and the directories bubblewrap made above
    # the Python environment: were they writable, a file there would wait for the next submission.
    planted = report["leave_behind"]["planted"]
    shared = shared_paths()
    assert {path: planted[path] for path in shared} == dict.fromkeys(shared, "OSError")  # EROFS


def test_no_sysv_ipc_object_of_one_submission_is_seen_by_the_next(report):
    assert [seen["shared memory"] for seen in report["looks"]] == [None, None]


def test_kernel_keyrings_are_refused_so_no_key_carries_over_and_the_graders_stay_out_of_reach(report):
    # A uid's user keyring outlives every process (as root, the slot's uid is the same for the next
    # submission); a session keyring is shared by every process that inherited it, the grader's too.
    assert report["grader_secret_readable_outside"]
    planted = report["leave_behind"]["planted"]
    assert (planted["user key"], planted["session key"]) == ("Function not implemented",) * 2
    for seen in report["looks"]:
        assert seen["keys"] == [None, None] and seen["grader secret"] is None


def test_a_root_zygote_holds_only_the_capabilities_its_children_need_and_the_syscall_filter(as_root):
    numbers = {"CAP_SETGID": 6, "CAP_SETUID": 7, "CAP_SETPCAP": 8, "CAP_SYS_ADMIN": 21}
    expected = sum(1 << numbers[name] for name in sandbox.isolation.ZYGOTE_CAPABILITIES)
    status = as_root["zygote_status"]
    assert int(status["CapEff"], 16) == int(status["CapPrm"], 16) == expected
    assert status["Seccomp"] == "2"  # a filter


def test_no_file_descriptor_or_zombie_of_the_grader_is_left_per_submission(report):
    # Seven submissions after the first (a crash, zygotes killed and replaced, a thread, among them).
    assert report["fds"]["after"] == report["fds"]["warm"] and report["fds"]["zombies"] == 0


def test_environment_modules_and_library_patches_do_not_carry_over(report):
    for seen in report["looks"]:
        assert seen["env"] is None and not seen["module"]
        assert not seen["allclose_patched"] and not seen["course_patched"]


def test_random_state_is_fresh_in_every_submission(report):
    import random

    import numpy as np

    first, second = report["looks"]
    assert first["draw"] != second["draw"] and first["python_draw"] != second["python_draw"]
    assert first["draw"] != np.random.RandomState(1234).rand()  # the seed the first submission set
    assert first["python_draw"] != random.Random(1234).random()


def test_matplotlib_state_does_not_carry_over(report):
    for seen in report["looks"]:
        assert seen["linewidth"] == 1.5 and seen["figures"] == []


def test_no_process_of_a_submission_outlives_it(report):
    assert report["leftovers"] == 0
    for seen in report["looks"]:
        assert seen["pids"] == [1, 2]  # its own init and itself: nothing of the one before


def test_the_init_of_a_submissions_namespace_outlives_a_sigint_from_the_notebook(report):
    # Were it stopped, the notebook would die with it, mid-cell, with an exit code that reads as its own fault.
    assert [seen["interrupted init"] for seen in report["looks"]] == ["refused" if report["mode"] == "root" else "sent"] * 2
    assert report["look_scores"] == [1.0, 1.0]


def test_submissions_run_with_no_capabilities_and_no_new_privileges(report):
    for seen in report["looks"]:
        caps = seen["capabilities"]
        assert {k: int(v, 16) for k, v in caps.items() if k.startswith("Cap")} == \
            {"CapEff": 0, "CapPrm": 0, "CapInh": 0, "CapBnd": 0, "CapAmb": 0}
        assert caps["NoNewPrivs"] == "1"


def test_as_root_each_slot_runs_its_submissions_under_its_own_uid(as_root):
    assert all(seen["uid"] == as_root["uid_of_slot"] for seen in as_root["looks"])


def test_a_child_that_dies_costs_its_submission_only(report):
    assert "SIGSEGV" in report["crash"]["incidents"]["0"]
    assert report["crash"]["zygote"] == report["leave_behind"]["zygote"]  # the zygote lived on
    assert report["after_crash"]["score"] == 1.0


def test_a_zygote_that_dies_is_replaced_and_the_next_submission_grades(report):
    assert report["after_zygote_died"]["score"] == 1.0
    assert report["after_zygote_died"]["zygote"] not in (None, report["after_crash"]["zygote"])


def test_a_zygote_started_for_a_thread_that_ended_serves_the_next_thread_on_its_slot(report):
    # bubblewrap's --die-with-parent is about the thread that started it: a zygote must not die
    # with the grading thread that happened to need it first (under the next one's submission).
    ended = report["after_thread_ended"]
    assert ended["zygote_of_thread"] is not None and ended["zygote"] == ended["zygote_of_thread"]
    assert ended["scores"] == [1.0, 1.0]


def test_no_process_of_a_submission_outlives_its_grader_killed_in_the_middle_of_it():
    grader = subprocess.Popen([sys.executable, str(PROBE), "--until-killed"], stdout=subprocess.PIPE, text=True,
                              env=ENV, cwd=ROOT)
    mark = grader.stdout.readline().strip()
    running = lambda: subprocess.run(["pgrep", "-f", mark], capture_output=True).returncode == 0  # noqa: E731
    deadline = time.monotonic() + 60
    while not running() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert running(), "the looping submission never started its process"
    grader.kill()
    grader.wait()
    deadline = time.monotonic() + 20
    while running() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not running()


def test_without_a_zygote_every_submission_gets_a_cold_sandbox_with_the_same_guarantees():
    cold = probe(TDN_PREWARM="0")
    assert cold["leave_behind"]["zygote"] is None and cold["look_zygotes"] == [None, None]
    for seen in cold["looks"]:
        assert seen["files"] == [] and seen["env"] is None and seen["shipped"] == "as shipped"
        assert seen["shared memory"] is None and seen["keys"] == [None, None] and seen["grader secret"] is None
    assert "SIGSEGV" in cold["crash"]["incidents"]["0"] and cold["after_crash"]["score"] == 1.0


def test_where_nested_user_namespaces_are_refused_rootless_grading_falls_back_to_cold_sandboxes(traversable_interpreter):
    # 31 user namespaces deep, bubblewrap's are the kernel's last: the zygote starts, its children
    # cannot get one of their own. Grading must go on, in a cold sandbox per attempt.
    refused = probe(ordinary(), "--nested-user-namespaces-refused")
    assert refused["mode"] == "rootless"
    assert refused["scores"] == [1.0, 1.0] and refused["incidents"] == [{}, {}]
    assert refused["zygotes"] == [None, None]
    # And a cold rootless sandbox keeps what the warm ones do: its root and /dev read-only, no
    # keyring, nothing of the submission before.
    shared = shared_paths()
    assert {path: refused["planted"][path] for path in shared} == dict.fromkeys(shared, "OSError")
    assert refused["planted"]["session key"] == "Function not implemented"
    seen = refused["seen"]
    assert seen["files"] == [] and seen["shared memory"] is None and seen["keys"] == [None, None]
    assert seen["grader secret"] is None
