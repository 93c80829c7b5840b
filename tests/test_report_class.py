"""The report of a synthetic class with known planted mistakes: exact counts, the CSV against the
gradebook, students without a usable record, the feedback service's data, the page in a browser.

The verdicts are the real judge's, on trusted code in this process (`autograder.demo.report_class`):
no sandbox, so the class can be made in seconds. Built once for the module (one xdist group).
"""
from __future__ import annotations

import csv
import functools
import re
import sqlite3
from datetime import datetime

import pytest
from nbgrader.api import Gradebook

import report_course
from autograder.commands.cli import main
from autograder.demo import report_class as rc
from autograder.grading import nbgrader_cli, records
from autograder.report import incidents, service
from autograder.spec import registry

pytestmark = pytest.mark.xdist_group("report")
A1 = report_course.A1
# (check, variant) -> the students who have it; everyone else has the reference for every check.
PLANTED = {
    ("affine_backward", "grads-averaged"): ["s01", "s02", "s03"],
    ("relu_backward", "mask-on-dout"): ["s04", "s05"],
    ("softmax_loss", "overflow"): ["s06"],
    ("tanh_backward", "not-squared"): ["s07", "s08", "s09", "s10"],
    ("affine_backward", "uncatalogued"): ["s11", "s12"],
    ("relu_forward", "stub"): ["s12"],
}
WITH_RECORD = [f"s{i:02d}" for i in range(1, 13)]
DUE = datetime(2026, 3, 10, 12, 0)
REQUESTS = [  # student, received_at, status
    ("s01", "2026-03-08T10:00:00Z", "answered"), ("s01", "2026-03-09T10:00:00+00:00", "answered"),
    ("s01", "2026-03-10T11:59:00Z", "answered"), ("s02", "2026-03-09T09:00:00Z", "answered"),
    ("s02", "2026-03-11T09:00:00Z", "answered"),  # after the deadline
    ("s07", "2026-03-09T09:30:00Z", "failed"), ("s08", "2026-03-09T09:40:00Z", "refused"),
    ("s03", "2026-03-10T11:00:00Z", "queued"), ("nora", "2026-03-07T08:00:00Z", "answered"),
    ("nora", "2026-03-07T09:00:00Z", "answered"), ("s05", "2026-03-09T09:00:00Z", "answered"),
]


def variant_of(student: str, check: str) -> str:
    return next((v for (c, v), who in PLANTED.items() if c == check and student in who), "reference")


@functools.lru_cache(maxsize=None)
def built():
    course = report_course.fresh()
    source = rc.source_notebook(course, A1)
    class_records, scores = {}, {}
    for student in WITH_RECORD + ["nora", "tess"]:
        reports = {item.check_id: rc.verdict(item.check_id, variant_of(student, item.check_id))
                   for item in registry.graded(A1)}
        answers = {item.name: rc.answer_source(item.check_id, variant_of(student, item.check_id), "matmul")
                   for item in registry.graded(A1)}
        cells = {"test_affine_forward": "the notebook's process died with SIGSEGV: a segmentation fault"} \
            if student == "s03" else {}
        class_records[student] = rc.record(source, A1, student, reports, answers, seconds=10.0 + len(class_records),
                                           incidents=cells)
        scores[student] = rc.scores_of(reports)
    scores["bob"] = {f"test_{item.check_id}": 0.0 for item in registry.graded(A1)}
    rc.write_records(course, A1, class_records)
    rc.fill_gradebook(course, A1, scores, {"bob": "not graded: bob: submitted/bob/a1_backprop/a1_backprop.ipynb is not "
                                                  "valid JSON (line 1, column 1)"})
    records.path_of(course, "nora", A1).unlink()  # graded before records existed
    with Gradebook(nbgrader_cli.gradebook_url(course)) as gb:
        gb.find_grade("test_mse_loss", A1, A1, "tess").auto_score = 0.5  # edited since: the record disagrees
        gb.update_or_create_assignment(A1, duedate=DUE)
        gb.db.commit()
    db = course / service.DEFAULT_DB
    db.parent.mkdir()
    with sqlite3.connect(db) as connection:
        connection.execute("CREATE TABLE requests (id INTEGER PRIMARY KEY, student TEXT, assignment TEXT, "
                           "received_at TEXT, status TEXT, score REAL, max_score REAL)")
        connection.executemany("INSERT INTO requests (student, assignment, received_at, status, score, max_score) "
                               "VALUES (?, ?, ?, ?, 1.0, 31.0)", [(s, A1, t, st) for s, t, st in REQUESTS])
        connection.execute("INSERT INTO requests (student, assignment, received_at, status) VALUES "
                           "('s09', 'a2_optimizers', '2026-03-09T09:00:00Z', 'answered')")
    assert main(["report", "--course", str(course)]) == 0  # every assignment: only a1 has a gradebook entry
    page = (course / "reports" / A1 / "report.html").read_text()
    return course, class_records, page


def read_csv(name: str, folder: str = A1) -> list[dict]:
    course, _, _ = built()
    with open(course / "reports" / folder / f"{name}.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_each_planted_catalogued_mistake_is_counted_exactly():
    _, _, page = built()
    made = {row["mistake"]: int(row["students"]) for row in read_csv("mistakes") if int(row["students"])}
    assert made == {f"{c}/{v}": len(who) for (c, v), who in PLANTED.items() if v not in ("uncatalogued", "stub")}
    assert {row["of"] for row in read_csv("mistakes")} == {"12"}
    block = re.search(r'data-mistake="tanh_backward/not-squared">(.*?)</div>', page, re.S).group(1)
    assert "4 of 12 students" in block and "tanh(x)**2" in block
    # most frequent first
    assert page.index('data-mistake="tanh_backward/not-squared"') < page.index('data-mistake="affine_backward/grads-averaged"') \
        < page.index('data-mistake="relu_backward/mask-on-dout"') < page.index('data-mistake="softmax_loss/overflow"')


def test_mistakes_no_one_made_are_listed_too():
    rows = read_csv("mistakes")
    from autograder.spec.mistakes import CATALOGUE

    graded = {item.check_id for item in registry.graded(A1)}
    assert {r["mistake"] for r in rows} == {f"{m.check}/{m.slug}" for m in CATALOGUE if m.check in graded}


def test_an_uncatalogued_slip_is_grouped_with_its_diff_and_the_stub_is_not_attempted():
    rows = read_csv("uncatalogued")
    assert [(r["function"], r["what went wrong"], r["outputs"], r["students"]) for r in rows] == \
        [("affine_backward", "value", "db", "2")]
    assert rows[0]["failing cases (count)"].startswith("every case")
    _, _, page = built()
    assert "+    db = dout.sum(axis=0) / 2" in page
    relu = next(r for r in read_csv("functions") if r["function"] == "relu_forward")
    assert (relu["not at all"], relu["of which not attempted"]) == ("2", "1")  # s12's stub, and bob


def test_the_function_table_and_the_scores_csv_match_the_gradebook():
    course, _, _ = built()
    rows = {r["student"]: r for r in read_csv("scores")}
    functions = {r["check"]: r for r in read_csv("functions")}
    with Gradebook(nbgrader_cli.gradebook_url(course)) as gb:
        assert sorted(rows) == sorted(s.id for s in gb.students)
        for student, row in rows.items():
            assert float(row["score"]) == pytest.approx(gb.find_submission(A1, student).score)
        for item in registry.graded(A1):
            name = f"test_{item.check_id}"
            got = [gb.find_grade(name, A1, A1, s).score for s in rows]
            for student, score in zip(rows, got):
                assert float(rows[student][name]) == pytest.approx(score)
            f = functions[item.check_id]
            assert int(f["fully right"]) == sum(s == item.points for s in got)
            assert int(f["not at all"]) == sum(s == 0 for s in got)
            assert int(f["partly right"]) == sum(0 < s < item.points for s in got)


def test_students_without_a_usable_record_are_counted_from_the_gradebook_and_said_so():
    _, _, page = built()
    why = {r["student"]: r["grading record"] for r in read_csv("scores")}
    assert why["s01"] == "yes"
    assert why["bob"].startswith("not graded: bob:")
    assert why["nora"].startswith("no grading record")
    assert "disagrees with the gradebook" in why["tess"]
    assert "3 of 15 submissions are counted from the gradebook alone" in page
    assert len(read_csv("times")) == 12


def test_incidents_are_classified_and_named_by_cell():
    rows = read_csv("incidents")
    assert [(r["cell"], r["kind"], r["students"]) for r in rows] == [("test_affine_forward", "crash", "1")]
    assert incidents.classify("stopped after 20 s (an endless loop?)") == "timeout"
    assert incidents.classify("the notebook's process died with SIGKILL: it was killed (memory?)") == "memory"
    assert incidents.classify("stopped: produced more than 96 MB of output") == "output limit"
    assert incidents.classify("grading of this cell was stopped: the notebook's process sent junk") == "protocol"


def test_the_service_section_counts_requests_before_each_deadline_and_the_rank_correlation():
    scipy_stats = pytest.importorskip("scipy.stats")
    course, _, page = built()
    rows = {r["student"]: int(r["answered requests before the deadline"]) for r in read_csv("service")}
    assert {s: n for s, n in rows.items() if n} == {"s01": 3, "s02": 1, "s05": 1, "nora": 2}
    assert "<b>4 of 15</b> students asked before the deadline" in page
    assert "1 more could not be graded and 1 were refused; 1 came after the deadline" in page
    final = {r["student"]: float(r["score"]) for r in read_csv("scores")}
    rho = scipy_stats.spearmanr([rows[s] for s in sorted(rows)], [final[s] for s in sorted(rows)]).statistic
    assert f"is {rho:+.2f} (n = 15)" in page


def test_an_unreadable_service_database_is_said_and_the_rest_of_the_report_is_written(tmp_path):
    course, _, _ = built()
    empty = tmp_path / "empty.sqlite"
    sqlite3.connect(empty).close()
    assert main(["report", A1, "--course", str(course), "--to", str(tmp_path / "out"), "--service-db",
                 f"sqlite:///{empty}", "--no-similarity"]) == 0
    page = (tmp_path / "out" / A1 / "report.html").read_text()
    assert "could not be read" in page and "4 of 12 students" in page


def test_the_students_page_says_where_each_student_stands():
    course, _, _ = built()
    rows = {r["student"]: r for r in read_csv("students", folder=".")}
    assert float(rows["bob"][f"{A1} place in class"]) == 0.0
    best = max(rows.values(), key=lambda r: float(r[f"{A1} score"]))
    assert float(best[f"{A1} place in class"]) > 0.5
    page = (course / "reports" / "students.html").read_text()
    assert "tanh_backward/not-squared" in page[page.index('id="s07"'):]


def test_the_report_page_opens_offline_in_a_browser_with_its_plots_and_tables(chromium, tmp_path):
    import matplotlib.image as mpimg
    import numpy as np

    import browser

    course, _, page = built()
    path = course / "reports" / A1 / "report.html"
    assert "<script" not in page and not re.search(r'(src|href)="(https?:)?//', page)
    dom = browser.run(chromium, tmp_path, "--dump-dom", path.as_uri()).stdout
    assert dom.count("<svg") == 3  # scores per function, time per notebook, the service's use
    for table in ("functions", "uncatalogued", "incidents"):
        assert f'<table data-csv="{table}.csv">' in dom
    assert "4 of 12 students" in dom and "never a verdict" in dom
    shot = tmp_path / "report.png"
    browser.run(chromium, tmp_path, f"--screenshot={shot}", "--window-size=1280,2400", path.as_uri())
    pixels = mpimg.imread(shot)[..., :3]
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 50


def test_a_record_survives_its_file_and_a_broken_one_is_named(tmp_path):
    _, class_records, _ = built()
    record = class_records["s01"]
    assert records.Record.from_json(record.to_json()) == record
    path = tmp_path / records.RECORD_FILE
    path.write_text('{"version": 1, "checks": 3}')
    with pytest.raises(ValueError, match=re.escape(str(path))):
        records.read(path)


def test_the_default_service_database_is_the_services_own():
    store = pytest.importorskip("autograder.service.store")
    course, _, _ = built()
    assert store.default_url(course) == service.default_url(course)


def test_a_record_that_cannot_be_written_is_said_and_costs_the_grade_nothing(tmp_path, capsys):
    from types import SimpleNamespace

    course, _, _ = built()
    prepared = SimpleNamespace(student="zoe", assignment=A1, notebook=rc.source_notebook(course, A1), forbidden={},
                               notes=[])
    reports = {item.check_id: rc.verdict(item.check_id, "reference") for item in registry.graded(A1)}
    executed = {"runs": {}, "incidents": {}, "outputs": {}, "seconds": 1.0, "restarts": 0}
    assert records.write(tmp_path / "no" / "such" / "folder", prepared, executed, reports) is None
    assert "zoe: could not write the grading record" in capsys.readouterr().err


@pytest.mark.parametrize("findings, kind", [
    ([("dx", "dx is 0.5 times the reference's value, entry by entry", 0.5, False)], "value"),
    ([("kept fraction", "kept fraction is 1, expected 0.7", None, False)], "value"),
    ([("out", "out contains nan or inf (an overflow, or a division by zero?)", None, True)], "nan or inf"),
    ([("dx", "dx has shape (4,), expected (4, 1)", None, False)], "shape"),
    ([("loss", "loss is missing (returned None?)", None, False)], "missing"),
    ([("out", "raised NotImplementedError (line 2 of your code)", None, False)], "not implemented"),
    ([("out", "raised CaseTimeout: took longer than 8 s of CPU time", None, False)], "timeout"),
    ([("out", "raised IndexError: index 7 is out of bounds", None, False)], "raised IndexError"),
    ([("*", "was not run", None, False)], "not run"),
])
def test_a_failing_case_is_named_by_what_went_wrong(findings, kind):
    from autograder.grading.judge import Finding

    assert records.failure_kind([Finding(o, False, m, e, n) for o, m, e, n in findings]) == kind
