"""What went wrong while notebooks ran: crashes, timeouts, memory and output limits per cell, and
the time each notebook took in the sandbox.

The sandbox says why a cell has no (complete) result in words; `classify` sorts those words into
kinds. A cell that raised MemoryError counts as memory too, one the runtime stopped (its
CellTimeout) as a timeout, and one whose output the runtime cut as an output-limit incident; any
other exception a cell raised is listed as 'exception' with its type. A cell is named by its grade id, or, for a cell the source does not
grade (the student's own, a demonstration), by the graded cell above it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from autograder.report.inputs import ClassData
from autograder.report.tables import Table

# First match wins: a process killed for memory is a memory incident, not a crash.
KINDS = (
    ("memory", ("memory", "MemoryError")),
    ("timeout", ("stopped after", "budget", "exceeded", "time limit", "CPU time", "endless loop")),
    ("output limit", ("of output", "messages", "output truncated")),
    ("protocol", ("grading of this cell was stopped",)),
    ("crash", ("process died", "exited with code", "segmentation", "aborted")),
    ("not run", ("not run",)),
)


# Exceptions a cell's output may show that are the limits' doing, not the student's code's.
LIMIT_EXCEPTIONS = {"MemoryError": "memory", "CellTimeout": "timeout", "CaseTimeout": "timeout"}


def classify(text: str) -> str:
    """The kind of a sandbox incident, from its text; 'other' for words no kind knows."""
    return next((kind for kind, words in KINDS if any(w in text for w in words)), "other")


@dataclass
class CellIncidents:
    cell: str
    kind: str
    students: list[str] = field(default_factory=list)
    example: str = ""


def _label(event) -> str:
    if event.cell:
        return event.cell
    return f"an ungraded cell after {event.after}" if event.after else "an ungraded cell at the top"


def per_cell(data: ClassData) -> list[CellIncidents]:
    """Incidents grouped by cell and kind, most students first."""
    found: dict[tuple[str, str], CellIncidents] = {}
    for student, record in data.records.items():
        for event in record.cells.values():
            kinds = []
            if event.incident:
                kinds.append((classify(event.incident), event.incident))
            if event.error in LIMIT_EXCEPTIONS:
                kinds.append((LIMIT_EXCEPTIONS[event.error], f"the cell raised {event.error}"))
            elif event.error and not event.incident:
                kinds.append(("exception", f"the cell raised {event.error}"))
            if event.truncated:
                kinds.append(("output limit", "its output was cut at the runtime's limit"))
            for kind, text in kinds:
                group = found.setdefault((_label(event), kind), CellIncidents(_label(event), kind, example=text))
                if student not in group.students:
                    group.students.append(student)
    return sorted(found.values(), key=lambda g: (-len(g.students), g.cell, g.kind))


def table(groups: list[CellIncidents], of: int) -> Table:
    return Table("incidents", ["cell", "kind", "students", "of", "example"],
                 [[g.cell, g.kind, len(g.students), of, g.example] for g in groups])


@dataclass
class Timing:
    seconds: dict[str, float]  # student -> wall time of the notebook in the sandbox
    restarts: dict[str, int]

    @property
    def median(self) -> float | None:
        return float(np.median(list(self.seconds.values()))) if self.seconds else None

    @property
    def p90(self) -> float | None:
        return float(np.percentile(list(self.seconds.values()), 90)) if self.seconds else None

    def slowest(self, n: int = 5) -> list[tuple[str, float]]:
        return sorted(self.seconds.items(), key=lambda t: -t[1])[:n]


def timing(data: ClassData) -> Timing:
    return Timing({s: r.seconds for s, r in data.records.items()}, {s: r.restarts for s, r in data.records.items()})


def times_table(t: Timing) -> Table:
    return Table("times", ["student", "seconds", "restarts"],
                 [[s, round(sec, 1), t.restarts[s]] for s, sec in sorted(t.seconds.items())])
