"""Where the course is, copies of it, and the per-assignment summary table the commands print."""
from __future__ import annotations

import shutil
from pathlib import Path

DEFAULT_COURSE = Path(__file__).resolve().parents[2] / "assignments"


def default_course() -> Path:
    """The course root a command works on when --course is not given: the current folder when it
    holds nbgrader_config.py (an instructor's own course), else the embedded course."""
    here = Path.cwd()
    return here if (here / "nbgrader_config.py").exists() else DEFAULT_COURSE


def copy_course(course: Path, destination: Path) -> Path:
    """A fresh copy of the course's config and sources (never its gradebook or submissions)."""
    if destination.exists():
        shutil.rmtree(destination)
    destination.mkdir(parents=True)
    shutil.copy2(course / "nbgrader_config.py", destination)
    shutil.copytree(course / "source", destination / "source")
    return destination


def summary_table(assignment: str, outcomes) -> str:
    rows = [("student", "status", "score", "seconds", "notes")]
    for o in outcomes:
        rows.append((o.student, o.status, f"{o.score:g}/{o.max_score:g}", f"{o.seconds:.1f}", o.message[:90]))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = [f"== {assignment}"]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r[:4], widths)) + "  " + r[4] for r in rows]
    return "\n".join(lines)
