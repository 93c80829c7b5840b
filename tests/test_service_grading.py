"""The feedback service with the real sandbox and judge: its answers are `autograder grade`'s,
with nothing hidden in them, and hostile notebooks cost nothing but their own feedback.

One course copy (a4_regularization, the shortest assignment) is graded once with `autograder
grade` and once through the service, the same notebooks both times (one xdist group).
"""
from __future__ import annotations

import concurrent.futures as cf
import functools
import json
import os
import signal
import tempfile
import time
from pathlib import Path

import nbformat
import numpy as np
import pytest

from autograder import sandbox
from autograder.commands.cli import main
from autograder.commands.courses import DEFAULT_COURSE, copy_course
from autograder.demo import synthetic
from autograder.grading import pipeline
from autograder.grading.judge import reference_namespace, trusted_run
from autograder.service import tokens, verdict
from autograder.service.app import Service
from autograder.service.config import Config
from autograder.spec import registry
from autograder.spec.checks import load_all
from service_helpers import answer_of, call, send

A = "a4_regularization"
LIMITS = sandbox.Limits(cell_seconds=20, submission_seconds=240)  # as tests/test_grading.py: a busy machine cannot trip it
MAX = float(sum(i.points for i in registry.graded(A)))
pytestmark = [pytest.mark.xdist_group("service-grading"), pytest.mark.slow]

# A notebook that tries to carry the hidden inputs out through the feedback: its functions raise
# with their inputs in the message, or exit with a code computed from them.
EXFILTRATE = {
    "dropout_forward": "def dropout_forward(x, dropout_param):\n"
                       "    raise ValueError(repr(x.ravel()[:6].tolist()) + repr(dropout_param))\n",
    "dropout_backward": "import os\ndef dropout_backward(dout, cache):\n"
                        "    os._exit(int(abs(float(dout.ravel()[0])) * 1000) % 200 + 1)\n",
}


def _exfiltrating(source: Path):
    nb = synthetic.reference(source)
    for cell in nb.cells:
        names = cell.metadata.get("tdn", {}).get("solution_of", [])
        for name in names:
            if name in EXFILTRATE:
                cell.source += "\n\n" + EXFILTRATE[name]
    return nb


@functools.lru_cache(maxsize=None)
def served():
    """(course, service, notebook bytes by student, the service's answers and raw bodies, grade's outcomes)."""
    course = copy_course(DEFAULT_COURSE, Path(tempfile.mkdtemp(prefix="tdn-service-grading-")) / "course")
    assert main(["generate", A, "--course", str(course)]) == 0
    source, release = course / "source" / A / f"{A}.ipynb", course / "release" / A / f"{A}.ipynb"
    notebooks = {"ada": synthetic.reference(source), "blank": synthetic.blank(release),
                 "slip": synthetic.with_edits(source, synthetic.EDITS[A][0]),
                 "slips": synthetic.with_edits(source, synthetic.EDITS[A][1]), "exfiltrate": _exfiltrating(source)}
    for kind in ("segfault", "infinite-loop", "protocol-flood"):
        notebooks[kind] = synthetic.hostile(kind, source, release)
    sent = {student: nbformat.writes(nb).encode() for student, nb in notebooks.items()}
    for student, data in sent.items():
        path = course / "submitted" / student / A / f"{A}.ipynb"
        path.parent.mkdir(parents=True)
        path.write_bytes(data)
    outcomes = {o.student: o for o in pipeline.grade_assignment(course, A, jobs=2, limits=LIMITS, progress=False)}

    service = Service(Config(course, [A], port=0, workers=2, limits=LIMITS, warm=False)).start_background()
    keys = tokens.issue(service.store, [*sent, "bystander"])
    with cf.ThreadPoolExecutor(len(sent)) as pool:
        accepted = dict(zip(sent, pool.map(lambda s: send(service.url, keys[s], sent[s]), sent)))
    assert {s: a[0] for s, a in accepted.items()} == {s: 202 for s in sent}
    raw = {s: call(service.url, f"api/requests/{a[2]['id']}?wait=0", keys[s])[2] for s, a in accepted.items()}
    answers = {s: answer_of(service.url, keys[s], a[2]["id"], seconds=300) for s, a in accepted.items()}
    raw = {s: call(service.url, f"api/requests/{answers[s]['id']}", keys[s])[2] for s in sent}
    return course, service, keys, sent, answers, raw, outcomes


@pytest.fixture(scope="module", autouse=True)
def _stop_service():
    yield
    if served.cache_info().currsize:
        served()[1].stop()


def test_every_notebook_is_answered_and_counted_once():
    _, service, _, sent, answers, _, _ = served()
    assert {s: a["status"] for s, a in answers.items()} == {s: "answered" for s in sent}
    assert all(a["counted"] for a in answers.values())
    assert all(len(service.store.history(s)) == 1 for s in sent)


def test_the_service_answers_what_autograder_grade_gives_for_the_same_notebook():
    _, _, _, sent, answers, _, outcomes = served()
    for student, data in sent.items():
        answer, outcome = answers[student]["answer"], outcomes[student]
        assert outcome.status == "graded", (student, outcome.message)
        assert answer["score"] == outcome.score and answer["max_score"] == outcome.max_score == MAX, student
        public = verdict.public_reports(outcome.reports, verdict.Notebook(json.loads(data)["cells"]))
        assert [(f["check"], f["score"], f["feedback"]) for f in answer["functions"]] == \
            [(check, r.score, r.feedback()) for check, r in public.items()], student


def test_the_reference_earns_every_point_and_a_known_slip_is_named_with_its_hint():
    _, _, _, _, answers, _, _ = served()
    assert answers["ada"]["answer"]["score"] == MAX and answers["blank"]["answer"]["score"] == 0
    forward = next(f for f in answers["slip"]["answer"]["functions"] if f["function"] == "dropout_forward")
    assert not forward["passed"] and "not inverted" in forward["feedback"] and "x (400, 50)" in forward["feedback"]


def _hidden_numbers() -> set[str]:
    """How the hidden inputs and the reference's outputs of A would read if printed."""
    texts, checks = set(), load_all()
    for item in registry.graded(A):
        check = checks[item.check_id]
        for case in check.cases():
            arrays = [np.asarray(v) for v in case.inputs.values() if isinstance(v, np.ndarray)]
            expected = trusted_run(check, reference_namespace(), case).outputs or {}
            arrays += [np.asarray(v) for v in expected.values() if v is not None]
            for array in arrays:
                for value in np.ravel(array)[:40].astype(float):
                    for text in (repr(value), f"{value:.6g}", f"{value:.4g}"):
                        if len(text.lstrip("-")) >= 6:
                            texts.add(text)
    return texts


def test_answers_contain_no_hidden_input_expected_value_or_test_code():
    _, _, _, _, _, raw, outcomes = served()
    hidden = _hidden_numbers()
    # The scan can see a leak: graded after the deadline, the same notebooks' reports do carry them.
    after_deadline = "\n".join(r.feedback() for s in ("exfiltrate", "slips") for r in outcomes[s].reports.values())
    assert any(text in after_deadline for text in hidden)
    for student, body in raw.items():
        text = body.decode()
        # Everything but the request's own timestamps (whose digits may spell any number).
        scanned = json.dumps({k: v for k, v in json.loads(body).items() if not k.endswith("_at")})
        assert not [t for t in hidden if t in scanned], student
        for code in ("BEGIN HIDDEN TESTS", "autograder.kernel", 'grade("', "expected 0.", "dropout_param)}"):
            assert code not in text, (student, code)
    assert "its message is not shown before the deadline" in raw["exfiltrate"].decode()
    assert "raise ValueError(repr(x.ravel()[:6].tolist())" in raw["exfiltrate"].decode()  # their own line, from their notebook


@pytest.mark.parametrize("student, words", [("segfault", "SIGSEGV"), ("infinite-loop", "endless loop"),
                                            ("protocol-flood", "grader's channel")])
def test_a_notebook_that_crashes_hangs_or_floods_the_sandbox_gets_its_feedback(student, words):
    _, _, _, _, answers, _, outcomes = served()
    answer = answers[student]["answer"]
    assert any(words in note for note in answer["notes"]), answer["notes"]
    assert answer["score"] == outcomes[student].score == 0
    assert answers["ada"]["answer"]["score"] == MAX  # graded beside it, at the same time


def _sandbox_processes() -> list[int]:
    """Descendants of this process that are sandboxes (bubblewrap and what runs inside)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [os.getpid()]
    while todo:
        for pid in children.get(todo.pop(), []):
            todo.append(pid)
            try:
                command = (Path("/proc") / str(pid) / "cmdline").read_bytes()
            except OSError:
                continue
            if b"bwrap" in command or b"autograder.runtime" in command or b"zygote" in command:
                found.append(pid)
    return found


def test_the_service_survives_the_sandbox_being_killed_mid_run():
    course, service, keys, sent, _, _, _ = served()
    nb = nbformat.reads(sent["blank"].decode(), as_version=4)
    setup = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
    nb.cells.insert(setup + 1, nbformat.v4.new_code_cell("import time\ntime.sleep(30)"))
    status, _, victim = send(service.url, keys["bystander"], nbformat.writes(nb).encode())
    assert status == 202
    deadline = time.monotonic() + 60
    while (service.store.request(victim["id"])["status"] != "running" or not _sandbox_processes()) \
            and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1.0)
    killed = _sandbox_processes()
    assert killed
    for pid in killed:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    answered = answer_of(service.url, keys["bystander"], victim["id"], seconds=120)
    assert answered["status"] == "answered" and answered["answer"]["score"] == 0
    after = nbformat.reads(sent["ada"].decode(), as_version=4)
    after.cells.append(nbformat.v4.new_markdown_cell("sent after the crash"))
    _, _, again = send(service.url, keys["bystander"], nbformat.writes(after).encode())
    assert answer_of(service.url, keys["bystander"], again["id"], seconds=120)["answer"]["score"] == MAX
