"""The read-only copy of what a submission may import: `course`, and `autograder.runtime`.

Staged once per grading process (under a lock: threads share it) and removed at exit. Nothing
else of the repository is copied, so `solutions`, the checks, the catalogue and the judge do not
exist inside the sandbox.
"""
from __future__ import annotations

import atexit
import hashlib
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUNTIME_FILES = ("course", "autograder/__init__.py", "autograder/runtime")
_LOCK = threading.Lock()
_STAGED: Path | None = None


def stage(destination: Path) -> Path:
    """Copy RUNTIME_FILES into `destination`, plus a warm matplotlib cache; everything world-readable."""
    destination.mkdir(parents=True, exist_ok=True)
    for rel in RUNTIME_FILES:
        src, dst = ROOT / rel, destination / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__"), dirs_exist_ok=True)
        else:
            shutil.copy2(src, dst)
    mpl = destination / "mplconfig"
    subprocess.run([sys.executable, "-c", "import matplotlib.font_manager"], env={"MPLCONFIGDIR": str(mpl), "PATH": "/usr/bin:/bin"},
                   capture_output=True, check=False)
    for path in [destination, *destination.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return destination


def runtime() -> Path:
    """The staged runtime of this process, staged on first use."""
    global _STAGED
    with _LOCK:
        if _STAGED is None:
            _STAGED = stage(Path(tempfile.mkdtemp(prefix="tdn-runtime-")))
            atexit.register(shutil.rmtree, _STAGED, ignore_errors=True)
        return _STAGED


_FINGERPRINT: str | None = None


def fingerprint() -> str:
    """A hash of everything that decides what the sandbox does: the staged files, the Python and
    the versions of NumPy and IPython. A grading client and a worker must agree on it."""
    global _FINGERPRINT
    if _FINGERPRINT is None:
        import IPython
        import numpy

        h = hashlib.sha256(f"{platform.python_version()} numpy {numpy.__version__} ipython {IPython.__version__}".encode())
        for rel in RUNTIME_FILES:
            path = ROOT / rel
            for file in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
                h.update(str(file.relative_to(ROOT)).encode() + b"\0" + file.read_bytes())
        _FINGERPRINT = h.hexdigest()[:16]
    return _FINGERPRINT
