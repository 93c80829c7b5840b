"""Run on its own (`python tests/prewarm_probe.py`): grade, on one slot, a submission that tries to
leave something behind, then submissions that look for it, and print what each one saw as JSON.

Run as root by tests/test_prewarm.py, and as an ordinary account (the rootless sandbox), so that
both ways a zygote isolates its children are proven the same way.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
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
MARK = "sleep 301.25"  # A's leftover process, found on the host by its command line

LEAVE_BEHIND = textwrap.dedent(f"""
    import os, sys, random, subprocess
    import numpy as np, matplotlib, matplotlib.pyplot as plt
    import course
    for path in ("/tmp/planted", "/submission/planted", os.path.expanduser("~/planted.txt")):
        open(path, "w").write("A")
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
    print("TRIED", tried, "LEFTOVER", "running" if leftover.poll() is None else "not started")
""")

LOOK = textwrap.dedent("""
    import os, sys, json, random
    import numpy as np, matplotlib, matplotlib.pyplot as plt
    import course
    status = dict(line.split(":", 1) for line in open("/proc/self/status"))
    print("SEEN" + json.dumps({
        "files": [p for p in ("/tmp/planted", "/submission/planted", os.path.expanduser("~/planted.txt"))
                  if os.path.exists(p)],
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
        "capabilities": {k: status[k].strip() for k in ("CapEff", "CapPrm", "CapInh", "CapBnd", "CapAmb", "NoNewPrivs")},
    }))
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


def leftovers() -> int:
    found = subprocess.run(["pgrep", "-f", MARK], capture_output=True, text=True)
    return len(found.stdout.split())


def main() -> None:
    report = {"mode": sandbox.require()}
    with slots.slot() as slot:
        report["slot"] = slot
        report["uid_of_slot"] = sandbox.isolation.slot_uid(slot)
        first = submit(slot, LEAVE_BEHIND, RELU)
        report["leave_behind"] = {"printed": first["printed"][0], "score": first["score"], "zygote": first["zygote"]}
        report["leftovers"] = leftovers()
        looks = [submit(slot, LOOK, RELU) for _ in range(2)]
        report["looks"] = [seen(look) for look in looks]
        report["look_zygotes"] = [look["zygote"] for look in looks]
        report["look_scores"] = [look["score"] for look in looks]
        crashed = submit(slot, "import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n", RELU)
        report["crash"] = {"incidents": crashed["incidents"], "zygote": crashed["zygote"]}
        after_crash = submit(slot, RELU, "pass")
        report["after_crash"] = {"score": after_crash["score"], "zygote": after_crash["zygote"]}
        if after_crash["zygote"]:
            os.killpg(after_crash["zygote"], signal.SIGKILL)  # the zygote dies between two submissions
        restarted = submit(slot, RELU, "pass")
        report["after_zygote_died"] = {"score": restarted["score"], "zygote": restarted["zygote"]}
    prewarm.stop_all()
    print(json.dumps(report))


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    main()
