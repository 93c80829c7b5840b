"""Headless Chromium for the tests of every page we build or serve: Debian's `chromium` package,
installed with apt-get when missing (as root on Debian; elsewhere the tests that need it skip)."""
from __future__ import annotations

import os
import pathlib
import shutil
import subprocess


def install() -> str | None:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found or os.geteuid() != 0 or shutil.which("apt-get") is None:
        return found
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "install", "-y", "chromium"], ["apt-get", "update"], ["apt-get", "install", "-y", "chromium"]):
        subprocess.run(command, env=env, capture_output=True, timeout=1200)
        if shutil.which("chromium"):
            break
    return shutil.which("chromium")


# Headless, with no network services of its own (this machine's network is closed).
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars"]


def run(chromium: str, tmp_path: pathlib.Path, *args: str) -> subprocess.CompletedProcess:
    """Chromium headless with no network services of its own; `args` say what to do (--dump-dom URL, ...)."""
    flags = [*FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=20000"]
    return subprocess.run([chromium, *flags, *args], capture_output=True, text=True, timeout=180)
