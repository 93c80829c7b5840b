"""What a student may read before the deadline: the judge's reports, with nothing the hidden tests hold.

The judge's feedback is written for after the deadline. Before it, an answer must not carry a
hidden input, an expected value or test code, and text that came out of the sandbox is the
student's own process talking: a notebook can make its "exception message" (or the name of an
argument it claims to have changed) contain the hidden inputs it was just given. So every text
of a report is rebuilt here from what cannot carry them:

- what the judge wrote from its own knowledge (case labels: shapes and settings, by contract of
  `autograder.spec.checks.Case`; which output differs and by how much; the catalogue's hints);
- what the notebook that was sent already contains (a line of the student's code, a parameter
  name), checked against that notebook, which was fixed before any hidden input existed;
- fixed phrases for what the sandbox reported (a timeout, a crash), with no number it chose.

Dropped or replaced: exception messages (the type and the student's line are kept), exit codes,
an expected value of a statistic ("std is 0.47, expected 0.33" becomes "std is not what the
reference gives"), an output shape with dimensions the case does not have, and argument names
that the notebook does not contain. Scores are not touched: `public_reports` changes only text.

What stays is by design a little information per case (pass or fail, which output, an error to
two digits): the rate limit bounds how much of it a student can collect.
"""
from __future__ import annotations

import builtins
import copy
import re

from autograder.grading.judge import Finding, Report

HIDDEN_MESSAGE = "its message is not shown before the deadline: call the function on your own inputs to see it"

# The judge's own sentences that carry something else (autograder.grading.judge); each pattern is
# locked by a test that makes the judge write it.
_RAISED = re.compile(r"raised (?P<error>.*)", re.S)
# The recorder appends the line suffix last, after a message the notebook chose: the suffix is the
# rightmost one (a greedy message), or a message could forge "(line <a hidden number> of your code: ...)".
_DESCRIBED_AT = re.compile(r"(?P<type>[A-Za-z_][\w.]{0,80})(?::\s(?P<message>.*))?"
                           r"\s\(line (?P<line>\d+) of your code(?::\s(?P<text>.*))?\)", re.S)
_DESCRIBED = re.compile(r"(?P<type>[A-Za-z_][\w.]{0,80})(?::\s(?P<message>.*))?", re.S)
_SCALAR = re.compile(r"(?P<key>.+?) is [-+\w.]+, expected [-+\w.]+")
_SHAPE = re.compile(r"(?P<key>.+?) has shape (?P<actual>\([\d, ]*\)), expected (?P<expected>\([\d, ]*\))")
_UNCHECKABLE = re.compile(r"its outputs could not be checked \((?P<type>[A-Za-z_]\w*)[:)].*", re.S)
_RERUN = re.compile(r"the reference could not be rerun under your outputs \(.*\)", re.S)
_EXIT_CODE = re.compile(r"exited with code -?\d+")
_MUTATION = re.compile(r"(?P<function>\S+) modified its input (?P<argument>.+?) in place: (?P<rest>.*)", re.S)
_MUTATION_NOTE = re.compile(r"(?P<checked>\S+) was checked with what your (?P<function>.+?) returned, and (?P=function) "
                            r"modified its input (?P<argument>.+?) in place (?P<rest>\(.*\))", re.S)

# What the sandbox's supervisor and recorder write when they stop a case or a cell
# (autograder.sandbox, autograder.runtime.recorder), said again in fixed words: a notebook can
# forge these in a case's error, and choose an exit code.
_STOPPED = [(re.compile(pattern, re.S), phrase) for pattern, phrase in [
    (r"CaseTimeout\b.*", lambda m: "ran past its time budget and was stopped"),
    (r"the notebook's process died with (?P<signal>SIG[A-Z0-9]{2,8})\b.*",
     lambda m: f"the notebook's process died with {m['signal']}"),
    (r"(?:stopped: )?(?:the notebook's process )?exited with code.*",
     lambda m: "the notebook's process exited (os._exit or sys.exit?)"),
    (r"stopped: produced more than .*", lambda m: "stopped: the notebook produced more output than allowed"),
    (r"stopped: sent more than .*", lambda m: "stopped: the notebook sent more messages than allowed"),
    (r"stopped: the whole submission exceeded .*", lambda m: "stopped: the whole notebook ran past its time limit"),
    (r"stopped after .* \(an endless loop\?\)", lambda m: "stopped: the cell ran past its time limit (an endless loop?)"),
    (r"stopped: ran past its .* budget", lambda m: "ran past its time budget and was stopped"),
    (r"grading of this cell was stopped: .*",
     lambda m: "stopped: the notebook wrote into the grader's channel (a cell that writes to a raw file descriptor?)"),
    (r"not run: the submission's time or restart budget was used up", lambda m: m[0]),
]]


# Exception names a student's code can raise without the name being data: Python's and NumPy's,
# and the grader's own. Any other must be a name the notebook's code contains.
_KNOWN_ERRORS = {n for n, v in vars(builtins).items() if isinstance(v, type) and issubclass(v, BaseException)} | {
    "LinAlgError", "AxisError", "CaseTimeout", "CellTimeout", "FrameworkUnavailable"}
CELL_TIMEOUT = "CellTimeout"  # autograder.runtime.runner: a code cell past its time limit


class Notebook:
    """The text of the notebook a student sent: the only source of free text an answer may echo."""

    def __init__(self, cells):
        code = [c.get("source", "") for c in cells if c.get("cell_type") == "code"]
        code = ["".join(s) if isinstance(s, list) else str(s) for s in code]
        self.lines = {line.strip() for source in code for line in source.splitlines() if line.strip()}
        self.words = set(re.findall(r"[A-Za-z_]\w{0,39}", "\n".join(code)))

    def has_line(self, text: str | None) -> bool:
        return bool(text) and text.strip() in self.lines

    def has_word(self, word: str) -> bool:
        return word.isidentifier() and len(word) <= 40 and word in self.words


def public_reports(reports: dict[str, Report], notebook: Notebook) -> dict[str, Report]:
    """Copies of `reports` whose every text a student may read before the deadline (module docstring).

    An output shape is shown only when made of sizes the check's case labels name (and 1).
    """
    public = {}
    for check_id, report in reports.items():
        report = copy.deepcopy(report)
        allowed = {int(n) for c in report.cases for n in re.findall(r"\d+", c.label)}
        for case in report.cases:
            case.findings = [_finding(f, notebook, allowed) for f in case.findings]
        report.deductions = {_mutation(reason, notebook): fraction for reason, fraction in report.deductions.items()}
        report.notes = [_note(note, notebook) for note in report.notes]
        public[check_id] = report
    return public


def _finding(finding: Finding, notebook: Notebook, allowed: set[int]) -> Finding:
    return Finding(finding.output, finding.passed, _message(finding.message, notebook, allowed) if finding.message else "",
                   finding.error, finding.nonfinite)


def _message(message: str, notebook: Notebook, allowed: set[int]) -> str:
    if m := _RAISED.fullmatch(message):
        return "raised " + _error(m["error"], notebook)
    if m := _SCALAR.fullmatch(message):
        return f"{m['key']} is not what the reference gives"
    if m := _SHAPE.fullmatch(message):
        dims = {int(n) for n in re.findall(r"\d+", m["actual"])}
        expected = {int(n) for n in re.findall(r"\d+", m["expected"])}
        if dims <= allowed | expected | {1}:
            return message
        return f"{m['key']} has the wrong shape: expected {m['expected']}"
    if m := _UNCHECKABLE.fullmatch(message):
        return f"its outputs could not be checked ({m['type']})"
    if _RERUN.fullmatch(message):
        return "the reference could not be rerun under your outputs"
    if message.startswith("not run: an earlier cell stopped the notebook (") and message.endswith(")"):
        inner = message[len("not run: an earlier cell stopped the notebook ("):-1]
        return f"not run: an earlier cell stopped the notebook ({_stopped(inner) or _EXIT_CODE.sub('exited', inner)})"
    return _stopped(message) or _EXIT_CODE.sub("exited", message)


def _stopped(text: str) -> str | None:
    """A fixed phrase for what the supervisor says when it stops a case or a cell (or None)."""
    prefix = ""
    if m := re.fullmatch(r"(case \d{1,3}: )(.*)", text, re.S):
        prefix, text = m[1], m[2]
    for pattern, phrase in _STOPPED:
        if m := pattern.fullmatch(text):
            return prefix + phrase(m)
    return None


def _error(error: str, notebook: Notebook) -> str:
    """An exception a case raised, as `Type (line N of your code: TEXT)`, with the message dropped."""
    stopped = _stopped(error)
    if stopped:
        return stopped
    m = _DESCRIBED_AT.fullmatch(error.strip()) or _DESCRIBED.fullmatch(error.strip())
    if not m:
        return f"an exception ({HIDDEN_MESSAGE})"
    kind = _error_name(m["type"], notebook)
    where, line = "", m.groupdict().get("line")
    if line and notebook.has_line(m["text"]):
        where = f" at line {line} of your code: {m['text'].strip()}"
    elif line:
        where = " in your code"
    said = f" ({HIDDEN_MESSAGE})" if (m["message"] or "").strip() else ""
    if kind == "NameError" and (n := re.fullmatch(r"name '(\w+)' is not defined", (m["message"] or "").strip())) \
            and notebook.has_word(n[1]):
        said = f" (name '{n[1]}' is not defined)"
    return f"{kind}{where}{said}"


def _error_name(name: str, notebook: Notebook) -> str:
    return name if name in _KNOWN_ERRORS or notebook.has_word(name) else "an exception"


def _mutation(reason: str, notebook: Notebook) -> str:
    m = _MUTATION.fullmatch(reason)
    if not m or notebook.has_word(m["argument"]):
        return reason
    return f"{m['function']} modified one of its input arrays in place: {m['rest']}"


def _note(note: str, notebook: Notebook) -> str:
    m = _MUTATION_NOTE.fullmatch(note)
    if not m or (notebook.has_word(m["function"]) and notebook.has_word(m["argument"])):
        return note
    return f"{m['checked']} was checked with what another of your functions returned, and that function modified " \
           f"one of its input arrays in place {m['rest']}"


def incident_note(first_line: str, text: str) -> str:
    """A note on a code cell the sandbox stopped, in the supervisor's fixed words (no exit code)."""
    said = _stopped(text) or _EXIT_CODE.sub("exited", text)
    return f"the cell that begins `{first_line}`: {said}"


def cell_notes(incidents: list[tuple[str, str]], errors: list[tuple[str, str]], notebook: Notebook, shown: int = 3) -> list[str]:
    """Notes on the code cells that were stopped or raised (a few; the rest counted)."""
    notes = [incident_note(line, text) for line, text in incidents]
    for line, name in errors:
        if name == CELL_TIMEOUT:
            notes.append(f"the cell that begins `{line}` ran past its time limit and was stopped (an endless loop?)")
        else:
            notes.append(f"the cell that begins `{line}` raised {_error_name(name, notebook)}")
    if len(notes) > shown:
        notes = notes[:shown] + [f"{len(notes) - shown} more cells raised or were stopped"]
    return notes


def answer(reports: dict[str, Report], notebook: Notebook, notes: list[str] = ()) -> dict:
    """The JSON answer for one notebook: per graded function its score and feedback, all public.

    Returns {"score", "max_score", "notes": [...], "functions": [{"check", "function", "points",
    "score", "passed", "cases", "cases_passed", "feedback"}]} where feedback is the judge's own
    text (`Report.feedback`) of the public report.
    """
    public = public_reports(reports, notebook)
    functions = [{"check": check_id, "function": r.function, "points": r.points, "score": r.score, "passed": r.passed,
                  "cases": len(r.cases), "cases_passed": sum(c.passed for c in r.cases), "feedback": r.feedback()}
                 for check_id, r in public.items()]
    return {"score": round(sum(r.score for r in public.values()), 2), "max_score": float(sum(r.points for r in public.values())),
            "notes": list(notes), "functions": functions}

