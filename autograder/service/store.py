"""The service's database: every request, its notebook until it is answered, and the tokens.

Any SQLAlchemy URL; by default `sqlite:///<course>/.tdn-service/service.sqlite` (`default_url`),
in WAL mode so readers never wait for the writer. Tables (times are UTC ISO-8601 text, which sorts
as time does):

- `requests`: one row per request a student made, answered or not. `status` is 'queued',
  'running', 'answered' (graded: `score`, `max_score`, `feedback` hold the answer), 'failed'
  (could not be graded: `error` says why) or 'refused' (never queued: over the rate limit, queue
  full or a bad file; `error` says why). `counted` says whether it counts against the rate limit:
  only requests the service took and graded, or is grading, do. The class report reads
  `student, assignment, received_at, status, score, max_score`.
- `uploads`: the notebook of a request that is queued or running, so a restart loses none; deleted
  when the request is answered or fails.
- `tokens`: SHA-256 digests of the students' tokens (never the tokens), and when each was revoked.
- `locks`: one row, 'admission', that every admission holds (`FOR UPDATE`), so the rate limit and
  the queue bound are exact across threads and across service processes sharing one database.
  On SQLite every transaction begins IMMEDIATE, which serializes writers the same way.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import (Boolean, Column, Float, ForeignKey, Index, Integer, LargeBinary, MetaData, Table, Text,
                        create_engine, delete, event, func, insert, select, update)
from sqlalchemy.exc import IntegrityError

QUEUED, RUNNING, ANSWERED, FAILED, REFUSED = "queued", "running", "answered", "failed", "refused"
PENDING = (QUEUED, RUNNING)

metadata = MetaData()
requests = Table(
    "requests", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("student", Text, nullable=False),
    Column("assignment", Text, nullable=False),
    Column("received_at", Text, nullable=False),
    Column("started_at", Text),
    Column("finished_at", Text),
    Column("status", Text, nullable=False),
    Column("score", Float),
    Column("max_score", Float),
    Column("counted", Boolean, nullable=False, default=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("sha256", Text),  # of the notebook sent
    Column("size", Integer),
    Column("grader", Text),  # digest of everything that decides the grade (source, checks, limits)
    Column("feedback", Text),  # the answer, JSON (autograder.service.verdict.answer)
    Column("error", Text),
    Index("requests_by_student", "student", "assignment", "received_at"),
    Index("requests_by_status", "status", "id"),
)
uploads = Table(
    "uploads", metadata,
    Column("request_id", Integer, ForeignKey("requests.id", ondelete="CASCADE"), primary_key=True),
    Column("notebook", LargeBinary, nullable=False),
)
tokens = Table(
    "tokens", metadata,
    Column("digest", Text, primary_key=True),
    Column("student", Text, nullable=False),
    Column("issued_at", Text, nullable=False),
    Column("revoked_at", Text),
    Index("tokens_by_student", "student"),
)
locks = Table("locks", metadata, Column("name", Text, primary_key=True))


def default_url(course_root: Path) -> str:
    return f"sqlite:///{Path(course_root).resolve() / '.tdn-service' / 'service.sqlite'}"


def now() -> datetime:
    return datetime.now(timezone.utc)


def stamp(moment: datetime) -> str:
    """UTC ISO-8601 with microseconds: one fixed width, so text order is time order."""
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


def parse(text: str) -> datetime:
    return datetime.fromisoformat(text)


@dataclass(frozen=True)
class Rate:
    """At most `count` counted requests per student and assignment in any `seconds` long window."""

    count: int = 6
    seconds: float = 3600.0

    def __str__(self) -> str:
        return f"{self.count} per {duration(self.seconds)}"


def duration(seconds: float) -> str:
    for unit, size in (("hour", 3600), ("minute", 60)):
        if seconds % size == 0:
            n = int(seconds // size)
            return unit if n == 1 else f"{n} {unit}s"
    return f"{seconds:g} seconds"


@dataclass
class Admission:
    """What became of a request: `status` 'queued' (new), 'duplicate' (the same notebook was already
    taken: `request` is that one), 'rate' (over the limit: `next_allowed`) or 'full' (the queue)."""

    status: str
    request: dict | None = None
    used: int = 0
    next_allowed: datetime | None = None
    pending: int = 0


class Store:
    """All access to the service's database (module docstring). Safe to share between threads."""

    def __init__(self, url: str):
        self.url = url
        self.sqlite = url.startswith("sqlite")
        if self.sqlite and url.startswith("sqlite:///") and url != "sqlite:///:memory:":
            folder = Path(url.removeprefix("sqlite:///")).parent
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        options = {"connect_args": {"timeout": 60, "check_same_thread": False}} if self.sqlite else {"pool_pre_ping": True}
        self.engine = create_engine(url, **options)
        if self.sqlite:
            event.listen(self.engine, "connect", _sqlite_connect)
            event.listen(self.engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
        metadata.create_all(self.engine)
        with self.engine.begin() as db:
            if db.execute(select(locks.c.name).where(locks.c.name == "admission")).first() is None:
                try:
                    with db.begin_nested():
                        db.execute(insert(locks).values(name="admission"))
                except IntegrityError:
                    pass  # another process made it first

    def close(self) -> None:
        self.engine.dispose()

    # ------------------------------------------------------------------ taking a request

    def admit(self, student: str, assignment: str, notebook: bytes, sha256: str, grader: str, rate: Rate,
              capacity: int, moment: datetime | None = None) -> Admission:
        """Take a notebook into the queue, or say why not, in one transaction under the admission lock.

        In order: the same notebook (same bytes, same grader) already taken and not failed is that
        request again, and costs nothing; then the rate limit; then the queue bound. Refusals are
        recorded too (status 'refused'), so the instructor sees every attempt.
        """
        moment = moment or now()
        with self.engine.begin() as db:
            db.execute(select(locks.c.name).where(locks.c.name == "admission").with_for_update())
            same = db.execute(select(requests).where(
                requests.c.student == student, requests.c.assignment == assignment, requests.c.sha256 == sha256,
                requests.c.grader == grader, requests.c.status.in_((QUEUED, RUNNING, ANSWERED)))
                .order_by(requests.c.id.desc()).limit(1)).mappings().first()
            if same is not None:
                return Admission("duplicate", dict(same))
            since = stamp(moment - timedelta(seconds=rate.seconds))
            window = db.execute(select(requests.c.received_at).where(
                requests.c.student == student, requests.c.assignment == assignment, requests.c.counted.is_(True),
                requests.c.received_at > since).order_by(requests.c.received_at)).scalars().all()
            row = {"student": student, "assignment": assignment, "received_at": stamp(moment), "sha256": sha256,
                   "size": len(notebook), "grader": grader}
            if len(window) >= rate.count:
                next_allowed = parse(window[len(window) - rate.count]) + timedelta(seconds=rate.seconds)
                db.execute(insert(requests).values(**row, status=REFUSED, counted=False, finished_at=stamp(moment),
                                                   error=f"over the rate limit of {rate}; next allowed at {stamp(next_allowed)}"))
                return Admission("rate", used=len(window), next_allowed=next_allowed)
            pending = db.execute(select(func.count()).select_from(requests).where(requests.c.status.in_(PENDING))).scalar()
            if pending >= capacity:
                db.execute(insert(requests).values(**row, status=REFUSED, counted=False, finished_at=stamp(moment),
                                                   error=f"the queue was full ({pending} waiting)"))
                return Admission("full", used=len(window), pending=pending)
            new_id = db.execute(insert(requests).values(**row, status=QUEUED, counted=True, attempts=0)).inserted_primary_key[0]
            db.execute(insert(uploads).values(request_id=new_id, notebook=notebook))
            created = db.execute(select(requests).where(requests.c.id == new_id)).mappings().one()
            return Admission("queued", dict(created), used=len(window) + 1, pending=pending + 1)

    def refuse(self, student: str, assignment: str, reason: str, size: int | None = None) -> None:
        """Record a request that was refused before admission (a file that is not a notebook, too large)."""
        moment = stamp(now())
        with self.engine.begin() as db:
            db.execute(insert(requests).values(student=student, assignment=assignment, received_at=moment, finished_at=moment,
                                               status=REFUSED, counted=False, size=size, error=reason[:1000]))

    # ------------------------------------------------------------------ the workers' side

    def claim(self) -> tuple[dict, bytes] | None:
        """The oldest queued request, now 'running' (its attempts counted), with its notebook; None if none."""
        while True:
            with self.engine.begin() as db:
                row = db.execute(select(requests.c.id).where(requests.c.status == QUEUED)
                                 .order_by(requests.c.id).limit(1)).first()
                if row is None:
                    return None
                claimed = db.execute(update(requests).where(requests.c.id == row.id, requests.c.status == QUEUED)
                                     .values(status=RUNNING, started_at=stamp(now()), attempts=requests.c.attempts + 1))
                if claimed.rowcount != 1:
                    continue  # another worker (or process) took it first
                request = dict(db.execute(select(requests).where(requests.c.id == row.id)).mappings().one())
                notebook = db.execute(select(uploads.c.notebook).where(uploads.c.request_id == row.id)).scalar()
                if notebook is None:
                    self._finish(db, row.id, FAILED, error="its notebook was lost from the database", counted=False)
                    continue
                return request, bytes(notebook)

    def answer(self, request_id: int, result: dict) -> None:
        """Record the answer of a running request: the score, and the feedback as JSON."""
        with self.engine.begin() as db:
            self._finish(db, request_id, ANSWERED, score=result["score"], max_score=result["max_score"],
                         feedback=json.dumps(result))

    def fail(self, request_id: int, error: str) -> None:
        """A request that could not be graded: it does not count against the student's rate limit."""
        with self.engine.begin() as db:
            self._finish(db, request_id, FAILED, error=error[:1000], counted=False)

    def _finish(self, db, request_id: int, status: str, **values) -> None:
        db.execute(update(requests).where(requests.c.id == request_id, requests.c.status.in_(PENDING))
                   .values(status=status, finished_at=stamp(now()), **values))
        db.execute(delete(uploads).where(uploads.c.request_id == request_id))

    def release(self, request_id: int, max_attempts: int, reason: str) -> str:
        """A running request whose grading stopped without an answer (a worker died, the service
        stopped): queued again, or failed once it has been tried `max_attempts` times. The new status."""
        with self.engine.begin() as db:
            row = db.execute(select(requests.c.attempts, requests.c.status).where(requests.c.id == request_id)).first()
            if row is None or row.status != RUNNING:
                return row.status if row else FAILED
            if row.attempts >= max_attempts:
                self._finish(db, request_id, FAILED, counted=False,
                             error=f"{reason}, {row.attempts} times; it did not count against your limit: send it again")
                return FAILED
            db.execute(update(requests).where(requests.c.id == request_id).values(status=QUEUED, started_at=None))
            return QUEUED

    def recover(self, max_attempts: int) -> dict[str, int]:
        """At start: every request left running by a stopped service is queued again (or failed, see
        `release`); queued ones simply wait their turn. Counts of each outcome."""
        with self.engine.begin() as db:
            running = db.execute(select(requests.c.id).where(requests.c.status == RUNNING)).scalars().all()
        outcome = {QUEUED: 0, FAILED: 0}
        for request_id in running:
            status = self.release(request_id, max_attempts, "the service stopped while grading it")
            outcome[status] = outcome.get(status, 0) + 1
        return outcome

    # ------------------------------------------------------------------ reading

    def request(self, request_id: int) -> dict | None:
        with self.engine.begin() as db:
            row = db.execute(select(requests).where(requests.c.id == request_id)).mappings().first()
            return dict(row) if row else None

    def position(self, request_id: int) -> int:
        """How many queued requests are ahead of this one."""
        with self.engine.begin() as db:
            return db.execute(select(func.count()).select_from(requests).where(
                requests.c.status == QUEUED, requests.c.id < request_id)).scalar()

    def history(self, student: str, assignment: str | None = None, limit: int = 100) -> list[dict]:
        """A student's requests, newest first."""
        query = select(requests).where(requests.c.student == student)
        if assignment:
            query = query.where(requests.c.assignment == assignment)
        with self.engine.begin() as db:
            return [dict(r) for r in db.execute(query.order_by(requests.c.id.desc()).limit(limit)).mappings()]

    def pending(self) -> int:
        with self.engine.begin() as db:
            return db.execute(select(func.count()).select_from(requests).where(requests.c.status.in_(PENDING))).scalar()

    def used(self, student: str, assignment: str, rate: Rate, moment: datetime | None = None) -> list[str]:
        """The receive times of the counted requests inside the current window, oldest first."""
        since = stamp((moment or now()) - timedelta(seconds=rate.seconds))
        with self.engine.begin() as db:
            return db.execute(select(requests.c.received_at).where(
                requests.c.student == student, requests.c.assignment == assignment, requests.c.counted.is_(True),
                requests.c.received_at > since).order_by(requests.c.received_at)).scalars().all()

    # ------------------------------------------------------------------ tokens

    def add_token(self, student: str, digest: str) -> None:
        with self.engine.begin() as db:
            db.execute(insert(tokens).values(digest=digest, student=student, issued_at=stamp(now())))

    def revoke(self, student: str) -> int:
        """Revoke every active token of `student`; how many were."""
        with self.engine.begin() as db:
            return db.execute(update(tokens).where(tokens.c.student == student, tokens.c.revoked_at.is_(None))
                              .values(revoked_at=stamp(now()))).rowcount

    def student_for(self, digest: str) -> str | None:
        """The student whose active token has this digest."""
        with self.engine.begin() as db:
            return db.execute(select(tokens.c.student).where(tokens.c.digest == digest, tokens.c.revoked_at.is_(None))).scalar()

    def token_rows(self) -> list[dict]:
        """Every token (digest left out), with the student's request counts, for `autograder tokens list`."""
        asked = select(requests.c.student, func.count().label("requests"),
                       func.max(requests.c.received_at).label("last_request")).group_by(requests.c.student).subquery()
        with self.engine.begin() as db:
            rows = db.execute(select(tokens.c.student, tokens.c.issued_at, tokens.c.revoked_at, asked.c.requests,
                                     asked.c.last_request).outerjoin(asked, asked.c.student == tokens.c.student)
                              .order_by(tokens.c.student, tokens.c.issued_at)).mappings()
            return [dict(r) for r in rows]


def _sqlite_connect(connection, _record) -> None:
    # The driver's own transaction handling is off: the "begin" listener says BEGIN IMMEDIATE instead.
    connection.isolation_level = None
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")  # with WAL: durable at each checkpoint, never corrupt
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=60000")
    cursor.close()
