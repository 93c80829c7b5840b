"""How the class used the feedback service before the deadline, and whether asking went with the score.

The service keeps its requests in an SQLAlchemy database (by default
`<course>/.tdn-service/service.sqlite`), table `requests` with at least the columns
`student, assignment, received_at (UTC ISO-8601), status, score, max_score`; status is 'answered',
'failed' (could not be graded), 'refused' (never queued: over the rate limit, a bad file), or
'queued' / 'running' (not answered yet, left out here). It is read with plain SQL, so any database
SQLAlchemy reaches will do; the service's own code is not imported.

A student's deadline is the assignment's due date in the gradebook plus their extension; with
no due date, the time their submission was collected; with neither, every request counts. The
link between asking and the final score is Spearman's rank correlation between answered
requests before the deadline and the gradebook score, said with its n: a correlation, not an
effect (students who ask may differ in other ways).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from autograder.report.inputs import ClassData
from autograder.report.tables import Table

DEFAULT_DB = Path(".tdn-service") / "service.sqlite"  # the service's default too (a test holds them together)
PENDING = ("queued", "running")


def default_url(course_root: Path) -> str | None:
    """The service's default database, when the course has one."""
    path = Path(course_root) / DEFAULT_DB
    return f"sqlite:///{path.resolve()}" if path.exists() else None


@dataclass
class ServiceUse:
    url: str
    rule: str  # which deadline was used, in words
    asked: dict[str, int]  # student -> answered requests before their deadline (every submission, 0 included)
    failed: int  # requests before the deadline the service took but could not grade
    late: int  # requests after the deadline
    refused: int = 0  # requests before the deadline the service refused (rate limit, queue full, a bad file)
    per_day: Counter = field(default_factory=Counter)  # date (ISO) -> requests before the deadline
    rho: float | None = None
    mean_askers: float | None = None
    mean_others: float | None = None
    error: str | None = None  # the database could not be read: why

    @property
    def askers(self) -> int:
        return sum(n > 0 for n in self.asked.values())


def _utc(text) -> datetime | None:
    if isinstance(text, datetime):
        stamp = text
    else:
        try:
            stamp = datetime.fromisoformat(str(text).strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    return stamp.astimezone(timezone.utc).replace(tzinfo=None) if stamp.tzinfo else stamp


def read_requests(url: str, assignment: str) -> list[tuple]:
    """(student, received_at, status) of every request for `assignment`; RuntimeError saying why not."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import SQLAlchemyError

    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(
                text("SELECT student, received_at, status FROM requests WHERE assignment = :a"), {"a": assignment})]
    except SQLAlchemyError as err:
        raise RuntimeError(f"the feedback service's database {url} could not be read: {str(err).splitlines()[0]}") from None
    finally:
        engine.dispose()


def spearman(x, y) -> float | None:
    """Spearman's rank correlation (ties get their average rank); None when either side is constant."""
    def ranks(v):
        v = np.asarray(v, dtype=float)
        order = np.argsort(v, kind="mergesort")
        r = np.empty(len(v))
        r[order] = np.arange(1, len(v) + 1)
        for value in np.unique(v):
            same = v == value
            r[same] = r[same].mean()
        return r

    if len(x) < 3:
        return None
    rx, ry = ranks(x), ranks(y)
    if rx.std() == 0 or ry.std() == 0:
        return None
    return float(np.corrcoef(rx, ry)[0, 1])


def analyse(data: ClassData, url: str) -> ServiceUse:
    """The section's numbers (module docstring); a database that cannot be read gives `error`, not an exception."""
    if data.duedate:
        rule = f"the due date in the gradebook ({data.duedate:%Y-%m-%d %H:%M} UTC), plus each student's extension"
    else:
        rule = "no due date in the gradebook: each student's own submission time (every request, where unknown)"
    use = ServiceUse(url, rule, {s: 0 for s in data.submissions}, 0, 0)
    try:
        rows = read_requests(url, data.assignment)
    except RuntimeError as err:
        use.error = str(err)
        return use
    for student, received, status in rows:
        sub = data.submissions.get(student)
        when = _utc(received)
        if sub is None or when is None or status in PENDING:
            continue
        deadline = (data.duedate + timedelta(seconds=sub.extension_s)) if data.duedate else sub.timestamp
        if deadline is not None and when > deadline:
            use.late += 1
            continue
        use.per_day[when.date().isoformat()] += 1
        if status == "answered":
            use.asked[student] += 1
        elif status == "refused":
            use.refused += 1
        else:
            use.failed += 1
    students = list(use.asked)
    asked = [use.asked[s] for s in students]
    final = [data.submissions[s].score for s in students]
    use.rho = spearman(asked, final)
    askers = [f for a, f in zip(asked, final) if a > 0]
    others = [f for a, f in zip(asked, final) if a == 0]
    use.mean_askers = float(np.mean(askers)) if askers else None
    use.mean_others = float(np.mean(others)) if others else None
    return use


def table(use: ServiceUse, data: ClassData) -> Table:
    return Table("service", ["student", "answered requests before the deadline", "final score"],
                 [[s, n, data.submissions[s].score] for s, n in sorted(use.asked.items())])
