"""Grading on a Dask cluster whose workers share no file system with the instructor: a scheduler
and two workers started as separate processes, as an ordinary account, each in an empty folder
that cannot read the course; one worker is killed in the middle of the run."""
from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from autograder import sandbox
from autograder.commands.cli import main
from autograder.commands.courses import DEFAULT_COURSE, copy_course
from autograder.demo import synthetic
from autograder.grading import nbgrader_cli, pipeline
from autograder.spec import registry

A = "a4_regularization"
MAX = float(sum(i.points for i in registry.graded(A)))
pytestmark = [pytest.mark.xdist_group("cluster"),
              pytest.mark.skipif(os.geteuid() != 0 or shutil.which("bwrap") is None or shutil.which("dask") is None
                                 and not (Path(sys.executable).parent / "dask").exists(),
                                 reason="needs root (to make the workers' account), bubblewrap and dask")]
DASK = str(Path(sys.executable).parent / "dask")


def _user() -> str:
    from accounts import ordinary_account

    return ordinary_account("tdn-worker")


def _as(user: str, command: list[str], cwd: Path) -> subprocess.Popen:
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": pwd.getpwnam(user).pw_dir,
           "OPENBLAS_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    return subprocess.Popen(["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups", *command], cwd=cwd, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


@pytest.fixture
def cluster(traversable_interpreter):
    user = _user()
    top = Path(tempfile.mkdtemp(prefix="tdn-cluster-"))
    os.chmod(top, 0o755)
    folders = [top / name for name in ("scheduler", "worker-1", "worker-2")]
    for folder in folders:
        folder.mkdir()
        shutil.chown(folder, user)
    scheduler_file = folders[0] / "scheduler.json"
    processes = [_as(user, [DASK, "scheduler", "--host", "127.0.0.1", "--no-dashboard", "--scheduler-file", str(scheduler_file)],
                     folders[0])]
    for deadline in range(200):
        if scheduler_file.exists() and scheduler_file.read_text().strip():
            break
        time.sleep(0.1)
    address = json.loads(scheduler_file.read_text())["address"]
    for folder in folders[1:]:
        processes.append(_as(user, [DASK, "worker", address, "--nthreads", "1", "--nworkers", "1", "--no-dashboard",
                                    "--local-directory", str(folder)], folder))
    from dask.distributed import Client

    with Client(address, timeout=60) as client:
        client.wait_for_workers(2, timeout=120)
    yield address, processes[1:]
    for process in processes:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()
    shutil.rmtree(top, ignore_errors=True)


def test_a_cluster_without_the_course_grades_everyone_once_when_a_worker_dies(cluster, tmp_path):
    address, workers = cluster
    course = copy_course(DEFAULT_COURSE, tmp_path / "private" / "course")
    os.chmod(tmp_path / "private", 0o700)  # the workers' account cannot read anything of the course
    assert main(["generate", A, "--course", str(course)]) == 0
    source, release = course / "source" / A / f"{A}.ipynb", course / "release" / A / f"{A}.ipynb"
    synthetic.write(synthetic.reference(source), course, "ada", A)
    students = ["ada"] + [f"blank-{i}" for i in range(5)]
    for student in students[1:]:
        synthetic.write(synthetic.blank(release), course, student, A)

    result = {}
    grading = threading.Thread(target=lambda: result.update(outcomes=pipeline.grade_assignment(
        course, A, scheduler=address, limits=sandbox.Limits(cell_seconds=60, submission_seconds=300), progress=False)))
    grading.start()
    autograded = course / "autograded"
    for _ in range(1200):
        if len(list(autograded.glob(f"*/{A}/{A}.ipynb"))) >= 1 or not grading.is_alive():
            break
        time.sleep(0.1)
    os.killpg(workers[0].pid, signal.SIGKILL)  # a worker dies while submissions are still running
    grading.join(timeout=900)
    outcomes = {o.student: o for o in result["outcomes"]}
    assert sorted(outcomes) == students
    assert {s: o.status for s, o in outcomes.items()} == {s: "graded" for s in students}, {s: o.message for s, o in outcomes.items()}
    assert outcomes["ada"].score == MAX and all(outcomes[s].score == 0 for s in students[1:])
    with Gradebook(nbgrader_cli.gradebook_url(course)) as gb:
        assert sorted(s.id for s in gb.students) == students
        assert gb.find_submission(A, "ada").code_score == MAX


def test_a_worker_whose_runtime_differs_refuses_to_grade():
    with pytest.raises(pipeline.RuntimeSkew, match="install the same version"):
        pipeline.execute_job({"cells": []}, {}, sandbox.Limits().as_dict(), fingerprint="not-this-runtime")
