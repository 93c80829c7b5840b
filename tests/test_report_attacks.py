"""Student text in the class report's files: a spreadsheet must not run it, a browser must not either."""
from __future__ import annotations

import csv

from autograder.report.html import HEAD
from autograder.report.tables import Table, write_csv


def test_a_cell_that_begins_like_a_formula_is_written_to_the_csv_as_text(tmp_path):
    hostile = ['=HYPERLINK("http://x.invalid","click")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)", "\tx"]
    table = Table("hostile", ["student", "score"], [[text, -1.5] for text in hostile] + [["alice", 2.0]])
    with open(write_csv(table, tmp_path), newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["student"] for r in rows] == ["'" + text for text in hostile] + ["alice"]
    assert {r["score"] for r in rows} == {"-1.5", "2"}  # numbers stay numbers, negative ones too


def test_the_report_pages_allow_no_script_and_no_network():
    policy = HEAD.split('content="', 1)[1]
    assert "default-src 'none'" in policy and "script-src" not in policy and "http" not in policy


def test_answer_cells_too_deep_or_too_long_for_the_parser_still_give_a_document():
    from autograder.report.fingerprints import normalize

    cells = ["x = " + "1+" * 50_000 + "1", "y = " + "[" * 300 + "]" * 300, "z = (" + "a." * 20_000 + "b)",
             "def relu_forward(x):\n    return x * (x > 0)\n"]
    doc = normalize(cells, frozenset({"relu_forward"}))
    assert doc.text.count("\n\n") == len(cells) - 1  # every cell is kept for the side-by-side view
    assert any("relu_forward" in tokens for tokens, _ in doc.units)
