"""The sandbox on its own: what a submission can see and do, the protocol, slots, and the
non-root path. Small jobs run straight through `sandbox.run_cells`, without a course."""
from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np
import pytest

from autograder import sandbox
from autograder.grading.judge import assess
from autograder.grading.runs import read_run
from autograder.runtime import wire
from autograder.sandbox import isolation, slots, staging
from autograder.sandbox.supervisor import Violation, _State, Execution
from autograder.spec.checks import load_all

ROOT = Path(__file__).resolve().parents[1]
LIMITS = sandbox.Limits(cell_seconds=20, submission_seconds=120)
ISOLATED = sandbox.mode() in ("root", "rootless")
needs_isolation = pytest.mark.skipif(not ISOLATED, reason="needs bubblewrap")

RELU = "import numpy as np\ndef relu_forward(x):\n    return np.maximum(x, 0), x\n"


def cases_of(check_id: str) -> list[dict]:
    return [{"inputs": wire.encode(c.inputs), "seconds": c.seconds} for c in load_all()[check_id].cases()]


def job(*sources: str, test: str | None = "relu_forward") -> dict:
    cells = [{"index": i, "kind": "code", "source": s} for i, s in enumerate(sources)]
    if test:
        cells.append({"index": len(cells), "kind": "test", "check": test, "driver": load_all()[test].driver_name})
    return {"cells": cells}


def run(j: dict, check: str = "relu_forward"):
    with slots.slot() as number:
        return sandbox.run_cells(j, {check: cases_of(check)}, staging.runtime(), LIMITS, number)


def printed(execution, index: int) -> str:
    return "".join(o.get("text", "") for o in execution.outputs.get(index, []) if o.get("output_type") == "stream")


def score(execution, index: int, check: str = "relu_forward") -> float:
    runs = [None if r is None else read_run(r) for r in execution.runs[index]]
    return assess(load_all()[check], runs, 1).score


PROBE_VIEW = textwrap.dedent(f"""
    import os, importlib
    for name in ("solutions", "autograder.spec", "autograder.grading", "autograder.spec.mistakes"):
        try:
            importlib.import_module(name)
            print("IMPORTED", name)
        except Exception as err:
            print("refused", name, type(err).__name__)
    import torch
    try:
        torch.zeros(3)
        print("TORCH WORKS")
    except Exception as err:
        print("torch:", type(err).__name__, err)
    # Directories above the mounted Python environment exist as empty skeletons; nothing else of them.
    for path in {[str(ROOT / p) for p in ("solutions", "assignments", "autograder", "course", "README.md")]
                 + [str(Path.home() / ".bashrc"), str(Path.home() / ".profile")]!r}:
        print("VISIBLE" if os.path.exists(path) else "absent", path)
    print("torch files:", len(os.listdir({isolation.hidden_paths()[0] if isolation.hidden_paths() else '/nonexistent'!r})))
""")


@needs_isolation
def test_the_sandbox_holds_no_reference_no_checks_no_usable_torch_and_no_course():
    execution = run(job(PROBE_VIEW, RELU))
    text = printed(execution, 0)
    assert "IMPORTED" not in text and "TORCH WORKS" not in text, text
    assert "FrameworkUnavailable" in text and "NumPy" in text
    assert "VISIBLE" not in text, text
    assert "torch files: 0" in text
    assert score(execution, 2) == 1  # and a correct relu_forward next to it still earns its point


def test_hidden_inputs_are_nowhere_in_the_sandbox_before_their_test_cell():
    look = textwrap.dedent("""
        import gc, os, sys, numpy as np
        big = [o for o in gc.get_objects() if isinstance(o, np.ndarray) and o.size >= 20]
        print("arrays", len(big), "files", sorted(os.listdir(".")), "stdin", sys.stdin.read() if not sys.stdin.isatty() else "")
    """)
    execution = run(job(look, RELU))
    assert printed(execution, 0).startswith("arrays 0 files [] stdin"), printed(execution, 0)
    assert score(execution, 2) == 1


FORGERIES = {
    "fatal": "os.write(fd, b'{\"fatal\": \"forged\"}\\n')",
    "nesting": "os.write(fd, b'[' * 200000 + b'\\n')",
    "finished": "os.write(fd, b'{\"finished\": true}\\n')",
    "done-for-a-later-cell": "os.write(fd, b'{\"cell\": 2, \"status\": \"done\"}\\n')",
    "forged-run": "os.write(fd, b'{\"cell\": 2, \"case\": 0, \"run\": {\"outputs\": {}, \"error\": null, \"mutated\": []}}\\n')",
    "not-json": "os.write(fd, b'\\xff\\xfe garbage\\n')",
}


@pytest.mark.parametrize("kind", sorted(FORGERIES))
def test_a_forged_protocol_message_costs_its_cell_and_nothing_else(kind):
    forge = "import os\nfd = [int(f) for f in os.listdir('/proc/self/fd') if int(f) > 2 and os.path.exists(f'/proc/self/fd/{f}')]\n"
    forge += "for fd in fd:\n    try:\n        " + FORGERIES[kind] + "\n    except OSError:\n        pass\n"
    execution = run(job(RELU, forge))
    assert "grading of this cell was stopped" in execution.incidents.get(1, ""), execution.incidents
    assert score(execution, 2) == 1  # the restart ran past the forger: the test after it is intact


@needs_isolation
def test_a_cell_that_closes_the_graders_channel_and_runs_on_costs_that_cell_only():
    hang_up = "import os, time\nfor fd in range(3, 64):\n    try:\n        os.close(fd)\n    except OSError:\n        pass\ntime.sleep(60)\n"
    execution = run(job(RELU, hang_up))
    assert "closed its channel to the grader" in execution.incidents.get(1, ""), execution.incidents
    assert score(execution, 2) == 1  # stopped at once, not at the cell's time limit, and restarted past it


def test_a_case_past_its_budget_is_stopped_from_outside_even_when_the_signal_is_blocked():
    slow = "import signal, time\nimport numpy as np\n" \
           "def relu_forward(x):\n    signal.setitimer(signal.ITIMER_PROF, 0)\n    signal.signal(signal.SIGPROF, signal.SIG_IGN)\n" \
           "    while True:\n        pass\n    return np.maximum(x, 0), x\n"
    cases = cases_of("relu_forward")[:2]
    for case in cases:
        case["seconds"] = 0.5
    with slots.slot() as number:
        execution = sandbox.run_cells(job(slow), {"relu_forward": cases}, staging.runtime(),
                                      sandbox.Limits(cell_seconds=20, submission_seconds=60, case_grace_seconds=1,
                                                     case_wall_factor=1), number)
    runs = [read_run(r) for r in execution.runs[1]]
    assert all(r.error and "budget" in r.error for r in runs), runs
    assert execution.seconds < 30


def test_a_message_out_of_order_is_a_violation_not_a_crash():
    cells = job(RELU)["cells"]
    state = _State(cells, {"relu_forward": cases_of("relu_forward")}, Execution(), channel=type("C", (), {"send": lambda *a: None, "send_raw": lambda *a: None})())
    with pytest.raises(Violation):
        state.receive({"cell": 1, "status": "started"})  # cell 0 comes first
    state = _State(cells, {"relu_forward": cases_of("relu_forward")}, Execution(), channel=type("C", (), {"send": lambda *a: None, "send_raw": lambda *a: None})())
    state.receive({"cell": 0, "status": "started"})
    state.receive({"cell": 0, "status": "done", "outputs": []})
    state.receive({"cell": 1, "status": "started"})
    state.receive({"cell": 1, "case": 0, "run": {"outputs": None, "error": "x", "mutated": []}})
    with pytest.raises(Violation):
        state.receive({"cell": 1, "case": 0, "run": {"outputs": None, "error": "again", "mutated": []}})  # a case twice


def test_slot_locks_refuse_a_symlink_and_a_directory_of_someone_else(tmp_path):
    target = tmp_path / "elsewhere"
    target.write_text("precious")
    base = tmp_path / "slots"
    base.mkdir(mode=0o700)
    (base / "0.lock").symlink_to(target)
    with pytest.raises(slots.SlotError), slots.slot(base):
        pass
    assert target.read_text() == "precious"
    link = tmp_path / "linked-slots"
    link.symlink_to(base)
    with pytest.raises(slots.SlotError), slots.slot(link):
        pass


def test_without_isolation_grading_refuses_unless_insecure(monkeypatch):
    monkeypatch.setattr(isolation, "_bwrap_works", lambda: False)
    with pytest.raises(isolation.SandboxUnavailable, match="insecure"):
        isolation.require()
    assert isolation.require(insecure=True) == "insecure"
    assert "NO ISOLATION" in isolation.describe(insecure=True)


# ------------------------------------------------------------------ an instructor who is not root

def ordinary_user() -> str:
    from accounts import ordinary_account

    return ordinary_account("tdn-instructor")


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("bwrap") is None, reason="needs root to create the user, and bubblewrap")
def test_an_ordinary_account_grades_in_a_rootless_sandbox_that_hides_its_home(traversable_interpreter):
    user = ordinary_user()
    tmp_path = Path(tempfile.mkdtemp(prefix="tdn-rootless-"))
    home = Path(pwd.getpwnam(user).pw_dir)
    (home / "secret.txt").write_text("instructor's own file")
    shutil.chown(home / "secret.txt", user)
    work = tmp_path / "work"
    work.mkdir()
    script = work / "grade.py"
    script.write_text(textwrap.dedent(f"""
        import json, sys
        sys.path.insert(0, {str(ROOT)!r})
        from autograder import sandbox
        from autograder.sandbox import slots, staging
        from autograder.runtime import wire
        from autograder.spec.checks import load_all
        mode = sandbox.require()
        look = "import os\\nprint('home', os.path.exists({str(home / 'secret.txt')!r}), os.getuid())\\n"
        relu = {RELU!r}
        cells = [{{"index": 0, "kind": "code", "source": look}}, {{"index": 1, "kind": "code", "source": relu}},
                 {{"index": 2, "kind": "test", "check": "relu_forward", "driver": "relu_forward"}}]
        cases = {{"relu_forward": [{{"inputs": wire.encode(c.inputs), "seconds": c.seconds}} for c in load_all()["relu_forward"].cases()]}}
        with slots.slot() as n:
            ex = sandbox.run_cells({{"cells": cells}}, cases, staging.runtime(), sandbox.Limits(cell_seconds=20, submission_seconds=120), n)
        print(json.dumps({{"mode": mode, "out": ex.outputs.get(0), "runs": ex.runs.get(2), "incidents": ex.incidents}}))
    """))
    os.chmod(work, 0o755)
    os.chmod(tmp_path, 0o755)
    shutil.chown(work, user)
    result = subprocess.run(["su", user, "-s", "/bin/sh", "-c", f"cd {work} && {sys.executable} {script}"],
                            capture_output=True, text=True, timeout=300, env={"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr[-3000:]
    data = json.loads(result.stdout.strip().splitlines()[-1])
    assert data["mode"] == "rootless"
    text = "".join(o.get("text", "") for o in data["out"])
    assert text.startswith("home False"), text
    runs = [read_run(r) for r in data["runs"]]
    assert assess(load_all()["relu_forward"], runs, 1).score == 1


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("bwrap") is None, reason="needs root to create the user, and bubblewrap")
def test_an_ordinary_account_runs_generate_and_grade_from_the_command_line(traversable_interpreter):
    from autograder.commands.courses import DEFAULT_COURSE, copy_course
    from autograder.demo import synthetic

    user = ordinary_user()
    top = Path(tempfile.mkdtemp(prefix="tdn-rootless-course-"))
    course = copy_course(DEFAULT_COURSE, top / "course")
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": pwd.getpwnam(user).pw_dir,
           "MPLBACKEND": "Agg", "OPENBLAS_NUM_THREADS": "1"}
    subprocess.run(["chown", "-R", user, str(top)], check=True)
    os.chmod(top, 0o755)

    def as_user(*args):
        return subprocess.run(["su", user, "-s", "/bin/sh", "-c", " ".join(args)], capture_output=True, text=True,
                              timeout=600, env=env, cwd=course)

    generated = as_user(sys.executable, "-m", "autograder", "generate", "a4_regularization")
    assert generated.returncode == 0, generated.stderr[-2000:]
    release = course / "release" / "a4_regularization" / "a4_regularization.ipynb"
    synthetic.write(synthetic.blank(release), course, "blank", "a4_regularization")
    subprocess.run(["chown", "-R", user, str(course / "submitted")], check=True)
    graded = as_user(sys.executable, "-m", "autograder", "grade", "a4_regularization", "--jobs", "1")
    assert graded.returncode == 0, graded.stdout[-2000:] + graded.stderr[-2000:]
    assert "rootless" in graded.stdout and "blank" in graded.stdout and "0/9" in graded.stdout, graded.stdout


def test_a_case_budget_is_cpu_time_so_a_sleeping_or_starved_case_is_not_charged():
    # Wall time spent not running (a busy neighbour, here a sleep) does not count against a case.
    napping = "import time\nimport numpy as np\ndef relu_forward(x):\n    time.sleep(1.5)\n    return np.maximum(x, 0), x\n"
    cases = cases_of("relu_forward")[:1]
    cases[0]["seconds"] = 1.0
    with slots.slot() as number:
        execution = sandbox.run_cells(job(napping), {"relu_forward": cases}, staging.runtime(), LIMITS, number)
    run = read_run(execution.runs[1][0])
    assert run.error is None and run.outputs["out"].shape == (4, 5)


def test_a_symlink_left_in_the_submission_folder_cannot_make_the_grader_write_on_the_host(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    attack = (f"import os\nfor name in os.listdir('.'):\n    try:\n        os.remove(name)\n    except OSError as err:\n"
              f"        print('kept', name, type(err).__name__)\n    try:\n        os.symlink({str(victim)!r}, name)\n"
              f"    except OSError:\n        pass\nos._exit(1)\n")
    j = {**job(attack, RELU), "files": [("data.txt", b"shipped data")]}
    with slots.slot() as number:
        execution = sandbox.run_cells(j, {"relu_forward": cases_of("relu_forward")}, staging.runtime(), LIMITS, number)
    assert execution.restarts >= 1  # the restart that used to rewrite the shipped files through the link
    assert victim.read_text() == "precious"
    assert score(execution, 2) == 1


def test_what_a_notebook_writes_is_capped_and_never_reaches_the_host_disk():
    fill = ("import os\nfor folder in ('/tmp', '/submission'):\n    try:\n        with open(f'{folder}/big', 'wb') as f:\n"
            "            for _ in range(40):\n                f.write(b'x' * (20 << 20))\n        print(folder, 'unbounded')\n"
            "    except OSError as err:\n        print(folder, 'capped', err.errno)\n    finally:\n"
            "        if os.path.exists(f'{folder}/big'):\n            os.remove(f'{folder}/big')\n")
    before = shutil.disk_usage("/tmp").used
    execution = run(job(fill, RELU))
    text = printed(execution, 0)
    assert "unbounded" not in text and text.count("capped") == 2, text
    assert shutil.disk_usage("/tmp").used - before < 100 << 20
