"""Failures no catalogued mistake explains: candidates for new catalogue entries.

Failing cases without a matched mistake are grouped by graded function, by what went wrong
(`records.failure_kind`: a value, nan or inf, a shape, an exception...) and by which outputs
failed; each group lists its cases and how many students it holds. Its example is the group's
submission closest to the reference, as a diff of that function against the reference, made
anonymous: comments and docstrings removed, the student's id replaced. Cases that were not
judged at all (the stub left in place, a forbidden import, a test that never ran) are counted
elsewhere on the page, and failures of a check that calls a graded function which failed its own
check are only counted (`inherited`): their cause is most likely that function.
"""
from __future__ import annotations

import ast
import difflib
import io
import re
import tokenize
from collections import Counter
from dataclasses import dataclass, field

from autograder.report.inputs import ClassData
from autograder.report.tables import Table

NOT_CANDIDATES = ("not implemented", "forbidden", "not run")
MAX_DIFF_LINES = 40
EXAMPLES_TRIED = 60  # the closest example is looked for among this many of the group's students


@dataclass
class FailureGroup:
    function: str
    check: str
    kind: str
    outputs: tuple[str, ...]
    students: list[str] = field(default_factory=list)
    cases: Counter = field(default_factory=Counter)  # case label -> failing cases of the group
    case_total: int = 0  # how many cases the check has
    message: str = ""  # what the feedback said, for the first such case
    example: list[str] | None = None  # the anonymous diff (unified, against the reference)


def inherited(data: ClassData) -> dict[str, list[str]]:
    """Student -> the checks left out of the groups because a function they call failed first."""
    found = {}
    for student, record in data.records.items():
        blamed = [c for c, check in record.checks.items() if check.blamed_on and
                  any(not case.mistake and case.kind not in NOT_CANDIDATES for case in check.failing)]
        if blamed:
            found[student] = blamed
    return found


def uncatalogued(data: ClassData) -> list[FailureGroup]:
    """The groups, largest first (module docstring)."""
    names = {item.check_id: item.name for item in data.graded_items}
    groups: dict[tuple, FailureGroup] = {}
    for student, record in data.records.items():
        for check_id, check in record.checks.items():
            if check.blamed_on:
                continue
            for case in check.failing:
                if case.mistake or case.kind in NOT_CANDIDATES:
                    continue
                outputs = tuple(sorted({o.output for o in case.outputs}))
                group = groups.setdefault((check_id, case.kind, outputs),
                                          FailureGroup(names.get(check_id, check.function), check_id, case.kind, outputs,
                                                       message=case.outputs[0].message if case.outputs else ""))
                group.cases[case.label] += 1
                group.case_total = max(group.case_total, check.cases)
                if not group.students or group.students[-1] != student:
                    group.students.append(student)
    ordered = sorted(groups.values(), key=lambda g: (-len(g.students), g.check, g.kind, g.outputs))
    reference = data.notebook("source")
    for group in ordered:
        group.example = _example(data, group, reference)
    return ordered


def table(groups: list[FailureGroup], of: int) -> Table:
    rows = [[g.function, g.kind, ", ".join(g.outputs), len(g.students), of, cases(g), g.message] for g in groups]
    return Table("uncatalogued", ["function", "what went wrong", "outputs", "students", "of", "failing cases (count)",
                                  "what the feedback said (first case)"], rows)


def cases(group: FailureGroup) -> str:
    """Which cases failed: 'every case' when each of the group's students failed all of them, else
    each case with how many of the group's students failed it."""
    if len(group.cases) == group.case_total and set(group.cases.values()) == {len(group.students)}:
        return f"every case ({group.case_total})"
    return "; ".join(f"{label} ({n})" for label, n in group.cases.most_common())


# ------------------------------------------------------------------ the anonymous example

def code_of(source: str, name: str) -> list[str] | None:
    """The lines of top-level function or class `name` in `source`, without comments, docstrings
    or blank lines; None when the cell does not define it (or is not Python)."""
    try:
        tree = ast.parse("\n".join("" if ln.lstrip().startswith(("%", "!")) else ln for ln in source.split("\n")))
    except SyntaxError:
        return None
    node = next((n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                 and n.name == name), None)
    if node is None:
        return None
    docstring_lines = set()
    for inner in ast.walk(node):
        body = getattr(inner, "body", None)
        if isinstance(inner, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and body and \
                isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
            docstring_lines.update(range(body[0].lineno, body[0].end_lineno + 1))
    lines = source.split("\n")
    first = min([node.lineno] + [d.lineno for d in node.decorator_list])
    segment = lines[first - 1:node.end_lineno]
    comments = {}
    try:
        for tok in tokenize.generate_tokens(io.StringIO("\n".join(segment) + "\n").readline):
            if tok.type == tokenize.COMMENT:
                comments[tok.start[0]] = tok.start[1]
    except (tokenize.TokenError, SyntaxError):
        pass
    kept = []
    for offset, line in enumerate(segment, start=1):
        if first + offset - 1 in docstring_lines:
            continue
        line = line[:comments[offset]] if offset in comments else line
        if line.strip():
            kept.append(line.rstrip())
    return kept


def _answer_of(cells: dict, name: str) -> str | None:
    """The source of the answer cell that defines graded `name`, from {grade id: (defines, source)}."""
    return next((source for defines, source in cells.values() if name in defines), None)


def _example(data: ClassData, group: FailureGroup, reference_nb) -> list[str] | None:
    if reference_nb is None:
        return None
    reference_cells = {c.metadata.get("nbgrader", {}).get("grade_id"): (c.metadata["tdn"]["solution_of"], c.source)
                       for c in reference_nb.cells if c.metadata.get("tdn", {}).get("solution_of")}
    reference_source = _answer_of(reference_cells, group.function)
    expected = code_of(reference_source, group.function) if reference_source else None
    if expected is None:
        return None
    best = None
    for student in group.students[:EXAMPLES_TRIED]:
        cells = {k: (a.defines, a.source) for k, a in data.records[student].answers.items()}
        source = _answer_of(cells, group.function)
        actual = code_of(source, group.function) if source else None
        if actual is None:
            continue
        if len(student) >= 3:  # a short id would also match ordinary names
            actual = [re.sub(rf"\b{re.escape(student)}\b", "student", line) for line in actual]
        diff = list(difflib.unified_diff(expected, actual, "reference", "a submission", n=1, lineterm=""))
        if diff and (best is None or len(diff) < len(best)):
            best = diff
    if best and len(best) > MAX_DIFF_LINES:
        best = best[:MAX_DIFF_LINES] + [f"... ({len(best) - MAX_DIFF_LINES} more lines)"]
    return best
