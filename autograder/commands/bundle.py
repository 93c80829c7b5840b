"""The student distribution: one zip with the lectures, the `course` package and the released assignments.

What goes in, and nothing else:

    README.txt                          how to install and start
    lectures/NN_topic.ipynb             (+ lectures/README.md if there is one)
    course/**/*.py                      the support package the notebooks import
    release/<assignment>/...            nbgrader's student versions

Solutions, the grader, the source notebooks, the gradebook and submissions stay out by
construction, and `build` refuses to write anything when a check fails: a release notebook that
leaks solution code or hidden tests (`authoring.release_leaks` against its source), bundled code
that imports `solutions` or `autograder`, or a member whose path names instructor-only material.
"""
from __future__ import annotations

import ast
import os
import re
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

import nbformat

from autograder.commands import authoring

INSTRUCTOR_ONLY = ("solutions", "autograder")  # packages a student's code must not import
INSTRUCTOR_PATHS = {"solutions", "autograder", "source", "submitted", "autograded", "feedback", "gradebook.db"}
SKIPPED = {"__pycache__", ".ipynb_checkpoints", ".DS_Store"}
IMPORT_LINE = re.compile(rf"^\s*(?:from|import)\s+({'|'.join(INSTRUCTOR_ONLY)})\b", re.MULTILINE)

README = """\
Training Deep Networks: lectures and assignments
================================================

1. Install Python 3.11 or newer, then, in this folder:

       python -m venv .venv
       source .venv/bin/activate          (Windows: .venv\\Scripts\\activate)
       pip install numpy matplotlib torch scikit-learn tqdm jupyterlab

2. Start JupyterLab from this folder, with this folder on PYTHONPATH so that every notebook
   can `import course`:

       PYTHONPATH="$PWD" jupyter lab      (Windows PowerShell: $env:PYTHONPATH = "$PWD"; jupyter lab)

3. Read lectures/ in numbered order. The assignments are in release/<assignment>/: fill in
   every `# YOUR CODE HERE` and run the visible tests; the notebook is graded with further
   hidden tests after you hand it in.

course/ is the support library the notebooks use (data, gradient checking, training, plots).
"""


class BundleError(ValueError):
    pass


def _files(root: Path, pattern: str) -> list[Path]:
    return sorted(p for p in root.glob(pattern) if p.is_file() and not SKIPPED & set(p.relative_to(root).parts))


def members(course_root: Path, lectures_dir: Path, course_pkg_dir: Path) -> dict[str, Path]:
    """Archive name -> file on disk, for everything the bundle holds besides README.txt."""
    lectures_dir, course_pkg_dir, release = Path(lectures_dir), Path(course_pkg_dir), Path(course_root) / "release"
    chosen = {f"lectures/{p.name}": p for p in _files(lectures_dir, "*.ipynb")}
    if (lectures_dir / "README.md").is_file():
        chosen["lectures/README.md"] = lectures_dir / "README.md"
    # Always `course/`, whatever the folder is called here: that is the name the notebooks import.
    chosen |= {f"course/{p.relative_to(course_pkg_dir).as_posix()}": p for p in _files(course_pkg_dir, "**/*.py")}
    chosen |= {f"release/{p.relative_to(release).as_posix()}": p for p in _files(release, "*/**/*")}
    return chosen


def _imports(code: str) -> set[str]:
    """The instructor-only packages that a piece of Python (or notebook cell) imports."""
    try:
        tree = ast.parse(code)
    except SyntaxError:  # IPython magics and shell escapes: fall back to reading the import lines
        return set(IMPORT_LINE.findall(code))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found & set(INSTRUCTOR_ONLY)


def problems(course_root: Path, chosen: dict[str, Path]) -> list[str]:
    """Every reason not to hand these files to students; empty when the bundle is safe."""
    found = []
    releases = [(name, path) for name, path in chosen.items() if name.startswith("release/") and path.suffix == ".ipynb"]
    if not releases:
        found.append(f"{Path(course_root) / 'release'}: no release notebooks; run `autograder generate` first")
    for name, path in releases:
        assignment = PurePosixPath(name).parts[1]
        source = Path(course_root) / "source" / assignment / path.name
        if source.is_file():
            found += authoring.release_leaks(path, source)
        else:
            found.append(f"{path}: no source notebook {source} to check it against")
    for name, path in chosen.items():
        if INSTRUCTOR_PATHS & set(PurePosixPath(name).parts) or name.endswith(".db"):
            found.append(f"{path}: instructor-only material, would be bundled as {name}")
        if path.suffix == ".py":
            codes = [path.read_text(encoding="utf-8")]
        elif path.suffix == ".ipynb":
            codes = [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
        else:
            continue
        for package in sorted(set().union(*map(_imports, codes))):
            found.append(f"{path}: imports {package}, which students do not get")
    return found


def build(course_root: Path, out_zip: Path, lectures_dir: Path, course_pkg_dir: Path, *,
          overwrite: bool = False) -> Path:
    """Check, then write the student zip (via a temporary file, renamed); raise BundleError listing
    every problem instead of writing anything. Returns out_zip."""
    out_zip = Path(out_zip).resolve()
    if out_zip.exists() and not overwrite:
        raise BundleError(f"{out_zip} already exists; pass overwrite=True to replace it")
    chosen = members(course_root, lectures_dir, course_pkg_dir)
    found = problems(course_root, chosen)
    if found:
        raise BundleError(f"refusing to build {out_zip}:\n" + "\n".join(f"  - {p}" for p in found))
    fd, tmp = tempfile.mkstemp(dir=out_zip.parent, prefix=f".{out_zip.name}.", suffix=".tmp")
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("README.txt", README)
            for name, path in sorted(chosen.items()):
                zf.write(path, name)
        os.replace(tmp, out_zip)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return out_zip
