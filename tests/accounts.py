"""Ordinary (non-root) accounts for the tests that prove the rootless path."""
from __future__ import annotations

import pwd
import subprocess


def ordinary_account(name: str) -> str:
    """The account `name`, created (with a home) when missing; needs root."""
    try:
        pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--create-home", name], check=True, capture_output=True)
    return name
