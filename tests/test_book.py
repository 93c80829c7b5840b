"""The lecture site builds offline, and in a real browser its pages show figures and typeset math.

The site is built once per test session with `make book` (the command readers use) and checked in
headless Chromium (the `chromium` fixture, tests/conftest.py).
"""
import fcntl
import os
import pathlib
import re
import shutil
import subprocess
from html.parser import HTMLParser

import matplotlib.image as mpimg
import numpy as np
import pytest

from browser import run as _browser
from lecture_runner import LECTURES, ROOT

SITE = ROOT / "lectures" / "_build" / "html"
PAGES = [SITE / f"{path.stem}.html" for path in LECTURES]
PAGE_IDS = [path.stem for path in LECTURES]


def _test_run_id(config: pytest.Config) -> str:
    """The same string in every pytest-xdist worker of one run; unique to this process otherwise."""
    workerinput = getattr(config, "workerinput", None)
    return workerinput["testrunuid"] if workerinput else f"pid-{os.getpid()}"


@pytest.fixture(scope="session")
def site(pytestconfig):
    """Build the site with `make book` once per test run; every later test reuses that build.

    Under pytest-xdist several workers may ask at once: the first one to take the lock builds,
    the others wait and then find the build stamped with this run's id.
    """
    if shutil.which("make") is None or shutil.which("npm") is None:
        pytest.skip("building the site needs make and npm (npm fetches MathJax)")
    build_dir = SITE.parent
    build_dir.mkdir(parents=True, exist_ok=True)
    stamp, run_id = build_dir / ".built-by-test-run", _test_run_id(pytestconfig)
    with open(build_dir / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (stamp.exists() and stamp.read_text() == run_id):
            _make_book()
            stamp.write_text(run_id)
    return SITE


def _make_book() -> None:
    # A parent `make test` passes its job server and flags down; this is a separate build.
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    result = subprocess.run(["make", "book"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    if result.returncode != 0:
        log = (result.stdout + result.stderr)[-4000:]
        pytest.fail(f"`make book` failed with exit code {result.returncode}:\n{log}", pytrace=False)


class _Page(HTMLParser):
    """Collects a page's resource URLs, its images, its MathJax containers and its visible prose."""

    SKIP = {"script", "style", "pre", "code", "mjx-container", "mjx-assistive-mml", "math"}

    def __init__(self):
        super().__init__()
        self.resources, self.images, self.math_containers, self.text = [], [], 0, []
        self._skipping = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("script", "img") and attrs.get("src"):
            self.resources.append(attrs["src"])
        if tag == "link" and attrs.get("rel") in ("stylesheet", "preload") and attrs.get("href"):
            self.resources.append(attrs["href"])
        if tag == "img":
            self.images.append(attrs.get("src", ""))
        if tag == "mjx-container":
            self.math_containers += 1
        if tag in self.SKIP:
            self._skipping.append(tag)

    def handle_endtag(self, tag):
        if self._skipping and self._skipping[-1] == tag:
            self._skipping.pop()

    def handle_data(self, data):
        if not self._skipping:
            self.text.append(data)


def _colour_counts(png: pathlib.Path) -> np.ndarray:
    """How many pixels of each distinct RGB colour the image has (the order is arbitrary)."""
    pixels = mpimg.imread(png)
    rgb = np.round(pixels[..., :3] * 255).astype(np.int64) if pixels.dtype.kind == "f" else pixels[..., :3].astype(np.int64)
    codes = (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]  # one integer per colour
    return np.unique(codes, return_counts=True)[1]


def _parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


def test_there_is_a_page_for_every_lecture(site):
    missing = [page.name for page in PAGES if not page.exists()]
    assert missing == [], f"lectures without a page in {site}: {missing}"
    assert (site / "index.html").exists()


@pytest.mark.parametrize("page", [SITE / "intro.html", *PAGES], ids=["intro", *PAGE_IDS])
def test_pages_load_nothing_from_the_network(site, page):
    remote = [url for url in _parse(page.read_text()).resources if re.match(r"^(https?:)?//", url)]
    assert remote == [], f"{page.name} loads {remote}; the site must work offline"


@pytest.mark.parametrize("page", PAGES, ids=PAGE_IDS)
def test_lecture_figures_are_embedded_and_not_blank(site, page):
    images = _parse(page.read_text()).images
    assert images, f"{page.name} has no <img>: were the notebook's figures executed?"
    for src in images:
        path = (page.parent / src).resolve()
        assert path.is_file() and path.stat().st_size > 0, f"{page.name}: image {src} is missing or empty"
        assert len(_colour_counts(path)) > 1, f"{page.name}: image {src} is a single colour"


@pytest.mark.parametrize("page", PAGES, ids=PAGE_IDS)
def test_math_is_typeset_by_the_vendored_mathjax(site, chromium, tmp_path, page):
    dom = _browser(chromium, tmp_path, "--dump-dom", page.as_uri()).stdout
    parsed = _parse(dom)
    prose = " ".join(parsed.text)

    assert parsed.math_containers > 0, f"{page.name}: MathJax produced no <mjx-container>"
    leftovers = [token for token in ("$$", "\\(", "\\[") if token in prose]
    assert leftovers == [], f"{page.name}: untypeset math delimiters {leftovers} remain in the text"


@pytest.mark.parametrize("page", PAGES, ids=PAGE_IDS)
def test_a_screenshot_of_each_lecture_is_not_blank(site, chromium, tmp_path, page):
    shot = tmp_path / f"{page.stem}.png"
    result = _browser(chromium, tmp_path, f"--screenshot={shot}", "--window-size=1280,3000", page.as_uri())
    assert shot.exists(), f"Chromium wrote no screenshot of {page.name}:\n{result.stderr[-2000:]}"

    counts = _colour_counts(shot)
    background_share = counts.max() / counts.sum()
    assert len(counts) > 100, f"{page.name}: the screenshot has only {len(counts)} colours"
    assert background_share < 0.95, f"{page.name}: {background_share:.0%} of the screenshot is one colour"
