"""The autograded notebook: the merged submission with the sandbox's outputs and the judge's feedback.

Outputs come from the sandbox, so they are rebuilt here from validated fields only (stream,
display_data and error outputs with string contents of bounded size); anything else is dropped
with a note, and the finished notebook is validated against nbformat's schema before it is
written, so a forged output can never make writing fail.
"""
from __future__ import annotations

import nbformat

from autograder.grading.judge import Report
from autograder.grading.submission import is_demo

MAX_OUTPUTS = 30
AS_SUBMITTED = "[as submitted, not re-run: a demonstration cell no grade depends on; `autograder grade --run-all` runs it]\n"
MAX_CHARS = 2_000_000
MIME_TYPES = ("text/plain", "text/html", "image/png", "text/markdown", "text/latex")


def _text(value, limit: int = MAX_CHARS) -> str | None:
    return value[:limit] if isinstance(value, str) else None


def sanitize_outputs(raw) -> list:
    """Valid nbformat outputs rebuilt from what the sandbox reported for one code cell."""
    outputs, dropped = [], 0
    for item in raw[:MAX_OUTPUTS] if isinstance(raw, list) else []:
        kind = item.get("output_type") if isinstance(item, dict) else None
        if kind == "stream" and item.get("name") in ("stdout", "stderr") and _text(item.get("text")) is not None:
            outputs.append(nbformat.v4.new_output("stream", name=item["name"], text=_text(item["text"])))
        elif kind == "display_data" and isinstance(item.get("data"), dict):
            data = {k: _text(v) for k, v in item["data"].items() if k in MIME_TYPES and _text(v) is not None}
            if data:
                outputs.append(nbformat.v4.new_output("display_data", data=data))
            else:
                dropped += 1
        elif kind == "error" and _text(item.get("ename"), 200) is not None:
            traceback = [t[:20_000] for t in item.get("traceback", []) if isinstance(t, str)][:20] \
                if isinstance(item.get("traceback"), list) else []
            outputs.append(nbformat.v4.new_output("error", ename=item["ename"][:200],
                                                  evalue=_text(item.get("evalue"), 2000) or "", traceback=traceback))
        else:
            dropped += 1
    if dropped:
        outputs.append(nbformat.v4.new_output("stream", name="stderr",
                                              text=f"[grader: {dropped} output(s) that were not valid notebook outputs were removed]\n"))
    return outputs


def autograded_notebook(notebook, execution: dict, reports: dict[str, Report], notes: list[str]):
    """The merged notebook with its outputs; each test cell shows its feedback instead of code output."""
    nb = notebook
    outputs = {int(k): v for k, v in execution["outputs"].items()}
    incidents = {int(k): v for k, v in execution["incidents"].items()}
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        check = cell.metadata.get("tdn", {}).get("check")
        if check:
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=reports[check].feedback() + "\n")]
        elif index in outputs:
            cell.outputs = sanitize_outputs(outputs[index])
            if index in incidents:
                cell.outputs.append(nbformat.v4.new_output("error", ename="GradingStopped", evalue=incidents[index], traceback=[]))
        elif index in incidents:
            cell.outputs = [nbformat.v4.new_output("error", ename="GradingStopped", evalue=incidents[index], traceback=[])]
        elif is_demo(cell):
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=AS_SUBMITTED)] + \
                sanitize_outputs([dict(o) for o in cell.get("outputs", [])])
        else:
            cell.outputs = []
        cell.execution_count = None
    if notes:
        nb.cells.insert(0, nbformat.v4.new_markdown_cell("**Grading notes**\n\n" + "\n".join(f"- {n}" for n in notes)))
        nb.cells[0].metadata["tdn"] = {"notes": True}
    try:
        nbformat.validate(nb)
    except nbformat.ValidationError:
        for cell in nb.cells:  # never expected: the outputs above are built from valid parts
            if cell.cell_type == "code" and not cell.metadata.get("tdn", {}).get("check"):
                cell.outputs = []
    return nb
