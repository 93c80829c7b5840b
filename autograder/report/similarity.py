"""Pairs of submissions whose answer code is unusually similar: a list for a person to read.

Each submission's answer cells (those that define this assignment's graded names) are
normalized and fingerprinted (`fingerprints`: winnowing, as MOSS does). Three kinds of
fingerprints are then set aside, so that what remains is what a student wrote beyond what
everyone writes:
- the release notebook's own code (stubs, the setup cell, the self-checks a student may paste);
- the reference solution: its idioms (`np.maximum(0, x)`, `dout.sum(axis=0)`) are what a correct
  answer looks like, so matching them says nothing about two students;
- fingerprints that more than COMMON_FRACTION of the class (at least COMMON_MIN submissions)
  share, as MOSS's `-m` does: an idiom of the class that the reference happens not to use.

Pairs are found through an inverted index (fingerprint -> submissions), never by comparing every
pair, so a class of 500 takes seconds. A pair is listed when it shares at least MIN_SHARED
fingerprints, ranked by how many it shares. With each pair come its matching regions (line ranges
in both submissions), for the side-by-side view.
"""
from __future__ import annotations

import ast
from collections import Counter
from dataclasses import dataclass, field

from autograder.report.fingerprints import K, W, Document, all_kgrams, fingerprints, normalize
from autograder.spec import registry

NOTICE = ("This list is for a person to read, never a verdict. It ranks pairs whose answer code shares long "
          "stretches after names, comments, whitespace and the order of functions were normalized, and after the "
          "release notebook's code, the reference's idioms and code most of the class shares were set aside. "
          "Similar code has innocent causes too (a permitted study group, a common textbook, a short function that "
          "can only be written a few ways): read both submissions, and talk with the students, before concluding "
          "anything.")
COMMON_FRACTION = 0.1
COMMON_MIN = 5
MIN_SHARED = 5  # about four lines in common: a shared three-line idiom stays off the list
LISTED = 30  # pairs in the table; the side-by-side view is for the first VIEWED of them
VIEWED = 10


@dataclass
class Region:
    """One matching stretch: lines (first, last) in each submission's shown text, and its length in tokens."""

    a_lines: tuple[int, int]
    b_lines: tuple[int, int]
    tokens: int


@dataclass
class Pair:
    a: str
    b: str
    shared: int  # fingerprints both have, after the exclusions
    a_fraction: float  # of a's fingerprints, the share found in b
    b_fraction: float
    regions: list[Region] = field(default_factory=list)


@dataclass
class Similarity:
    pairs: list[Pair]  # ranked, at most LISTED
    documents: dict[str, Document]
    fingerprinted: dict[str, int]  # student -> fingerprints left after the exclusions
    pairs_sharing: int  # pairs that share at least one fingerprint
    excluded_base: int  # fingerprint occurrences set aside as release or reference code
    common: int  # distinct fingerprints set aside as shared by much of the class
    common_threshold: int


def names_kept(release_sources: list[str]) -> frozenset[str]:
    """Names no normalization renames: every graded name, and what the release notebook binds at top level."""
    kept = {item.name for items in registry.ASSIGNMENTS.values() for item in items}
    for source in release_sources:
        try:
            tree = ast.parse("\n".join("" if ln.lstrip().startswith(("%", "!")) else ln for ln in source.split("\n")))
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                kept.update((a.asname or a.name).split(".")[0] for a in node.names)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                kept.add(node.name)
            else:
                kept.update(n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store))
    return frozenset(kept)


def compare(answers: dict[str, list[str]], release_sources: list[str], reference_sources: list[str]) -> Similarity:
    """Rank the pairs of `answers` (student -> answer cell sources, in notebook order); module docstring.

    - release_sources: every code cell of the release notebook
    - reference_sources: the reference's answer cells (the source notebook's)
    """
    keep = names_kept(release_sources)
    base = all_kgrams(normalize(release_sources, keep)) | all_kgrams(normalize(reference_sources, keep))
    documents = {s: normalize(cells, keep) for s, cells in sorted(answers.items())}
    prints, excluded = {}, 0
    for student, doc in documents.items():
        found = fingerprints(doc)
        excluded += sum(len(v) for h, v in found.items() if h in base)
        prints[student] = {h: v for h, v in found.items() if h not in base}
    holders: dict[int, list[str]] = {}
    for student, found in prints.items():
        for h in found:
            holders.setdefault(h, []).append(student)
    threshold = max(COMMON_MIN, int(COMMON_FRACTION * len(documents)))
    common = {h for h, who in holders.items() if len(who) > threshold}
    shared: Counter = Counter()
    for h, who in holders.items():
        if h in common or len(who) < 2:
            continue
        for i, a in enumerate(who):
            for b in who[i + 1:]:
                shared[(a, b)] += 1
    counts = {s: sum(1 for h in found if h not in common) for s, found in prints.items()}
    ranked = sorted(((n, a, b) for (a, b), n in shared.items() if n >= MIN_SHARED),
                    key=lambda t: (-t[0], -(t[0] / max(1, min(counts[t[1]], counts[t[2]]))), t[1], t[2]))
    pairs = []
    for n, a, b in ranked[:LISTED]:
        pair = Pair(a, b, n, n / max(1, counts[a]), n / max(1, counts[b]))
        if len(pairs) < VIEWED:
            pair.regions = _regions(documents[a], documents[b], prints[a], prints[b], common)
        pairs.append(pair)
    return Similarity(pairs, documents, counts, len(shared), excluded, len(common), threshold)


def _regions(doc_a: Document, doc_b: Document, prints_a: dict, prints_b: dict, common: set) -> list[Region]:
    """Matching stretches: shared k-grams in the same pair of units, close in both, merged."""
    matches = sorted((ua, pa, ub, pb) for h in prints_a.keys() & prints_b.keys() if h not in common
                     for ua, pa in prints_a[h] for ub, pb in prints_b[h])
    merged: list[list[int]] = []  # [unit a, start a, end a, unit b, start b, end b]
    for ua, pa, ub, pb in matches:
        last = merged[-1] if merged else None
        if last and last[0] == ua and last[3] == ub and pa - last[2] <= W + K and 0 <= pb - last[5] + K <= W + 2 * K:
            last[2], last[5] = max(last[2], pa + K), max(last[5], pb + K)
        else:
            merged.append([ua, pa, pa + K, ub, pb, pb + K])
    regions = []
    for ua, sa, ea, ub, sb, eb in merged:
        lines_a, lines_b = doc_a.units[ua][1][sa:ea], doc_b.units[ub][1][sb:eb]
        regions.append(Region((min(lines_a), max(lines_a)), (min(lines_b), max(lines_b)), ea - sa))
    return sorted(regions, key=lambda r: r.a_lines)
