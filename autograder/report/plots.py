"""The report's plots, drawn with matplotlib as SVG text to put inline in the page (no files, no network).

Figures are built with `matplotlib.figure.Figure`, not pyplot, so drawing keeps no global state;
text stays text in the SVG (svg.fonttype 'none'), which keeps the page small and searchable.
"""
from __future__ import annotations

import io

import matplotlib
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure

BANDS = ("0", "up to 25%", "up to 50%", "up to 75%", "below full", "full")
BAND_COLORS = ("#c0392b", "#e59866", "#d5d8dc", "#aeb6bf", "#85c1e9", "#1e8449")


def _svg(fig: Figure) -> str:
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "tdn-report"}):
        FigureCanvasSVG(fig).print_svg(buffer)
    text = buffer.getvalue()
    return text[text.index("<svg"):]  # inline: no XML prologue or doctype


def band(score: float, points: float) -> int:
    """Which of BANDS a score falls in."""
    if score <= 1e-9:
        return 0
    if score >= points - 1e-9:
        return 5
    share = score / points
    return 1 if share <= 0.25 else 2 if share <= 0.5 else 3 if share <= 0.75 else 4


def score_bands(panels: list[tuple[str, list[float], float]]) -> str:
    """Small multiples: per panel (title, scores, points), how many students fall in each band."""
    cols = min(5, len(panels))
    rows = -(-len(panels) // cols)
    fig = Figure(figsize=(2.6 * cols, 1.9 * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax, (title, scores, points) in zip(axes.flat, panels):
        counts = [0] * len(BANDS)
        for s in scores:
            counts[band(s, points)] += 1
        ax.bar(range(len(BANDS)), counts, color=BAND_COLORS, width=0.8)
        ax.set_title(f"{title} ({points:g} pt)", fontsize=9)
        ax.set_xticks(range(len(BANDS)), ["0", "", "", "", "", "full"], fontsize=8)
        ax.tick_params(axis="y", labelsize=8)
        ax.spines[["top", "right"]].set_visible(False)
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    fig.supylabel("students", fontsize=9)
    return _svg(fig)


def histogram(values: list[float], xlabel: str, bins: int = 20) -> str:
    fig = Figure(figsize=(6, 2.4), layout="constrained")
    ax = fig.subplots()
    ax.hist(values, bins=bins, color="#5d6d7e")
    ax.set_xlabel(xlabel, fontsize=9)
    ax.set_ylabel("notebooks", fontsize=9)
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(fig)


def service_use(per_day: dict[str, int], asked: list[int], final: list[float], max_score: float) -> str:
    """Requests per day before the deadline, and answered requests against the final score."""
    fig = Figure(figsize=(9, 2.8), layout="constrained")
    left, right = fig.subplots(1, 2, width_ratios=[3, 2])
    days = sorted(per_day)
    left.bar(range(len(days)), [per_day[d] for d in days], color="#2e86c1")
    step = max(1, len(days) // 8)
    left.set_xticks(range(0, len(days), step), [d[5:] for d in days[::step]], fontsize=8)
    left.set_ylabel("requests", fontsize=9)
    left.set_title("requests per day before the deadline", fontsize=9)
    right.scatter(asked, final, s=12, alpha=0.6, color="#2e86c1")
    right.set_xlabel("answered requests before the deadline", fontsize=9)
    right.set_ylabel("final score", fontsize=9)
    right.set_ylim(-0.02 * max_score, 1.05 * max_score)
    for ax in (left, right):
        ax.spines[["top", "right"]].set_visible(False)
    return _svg(fig)
