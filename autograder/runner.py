"""The process that runs one submission's cells inside the sandbox: `python -m autograder.runner JOB`.

It replaces a Jupyter kernel: an IPython shell in this very process executes the cells in order
(magics and rich display work as in a notebook), with no ZeroMQ, no kernel start-up and nothing
listening. For each hidden test cell it runs the probe against the notebook's namespace and
records the outputs (`autograder.recording`); it never sees the reference or a score.

It speaks to the grader over its original stdout, one JSON object per line:
  {"cell": i, "status": "started"}
  {"cell": i, "status": "done", "outputs": [...nbformat outputs...]}            a code cell
  {"cell": i, "status": "done", "check": "...", "runs": [...]}                    a test cell
  {"finished": true}
File descriptors 1 and 2 are pointed at /dev/null first, so nothing the student's code writes at
the OS level (or through C extensions) can corrupt the protocol. Everything it reports is
untrusted by the grader anyway.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import traceback

MAX_TEXT = 20_000  # characters kept per stream per cell: one 10 MB line is still cut


class CellTimeout(Exception):
    pass


def _alarm(signum, frame):
    raise CellTimeout("this cell ran longer than its time limit")


def _truncate(text: str) -> str:
    if len(text) <= MAX_TEXT:
        return text
    return text[:MAX_TEXT] + f"\n... [output truncated: {len(text) - MAX_TEXT} more characters]\n"


def _outputs(captured, result) -> list[dict]:
    outputs = []
    for name, text in (("stdout", captured.stdout), ("stderr", captured.stderr)):
        if text:
            outputs.append({"output_type": "stream", "name": name, "text": _truncate(text)})
    for rich in captured.outputs[:20]:
        data = {k: (_truncate(v) if isinstance(v, str) else v) for k, v in rich.data.items()
                if k in ("text/plain", "text/html", "image/png", "text/markdown", "text/latex")}
        if sum(len(str(v)) for v in data.values()) < 2_000_000:
            outputs.append({"output_type": "display_data", "data": data, "metadata": {}})
    error = result.error_before_exec or result.error_in_exec
    if error is not None:
        # Only the notebook's own frames: the IPython machinery around them is noise to a student.
        frames = [f for f in traceback.extract_tb(error.__traceback__) if "site-packages" not in f.filename]
        lines = traceback.format_list(frames[-5:]) + traceback.format_exception_only(type(error), error)
        outputs.append({"output_type": "error", "ename": type(error).__name__, "evalue": _truncate(str(error))[:2000],
                        "traceback": [_truncate("".join(lines))]})
    return outputs


def main(job_path: str) -> int:
    protocol = os.fdopen(os.dup(1), "w", buffering=1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)

    def emit(message: dict) -> None:
        protocol.write(json.dumps(message) + "\n")
        protocol.flush()

    try:
        with open(job_path) as f:
            job = json.load(f)
        return _serve(job, emit)
    except Exception:  # noqa: BLE001 - the grader reports it; stderr goes nowhere
        emit({"fatal": traceback.format_exc()[-3000:]})
        return 1


def _serve(job: dict, emit) -> int:
    # A writable matplotlib cache, seeded from the grader's, so no font scan runs per submission.
    if os.environ.get("TDN_MPL_SEED") and os.path.isdir(os.environ["TDN_MPL_SEED"]):
        shutil.copytree(os.environ["TDN_MPL_SEED"], os.environ["MPLCONFIGDIR"], dirs_exist_ok=True)

    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    from autograder.probes import load_all
    from autograder.recording import execute, runs_to_json

    probes = load_all()
    shell = InteractiveShell.instance()
    shell._showtraceback = lambda etype, evalue, stb: None  # errors are reported as structured outputs
    shell.enable_gui = lambda gui=None: None  # `%matplotlib inline` needs no event loop here
    signal.signal(signal.SIGALRM, _alarm)
    skip = set(job.get("skip", []))
    for cell in job["cells"]:
        index = cell["index"]
        if index in skip:
            continue
        emit({"cell": index, "status": "started"})
        if cell["kind"] == "test":
            runs = execute(probes[cell["check"]], shell.user_ns)
            emit({"cell": index, "status": "done", "check": cell["check"], "runs": runs_to_json(runs)})
            continue
        signal.setitimer(signal.ITIMER_REAL, float(job["cell_timeout"]))
        try:
            with capture_output() as captured:
                result = shell.run_cell(cell["source"], store_history=True)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        emit({"cell": index, "status": "done", "outputs": _outputs(captured, result)})
    emit({"finished": True})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
