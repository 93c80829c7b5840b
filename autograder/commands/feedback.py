"""`autograder feedback`: nbgrader's feedback pages, made to read well offline.

nbgrader's `generate_feedback` writes one HTML page per student and notebook (hidden test code
cleared). Each page is then polished in place:
- math is rendered as MathML in the page itself (browsers draw it natively), and the MathJax
  that nbgrader would load from a CDN is removed, so a page opened offline shows its formulas;
- the table of contents and the cell headings name the graded function of each hidden test
  ("affine_backward (hidden tests)") instead of "Test cell" fourteen times;
- a written answer that no one has graded yet says so, instead of showing 0 points.
"""
from __future__ import annotations

import html
import re
from pathlib import Path

from latex2mathml.converter import convert

from autograder.grading import nbgrader_cli
from autograder.spec import registry

_MATHJAX = re.compile(r'<script[^>]*src="https?://[^"]*mathjax[^"]*"[^>]*>\s*</script>'
                      r'|<script type="text/x-mathjax-config">.*?</script>', re.S | re.I)
_RENDERED = re.compile(r'(<div class="text_cell_render border-box-sizing rendered_html">)(.*?)(</div>)', re.S)
_PROTECTED = re.compile(r"(<pre.*?</pre>|<code.*?</code>|<[^>]+>)", re.S)
_MATH = re.compile(r"\$\$(.+?)\$\$|(?<![\\$])\$(?!\s)([^$\n]+?)(?<!\s)\$(?!\d)", re.S)


def _mathml(match: re.Match) -> str:
    display, inline = match.group(1), match.group(2)
    latex = html.unescape(display if display is not None else inline)
    try:
        return convert(latex, display="block" if display is not None else "inline")
    except Exception:  # noqa: BLE001 - a formula the converter cannot read stays as its source text
        return match.group(0)


def _math_in(fragment: str) -> str:
    """MathML for every $...$ and $$...$$ in rendered markdown, outside tags, code and pre."""
    parts = _PROTECTED.split(fragment)
    return "".join(part if _PROTECTED.fullmatch(part) else _MATH.sub(_mathml, part) for part in parts)


def polish(page: str, labels: dict[str, str], pending: dict[str, float]) -> str:
    """The page with offline math, named test cells and pending written answers (module docstring).

    - labels: grade id -> what to call the cell ('affine_backward (hidden tests)')
    - pending: grade id of a written answer not graded yet -> its points
    """
    page = _MATHJAX.sub("", page)
    page = _RENDERED.sub(lambda m: m.group(1) + _math_in(m.group(2)) + m.group(3), page)
    for grade_id, label in labels.items():
        page = page.replace(f'<a href="#{grade_id}">Test cell</a>', f'<a href="#{grade_id}">{html.escape(label)}</a>')
        page = page.replace(f"Grade cell: <code>{grade_id}</code>", html.escape(label))
    for grade_id, points in pending.items():
        page = re.sub(rf'(<a href="#{re.escape(grade_id)}">Written response</a>) \(Score: [^)]*\)',
                      rf"\1 (not graded yet; {points:g} points)", page)
        page = re.sub(rf'(<a name="{re.escape(grade_id)}"></a>.*?<span class="pull-right">\s*)Score: [0-9.]+ / [0-9.]+',
                      rf"\1Not graded yet ({points:g} points)", page, count=1, flags=re.S)
    return page


def _pending(course_root: Path, assignment: str, student: str) -> dict[str, float]:
    from nbgrader.api import Gradebook, MissingEntry

    try:
        with Gradebook(nbgrader_cli.gradebook_url(course_root)) as gb:
            notebook = gb.find_submission_notebook(assignment, assignment, student)
            return {g.name: float(g.max_score) for g in notebook.grades
                    if g.cell.cell_type == "markdown" and g.needs_manual_grade and g.manual_score is None}
    except MissingEntry:
        return {}


def generate(course_root: Path, assignment: str) -> list[Path]:
    """nbgrader generate_feedback for one assignment, then every page polished; the pages written."""
    nbgrader_cli.run(course_root, "generate_feedback", assignment, "--force")
    labels = {f"test_{item.check_id}": f"{item.name} (hidden tests)" for item in registry.graded(assignment)}
    pages = sorted((Path(course_root) / "feedback").glob(f"*/{assignment}/*.html"))
    for page in pages:
        student = page.parent.parent.name
        page.write_text(polish(page.read_text(), labels, _pending(course_root, assignment, student)))
    return pages
