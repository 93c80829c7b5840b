"""How many students made each catalogued mistake: what to re-teach.

A student counts once per mistake, however many of the check's cases it explained. A match in a
check that calls a graded function which failed its own check (a backward pass given a wrong
forward pass's cache) is counted apart, as 'inherited': the mistake may not be the student's. The
denominator is the number of students whose grading record was used (only for them is it known
which mistakes they made); the page says how many more are counted from the gradebook alone.
Every entry of the catalogue for this assignment's checks is listed, those no one made too.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from autograder.report.inputs import ClassData
from autograder.report.tables import Table
from autograder.spec.mistakes import CATALOGUE


def catalogue_id(check: str, slug: str) -> str:
    """A catalogued mistake's name on the page and in the CSV (slugs repeat across checks)."""
    return f"{check}/{slug}"


@dataclass
class MistakeCount:
    check: str
    slug: str
    function: str
    hint: str
    students: list[str] = field(default_factory=list)
    inherited: list[str] = field(default_factory=list)  # matched where a function the check calls failed first
    cases: int = 0  # failing cases it explained, over all students (inherited ones left out)

    @property
    def id(self) -> str:
        return catalogue_id(self.check, self.slug)


def counted(data: ClassData) -> list[MistakeCount]:
    """Every catalogued mistake of the assignment's checks with the students who made it, most frequent first."""
    names = {item.check_id: item.name for item in data.graded_items}
    counts = {(m.check, m.slug): MistakeCount(m.check, m.slug, names[m.check], m.hint)
              for m in CATALOGUE if m.check in names}
    for student, record in data.records.items():
        for check_id, check in record.checks.items():
            for case in check.failing:
                if not case.mistake:
                    continue
                # A mistake since removed from the catalogue is still counted, with the hint it had.
                entry = counts.setdefault((check_id, case.mistake),
                                          MistakeCount(check_id, case.mistake, names.get(check_id, check.function),
                                                       case.hint or ""))
                who = entry.inherited if check.blamed_on else entry.students
                entry.cases += not check.blamed_on
                if not who or who[-1] != student:
                    who.append(student)
    order = {key: i for i, key in enumerate(counts)}  # catalogue order among equals
    return sorted(counts.values(), key=lambda c: (-len(c.students), -len(c.inherited), order[(c.check, c.slug)]))


def sentence(count: MistakeCount, of: int) -> str:
    """'3 of 12 students: dw and db are divided by N: ...' (the catalogue's hint is said to the student)."""
    return f"{len(count.students)} of {of} {'student' if of == 1 else 'students'}"


def table(counts: list[MistakeCount], of: int) -> Table:
    rows = [[c.id, c.function, len(c.students), of, round(len(c.students) / of, 3) if of else None, c.cases,
             len(c.inherited), c.hint] for c in counts]
    return Table("mistakes", ["mistake", "function", "students", "of", "share", "failing cases",
                              "inherited (a function it calls failed first)", "hint"], rows)
