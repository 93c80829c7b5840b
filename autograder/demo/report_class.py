"""A synthetic class for the report, made without the sandbox: grading records and gradebook rows.

Grading a notebook costs seconds of sandbox time; the report's tests and its benchmark need
classes of hundreds. Here every verdict is still the real judge's (`judge.check_namespace`, run
in this process on trusted code: the reference, a catalogued mistake, an uncatalogued slip or the
stub), computed once per variant and shared by every student who has it, and the records are
written by `grading.records.build`, as the pipeline writes them. What a student's answer cells say
comes from STYLES: independent correct solutions of five A1 functions, each written in its own
way, and `disguise` makes a planted copy of one (names changed, functions reordered, comments added).

Never used for real grades: this code runs catalogued and student-like code in this process.
"""
from __future__ import annotations

import ast
import copy
import random
import re
from functools import lru_cache
from pathlib import Path

import nbformat

from autograder.grading import nbgrader_cli, records
from autograder.spec import registry

A1 = "a1_backprop"
FUNCTIONS = ("affine_forward", "affine_backward", "relu_forward", "relu_backward", "softmax_loss")

# Six independent, correct ways to write the same five functions (each a cell source per function).
STYLES: dict[str, dict[str, str]] = {
    "loops": {
        "affine_forward": '''def affine_forward(x, w, b):
    n = x.shape[0]
    rows = []
    for i in range(n):
        rows.append(x[i].ravel() @ w + b)
    return np.array(rows), (x, w)
''',
        "affine_backward": '''def affine_backward(dout, cache):
    x, w = cache
    n = x.shape[0]
    dx = np.zeros_like(x, dtype=float)
    dw = np.zeros_like(w, dtype=float)
    for i in range(n):
        dx[i] = (w @ dout[i]).reshape(x[i].shape)
        dw += np.outer(x[i].ravel(), dout[i])
    db = np.zeros(dout.shape[1])
    for i in range(n):
        db += dout[i]
    return dx, dw, db
''',
        "relu_forward": '''def relu_forward(x):
    out = x.copy()
    out[out < 0] = 0
    return out, x
''',
        "relu_backward": '''def relu_backward(dout, cache):
    dx = dout.copy()
    dx[cache <= 0] = 0
    return dx
''',
        "softmax_loss": '''def softmax_loss(x, y):
    n = x.shape[0]
    loss = 0.0
    dx = np.zeros_like(x, dtype=float)
    for i in range(n):
        row = x[i] - np.max(x[i])
        log_total = np.log(np.sum(np.exp(row)))
        loss -= row[y[i]] - log_total
        p = np.exp(row - log_total)
        p[y[i]] -= 1
        dx[i] = p
    return loss / n, dx / n
''',
    },
    "dot": {
        "affine_forward": '''def affine_forward(x, w, b):
    flat = np.reshape(x, (len(x), np.prod(x.shape[1:])))
    scores = np.dot(flat, w)
    scores = scores + b
    return scores, (x, w)
''',
        "affine_backward": '''def affine_backward(dout, cache):
    inputs, weights = cache
    flat = np.reshape(inputs, (len(inputs), -1))
    grad_in = np.reshape(np.dot(dout, np.transpose(weights)), np.shape(inputs))
    grad_w = np.dot(np.transpose(flat), dout)
    grad_b = np.sum(dout, axis=0)
    return grad_in, grad_w, grad_b
''',
        "relu_forward": '''def relu_forward(x):
    positive = np.greater(x, 0)
    return np.multiply(x, positive), positive
''',
        "relu_backward": '''def relu_backward(dout, cache):
    return np.multiply(dout, cache)
''',
        "softmax_loss": '''def softmax_loss(x, y):
    count = len(y)
    top = np.amax(x, axis=1)[:, None]
    shifted = x - top
    log_norm = np.log(np.sum(np.exp(shifted), axis=1))[:, None]
    log_probs = shifted - log_norm
    loss = float(np.sum(-log_probs[range(count), y])) / count
    onehot = np.zeros(np.shape(x))
    onehot[range(count), y] = 1.0
    return loss, (np.exp(log_probs) - onehot) / count
''',
    },
    "einsum": {
        "affine_forward": '''def affine_forward(x, w, b):
    x2 = x.reshape(x.shape[0], w.shape[0])
    return np.einsum("nd,dm->nm", x2, w) + b[None, :], (x, w)
''',
        "affine_backward": '''def affine_backward(dout, cache):
    x, w = cache
    x2 = x.reshape(x.shape[0], w.shape[0])
    dx = np.einsum("nm,dm->nd", dout, w).reshape(*x.shape)
    dw = np.einsum("nd,nm->dm", x2, dout)
    db = np.einsum("nm->m", dout)
    return dx, dw, db
''',
        "relu_forward": '''def relu_forward(x):
    return np.where(x > 0, x, np.zeros_like(x)), x
''',
        "relu_backward": '''def relu_backward(dout, cache):
    return np.where(cache > 0, dout, 0.0 * dout)
''',
        "softmax_loss": '''def softmax_loss(x, y):
    m = x.max(axis=-1, keepdims=True)
    lse = m[:, 0] + np.log(np.einsum("nc->n", np.exp(x - m)))
    n = x.shape[0]
    loss = np.mean(lse - x[np.arange(n), y])
    g = np.exp(x - lse[:, None])
    g[np.arange(n), y] = g[np.arange(n), y] - 1.0
    return loss, g / n
''',
    },
    "helpers": {
        "affine_forward": '''def _as_rows(t):
    return t.reshape(t.shape[0], -1)


def affine_forward(x, w, b):
    result = _as_rows(x) @ w
    result += b
    return result, (x, w)
''',
        "affine_backward": '''def _rows_of(t):
    return t.reshape(t.shape[0], -1)


def _bias_grad(g):
    return g.sum(0)


def affine_backward(dout, cache):
    x, w = cache
    grad_x = (dout @ w.T).reshape(x.shape)
    return grad_x, _rows_of(x).T @ dout, _bias_grad(dout)
''',
        "relu_forward": '''def _clip_below(t, floor=0.0):
    return np.clip(t, floor, None)


def relu_forward(x):
    return _clip_below(x), x
''',
        "relu_backward": '''def _indicator(t):
    return (t > 0).astype(t.dtype)


def relu_backward(dout, cache):
    return dout * _indicator(cache)
''',
        "softmax_loss": '''def _log_softmax(s):
    s = s - s.max(1, keepdims=True)
    return s - np.log(np.exp(s).sum(1, keepdims=True))


def softmax_loss(x, y):
    logp = _log_softmax(x)
    idx = np.arange(len(y))
    grad = np.exp(logp)
    grad[idx, y] -= 1
    return -logp[idx, y].mean(), grad / len(y)
''',
    },
    "matmul": {
        "affine_forward": '''def affine_forward(x, w, b):
    batch = x.shape[0]
    features = int(np.prod(x.shape[1:]))
    out = np.matmul(x.reshape((batch, features)), w)
    out = np.add(out, b)
    cache = (x, w)
    return out, cache
''',
        "affine_backward": '''def affine_backward(dout, cache):
    (x, w) = cache
    batch = x.shape[0]
    gx = np.matmul(dout, w.T)
    gw = np.matmul(x.reshape((batch, -1)).T, dout)
    gb = dout.sum(axis=0, keepdims=False)
    gx = gx.reshape(x.shape)
    return (gx, gw, gb)
''',
        "relu_forward": '''def relu_forward(x):
    mask = (x > 0)
    out = x * mask
    return out, mask
''',
        "relu_backward": '''def relu_backward(dout, cache):
    mask = cache
    grad = dout * mask
    return grad
''',
        "softmax_loss": '''def softmax_loss(x, y):
    batch = x.shape[0]
    stable = x - np.max(x, axis=1, keepdims=True)
    numer = np.exp(stable)
    denom = np.sum(numer, axis=1, keepdims=True)
    prob = numer / denom
    rows = np.arange(batch)
    loss = -np.sum(stable[rows, y] - np.log(denom[:, 0])) / batch
    grad = prob
    grad[rows, y] = grad[rows, y] - 1
    grad = grad / batch
    return loss, grad
''',
    },
    "terse": {
        "affine_forward": '''def affine_forward(x, w, b):
    return b + x.reshape(len(x), -1).dot(w), (x, w)
''',
        "affine_backward": '''def affine_backward(dout, cache):
    x, w = cache
    return dout.dot(w.T).reshape(x.shape), x.reshape(len(x), -1).T.dot(dout), dout.sum(axis=0)
''',
        "relu_forward": '''def relu_forward(x):
    return x * (x > 0), x
''',
        "relu_backward": '''def relu_backward(dout, cache):
    return (cache > 0) * dout
''',
        "softmax_loss": '''def softmax_loss(x, y):
    s = x - x.max(1)[:, None]; lz = np.log(np.exp(s).sum(1))
    n = len(x); loss = (lz - s[np.arange(n), y]).mean()
    z = np.exp(s - lz[:, None]); z[np.arange(n), y] -= 1
    return loss, z / n
''',
    },
}

# Wrong in a way the catalogue does not know (yet): their cell source and the check that reveals it.
UNCATALOGUED = {
    "affine_backward": ("affine_backward", '''def affine_backward(dout, cache):
    x, w = cache
    x_rows = x.reshape(x.shape[0], -1)
    dx = (dout @ w.T).reshape(x.shape)
    dw = x_rows.T @ dout
    db = dout.sum(axis=0) / 2
    return dx, dw, db
'''),
}
STUB = "def {name}(*args, **kwargs):\n    raise NotImplementedError()\n"


def disguise(source: str, renames: dict[str, str], comments: list[str], reorder: bool = True) -> str:
    """A copier's edit of `source`: identifiers renamed as a search-and-replace would (never after a
    dot), top-level functions in the opposite order, a comment before every second statement line."""
    for old, new in renames.items():
        source = re.sub(rf"(?<![.\w]){re.escape(old)}\b", new, source)
    tree = ast.parse(source)
    lines = source.split("\n")
    blocks = [lines[n.lineno - 1:n.end_lineno] for n in tree.body]
    if reorder:
        blocks.reverse()
    result, i = [], 0
    for block in blocks:
        for line in block:
            stripped = line.lstrip()
            if stripped and not stripped.startswith(("def ", "@")) and i % 2 == 0 and comments:
                result.append(line[:len(line) - len(stripped)] + "# " + comments[i // 2 % len(comments)])
            i += bool(stripped)
            result.append(line)
        result += ["", ""]
    return "\n".join(result).rstrip() + "\n"


# ------------------------------------------------------------------ verdicts, computed once per variant

@lru_cache(maxsize=None)
def verdict(check_id: str, variant: str):
    """The judge's Report on one variant of a check's function: 'reference', 'stub', 'uncatalogued'
    or the slug of a catalogued mistake. Cached: every student with this variant shares it."""
    from autograder.grading import judge
    from autograder.spec.mistakes import mistakes_for

    name = registry.find(check_id).name
    if variant == "reference":
        namespace = judge.reference_namespace()
    elif variant == "stub":
        namespace = dict(judge.reference_namespace())
        exec(STUB.format(name=name), namespace)  # noqa: S102 - trusted text written above
    elif variant == "uncatalogued":
        namespace = dict(judge.reference_namespace())
        exec(UNCATALOGUED[check_id][1], namespace)  # noqa: S102
    else:
        mistake = next(m for m in mistakes_for(check_id) if m.slug == variant)
        namespace = judge._namespace_with(mistake.replace)
    return judge.check_namespace(check_id, namespace)


def answer_source(check_id: str, variant: str, style: str) -> str:
    name = registry.find(check_id).name
    if variant == "stub":
        return STUB.format(name=name)
    if variant == "uncatalogued":
        return UNCATALOGUED[check_id][1]
    return STYLES[style].get(name, STUB.format(name=name))


# ------------------------------------------------------------------ records and the gradebook

def record(source_nb, assignment: str, student: str, reports: dict, answers: dict[str, str], *, seconds: float = 20.0,
           restarts: int = 0, incidents: dict[str, str] | None = None) -> records.Record:
    """The record the pipeline would write for these reports, with `answers` (graded name -> cell
    source) in the answer cells and `incidents` (grade id -> sandbox text) on those cells."""
    nb = copy.deepcopy(source_nb)
    incidents = incidents or {}
    executed = {"runs": {}, "incidents": {}, "outputs": {}, "seconds": seconds, "restarts": restarts}
    for index, cell in enumerate(nb.cells):
        tdn, grade_id = cell.metadata.get("tdn", {}), cell.metadata.get("nbgrader", {}).get("grade_id")
        if tdn.get("check") in reports:
            executed["runs"][str(index)] = []
        if tdn.get("solution_of"):
            name = tdn["solution_of"][0]
            cell.source = answers.get(name, STUB.format(name=name))
        if grade_id in incidents:
            executed["incidents"][str(index)] = incidents[grade_id]
    return records.build(student, assignment, nb, executed, reports, {}, [])


def fill_gradebook(course_root: Path, assignment: str, scores: dict[str, dict[str, float]],
                   comments: dict[str, str] | None = None) -> None:
    """Add a submission per student, with these autograded scores (grade cell name -> score), in one
    transaction (nbgrader's own add_submission commits per student: minutes for a large class).
    Written answers are left waiting for a person, as after `autograder grade`."""
    from nbgrader.api import Comment, Grade, Gradebook, Student, SubmittedAssignment, SubmittedNotebook

    comments = comments or {}
    with Gradebook(nbgrader_cli.gradebook_url(course_root)) as gb:
        assignment_row = gb.find_assignment(assignment)
        layout = [(nb.id, [(c.id, c.name) for c in nb.grade_cells], [c.id for c in nb.solution_cells])
                  for nb in assignment_row.notebooks]
        known = {s.id for s in gb.students}
        with gb.db.no_autoflush:
            for student, cells in scores.items():
                if student not in known:
                    gb.db.add(Student(id=student))
                submission = SubmittedAssignment(assignment_id=assignment_row.id, student_id=student)
                gb.db.add(submission)
                for notebook_id, grade_cells, solution_cells in layout:
                    nb = SubmittedNotebook(notebook_id=notebook_id, assignment=submission)
                    gb.db.add(nb)
                    for cell_id, name in grade_cells:
                        gb.db.add(Grade(cell_id=cell_id, notebook=nb, auto_score=cells.get(name),
                                        needs_manual_grade=name not in cells))
                    for cell_id in solution_cells:
                        gb.db.add(Comment(cell_id=cell_id, notebook=nb, auto_comment=comments.get(student)))
        gb.db.commit()


def write_records(course_root: Path, assignment: str, class_records: dict[str, records.Record]) -> None:
    for student, rec in class_records.items():
        path = records.path_of(course_root, student, assignment)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rec.to_json())


def source_notebook(course_root: Path, assignment: str):
    return nbformat.read(Path(course_root) / "source" / assignment / f"{assignment}.ipynb", as_version=4)


def scores_of(reports: dict) -> dict[str, float]:
    return {f"test_{check}": report.score for check, report in reports.items()}


def own_helper(rng: random.Random) -> str:
    """A few lines only this student writes: what makes two submissions of one style tell apart."""
    steps = "".join(f"    t = t * {rng.randrange(2, 10**6)} + {rng.randrange(10**6)}\n" for _ in range(rng.randrange(4, 8)))
    return f"\n\ndef _scaled(t):\n{steps}    return t\n"


def copies_of(n: int) -> dict[int, int]:
    """The planted copies of a class of n: student i copies student i - 50, for every i = 99 mod 100."""
    return {i: i - 50 for i in range(99, n, 100)}


def random_class(course_root: Path, n: int, seed: int = 0, assignment: str = A1) -> dict[str, records.Record]:
    """A class of n on `assignment`: per student and check, the reference (most), a catalogued mistake,
    the stub or an uncatalogued slip, drawn at random. Answers: one of STYLES where it has the
    function, else the reference, with names changed, and a helper of the student's own; the
    students of `copies_of(n)` hand in a disguised copy of a classmate's answers. Records written,
    gradebook filled. Returns the records."""
    rng = random.Random(seed)
    source = source_notebook(course_root, assignment)
    reference = {c.metadata["tdn"]["solution_of"][0]: c.source for c in source.cells if c.metadata.get("tdn", {}).get("solution_of")}
    from autograder.spec.mistakes import mistakes_for

    items = registry.graded(assignment)
    class_records, scores, handed_in = {}, {}, {}
    copies = copies_of(n)
    for i in range(n):
        student = f"s{i:04d}"
        reports, answers = {}, {}
        style = rng.choice(sorted(STYLES))
        for item in items:
            draw, slugs = rng.random(), [m.slug for m in mistakes_for(item.check_id)]
            variant = "reference" if draw < 0.7 or (draw < 0.9 and not slugs) else \
                rng.choice(slugs) if draw < 0.9 else "stub" if draw < 0.96 or item.check_id not in UNCATALOGUED \
                else "uncatalogued"
            reports[item.check_id] = verdict(item.check_id, variant)
            text = answer_source(item.check_id, variant, style)
            if variant == "reference" and item.name not in STYLES[style]:
                text = reference.get(item.name, text)
            renames = {v: f"{v}_{rng.randrange(100)}" for v in ("out", "dx", "dw", "db", "loss", "flat", "rows")}
            answers[item.name] = disguise(text, renames, [], reorder=False)
        answers[items[0].name] += own_helper(rng)
        if i in copies:
            original = handed_in[copies[i]]
            answers = {name: disguise(text, {"t": "value", "cache": "saved"}, ["as in the lecture", "check shapes"])
                       for name, text in original.items()}
        handed_in[i] = answers
        class_records[student] = record(source, assignment, student, reports, answers, seconds=rng.uniform(8, 40),
                                        restarts=int(rng.random() < 0.03))
        scores[student] = scores_of(reports)
    write_records(course_root, assignment, class_records)
    fill_gradebook(course_root, assignment, scores)
    return class_records
