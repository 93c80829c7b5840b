"""An A1 course with its student version generated, made once per test process and copied for each
class that needs its own gradebook (the report's tests build classes without grading)."""
from __future__ import annotations

import functools
import shutil
import tempfile
from pathlib import Path

import nbformat

from autograder.commands.cli import main
from autograder.commands.courses import DEFAULT_COURSE, copy_course

A1 = "a1_backprop"


@functools.lru_cache(maxsize=None)
def generated() -> Path:
    course = copy_course(DEFAULT_COURSE, Path(tempfile.mkdtemp(prefix="tdn-report-a1-")) / "course")
    assert main(["generate", A1, "--course", str(course)]) == 0
    return course


def fresh() -> Path:
    """A copy of the generated course: its own gradebook (the assignment in it, no submissions yet)."""
    return Path(shutil.copytree(generated(), Path(tempfile.mkdtemp(prefix="tdn-report-class-")) / "course"))


def notebooks() -> tuple[list[str], dict[str, str]]:
    """(every code cell of the release, {graded name: the reference's answer cell})."""
    course = generated()
    release = nbformat.read(course / "release" / A1 / f"{A1}.ipynb", as_version=4)
    source = nbformat.read(course / "source" / A1 / f"{A1}.ipynb", as_version=4)
    return ([c.source for c in release.cells if c.cell_type == "code"],
            {c.metadata["tdn"]["solution_of"][0]: c.source for c in source.cells if c.metadata.get("tdn", {}).get("solution_of")})
