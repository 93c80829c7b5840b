"""The student zip holds the lectures, `course` and the release notebooks, and never anything secret."""
from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from autograder.commands import authoring, bundle
from autograder.spec import registry
from autograder.commands.cli import main
from autograder.commands.courses import DEFAULT_COURSE, copy_course

ROOT = Path(__file__).resolve().parents[1]
A4 = "a4_regularization"


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    root = copy_course(DEFAULT_COURSE, tmp_path_factory.mktemp("bundle") / "course")
    assert main(["generate", A4, "--course", str(root)]) == 0
    return root


@pytest.fixture(scope="module")
def student_zip(course) -> Path:
    return bundle.build(course, course.parent / "students.zip", ROOT / "lectures", ROOT / "course")


def texts(archive: Path) -> dict[str, str]:
    with zipfile.ZipFile(archive) as zf:
        return {name: zf.read(name).decode("utf-8") for name in zf.namelist()}


def test_bundle_holds_lectures_course_release_and_readme_only(student_zip):
    names = set(texts(student_zip))

    lectures = {f"lectures/{p.name}" for p in (ROOT / "lectures").glob("*.ipynb")}
    lectures |= {"lectures/README.md"} if (ROOT / "lectures" / "README.md").exists() else set()
    package = {f"course/{p.relative_to(ROOT / 'course').as_posix()}" for p in (ROOT / "course").rglob("*.py")
               if "__pycache__" not in p.parts}
    release = {f"release/{A4}/{p.name}" for p in (ROOT / "assignments" / "source" / A4).iterdir() if p.is_file()}
    assert names == {"README.txt", *lectures, *package, *release}
    assert not any(part in {"solutions", "autograder", "source", "submitted"} for n in names for part in n.split("/"))
    assert not any(n.endswith((".db", ".pyc")) for n in names)


def test_no_bundled_file_holds_solution_code_or_hidden_tests(student_zip):
    names = sorted({item.name for items in registry.ASSIGNMENTS.values() for item in items})
    secret = authoring.solution_lines(names)

    leaks = [(name, marker) for name, text in texts(student_zip).items()
             for marker in [*secret, "BEGIN HIDDEN TESTS", "BEGIN SOLUTION"] if marker in text]
    assert leaks == []


def test_readme_says_how_to_install_and_start():
    assert "pip install numpy matplotlib torch scikit-learn tqdm jupyterlab" in bundle.README
    assert "jupyter lab" in bundle.README


def test_the_bundled_course_package_imports_on_its_own(student_zip, tmp_path):
    with zipfile.ZipFile(student_zip) as zf:
        zf.extractall(tmp_path / "students")
    modules = sorted(f"course.{p.stem}" for p in (ROOT / "course").glob("*.py") if p.stem != "__init__")
    code = f"import importlib, course\nfor m in {modules!r}: importlib.import_module(m)\nprint(course.__file__)"
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "students")}
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path / "students" / "lectures", env=env,
                         capture_output=True, text=True, check=True)
    assert Path(out.stdout.strip()).is_relative_to(tmp_path / "students")


def test_a_planted_solution_line_makes_build_refuse(course, tmp_path):
    release = course / "release" / A4 / f"{A4}.ipynb"
    original = release.read_text()
    secret = sorted(authoring.solution_lines(["dropout_forward"]))[0]
    nb = nbformat.read(release, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(secret))
    nbformat.write(nb, release)
    try:
        with pytest.raises(bundle.BundleError, match="contains solution code"):
            bundle.build(course, tmp_path / "leaky.zip", ROOT / "lectures", ROOT / "course")
    finally:
        release.write_text(original)
    assert not list(tmp_path.iterdir())


def test_bundled_code_that_imports_instructor_packages_makes_build_refuse(course, tmp_path):
    package = tmp_path / "course"
    package.mkdir()
    (package / "__init__.py").write_text("from solutions.layers import affine_forward\n")

    with pytest.raises(bundle.BundleError, match=r"__init__.py: imports solutions"):
        bundle.build(course, tmp_path / "leaky.zip", ROOT / "lectures", package)


def test_an_existing_zip_is_not_replaced_unless_asked(course, student_zip):
    before = student_zip.read_bytes()
    with pytest.raises(bundle.BundleError, match="students.zip already exists"):
        bundle.build(course, student_zip, ROOT / "lectures", ROOT / "course")
    assert student_zip.read_bytes() == before
