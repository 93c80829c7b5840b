"""One page across assignments, per student: where each stands, for office hours.

    <to>/students.html, <to>/students.csv

For each student and assignment: the score (the gradebook's), their place in the class (the share
of classmates with a lower score), the graded functions below full points with the catalogued
mistakes their feedback named, and the incidents of their notebook.
"""
from __future__ import annotations

from pathlib import Path

from autograder.report.html import HEAD, STYLE, esc, render_table
from autograder.report.html import Sections
from autograder.report.mistakes import catalogue_id
from autograder.report.tables import Table, write_csv


def _place(score: float, everyone: list[float]) -> float:
    """The share of the others who scored lower (ties count half)."""
    others = len(everyone) - 1
    if others <= 0:
        return 1.0
    lower = sum(s < score for s in everyone)
    ties = sum(s == score for s in everyone) - 1
    return (lower + ties / 2) / others


def table(reports: list[Sections]) -> Table:
    students = sorted({s for r in reports for s in r.data.enrolled} | {s for r in reports for s in r.data.submissions})
    columns = ["student"]
    for r in reports:
        columns += [f"{r.data.assignment} score", f"{r.data.assignment} of", f"{r.data.assignment} place in class"]
    rows = []
    for student in students:
        row = [student]
        for r in reports:
            sub = r.data.submissions.get(student)
            everyone = [x.score for x in r.data.submissions.values()]
            row += [sub.score, r.data.max_score, round(_place(sub.score, everyone), 2)] if sub else [None, r.data.max_score, None]
        rows.append(row)
    return Table("students", columns, rows)


def _weak_points(r: Sections, student: str) -> str:
    sub = r.data.submissions.get(student)
    if sub is None:
        return '<span class="muted">no submission</span>'
    record = r.data.records.get(student)
    items = []
    for item in r.data.graded_items:
        cell = f"test_{item.check_id}"
        got, points = sub.grades.get(cell, 0.0), r.data.max_scores.get(cell, float(item.points))
        if got >= points - 1e-9:
            continue
        said = ""
        check = record.checks.get(item.check_id) if record else None
        if check:
            named = list(dict.fromkeys(catalogue_id(item.check_id, c.mistake) for c in check.failing if c.mistake))
            kinds = list(dict.fromkeys(c.kind for c in check.failing if not c.mistake))
            said = "; ".join(named + kinds)
        items.append(f"<li>{esc(item.name)}: {got:g}/{points:g}{' &middot; ' + esc(said) if said else ''}</li>")
    if record:
        events = [e.incident or e.error for e in record.cells.values() if e.incident or e.error]
        if events:
            items.append(f"<li>incidents: {esc('; '.join(dict.fromkeys(events)))}</li>")
    elif student in r.data.without_record:
        items.append(f'<li class="muted">{esc(r.data.without_record[student])}</li>')
    return f"<ul>{''.join(items)}</ul>" if items else "all autograded points"


def write(reports: list[Sections], to: Path) -> tuple[Path, Path]:
    """Write students.html and students.csv into `to`."""
    to.mkdir(parents=True, exist_ok=True)
    t = table(reports)
    csv_path = write_csv(t, to)
    blocks = []
    for row in t.rows:
        student = row[0]
        cells = "".join(f"<h3>{esc(r.data.assignment)}</h3>{_weak_points(r, student)}" for r in reports)
        blocks.append(f'<details id="{esc(student)}"><summary><b>{esc(student)}</b></summary>{cells}</details>')
    body = (f"<h1>Where each student stands</h1><p class=\"lead\">{len(t.rows)} students, "
            f"{', '.join(esc(r.data.assignment) for r in reports)}. Place in class: the share of classmates with a lower "
            "score. Scores are the gradebook's; the notes come from the grading records. For office hours: it names "
            "students.</p>" + render_table(t) + "<h2>Per student</h2>" + "".join(blocks))
    page = (f'<!DOCTYPE html>\n<html lang="en"><head>{HEAD}<title>Students</title><style>{STYLE}</style>'
            f"</head><body>\n{body}\n</body></html>\n")
    html_path = to / "students.html"
    html_path.write_text(page, encoding="utf-8")
    return html_path, csv_path
