"""Per-student tokens for the standalone service: issued from the roster, stored hashed, revocable.

A token is 32 random bytes (URL-safe base64, 43 characters) shown once, when it is issued. The
database keeps only its SHA-256: a token has 256 bits of entropy, so an unsalted fast hash is
enough (a salt or a slow hash protects guessable passwords, not random keys), and a stolen
database yields no token. Every request looks its digest up, so a revoked token stops at once, in
every service process that shares the database.

The roster is the gradebook's students (what `autograder collect` and `grade` put there), or a CSV
with a `student_id` column, the same roster `autograder collect --roster` reads.
"""
from __future__ import annotations

import csv
import hashlib
import re
import secrets
from pathlib import Path

from autograder.service.store import Store

STUDENT_ID = re.compile(r"[A-Za-z0-9_@-][A-Za-z0-9_.@-]{0,99}")


class RosterError(ValueError):
    """A roster that cannot be read, or a student id that is not safe to use; the message says which."""


def new_token() -> str:
    return secrets.token_urlsafe(32)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def issue(store: Store, students: list[str]) -> dict[str, str]:
    """A new token for each student (their earlier tokens stay valid until revoked): student -> token."""
    issued = {}
    for student in students:
        _check_id(student, "the student id")
        token = new_token()
        store.add_token(student, digest(token))
        issued[student] = token
    return issued


def revoke(store: Store, students: list[str]) -> dict[str, int]:
    """Revoke every active token of each student: student -> how many were revoked."""
    return {student: store.revoke(student) for student in students}


def authenticate(store: Store, token: str | None) -> str | None:
    """The student a token belongs to, or None (unknown, revoked or malformed)."""
    if not token or len(token) > 200:
        return None
    return store.student_for(digest(token))


def roster(course_root: Path, roster_csv: Path | None = None) -> list[str]:
    """The students to issue tokens to: the CSV's `student_id` column, else the gradebook's students."""
    if roster_csv is not None:
        return _from_csv(Path(roster_csv))
    from nbgrader.api import Gradebook

    from autograder.grading import nbgrader_cli

    with Gradebook(nbgrader_cli.gradebook_url(course_root)) as gb:
        return sorted(s.id for s in gb.students)


def _from_csv(path: Path) -> list[str]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            rows = list(reader)
            columns = reader.fieldnames or []
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise RosterError(f"{path}: cannot be read as a CSV roster ({err})") from None
    if "student_id" not in columns:
        raise RosterError(f"{path}: a roster needs a student_id column (it has {', '.join(columns) or 'none'})")
    students = []
    for line, row in enumerate(rows, start=2):
        student = (row.get("student_id") or "").strip()
        _check_id(student, f"{path}, line {line}: student_id")
        students.append(student)
    return list(dict.fromkeys(students))


def _check_id(student: str, where: str) -> None:
    if not STUDENT_ID.fullmatch(student or ""):
        raise RosterError(f"{where} {student!r} is not a safe student id (letters, digits and _ . @ -)")
