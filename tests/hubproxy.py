"""A real JupyterHub for the tests of the feedback service as a Hub-managed service.

JupyterHub comes from PyPI (the `dev` extra pins it); its proxy, configurable-http-proxy, from npm,
installed once into a cache folder (as tests/browser.py installs Chromium). Where either cannot be
had, the tests that need them skip and say why.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

PROXY_VERSION = "5.3.0"


def cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "tdn-tests" / f"chp-{PROXY_VERSION}"


def install_proxy() -> str | None:
    """The path of configurable-http-proxy: on PATH, in the cache, or installed there with npm."""
    found = shutil.which("configurable-http-proxy")
    if found:
        return found
    binary = cache_dir() / "node_modules" / ".bin" / "configurable-http-proxy"
    if not binary.exists() and shutil.which("npm"):
        cache_dir().mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(cache_dir()),
                        f"configurable-http-proxy@{PROXY_VERSION}"], capture_output=True, timeout=600)
    return str(binary) if binary.exists() else None
