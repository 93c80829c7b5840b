"""Source notebooks take their graded cells from `solutions/` and the registry: one source of truth.

An instructor writes the teaching cells of `assignments/source/<id>/<id>.ipynb` by hand and marks
two kinds of generated cells with metadata:

- a solution cell: `metadata.tdn.solution_of = ["affine_forward", ...]`. Its source becomes the
  reference's source, each function or method body wrapped in `### BEGIN SOLUTION` /
  `### END SOLUTION`, so the release version keeps the signature and docstring and replaces the
  body with nbgrader's stub. The solution region is therefore the reference body, verbatim.
- a hidden test cell: `metadata.tdn.check = "<check id>"`. Its source and points come from
  `autograder.spec.registry`; the call sits between `### BEGIN HIDDEN TESTS` and
  `### END HIDDEN TESTS`. `autograder grade` never runs that code: it recognizes the cell by its
  metadata and runs the check's cases in the sandbox instead. Run by nbgrader itself, in a kernel
  that ran student code, the call scores 0 and says why (autograder.kernel).

`sync(path)` rewrites those cells; `problems(path)` lists drift and structural errors (a graded
item without its cells, duplicated grade ids, outputs committed) for `autograder sync --check`.
"""
from __future__ import annotations

import ast
import inspect
import textwrap
from functools import lru_cache
from pathlib import Path

import nbformat

from autograder.grading import nbgrader_cli
from autograder.grading.judge import reference_namespace
from autograder.spec import registry

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"


def _wrap_bodies(source: str) -> str:
    """Wrap the body (after the docstring) of every function and method in solution markers."""
    tree = ast.parse(source)
    lines = source.splitlines()
    inserts: list[tuple[int, str]] = []  # (line index to insert before, text)

    def visit(node):
        for child in node.body:
            if isinstance(child, ast.FunctionDef):
                body = child.body
                has_doc = isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
                    and isinstance(body[0].value.value, str)
                first = body[0].end_lineno if has_doc else body[0].lineno - 1  # 0-based index of first body line
                indent = " " * (len(lines[body[-1].lineno - 1]) - len(lines[body[-1].lineno - 1].lstrip()))
                if has_doc and len(body) == 1:
                    continue  # only a docstring: nothing to hide
                inserts.append((first, indent + BEGIN))
                inserts.append((child.end_lineno, indent + END))
            elif isinstance(child, ast.ClassDef):
                visit(child)

    visit(tree)
    for index, text in sorted(inserts, reverse=True):
        lines.insert(index, text)
    return "\n".join(lines)


def solution_source(names: list[str]) -> str:
    """The source of a solution cell holding the reference definitions of `names`."""
    namespace = reference_namespace()
    parts = []
    for name in names:
        if name not in namespace:
            raise KeyError(f"{name!r} is not defined in solutions/")
        parts.append(_wrap_bodies(textwrap.dedent(inspect.getsource(namespace[name])).rstrip()))
    return "\n\n\n".join(parts)


def points_phrase(points: float) -> str:
    """'1 point', '2 points': how a hidden test cell's comment states its worth."""
    return f"{points} point{'s' if points != 1 else ''}"


def test_source(check_id: str) -> str:
    """The source of the hidden test cell of one graded item."""
    item = registry.find(check_id)
    return (
        f"# Hidden tests grade {item.name} on new inputs, against the course's NumPy reference and PyTorch "
        f"({points_phrase(item.points)}).\n"
        "### BEGIN HIDDEN TESTS\n"
        "from autograder.kernel import grade\n"
        f'grade("{check_id}")\n'
        "### END HIDDEN TESTS"
    )


def _expected_cell(cell) -> tuple[str, float | None] | None:
    tdn = cell.get("metadata", {}).get("tdn", {})
    if "solution_of" in tdn:
        return solution_source(tdn["solution_of"]), None
    if "check" in tdn:
        return test_source(tdn["check"]), float(registry.find(tdn["check"]).points)
    return None


def sync(path: Path) -> bool:
    """Regenerate the generated cells of one source notebook; True when the file changed."""
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    changed = False
    for cell in nb.cells:
        expected = _expected_cell(cell)
        if expected is None:
            continue
        source, points = expected
        if cell.source != source:
            cell.source, changed = source, True
        if points is not None and cell.metadata.get("nbgrader", {}).get("points") != points:
            cell.metadata.setdefault("nbgrader", {})["points"] = points
            changed = True
    if changed:
        nbformat.write(nb, path)
    return changed


def problems(path: Path) -> list[str]:
    """Everything wrong with a source notebook: drift from solutions/, missing or duplicated cells."""
    path = Path(path)
    assignment = path.stem
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as err:  # noqa: BLE001 - any unreadable notebook is reported, not raised
        return [f"{path}: cannot be read as a notebook ({err})"]
    found = []
    checks, grade_ids = [], []
    for index, cell in enumerate(nb.cells):
        where = f"{path}, cell {index}"
        meta = cell.get("metadata", {})
        grade_id = meta.get("nbgrader", {}).get("grade_id")
        if grade_id:
            if grade_id in grade_ids:
                found.append(f"{where}: duplicate grade_id {grade_id!r}")
            grade_ids.append(grade_id)
        if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count")):
            found.append(f"{where}: has outputs; commit notebooks cleared")
        expected = _expected_cell(cell)
        if expected is not None and cell.source != expected[0]:
            found.append(f"{where}: out of date with solutions/ or the registry (run `autograder sync`)")
        if "check" in meta.get("tdn", {}):
            checks.append(meta["tdn"]["check"])
            nbg = meta.get("nbgrader", {})
            if not (nbg.get("grade") and nbg.get("locked") and not nbg.get("solution")):
                found.append(f"{where}: a hidden test cell must be a locked, graded, non-solution nbgrader cell")
    found += demo_marking_problems(nb, str(path))
    if assignment in registry.ASSIGNMENTS:
        wanted = [item.check_id for item in registry.graded(assignment)]
        for check_id in wanted:
            if checks.count(check_id) != 1:
                found.append(f"{path}: {checks.count(check_id)} hidden test cells for {check_id!r}, expected 1")
        for check_id in set(checks) - set(wanted):
            found.append(f"{path}: hidden test cell for {check_id!r}, which the registry does not grade in {assignment}")
    return found


def _bound_and_loaded(source: str) -> tuple[set[str], set[str]]:
    """(names a cell defines at its top level, names it reads anywhere)."""
    from autograder.grading import answers

    tree = answers._parse(source)
    if tree is None:
        return set(), set()
    bound = set(answers.bindings(source)) | answers.defined_names(source)
    for node in tree.body:  # top-level assignments: what a later cell can use
        for target in getattr(node, "targets", []) + ([node.target] if isinstance(node, (ast.AugAssign, ast.AnnAssign)) else []):
            bound |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
    return bound, _global_reads(ast.unparse(tree)) - bound


def _global_reads(source: str) -> set[str]:
    """Names a cell reads from the notebook's namespace (module level, or free in its functions)."""
    import symtable

    reads, tables = set(), [symtable.symtable(source, "<cell>", "exec")]
    while tables:
        table = tables.pop()
        for symbol in table.get_symbols():
            top = table.get_type() == "module"
            if symbol.is_referenced() and (top or symbol.is_global()):
                reads.add(symbol.get_name())
        tables.extend(table.get_children())
    return reads


def demo_marking_problems(nb, where: str) -> list[str]:
    """A graded run skips demonstration cells: no cell that still runs may need a name only they define."""
    from autograder.grading.submission import is_demo

    code = [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    runs = [(i, c) for i, c in code if not is_demo(c) and not (c.metadata.get("nbgrader", {}).get("grade_id") or "").startswith("selfcheck_")
            and "check" not in c.metadata.get("tdn", {})]
    kept = set().union(*(_bound_and_loaded(c.source)[0] for _, c in runs)) if runs else set()
    demo_only = {}
    for i, c in code:
        if is_demo(c):
            for name in _bound_and_loaded(c.source)[0] - kept:
                demo_only.setdefault(name, i)
    found = []
    for i, c in runs:
        for name in sorted(_bound_and_loaded(c.source)[1] & set(demo_only)):
            found.append(f"{where}, cell {i}: uses {name!r}, which only the demonstration cell {demo_only[name]} defines; "
                         "grading skips that cell, so unmark it (tdn.demo) or define the name in a cell that runs")
    return found


def prove_demo_marking(course_root: Path, assignment: str) -> list[str]:
    """Grade the source notebook (the reference) with and without its demonstration cells, in the
    sandbox, and list every check whose score differs (a marking must change no grade) and every
    cell of the reference that raises there."""
    from autograder import sandbox
    from autograder.grading import pipeline
    from autograder.grading.submission import Prepared, job_for, merge

    path = Path(course_root) / "source" / assignment / f"{assignment}.ipynb"
    source = nbformat.read(path, as_version=4)
    merged, _ = merge(source, source)
    scores, problems = {}, []
    for run_all in (True, False):
        job = {**job_for(merged, run_all=run_all), "files": pipeline.shipped_files(course_root, assignment)}
        prepared = Prepared("reference", assignment, path, merged, job)
        executed = pipeline.execute_job(job, pipeline.encoded_cases(assignment), sandbox.Limits().as_dict())
        scores[run_all] = {c: r.score for c, r in pipeline.judge_execution(prepared, executed, pipeline.points_of(assignment)).items()}
        # A cell of the reference that fails in the sandbox (the setup cell, say) would fail for
        # every student too, and cost whatever depends on the names it did not define. Only cells
        # grading runs count: a demonstration cell may use PyTorch, which the sandbox lacks.
        for index, outputs in sorted(executed["outputs"].items() if not run_all else [], key=lambda item: int(item[0])):
            for output in outputs:
                if output.get("output_type") == "error":
                    problems.append(f"{path}, cell {index}: the reference fails in the sandbox: "
                                    f"{output.get('ename')}: {str(output.get('evalue'))[:300]}")
    return list(dict.fromkeys(problems)) + [
        f"{path}: {check} scores {scores[True][check]:g} with the demonstration cells and {scores[False][check]:g} without"
        for check in scores[True] if scores[True][check] != scores[False][check]]


def source_notebooks(course_root: Path) -> list[Path]:
    """assignments/source/<id>/<id>.ipynb for every assignment in the registry, in order."""
    return [Path(course_root) / "source" / a / f"{a}.ipynb" for a in registry.ASSIGNMENTS]


# ------------------------------------------------------------------ building cells by hand

def _nbgrader(grade_id: str, *, grade: bool, solution: bool, locked: bool, points: float | None = None) -> dict:
    meta = {"grade": grade, "solution": solution, "locked": locked, "grade_id": grade_id, "schema_version": 3}
    if points is not None:
        meta["points"] = float(points)
    return meta


def solution_cell(names: list[str], grade_id: str | None = None):
    """A code cell the student fills in, generated from the reference definitions of `names`."""
    cell = nbformat.v4.new_code_cell(solution_source(names))
    cell.metadata["nbgrader"] = _nbgrader(grade_id or names[0], grade=False, solution=True, locked=False)
    cell.metadata["tdn"] = {"solution_of": list(names)}
    return cell


def test_cell(check_id: str):
    """The locked, graded cell whose hidden tests grade one registry item."""
    item = registry.find(check_id)
    cell = nbformat.v4.new_code_cell(test_source(check_id))
    cell.metadata["nbgrader"] = _nbgrader(f"test_{check_id}", grade=True, solution=False, locked=True, points=item.points)
    cell.metadata["tdn"] = {"check": check_id}
    return cell


def selfcheck_cell(source: str, grade_id: str):
    """A locked code cell with visible self-checks: students run it, cannot change it, earn nothing from it."""
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["nbgrader"] = _nbgrader(grade_id, grade=False, solution=False, locked=True)
    return cell


def written_answer_cell(grade_id: str, points: float, model_answer: str):
    """A markdown cell graded by hand in formgrader; the model answer is stripped from the release."""
    cell = nbformat.v4.new_markdown_cell(f"{BEGIN}\n{model_answer.strip()}\n{END}")
    cell.metadata["nbgrader"] = _nbgrader(grade_id, grade=True, solution=True, locked=False, points=points)
    return cell


# ------------------------------------------------------------------ checking student versions

HIDDEN_MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS",
                  "from autograder", "import autograder", "from solutions", "import solutions")


def solution_lines(names: list[str]) -> set[str]:
    """Distinctive lines of the reference bodies of `names`: long enough not to occur by chance,
    and not shown to students anyway (a docstring may state the formula a body implements, and
    the public `course` package may share a line of boilerplate)."""
    inside_lines, outside_lines, inside = set(), set(), False
    for line in solution_source(names).splitlines():
        text = line.strip()
        if text in (BEGIN, END):
            inside = text == BEGIN
        elif inside:
            inside_lines.add(text)
        else:
            outside_lines.add(text)
    shown = "\n".join(outside_lines) + "\n" + _public_course_text()
    return {t for t in inside_lines if len(t) >= 24 and not t.startswith("#") and t not in shown}


@lru_cache(maxsize=1)
def _public_course_text() -> str:
    """The `course` package's source: it ships to students, so a line it contains is no secret
    (`rng = np.random.default_rng(seed)` is boilerplate, not an answer)."""
    course = Path(__file__).resolve().parents[2] / "course"
    return "\n".join(p.read_text() for p in sorted(course.glob("*.py")))


def _visible_text(source: nbformat.NotebookNode) -> str:
    """Everything the source notebook shows students on purpose: all text outside solution regions."""
    parts = []
    for cell in source.cells:
        inside = False
        for line in cell.source.splitlines():
            if line.strip() in (BEGIN, END):
                inside = line.strip() == BEGIN
            elif not inside:
                parts.append(line.strip())
    return "\n".join(parts)


def generate(course_root: Path, assignment: str) -> list[str]:
    """nbgrader generate_assignment for one assignment, then its leak check: the leaks found."""
    nbgrader_cli.run(course_root, "generate_assignment", assignment, "--force")
    release = Path(course_root) / "release" / assignment / f"{assignment}.ipynb"
    return release_leaks(release, Path(course_root) / "source" / assignment / f"{assignment}.ipynb")


def release_leaks(release_nb: Path, source_nb: Path) -> list[str]:
    """What a student version must not contain: solution code, hidden tests, grader imports.

    A line of a reference body counts as solution code unless the source notebook also shows it
    outside every solution region (a self-check or an explanation that uses it on purpose).
    """
    release = nbformat.read(release_nb, as_version=4)
    source = nbformat.read(source_nb, as_version=4)
    names = [n for c in source.cells for n in c.get("metadata", {}).get("tdn", {}).get("solution_of", [])]
    visible = _visible_text(source)
    secret = {line for line in solution_lines(names) if line not in visible}
    leaks = []
    for index, cell in enumerate(release.cells):
        for marker in HIDDEN_MARKERS:
            if marker in cell.source:
                leaks.append(f"{release_nb}, cell {index}: contains {marker!r}")
        for line in sorted(secret):
            if line in cell.source:
                leaks.append(f"{release_nb}, cell {index}: contains solution code {line!r}")
    return leaks
