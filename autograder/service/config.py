"""Everything an instructor can set about the service, with its default: one place for each.

`autograder serve --help` shows the same defaults (autograder.commands.serve reads them here).
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from autograder import sandbox
from autograder.service.store import Rate, default_url

DEFAULT_PORT = 8400
DEFAULT_QUEUE = 100  # requests waiting or running at once, over all students
DEFAULT_UPLOAD_MB = 16  # a notebook with its plots is a few MB
UPLOAD_MEMORY_MB = 256  # upload bodies held in memory at one moment, over all students
HUB_SERVICE_NAME = "tdn-feedback"  # the name the README's JupyterHub configuration gives the service


@dataclass
class Config:
    """The service's settings.

    - course: the nbgrader course root; assignments: the ids it answers for (default: every one
      with a source and a release)
    - database: an SQLAlchemy URL (default: SQLite in <course>/.tdn-service/, see store.default_url)
    - rate: per student and assignment; queue: the bound on waiting plus running requests
    - max_upload_bytes: the largest notebook; upload_memory_bytes: the bodies being received at one
      moment, in bytes (an upload past it gets 503 with Retry-After)
    - workers: grades at once (each one sandbox); max_attempts: tries before a request whose grading
      keeps stopping (a dying worker, a stopped service) is failed
    - limits: the sandbox's, the same as `autograder grade` by default, so the answers are the same
    - hub: authenticate with JupyterHub's OAuth too (it runs as a Hub-managed service)
    - base_url: the path prefix (a Hub-managed service lives under /services/<name>/)
    - warm: at start, generate the hidden cases and judge each assignment's reference notebook once,
      so the first student does not wait for it, and log whether the reference earns every point
    """

    course: Path
    assignments: list[str] = field(default_factory=list)
    database: str = ""
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    base_url: str = "/"
    rate: Rate = field(default_factory=Rate)
    queue: int = DEFAULT_QUEUE
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    max_attempts: int = 2
    max_upload_bytes: int = DEFAULT_UPLOAD_MB << 20
    upload_memory_bytes: int = UPLOAD_MEMORY_MB << 20
    limits: sandbox.Limits = field(default_factory=sandbox.Limits)
    insecure: bool = False
    hub: bool = False
    warm: bool = True

    def __post_init__(self):
        self.course = Path(self.course).resolve()
        self.database = self.database or default_url(self.course)
        self.base_url = "/" + self.base_url.strip("/") + "/" if self.base_url.strip("/") else "/"


def parse_rate(text: str) -> Rate:
    """'6/hour', '6/h', '10/30min', '3/600s', '20/day' -> Rate."""
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d*\.?\d*)\s*(s|sec|seconds?|m|min|minutes?|h|hours?|d|days?)\s*", text)
    if not m or int(m[1]) < 1:
        raise ValueError(f"a rate is COUNT/PERIOD, such as 6/hour or 10/30min, not {text!r}")
    unit = {"s": 1, "m": 60, "h": 3600, "d": 86400}[m[3][0]]
    return Rate(int(m[1]), float(m[2] or 1) * unit)
