"""`autograder report`: the instructor's report of each assignment, and the page across them.

Assignments without any graded submission are skipped with a line saying so; a problem with one
assignment (no gradebook entry, an unreadable service database) is reported by name and the
others are still written.
"""
from __future__ import annotations

import sys
from pathlib import Path

from autograder.report import build, students
from autograder.report.inputs import ReportError


def run(course_root: Path, assignments: list[str], to: Path, service_db: str | None = None,
        with_similarity: bool = True, explicit: bool = False) -> int:
    """Write the reports; 0 when each asked-for assignment got one, 2 when none could be made.

    - explicit: the assignments were named (a missing one is then an error, not a skip)
    """
    made, status = [], 0
    for assignment in assignments:
        try:
            built = build.build(course_root, assignment, to, service_db, with_similarity)
        except ReportError as err:
            if explicit:
                print(f"autograder report: {err}", file=sys.stderr)
                status = 2
            else:
                print(f"{assignment}: skipped ({err})")
            continue
        if not built.sections.data.submissions:
            print(f"{assignment}: no submission in the gradebook yet; the report is empty: {built.page}")
        else:
            data = built.sections.data
            print(f"{assignment}: {built.page} ({len(data.submissions)} submissions, {len(data.records)} with a "
                  f"grading record; CSV beside it)")
        made.append(built.sections)
    if made:
        page, _ = students.write(made, to)
        print(f"students across assignments: {page}")
    elif not status:
        print("autograder report: nothing to report: no assignment has a gradebook entry", file=sys.stderr)
        status = 2
    return status
