"""Hand-ins into nbgrader's `submitted/<student>/<assignment>/`: from an LMS bulk download or the exchange.

An LMS (Canvas-style) bulk download is a flat zip whose files are named
`<name>_<lmsid>_<submissionid>_<original file>` (`<name>_LATE_...` when late); a zip with folders
holds one folder per student, `<student>/<file>`. Students are matched through a roster CSV when
one is given (`student_id` and one of `lms_id`, `canvas_id`, `name`), else named by `<name>`. Each student's notebook, whatever the student renamed it to,
becomes `<assignment>.ipynb` (the name nbgrader autograde looks for); their other files go beside
it, and `timestamp.txt` records the zip entry's date in nbgrader's format. Nothing that would land
outside the destination is extracted (zip-slip), and an existing submission is replaced only when
asked (`update=True`), as with `nbgrader collect --update`.
"""
from __future__ import annotations

import csv
import datetime
import difflib
import os
import re
import shutil
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from autograder.grading import nbgrader_cli

TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f %Z"  # nbgrader's Exchange.timestamp_format
CANVAS_NAME = re.compile(r"^(?P<name>[^/]+?)(?:_LATE)?_(?P<lms_id>\d+)_(?P<submission_id>\d+)_(?P<file>.+)$")
ROSTER_KEYS = ("lms_id", "canvas_id", "name")
JUNK = ("__MACOSX", ".DS_Store", "Thumbs.db")


class CollectError(ValueError):
    pass


@dataclass
class CollectReport:
    """What a collection did: every file placed, and every zip entry it did not place, with why."""

    assignment: str
    collected: list[tuple[str, Path]] = field(default_factory=list)  # (student, file written)
    unmatched: list[tuple[str, str]] = field(default_factory=list)  # (zip entry, reason)
    duplicates: list[tuple[str, str, list[str]]] = field(default_factory=list)  # (student, kept, set aside)
    unsafe: list[str] = field(default_factory=list)  # zip entries that would escape the destination
    already_collected: list[str] = field(default_factory=list)  # students left as they were

    @property
    def students(self) -> list[str]:
        return sorted({student for student, _ in self.collected})

    def __str__(self) -> str:
        lines = [f"{self.assignment}: collected {len(self.collected)} files from {len(self.students)} students"]
        lines += [f"  {student}: {path}" for student, path in self.collected]
        lines += [f"  several notebooks from {s}: kept {kept}, set aside {', '.join(aside)}" for s, kept, aside in self.duplicates]
        lines += [f"  not collected: {entry} ({reason})" for entry, reason in self.unmatched]
        lines += [f"  UNSAFE, skipped: {entry} (would land outside the course)" for entry in self.unsafe]
        lines += [f"  already collected, left as it was (pass update=True to replace): {s}" for s in self.already_collected]
        return "\n".join(lines)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _safe_id(text: str) -> str:
    """A student id that is also a safe folder name: lower case letters, digits, '_' and '-'."""
    return re.sub(r"[^a-z0-9_-]", "", text.lower()).lstrip("-")


def read_roster(roster_csv: Path, needs: tuple[str, ...] = ROSTER_KEYS) -> list[dict[str, str]]:
    """The rows of a roster CSV: a `student_id` column and at least one of the columns `needs`."""
    roster_csv = Path(roster_csv)
    try:
        with open(roster_csv, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            rows = [{k.strip(): (v or "").strip() for k, v in row.items() if k} for row in reader]
            columns = [c.strip() for c in reader.fieldnames or []]
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise CollectError(f"{roster_csv}: cannot be read as a CSV roster ({err})") from None
    if "student_id" not in columns or not set(needs) & set(columns):
        raise CollectError(f"{roster_csv}: a roster needs the column student_id and one of {', '.join(needs)}; "
                           f"found {', '.join(columns) or 'no header'}")
    for line, row in enumerate(rows, start=2):
        if not re.fullmatch(r"[A-Za-z0-9_@-][A-Za-z0-9_.@-]*", row.get("student_id") or ""):
            raise CollectError(f"{roster_csv}, line {line}: student_id {row.get('student_id')!r} is not a safe "
                               "folder name (letters, digits and _ . @ -, not starting with a dot)")
    return rows


def _roster_lookup(rows: list[dict[str, str]]) -> dict[str, str | None]:
    """Key -> student id, from LMS ids and names in either order ("Smith, John" is "smithjohn",
    as Canvas writes it, and "John Smith" is both). A key shared by two students maps to None."""
    lookup: dict[str, str | None] = {}

    def add(key, student):
        if key:
            lookup[key] = student if lookup.get(key, student) == student else None

    for row in rows:
        student = row["student_id"]
        add(_slug(student), student)
        for column in ("lms_id", "canvas_id"):
            add(row.get(column, ""), student)
        name = row.get("name", "")
        words = name.replace(",", " ").split()
        add(_slug(name), student)
        if words and "," not in name:
            add(_slug(words[-1] + "".join(words[:-1])), student)
    return lookup


def _unsafe(name: str) -> bool:
    return name.startswith("/") or bool(re.match(r"^[A-Za-z]:", name)) or ".." in PurePosixPath(name).parts


def _closeness(entry: PurePosixPath, assignment: str) -> tuple[float, float]:
    """How alike a notebook's name is to the assignment id: first the share of the id's words and
    numbers it has ('hw4' has the 4 of 'a4_regularization'), then the similarity of the letters;
    copy suffixes like ' (1)' or '-2' are ignored."""
    stem = re.sub(r"(\s*\(\d+\)|-\d+)$", "", entry.stem.lower())
    wanted = set(re.findall(r"[a-z]+|\d+", assignment.lower()))
    shared = len(wanted & set(re.findall(r"[a-z]+|\d+", stem))) / max(len(wanted), 1)
    return shared, difflib.SequenceMatcher(None, stem, assignment.lower()).ratio()


def from_lms_zip(zip_path: Path, course_root: Path, assignment: str, roster_csv: Path | None = None,
                 *, update: bool = False) -> CollectReport:
    """Place the submissions of an LMS bulk-download zip in `course_root/submitted/`; see the module doc."""
    zip_path, course_root, report = Path(zip_path), Path(course_root), CollectReport(assignment)
    if not (course_root / "nbgrader_config.py").is_file():
        raise CollectError(f"{course_root} is not a course root (no nbgrader_config.py)")
    lookup = _roster_lookup(read_roster(roster_csv)) if roster_csv else None
    try:
        archive = zipfile.ZipFile(zip_path)
    except (OSError, zipfile.BadZipFile) as err:
        raise CollectError(f"{zip_path}: not a readable zip file ({err})") from None
    files: dict[str, list[tuple[zipfile.ZipInfo, PurePosixPath]]] = defaultdict(list)
    with archive:
        for info in archive.infolist():
            name = info.filename.replace("\\", "/")
            if info.is_dir():
                continue
            if _unsafe(name):
                report.unsafe.append(info.filename)
                continue
            parts = PurePosixPath(name).parts
            if any(p in JUNK for p in parts):
                report.unmatched.append((name, "operating-system metadata"))
                continue
            # Canvas downloads are flat; inside a folder, `data_2020_01_x.csv` is just a file name.
            canvas = CANVAS_NAME.match(name) if len(parts) == 1 else None
            if canvas:
                keys, relative = [canvas["lms_id"], _slug(canvas["name"])], PurePosixPath(canvas["file"])
            elif len(parts) >= 2:
                keys, relative = [_slug(parts[0])], PurePosixPath(*parts[1:])
            else:
                report.unmatched.append((name, "named neither <name>_<lmsid>_<submissionid>_<file> nor <student>/<file>"))
                continue
            if lookup is None:
                student = _safe_id(canvas["name"] if canvas else parts[0])
                reason = "no letters or digits in the student's name"
            else:
                student = next((lookup[k] for k in keys if lookup.get(k)), None)
                matches = "several rows" if any(k in lookup for k in keys) else "no row"
                reason = f"{' or '.join(map(repr, keys))} matches {matches} of {roster_csv}"
            if not student:
                report.unmatched.append((name, reason))
                continue
            files[student].append((info, relative))

        for student, entries in sorted(files.items()):
            _place(archive, report, course_root, student, entries, update)
    return report


def _place(archive, report, course_root, student, entries, update) -> None:
    """Write one student's notebook (the one named most like the assignment) and other files."""
    assignment = report.assignment
    notebooks = [e for e in entries if e[1].suffix.lower() == ".ipynb"]
    if not notebooks:
        report.unmatched += [(info.filename, f"{student} handed in no notebook") for info, _ in entries]
        return
    notebooks.sort(key=lambda e: (*_closeness(e[1], assignment), e[0].date_time), reverse=True)
    chosen = notebooks[0]
    dest = course_root / "submitted" / student / assignment
    if dest.exists():
        if not update:
            report.already_collected.append(student)
            return
        shutil.rmtree(dest)
    if len(notebooks) > 1:
        report.duplicates.append((student, chosen[0].filename, [info.filename for info, _ in notebooks[1:]]))
    # Zip entries carry a naive local date; we take it as UTC, the zone nbgrader writes.
    when = datetime.datetime(*chosen[0].date_time, tzinfo=datetime.timezone.utc)
    placed = {PurePosixPath(f"{assignment}.ipynb"): archive.read(chosen[0]),
              PurePosixPath("timestamp.txt"): (when.strftime(TIMESTAMP_FORMAT) + "\n").encode()}
    for info, relative in entries:
        if relative.suffix.lower() == ".ipynb":
            continue
        target = dest / relative
        if not target.resolve().is_relative_to(dest.resolve()):  # a second line of defence after _unsafe
            report.unsafe.append(info.filename)
        elif relative in placed:
            report.unmatched.append((info.filename, f"{student} already has a file {relative} in this submission"))
        else:
            placed[relative] = archive.read(info)
    for relative, content in placed.items():
        target = dest / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        report.collected.append((student, target))


def from_exchange(course_root: Path, assignment: str, *, exchange_root: Path | None = None,
                  update: bool = False) -> CollectReport:
    """`nbgrader collect <assignment>`, reported as the files it added or replaced in submitted/."""
    course_root = Path(course_root)

    def snapshot() -> dict[Path, tuple[int, int, int]]:
        # nbgrader copies with copy2 (modification times kept), so a replaced file shows by its inode.
        stats = {p: p.stat() for p in (course_root / "submitted").glob(f"*/{assignment}/**/*") if p.is_file()}
        return {p: (s.st_ino, s.st_mtime_ns, s.st_size) for p, s in stats.items()}

    before = snapshot()
    args = ["collect", assignment] + (["--update"] if update else [])
    if exchange_root is not None:
        args.append(f"--Exchange.root={os.fspath(exchange_root)}")
    log = nbgrader_cli.run(course_root, *args).stderr
    report = CollectReport(assignment)
    for path, stat in sorted(snapshot().items()):
        if before.get(path) != stat:
            report.collected.append((path.relative_to(course_root / "submitted").parts[0], path))
    report.already_collected = re.findall(rf"Submission already exists, use --update to update: (\S+) {re.escape(assignment)}", log)
    return report
