"""Collecting hand-ins: an LMS bulk-download zip, and nbgrader's exchange, into submitted/."""
from __future__ import annotations

import datetime
import shutil
import zipfile
from pathlib import Path

import nbformat
import pytest

from autograder.commands import collect
from autograder.commands.courses import DEFAULT_COURSE

A4 = "a4_regularization"
WHEN = (2024, 3, 5, 14, 30, 0)


def notebook(tag: str) -> bytes:
    """A tiny valid notebook whose one cell says whose it is."""
    return nbformat.writes(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(f"# {tag}")])).encode()


def make_zip(path: Path, entries: dict[str, bytes | tuple[bytes, tuple]]) -> Path:
    """A zip of `name: data` (dated WHEN) or `name: (data, date_time)` entries, names kept verbatim."""
    with zipfile.ZipFile(path, "w") as zf:
        for name, value in entries.items():
            data, when = value if isinstance(value, tuple) else (value, WHEN)
            zf.writestr(zipfile.ZipInfo(name, date_time=when), data)
    return path


def submitted(course: Path, student: str) -> Path:
    return course / "submitted" / student / A4


def tag_of(path: Path) -> str:
    return nbformat.read(path, as_version=4).cells[0].source


@pytest.fixture
def course(tmp_path) -> Path:
    root = tmp_path / "course"
    root.mkdir()
    shutil.copy2(DEFAULT_COURSE / "nbgrader_config.py", root)
    return root


@pytest.fixture
def canvas_zip(tmp_path) -> Path:
    """Canvas-style names (on time, late, renamed notebooks, an extra file), with hostile and stray entries."""
    return make_zip(tmp_path / "submissions.zip", {
        "smithjohn_12345_900001_a4_regularization (1).ipynb": notebook("john"),
        "smithjohn_12345_900002_plots.png": b"\x89PNG",
        "doejane_LATE_23456_900003_hw4.ipynb": notebook("jane"),
        "leelin_34567_900004_a4_regularization.ipynb": notebook("lin, final"),
        "leelin_34567_900005_scratch.ipynb": notebook("lin, scratch"),
        "README.txt": b"exported from Canvas",
        "../../evil.py": b"import os",
        "/etc/cron.d/evil": b"* * * * * root true",
    })


def test_canvas_names_become_students_and_notebooks_get_the_assignment_name(course, canvas_zip):
    report = collect.from_lms_zip(canvas_zip, course, A4)

    assert report.students == ["doejane", "leelin", "smithjohn"]
    assert tag_of(submitted(course, "smithjohn") / f"{A4}.ipynb") == "# john"
    assert tag_of(submitted(course, "doejane") / f"{A4}.ipynb") == "# jane"
    assert (submitted(course, "smithjohn") / "plots.png").read_bytes() == b"\x89PNG"
    assert sorted(p.name for p in submitted(course, "smithjohn").iterdir()) == [f"{A4}.ipynb", "plots.png", "timestamp.txt"]


def test_of_two_notebooks_the_one_named_like_the_assignment_is_kept_and_the_other_reported(course, canvas_zip):
    report = collect.from_lms_zip(canvas_zip, course, A4)

    assert tag_of(submitted(course, "leelin") / f"{A4}.ipynb") == "# lin, final"
    assert report.duplicates == [("leelin", "leelin_34567_900004_a4_regularization.ipynb",
                                  ["leelin_34567_900005_scratch.ipynb"])]
    assert not (submitted(course, "leelin") / "scratch.ipynb").exists()


def test_a_numbered_name_beats_a_stray_one_and_of_two_copies_the_newer_wins(course, tmp_path):
    archive = make_zip(tmp_path / "copies.zip", {
        "kim/scratch.ipynb": notebook("kim, scratch"),
        "kim/hw4.ipynb": notebook("kim, hw4"),
        "ola/a4_regularization.ipynb": (notebook("ola, first"), (2024, 3, 1, 9, 0, 0)),
        "ola/a4_regularization (1).ipynb": (notebook("ola, second"), (2024, 3, 2, 9, 0, 0)),
    })
    collect.from_lms_zip(archive, course, A4)

    assert tag_of(submitted(course, "kim") / f"{A4}.ipynb") == "# kim, hw4"
    assert tag_of(submitted(course, "ola") / f"{A4}.ipynb") == "# ola, second"
    assert (submitted(course, "ola") / "timestamp.txt").read_text().startswith("2024-03-02 09:00:00")


def test_zip_slip_entries_are_reported_and_never_written(course, canvas_zip, tmp_path):
    report = collect.from_lms_zip(canvas_zip, course, A4)

    assert sorted(report.unsafe) == ["../../evil.py", "/etc/cron.d/evil"]
    assert not list(tmp_path.rglob("evil*"))
    assert all(path.resolve().is_relative_to(course.resolve() / "submitted") for _, path in report.collected)


def test_a_file_without_a_student_pattern_is_reported_not_collected(course, canvas_zip):
    report = collect.from_lms_zip(canvas_zip, course, A4)

    assert [entry for entry, _ in report.unmatched] == ["README.txt"]
    assert "README.txt" in str(report) and "UNSAFE" in str(report) and "set aside" in str(report)


def test_timestamp_is_the_zip_date_in_nbgraders_format(course, canvas_zip):
    collect.from_lms_zip(canvas_zip, course, A4)

    text = (submitted(course, "doejane") / "timestamp.txt").read_text().strip()
    assert text == "2024-03-05 14:30:00.000000 UTC"
    parsed = datetime.datetime.strptime(text, collect.TIMESTAMP_FORMAT)
    assert parsed.replace(tzinfo=None) == datetime.datetime(*WHEN)


def test_per_student_folders_keep_their_files_beside_the_notebook(course, tmp_path):
    archive = make_zip(tmp_path / "folders.zip", {
        "Bob/hw4.ipynb": notebook("bob"),
        "Bob/data/results.csv": b"epoch,loss\n",
        "__MACOSX/Bob/._hw4.ipynb": b"",
    })
    report = collect.from_lms_zip(archive, course, A4)

    assert report.students == ["bob"]
    assert tag_of(submitted(course, "bob") / f"{A4}.ipynb") == "# bob"
    assert (submitted(course, "bob") / "data" / "results.csv").read_text() == "epoch,loss\n"
    assert report.unmatched == [("__MACOSX/Bob/._hw4.ipynb", "operating-system metadata")]


def test_a_roster_maps_lms_ids_and_names_to_student_ids(course, canvas_zip, tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("student_id,lms_id,name\njs101,12345,John Smith\njd202,,\"Doe, Jane\"\n")

    report = collect.from_lms_zip(canvas_zip, course, A4, roster_csv=roster)

    assert report.students == ["jd202", "js101"]
    assert tag_of(submitted(course, "js101") / f"{A4}.ipynb") == "# john"
    assert tag_of(submitted(course, "jd202") / f"{A4}.ipynb") == "# jane"
    reasons = dict(report.unmatched)
    assert "no row" in reasons["leelin_34567_900004_a4_regularization.ipynb"]


def test_a_name_two_roster_rows_share_matches_nobody(course, canvas_zip, tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("student_id,name\njd1,Jane Doe\njd2,\"Doe, Jane\"\n")

    report = collect.from_lms_zip(canvas_zip, course, A4, roster_csv=roster)

    assert "several rows" in dict(report.unmatched)["doejane_LATE_23456_900003_hw4.ipynb"]
    assert not (course / "submitted").exists()


def test_an_existing_submission_is_left_alone_unless_update_is_asked(course, canvas_zip, tmp_path):
    collect.from_lms_zip(canvas_zip, course, A4)
    newer = make_zip(tmp_path / "newer.zip", {"doejane_23456_900009_a4.ipynb": notebook("jane, again")})

    kept = collect.from_lms_zip(newer, course, A4)
    assert kept.already_collected == ["doejane"] and kept.collected == []
    assert tag_of(submitted(course, "doejane") / f"{A4}.ipynb") == "# jane"

    replaced = collect.from_lms_zip(newer, course, A4, update=True)
    assert replaced.students == ["doejane"]
    assert tag_of(submitted(course, "doejane") / f"{A4}.ipynb") == "# jane, again"


def test_bad_inputs_raise_errors_that_name_the_file(course, tmp_path):
    not_a_zip = tmp_path / "grades.zip"
    not_a_zip.write_text("hello")
    with pytest.raises(collect.CollectError, match="grades.zip"):
        collect.from_lms_zip(not_a_zip, course, A4)

    roster = tmp_path / "class.csv"
    roster.write_text("id,email\n1,a@b\n")
    with pytest.raises(collect.CollectError, match="class.csv.*student_id"):
        collect.from_lms_zip(make_zip(tmp_path / "x.zip", {}), course, A4, roster_csv=roster)

    with pytest.raises(collect.CollectError, match="nowhere is not a course root"):
        collect.from_lms_zip(make_zip(tmp_path / "x.zip", {}), tmp_path / "nowhere", A4)

    roster.write_text("student_id,name\n../root,Mallory\n")
    with pytest.raises(collect.CollectError, match="class.csv, line 2"):
        collect.from_lms_zip(make_zip(tmp_path / "x.zip", {}), course, A4, roster_csv=roster)


def test_from_exchange_reports_what_nbgrader_collect_placed(course, tmp_path):
    exchange = tmp_path / "exchange"
    inbound = exchange / "training-deep-networks" / "inbound" / f"alice+{A4}+2024-03-05 14:30:00.000000 UTC+abc"
    inbound.mkdir(parents=True)
    (inbound / f"{A4}.ipynb").write_bytes(notebook("alice"))
    (inbound / "timestamp.txt").write_text("2024-03-05 14:30:00.000000 UTC")

    report = collect.from_exchange(course, A4, exchange_root=exchange)

    assert report.students == ["alice"]
    assert sorted(p.name for _, p in report.collected) == [f"{A4}.ipynb", "timestamp.txt"]
    assert tag_of(submitted(course, "alice") / f"{A4}.ipynb") == "# alice"
    again = collect.from_exchange(course, A4, exchange_root=exchange)
    assert again.collected == [] and again.already_collected == ["alice"]
