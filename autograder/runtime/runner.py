"""The process that runs one submission's cells in the sandbox: `python -m autograder.runtime.runner`.

It replaces a Jupyter kernel: an IPython shell in this very process executes the cells in order
(magics and rich display work as in a notebook), with no ZeroMQ and nothing listening. It speaks
to the supervisor over two pipes, one JSON object per line.

From the supervisor (the runner's original stdin):
  {"cells": [...], "cell_timeout": s}                           the job: code cells with their
                                                                  source, test cells with a driver
  {"case": k, "inputs": ..., "seconds": s}                       one hidden case, sent only once
                                                                  its test cell has started
  {"case": null}                                                  no more cases for this cell
To the supervisor (the runner's original stdout):
  {"cell": i, "status": "started"}
  {"cell": i, "status": "done", "outputs": [...]}                 a code cell's nbformat outputs
  {"cell": i, "case": k, "run": {...}}                            a test case's recorded run
  {"cell": i, "status": "done"}                                   a test cell after its last case
  {"finished": true}

Hidden inputs are never in a file and never in this process before their test cell starts, so no
earlier cell can read them ahead of time. File descriptors 0, 1 and 2 are pointed at /dev/null
before any cell runs. Everything this process says is untrusted by the supervisor anyway.
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


def main() -> int:
    requests = os.fdopen(os.dup(0), "rb")  # bytes: a case of several MB is one line, decoded once by json
    protocol = os.fdopen(os.dup(1), "w", buffering=1)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)

    def emit(message: dict) -> None:
        protocol.write(json.dumps(message) + "\n")
        protocol.flush()

    def receive() -> dict:
        line = requests.readline()
        if not line:
            raise EOFError("the supervisor closed the pipe")
        return json.loads(line)

    try:
        return _serve(receive(), emit, receive)
    except Exception:  # noqa: BLE001 - the supervisor reports it; stderr goes nowhere
        emit({"fatal": traceback.format_exc()[-3000:]})
        return 1


def make_shell():
    """The IPython shell the cells run in (one per process). Its history lives in memory: a file
    would be one more thing to leak, and a zygote's open file would be shared by its children."""
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    return InteractiveShell.instance(config=config)


def _serve(job: dict, emit, receive) -> int:
    # A writable matplotlib cache, seeded from the grader's, so no font scan runs per submission.
    if os.environ.get("TDN_MPL_SEED") and os.path.isdir(os.environ["TDN_MPL_SEED"]):
        shutil.copytree(os.environ["TDN_MPL_SEED"], os.environ["MPLCONFIGDIR"], dirs_exist_ok=True)

    from IPython.utils.capture import capture_output

    from autograder.runtime import no_torch, wire
    from autograder.runtime.drivers import load_all
    from autograder.runtime.recorder import record

    # Everything the loop below calls is bound here, before any student code can patch a module.
    drivers, decode = dict(load_all()), wire.decode
    no_torch.install()
    shell = make_shell()
    # Errors are reported as structured outputs (`_outputs`): IPython's own formatting of a
    # traceback costs up to half a second per failing cell, for text nobody reads.
    shell.showtraceback = lambda *args, **kwargs: None
    shell._showtraceback = lambda etype, evalue, stb: None
    shell.enable_gui = lambda gui=None: None  # `%matplotlib inline` needs no event loop here
    signal.signal(signal.SIGALRM, _alarm)
    for cell in job["cells"]:
        index = cell["index"]
        emit({"cell": index, "status": "started"})
        if cell["kind"] == "test":
            driver = drivers[cell["driver"]]
            while True:
                request = receive()
                if request.get("case") is None:
                    break
                run = record(driver, shell.user_ns, decode(request["inputs"]), float(request["seconds"]))
                emit({"cell": index, "case": request["case"], "run": run})
            emit({"cell": index, "status": "done"})
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
    sys.exit(main())
