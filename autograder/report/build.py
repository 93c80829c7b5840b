"""One assignment's report: read the inputs, compute every section, write the page and its CSVs.

    <to>/<assignment>/report.html          the page (self-contained)
    <to>/<assignment>/<table>.csv          functions, scores, mistakes, uncatalogued, incidents, times,
                                           similarity, and service (when the service was used)
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from autograder.report import failures, incidents, mistakes, scores, service, similarity
from autograder.report.html import Sections, page
from autograder.report.inputs import ClassData, load
from autograder.report.tables import Table, write_csv


@dataclass
class Built:
    page: Path
    csvs: list[Path]
    sections: Sections


def similarity_of(data: ClassData) -> similarity.Similarity:
    """The similarity of the answer cells that define this assignment's graded names."""
    graded = {item.name for item in data.graded_items}
    answers = {student: [a.source for a in record.answers.values() if graded & set(a.defines)]
               for student, record in data.records.items()}
    release, source = data.notebook("release"), data.notebook("source")
    release_sources = [c.source for c in release.cells if c.cell_type == "code"] if release else []
    reference_sources = [c.source for c in source.cells if c.metadata.get("tdn", {}).get("solution_of")] if source else []
    return similarity.compare(answers, release_sources, reference_sources)


def similarity_table(sim: similarity.Similarity) -> Table:
    return Table("similarity", ["rank", "student", "other student", "shared fingerprints", "share of the first's",
                                "share of the other's", "matching regions"],
                 [[i, p.a, p.b, p.shared, round(p.a_fraction, 3), round(p.b_fraction, 3), len(p.regions) or None]
                  for i, p in enumerate(sim.pairs, start=1)])


def sections(data: ClassData, service_url: str | None, with_similarity: bool = True) -> Sections:
    of = len(data.records)
    functions = scores.per_function(data)
    counts = mistakes.counted(data)
    groups = failures.uncatalogued(data)
    cells = incidents.per_cell(data)
    timing = incidents.timing(data)
    use = service.analyse(data, service_url) if service_url else None
    sim = similarity_of(data) if with_similarity else None
    tables = [scores.functions_table(functions), scores.students_table(data), mistakes.table(counts, of),
              failures.table(groups, of), incidents.table(cells, of), incidents.times_table(timing)]
    if sim is not None:
        tables.append(similarity_table(sim))
    if use is not None and use.error is None:
        tables.append(service.table(use, data))
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return Sections(data, functions, counts, groups, failures.inherited(data), cells, timing, use, sim, tables,
                    generated)


def write(s: Sections, folder: Path) -> Built:
    folder.mkdir(parents=True, exist_ok=True)
    csvs = [write_csv(t, folder) for t in s.tables]
    path = folder / "report.html"
    tmp = path.with_name(".report.html.tmp")
    tmp.write_text(page(s), encoding="utf-8")
    tmp.replace(path)
    return Built(path, csvs, s)


def build(course_root: Path, assignment: str, to: Path, service_db: str | None = None,
          with_similarity: bool = True) -> Built:
    """Write `assignment`'s report under `to`/<assignment>/ (module docstring).

    - service_db: the feedback service's SQLAlchemy URL; None: its default database, when the course has one
    """
    data = load(course_root, assignment)
    url = service_db if service_db is not None else service.default_url(course_root)
    return write(sections(data, url, with_similarity), Path(to) / assignment)
