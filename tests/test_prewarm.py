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
from pathlib import Path

import pytest

from autograder import sandbox

ROOT = Path(__file__).resolve().parents[1]
PROBE = ROOT / "tests" / "prewarm_probe.py"
ENV = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "MPLBACKEND": "Agg", "OPENBLAS_NUM_THREADS": "1"}
pytestmark = pytest.mark.skipif(sandbox.mode() not in ("root", "rootless"), reason="needs bubblewrap")


def probe(as_user: str | None = None, **env) -> dict:
    if as_user is None:
        result = subprocess.run([sys.executable, str(PROBE)], capture_output=True, text=True, timeout=300,
                                env={**ENV, **env}, cwd=ROOT)
    else:
        work = Path(tempfile.mkdtemp(prefix="tdn-prewarm-"))
        os.chmod(work, 0o755)
        shutil.copy(PROBE, work / PROBE.name)  # the probe finds the repository through its own path
        script = (work / PROBE.name)
        script.write_text(script.read_text().replace("Path(__file__).resolve().parents[1]", repr(str(ROOT))))
        script.chmod(0o644)
        result = subprocess.run(["su", as_user, "-s", "/bin/sh", "-c", f"cd {work} && {sys.executable} {script}"],
                                capture_output=True, text=True, timeout=300, env={**ENV, **env})
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def as_root():
    if os.geteuid() != 0:
        pytest.skip("this account is not root; the rootless proof covers it")
    return probe()


@pytest.fixture(scope="module")
def rootless(traversable_interpreter):
    if os.geteuid() != 0 or shutil.which("su") is None:
        pytest.skip("needs root to create the ordinary account")
    from accounts import ordinary_account

    return probe(ordinary_account("tdn-instructor"))


@pytest.fixture(params=["as_root", "rootless"])
def report(request):
    return request.getfixturevalue(request.param)


def test_the_probe_ran_in_the_mode_it_proves(as_root, rootless):
    assert (as_root["mode"], rootless["mode"]) == ("root", "rootless")


def test_the_submission_that_leaves_things_behind_really_did_so(report):
    # Otherwise the proofs below would prove nothing: its writes to shipped files failed, its
    # background process was running when its cell ended, and it still graded.
    printed = report["leave_behind"]["printed"]
    assert "DONE" not in printed and "LEFTOVER running" in printed
    assert report["leave_behind"]["score"] == 1.0


def test_later_submissions_come_from_the_same_warm_zygote(report):
    assert report["leave_behind"]["zygote"] is not None
    assert report["look_zygotes"] == [report["leave_behind"]["zygote"]] * 2


def test_no_file_of_one_submission_is_seen_by_the_next_and_shipped_files_stay_as_shipped(report):
    for seen in report["looks"]:
        assert seen["files"] == [] and seen["shipped"] == "as shipped"


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


def test_without_a_zygote_every_submission_gets_a_cold_sandbox_with_the_same_guarantees():
    cold = probe(TDN_PREWARM="0")
    assert cold["leave_behind"]["zygote"] is None and cold["look_zygotes"] == [None, None]
    for seen in cold["looks"]:
        assert seen["files"] == [] and seen["env"] is None and seen["shipped"] == "as shipped"
    assert "SIGSEGV" in cold["crash"]["incidents"]["0"] and cold["after_crash"]["score"] == 1.0
