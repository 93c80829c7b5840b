"""Calls to the real nbgrader, run as `python -m nbgrader` in the course root.

nbgrader reads `nbgrader_config.py` from its working directory and shells out to `alembic` for the
gradebook, so both the working directory and PATH (the environment's bin/) are set here, once.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


class NbgraderError(RuntimeError):
    pass


def environment() -> dict[str, str]:
    """The process environment with this interpreter's bin/ first on PATH (for alembic and jupyter)."""
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    # One BLAS thread per kernel: graded kernels run side by side, and OpenBLAS threads that spin
    # on a busy core slow NumPy down by orders of magnitude.
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    env.setdefault("OMP_NUM_THREADS", "1")  # the same for torch's intra-op threads
    env.setdefault("MPLBACKEND", "Agg")
    return env


def run(course_root: Path, *args: str, timeout: float | None = None) -> subprocess.CompletedProcess:
    """Run `nbgrader ARGS` in `course_root`; raise NbgraderError with its log when it fails."""
    cmd = [sys.executable, "-m", "nbgrader", *args]
    result = subprocess.run(cmd, cwd=course_root, env=environment(), capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise NbgraderError(f"`nbgrader {' '.join(args)}` failed in {course_root}:\n{result.stderr[-3000:]}")
    return result


def gradebook_url(course_root: Path) -> str:
    """The gradebook's SQLAlchemy URL: `c.CourseDirectory.db_url` from the course's nbgrader_config.py
    (PostgreSQL works too), else nbgrader's default SQLite file in the course root."""
    from traitlets.config.loader import PyFileConfigLoader

    config_file = Path(course_root) / "nbgrader_config.py"
    if config_file.exists():
        config = PyFileConfigLoader(config_file.name, path=str(config_file.parent)).load_config()
        url = config.get("CourseDirectory", {}).get("db_url")
        if url:
            return str(url)
    return f"sqlite:///{Path(course_root).resolve() / 'gradebook.db'}"
