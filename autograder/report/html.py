"""The report page: one self-contained HTML file per assignment (inline CSS and SVG, no script, no
network), built from the sections' data and the same `Table`s the CSV files hold."""
from __future__ import annotations

import html
from dataclasses import dataclass

from autograder.report import plots
from autograder.report.failures import FailureGroup
from autograder.report.incidents import CellIncidents, Timing
from autograder.report.inputs import ClassData
from autograder.report.mistakes import MistakeCount, sentence
from autograder.report.scores import FunctionScores
from autograder.report.service import DEFAULT_DB, ServiceUse
from autograder.report.similarity import NOTICE, Similarity
from autograder.report.tables import Table, cell

HOW_TO_CATALOGUE = (
    "To catalogue one: write the wrong function in <code>autograder/spec/mistakes.py</code>, beside the other entries "
    "of its function, as the smallest change to the reference in <code>solutions/</code> that reproduces the example, "
    "and register it with <code>mistake(\"&lt;check&gt;\", \"&lt;slug&gt;\", \"&lt;hint, said to the student&gt;\", "
    "&lt;graded name&gt;=&lt;your wrong function&gt;)</code>. <code>tests/test_autograder_checks.py</code> runs every "
    "entry as a submission and proves that it loses points and gets its own hint. The catalogue is part of what decides "
    "a grade, so the next <code>autograder grade</code> judges every submission again, their feedback gains the hint, "
    "and the next report counts the entry.")

# The pages run nothing and load nothing: if some student text ever slipped through unescaped, a
# browser would still run no script and fetch no address from it (inline SVG plots and the inline
# style are all a page holds).
HEAD = ('<meta charset="utf-8"><meta http-equiv="Content-Security-Policy" '
        """content="default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'">""")

STYLE = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:0 auto;max-width:1180px;padding:0 18px 40px;color:#1c2833}
h1{font-size:24px;margin:18px 0 4px} h2{font-size:19px;margin:30px 0 8px;border-bottom:2px solid #d5d8dc;padding-bottom:3px}
h3{font-size:15px;margin:16px 0 6px} .lead{color:#566573;margin:0 0 10px}
nav a{margin-right:14px} table{border-collapse:collapse;margin:6px 0 10px;font-size:13px}
th,td{border:1px solid #d5d8dc;padding:3px 7px;text-align:left;vertical-align:top} th{background:#f2f3f4}
td.n{text-align:right;font-variant-numeric:tabular-nums} .muted{color:#7f8c8d}
.mistake{margin:6px 0;padding:6px 10px;border-left:4px solid #c0392b;background:#fdf2f0}
.mistake b.count{font-size:15px} .zero{border-left-color:#d5d8dc;background:#fafafa}
.note{padding:8px 12px;background:#eaf2f8;border-left:4px solid #2e86c1;margin:8px 0}
.warn{padding:8px 12px;background:#fef5e7;border-left:4px solid #e67e22;margin:8px 0}
pre{background:#f8f9f9;border:1px solid #e5e8e8;padding:6px 8px;overflow-x:auto;font-size:12px;line-height:1.35;margin:4px 0}
.add{color:#1e8449} .del{color:#c0392b} .hunk{color:#7f8c8d}
.pair{display:grid;grid-template-columns:1fr 1fr;gap:10px} .pair pre{min-height:2em}
.m0{background:#fadbd8}.m1{background:#d6eaf8}.m2{background:#d5f5e3}.m3{background:#fcf3cf}.m4{background:#e8daef}.m5{background:#fae5d3}
.ln{color:#aab7b8;user-select:none} svg{max-width:100%;height:auto}
"""


@dataclass
class Sections:
    """Everything the page shows, computed by `autograder.report.build`."""

    data: ClassData
    functions: list[FunctionScores]
    mistakes: list[MistakeCount]
    failures: list[FailureGroup]
    inherited: dict[str, list[str]]  # student -> checks left out of the failures (see failures.inherited)
    incidents: list[CellIncidents]
    timing: Timing
    service: ServiceUse | None
    similarity: Similarity | None
    tables: list[Table]
    generated: str


def esc(value) -> str:
    return html.escape(str(value), quote=True)


def render_table(table: Table, limit: int | None = None) -> str:
    rows = table.rows if limit is None else table.rows[:limit]
    head = "".join(f"<th>{esc(c)}</th>" for c in table.columns)
    body = "".join("<tr>" + "".join(f'<td class="n">{esc(cell(v))}</td>' if isinstance(v, (int, float)) and not isinstance(v, bool)
                                    else f"<td>{esc(cell(v))}</td>" for v in row) + "</tr>" for row in rows)
    more = f'<p class="muted">... and {len(table.rows) - limit} more rows in {esc(table.name)}.csv</p>' \
        if limit is not None and len(table.rows) > limit else ""
    return f'<table data-csv="{esc(table.name)}.csv"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}'


def _table(s: Sections, name: str) -> Table:
    return next(t for t in s.tables if t.name == name)


# ------------------------------------------------------------------ sections

def _header(s: Sections) -> str:
    d = s.data
    n, with_record = len(d.submissions), len(d.records)
    absent = [st for st in d.enrolled if st not in d.submissions]
    parts = [f"<h1>{esc(d.assignment)}: what the class got wrong</h1>",
             f'<p class="lead">{n} submissions in the gradebook, out of {d.max_score:g} points each; '
             f"grading records for {with_record} of {n}. Generated {esc(s.generated)} from the gradebook and the "
             "grading records. For the instructor and the course staff only: it names students.</p>"]
    if absent:
        parts.append(f'<p class="muted">{len(absent)} students in the gradebook have no submission of this assignment: '
                     f"{esc(', '.join(absent[:20]))}{' ...' if len(absent) > 20 else ''}.</p>")
    if d.without_record:
        items = "".join(f"<li><b>{esc(st)}</b>: {esc(why)}</li>" for st, why in sorted(d.without_record.items()))
        parts.append(f'<div class="warn">{len(d.without_record)} of {n} submissions are counted from the gradebook alone '
                     "(in every score and plot, but not in the mistakes, failures, incidents or similarity, which need a "
                     f"grading record):<ul>{items}</ul></div>")
    if d.problems:
        parts.append('<div class="warn">Unreadable record files:<ul>' +
                     "".join(f"<li>{esc(p)}</li>" for p in d.problems) + "</ul></div>")
    parts.append('<nav><a href="#scores">Scores</a><a href="#mistakes">Known mistakes</a>'
                 '<a href="#uncatalogued">Uncatalogued failures</a><a href="#incidents">Incidents and time</a>'
                 '<a href="#service">Feedback service</a><a href="#similarity">Similarity</a></nav>')
    return "\n".join(parts)


def _scores(s: Sections) -> str:
    d = s.data
    panels = [(f.name, f.scores, f.points) for f in s.functions] + \
             [("whole assignment", [sub.score for sub in d.submissions.values()], d.max_score)]
    return (f'<h2 id="scores">Scores per graded function</h2><p class="lead">How many of the {len(d.submissions)} '
            "submissions fall in each band of a function's points (red: none, green: all), from the gradebook.</p>"
            f"<figure>{plots.score_bands(panels)}</figure>" + render_table(_table(s, "functions")))


def _mistakes(s: Sections) -> str:
    of = len(s.data.records)
    made = [m for m in s.mistakes if m.students or m.inherited]
    unmade = [m for m in s.mistakes if not m.students and not m.inherited]
    parts = [f'<h2 id="mistakes">Known mistakes, most frequent first</h2><p class="lead">Each catalogued mistake with '
             f"the students whose outputs it explains, out of the {of} with a grading record: what to re-teach. "
             "The hint is what their feedback said.</p>"]
    if not made:
        parts.append('<p class="muted">No submission matched a catalogued mistake.</p>')
    for m in made:
        more = f" (and {len(m.inherited)} more where a function it calls failed first: "\
               f"{esc(', '.join(m.inherited[:6]))})" if m.inherited else ""
        parts.append(f'<div class="mistake" data-mistake="{esc(m.id)}"><b class="count">{esc(sentence(m, of))}</b>{more} '
                     f"&middot; {esc(m.function)} &middot; <code>{esc(m.id)}</code><br>{esc(m.hint)}"
                     f'<br><span class="muted">{esc(", ".join(m.students[:12]))}'
                     f"{' ...' if len(m.students) > 12 else ''}</span></div>")
    if unmade:
        parts.append(f"<details><summary>{len(unmade)} catalogued mistakes no one made</summary>" +
                     "".join(f'<div class="mistake zero" data-mistake="{esc(m.id)}">0 of {of} &middot; '
                             f"{esc(m.function)} &middot; <code>{esc(m.id)}</code><br>{esc(m.hint)}</div>" for m in unmade) +
                     "</details>")
    return "\n".join(parts)


def _diff(lines: list[str]) -> str:
    def one(line: str) -> str:
        kind = "hunk" if line.startswith(("@@", "---", "+++")) else "add" if line.startswith("+") \
            else "del" if line.startswith("-") else ""
        return f'<span class="{kind}">{esc(line)}</span>' if kind else esc(line)
    return "<pre>" + "\n".join(one(l) for l in lines) + "</pre>"


def _failures(s: Sections) -> str:
    of = len(s.data.records)
    parts = ['<h2 id="uncatalogued">Failures the catalogue does not explain</h2><p class="lead">Failing cases that no '
             "catalogued mistake explains, by function, by what went wrong and by which outputs failed: candidates for "
             "new catalogue entries. Each example is the group's submission closest to the reference, as a diff against "
             "it, without comments, docstrings or the student's name.</p>"]
    if not s.failures:
        parts.append('<p class="muted">Every failing case of a submission with a record matched a catalogued mistake '
                     "(or was a stub left in place, a forbidden import, or a test that did not run).</p>")
    else:
        parts.append(render_table(_table(s, "uncatalogued")))
    if s.inherited:
        parts.append(f'<p class="muted">Left out: failures of {sum(map(len, s.inherited.values()))} checks of '
                     f"{len(s.inherited)} students that call a graded function which failed its own check (fix that one "
                     "first; the feedback says so).</p>")
    for g in s.failures[:15]:
        title = f"{g.function}: {g.kind} in {', '.join(g.outputs)} ({len(g.students)} of {of} students)"
        body = _diff(g.example) if g.example else '<p class="muted">No example: the reference or the submission ' \
                                                   "does not define the function at top level.</p>"
        parts.append(f"<h3>{esc(title)}</h3><p>The feedback said: <i>{esc(g.message)}</i></p>{body}")
    parts.append(f'<div class="note">{HOW_TO_CATALOGUE}</div>')
    return "\n".join(parts)


def _incidents(s: Sections) -> str:
    of, t = len(s.data.records), s.timing
    parts = ['<h2 id="incidents">Crashes, timeouts, memory and output limits</h2><p class="lead">Per cell, what the '
             "sandbox reported while the notebooks ran (a cell the source does not grade is named by the graded cell "
             "above it).</p>"]
    parts.append(render_table(_table(s, "incidents")) if s.incidents else
                 f'<p class="muted">No incident in the {of} notebooks with a record.</p>')
    parts.append("<h3>Time per notebook</h3>")
    if t.seconds:
        restarted = sum(r > 0 for r in t.restarts.values())
        slowest = ", ".join(f"{esc(st)} ({sec:.0f} s)" for st, sec in t.slowest())
        parts.append(f"<p>Median {t.median:.1f} s, 90th percentile {t.p90:.1f} s, longest {max(t.seconds.values()):.1f} s; "
                     f"{restarted} of {of} notebooks were restarted past a cell at least once. Slowest: {slowest}.</p>"
                     f"<figure>{plots.histogram(list(t.seconds.values()), 'seconds in the sandbox')}</figure>")
    return "\n".join(parts)


def _service(s: Sections) -> str:
    head = '<h2 id="service">Feedback service</h2>'
    use, d = s.service, s.data
    if use is None:
        return head + (f'<p class="muted">The feedback service was not used for this course: there is no database at '
                       f"{esc(d.course_root / DEFAULT_DB)} (another one can be named with <code>--service-db URL</code>).</p>")
    if use.error:
        return head + f'<div class="warn">{esc(use.error)}</div>'
    n = len(use.asked)
    total = sum(use.asked.values())
    if total == 0 and not use.failed and not use.refused:
        return head + f"<p>No student asked the service about {esc(d.assignment)} before the deadline ({esc(use.rule)}).</p>"
    rho = f"Spearman's rank correlation between answered requests and the final score is {use.rho:+.2f} (n = {n})" \
        if use.rho is not None else "There is no rank correlation to give (too few students, or everyone asked equally)"
    means = f"; students who asked scored {use.mean_askers:.2f} on average, those who did not {use.mean_others:.2f}" \
        if use.mean_askers is not None and use.mean_others is not None else ""
    asked = [use.asked[st] for st in sorted(use.asked)]
    final = [d.submissions[st].score for st in sorted(use.asked)]
    return (head + f"<p><b>{use.askers} of {n}</b> students asked before the deadline, {total} answered requests in all "
            f"({use.failed} more could not be graded and {use.refused} were refused; {use.late} came after the deadline). "
            f"Deadline: {esc(use.rule)}.</p>"
            f"<p>{rho}{means}. This is a correlation, not an effect: students who ask may differ in other ways.</p>"
            f"<figure>{plots.service_use(dict(use.per_day), asked, final, d.max_score)}</figure>")


def _excerpt(text: str, spans: list[tuple[int, int]], context: int = 2) -> str:
    """Numbered lines of `text` around each span, the lines of span i marked with class m<i mod 6>."""
    lines = text.split("\n")
    mark = {}
    for i, (first, last) in enumerate(spans):
        for ln in range(first, last + 1):
            mark.setdefault(ln, i % 6)
    shown = sorted({ln for first, last in spans for ln in range(max(1, first - context), min(len(lines), last + context) + 1)})
    out, previous = [], None
    for ln in shown:
        if previous is not None and ln > previous + 1:
            out.append('<span class="ln">   ...</span>')
        content = f'<span class="ln">{ln:4d} </span>{esc(lines[ln - 1])}'
        out.append(f'<span class="m{mark[ln]}">{content}</span>' if ln in mark else content)
        previous = ln
    return "<pre>" + "\n".join(out) + "</pre>"


def _similarity(s: Sections) -> str:
    head = f'<h2 id="similarity">Similar submissions</h2><p class="note"><b>{esc(NOTICE)}</b></p>'
    sim = s.similarity
    if sim is None:
        return head + '<p class="muted">Not computed (run without --no-similarity to compute it).</p>'
    n = len(sim.documents)
    total_pairs = n * (n - 1) // 2
    parts = [head, f"<p>{n} submissions with a record compared; {sim.pairs_sharing} of {total_pairs} pairs share any "
                   f"fingerprint beyond the release's and the reference's code; {sim.common} fingerprints shared by more "
                   f"than {sim.common_threshold} submissions were set aside as the class's common idioms. "
                   f"{len(sim.pairs)} pairs are listed.</p>"]
    if not sim.pairs:
        parts.append('<p class="muted">No pair shares enough to be listed.</p>')
        return "\n".join(parts)
    parts.append(render_table(_table(s, "similarity")))
    for rank, pair in enumerate(sim.pairs, start=1):
        if not pair.regions:
            continue
        a_doc, b_doc = sim.documents[pair.a], sim.documents[pair.b]
        regions = "; ".join(f"{pair.a} {r.a_lines[0]}-{r.a_lines[1]} / {pair.b} {r.b_lines[0]}-{r.b_lines[1]}"
                            for r in pair.regions)
        parts.append(f'<details{" open" if rank <= 3 else ""}><summary>#{rank} {esc(pair.a)} and {esc(pair.b)}: '
                     f"{pair.shared} shared fingerprints in {len(pair.regions)} regions (lines {esc(regions)})</summary>"
                     f'<div class="pair"><div><b>{esc(pair.a)}</b>{_excerpt(a_doc.text, [r.a_lines for r in pair.regions])}'
                     f'</div><div><b>{esc(pair.b)}</b>{_excerpt(b_doc.text, [r.b_lines for r in pair.regions])}</div></div>'
                     "</details>")
    return "\n".join(parts)


def page(s: Sections) -> str:
    csvs = ", ".join(f"{t.name}.csv" for t in s.tables)
    body = "\n".join([_header(s), _scores(s), _mistakes(s), _failures(s), _incidents(s), _service(s), _similarity(s),
                      f'<p class="muted">The same numbers, as CSV beside this page: {esc(csvs)}.</p>'])
    return (f'<!DOCTYPE html>\n<html lang="en"><head>{HEAD}<title>{esc(s.data.assignment)}: report</title>'
            f"<style>{STYLE}</style></head><body>\n{body}\n</body></html>\n")
