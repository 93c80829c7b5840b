"""Every figure of the executed lectures stays legible in a 1200 px wide browser window.

JupyterLab and the lecture site shrink an image that is wider than the page to fit it, so a text
of s points in a PNG that is W px wide at d dpi appears s * d / 72 * min(1, DISPLAY_WIDTH_PX / W)
px tall; it must be at least MIN_TEXT_PX. Text must also stay inside its figure (outside, it is
cut off or silently widens the PNG past its planned size), and no two texts may run into each
other (squeezed panels make titles and tick labels collide). The measurements come from tests/figure_probe.py, taken in the kernel of
the shared lecture run (tests/lecture_runner.py).
"""
import itertools

import pytest

from lecture_runner import LECTURES, LectureError, executed_lecture

DISPLAY_WIDTH_PX = 1200  # the widest a figure is shown in a 1200 px window
MIN_TEXT_PX = 10
SLACK_PX = 1  # rounding of text extents


def figures(path, config):
    try:
        lecture = executed_lecture(path, config)
    except LectureError as err:
        pytest.fail(str(err), pytrace=False)
    assert lecture.figures, f"{path.name} showed no figures: is the probe still installed?"
    return lecture, lecture.figures


def describe(lecture, figure) -> str:
    width, height = figure["png"]
    return f"{lecture.path.name}, figure of code cell {lecture.cell_of(figure)} ({width} x {height} px)"


def on_screen_px(figure, fontsize: float) -> float:
    return fontsize * figure["dpi"] / 72 * min(1.0, DISPLAY_WIDTH_PX / figure["png"][0])


pytestmark = [pytest.mark.slow, pytest.mark.parametrize("path", LECTURES, ids=[p.stem for p in LECTURES])]


def test_figure_text_is_at_least_10_px_on_screen(path, pytestconfig):
    lecture, figs = figures(path, pytestconfig)
    small = []
    for figure in figs:
        too_small = sorted({(t["fontsize"], t["text"][:30]) for t in figure["texts"]
                            if on_screen_px(figure, t["fontsize"]) < MIN_TEXT_PX})
        if too_small:
            size, text = too_small[0]
            small.append(f"{describe(lecture, figure)}: {len(too_small)} texts below {MIN_TEXT_PX} px, e.g. {text!r} "
                         f"at {size:g} pt = {on_screen_px(figure, size):.1f} px; make the figure narrower "
                         f"(at most {DISPLAY_WIDTH_PX} px) or its fonts larger")
    assert not small, "\n".join(small)


def test_no_text_sticks_out_of_its_figure(path, pytestconfig):
    lecture, figs = figures(path, pytestconfig)
    outside = []
    for figure in figs:
        x0, y0, x1, y1 = figure["figure"]
        for t in figure["texts"]:
            a, b, c, d = t["bbox"]
            if a < x0 - SLACK_PX or b < y0 - SLACK_PX or c > x1 + SLACK_PX or d > y1 + SLACK_PX:
                outside.append(f"{describe(lecture, figure)}: {t['text'][:40]!r} spans x {a:.0f}..{c:.0f}, "
                               f"y {b:.0f}..{d:.0f}, outside the figure's {x1 - x0:.0f} x {y1 - y0:.0f} px")
    assert not outside, "\n".join(outside)


def test_no_two_texts_overlap(path, pytestconfig):
    lecture, figs = figures(path, pytestconfig)
    overlaps = []
    for figure in figs:
        for a, b in itertools.combinations(figure["texts"], 2):
            width = min(a["bbox"][2], b["bbox"][2]) - max(a["bbox"][0], b["bbox"][0])
            height = min(a["bbox"][3], b["bbox"][3]) - max(a["bbox"][1], b["bbox"][1])
            if width > SLACK_PX and height > SLACK_PX:
                overlaps.append(f"{describe(lecture, figure)}: {a['text'][:30]!r} and {b['text'][:30]!r} overlap")
    assert not overlaps, "\n".join(overlaps)
