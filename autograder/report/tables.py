"""The report's numbers as tables: each section builds its rows once, and the same rows are drawn
on the page and written as `<name>.csv` beside it, so the two can never disagree."""
from __future__ import annotations

import csv
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Table:
    """- name: the CSV's file name without .csv
    - columns: header
    - rows: one list per row, values str, int, float or None (an empty cell)"""

    name: str
    columns: list[str]
    rows: list[list]


def cell(value) -> str:
    """A value as both the CSV and the page show it: points to two decimals at most, None as empty."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{round(value, 2):g}"
    return str(value)


# A text cell a spreadsheet would read as a formula: student ids and feedback text are the students'.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def csv_cell(value) -> str:
    """`cell(value)` for a CSV opened in a spreadsheet: a text that begins like a formula (`=HYPERLINK(...)`,
    `+1`, `@SUM`) gets a leading apostrophe, so it stays text; numbers are never changed."""
    text = cell(value)
    if isinstance(value, str) and text.startswith(_FORMULA_START):
        return "'" + text
    return text


def write_csv(table: Table, folder: Path) -> Path:
    """Write the table as folder/<name>.csv (through a temporary file, so a reader never sees half of it).

    Text cells that a spreadsheet would run as a formula are written as text (`csv_cell`)."""
    path = Path(folder) / f"{table.name}.csv"
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(table.columns)
            writer.writerows([csv_cell(v) for v in row] for row in table.rows)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path
