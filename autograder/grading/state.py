"""Resume state: what a finished submission was graded with, so an unchanged one is not regraded.

A submission is unchanged only when its own bytes AND everything that decides its grade are: the
source notebook, the checks, the runtime, the reference, the catalogue, the tolerance rule, the
oracle's settings and the limits. `grading_digest` hashes all of that once per run.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

STATE_FILE = ".tdn-grade.json"
ROOT = Path(__file__).resolve().parents[2]
GRADE_DEFINING = ("autograder/spec", "autograder/runtime", "autograder/grading/judge.py", "autograder/grading/runs.py",
                  "autograder/grading/answers.py", "solutions", "course/tolerance.py")


def grading_digest(source_notebook: Path, limits: dict) -> str:
    h = hashlib.sha256(Path(source_notebook).read_bytes())
    for rel in GRADE_DEFINING:
        path = ROOT / rel
        for file in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            h.update(str(file.relative_to(ROOT)).encode() + b"\0" + file.read_bytes())
    oracle = {k: os.environ.get(k) for k in ("TDN_DEVICE", "TDN_ORACLE_DTYPE")}
    h.update(json.dumps({"limits": limits, "oracle": oracle}, sort_keys=True).encode())
    return h.hexdigest()


def read(path: Path) -> dict:
    try:
        data = json.loads(Path(path).read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
