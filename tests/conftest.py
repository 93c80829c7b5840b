"""Session hooks: report the worst error against PyTorch per reference function.

tests/torch_reference.py records, in each process, the worst scaled error of every comparison
with torch. Under pytest-xdist each worker hands its records to the controller; the merged
table is printed at the end of the session and saved in the pytest cache under
REPORT_KEY (.pytest_cache/v/tdn/worst_scaled_error_vs_torch).
"""
import sys

import pytest

REPORT_KEY = "tdn/worst_scaled_error_vs_torch"
_MERGED = pytest.StashKey[dict]()


def _recorded_here():
    # Looked up, not imported: a session that ran no torch comparison has nothing to report
    # and should not pay for importing torch.
    harness = sys.modules.get("torch_reference")
    return dict(harness.WORST_SCALED_ERROR) if harness else {}


def _merge(config, errors):
    merged = config.stash.setdefault(_MERGED, {})
    for name, err in errors.items():
        merged[name] = max(merged.get(name, 0.0), err)


def pytest_sessionfinish(session):
    if hasattr(session.config, "workeroutput"):  # an xdist worker: send the records along
        session.config.workeroutput["worst_scaled_error"] = _recorded_here()


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    _merge(node.config, getattr(node, "workeroutput", {}).get("worst_scaled_error", {}))


def pytest_terminal_summary(terminalreporter, config):
    _merge(config, _recorded_here())
    worst = config.stash.get(_MERGED, {})
    if not worst:
        return
    terminalreporter.section("worst scaled error against torch, per function")
    for name in sorted(worst):
        terminalreporter.write_line(f"{name:<28} {worst[name]:.2e}")
    if config.cache is not None:
        config.cache.set(REPORT_KEY, dict(sorted(worst.items())))


# ------------------------------------------------------------------ fixtures the lecture claims share

@pytest.fixture(scope="module")
def one_thread():
    """Torch on one thread: two test workers on two cores, and torch's own threads fight them."""
    from course.torch_nets import single_threaded

    with single_threaded():
        yield


@pytest.fixture(scope="session")
def data():
    """The default dataset, split and standardized as the lectures load it."""
    from course import load_dataset

    return load_dataset("digits")


@pytest.fixture(scope="session")
def chromium():
    """The path of headless Chromium, installed when missing (see tests/browser.py)."""
    import browser

    path = browser.install()
    if path is None:
        pytest.skip("headless Chromium is missing and could not be installed "
                    "(`apt-get install -y chromium` needs root on Debian)")
    return path


@pytest.fixture(scope="session")
def traversable_interpreter():
    """Let other accounts reach this interpreter. Python may live under a 0700 home (pyenv in
    /root): search permission (o+x, not read) on the directories above it. Left in place: tests
    in other workers may be starting that interpreter as another account at the same moment."""
    import os
    from pathlib import Path

    for directory in Path(sys.base_prefix).resolve().parents:
        mode = directory.stat().st_mode
        if not mode & 0o001:
            os.chmod(directory, mode | 0o001)
    yield
