"""What one submission may use. The same limits apply in every isolation mode."""
from __future__ import annotations

import os
import resource
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Limits:
    cell_seconds: float = 120.0
    submission_seconds: float = 900.0
    memory_bytes: int = 6 << 30  # address space; NumPy, IPython and matplotlib map about 1 GiB
    processes: int = 64
    file_bytes: int = 256 << 20
    report_bytes: int = 96 << 20  # everything the runtime may say: an honest a2 sends about 30 MB (raw draws)
    max_messages: int = 20_000
    restarts: int = 3
    # A case's budget is CPU time, counted inside; from outside it is stopped after this many times
    # its budget in wall time (plus the grace), for code that blocks the signal: a loaded machine
    # stretches wall time, and a correct case must not be stopped for a neighbour's load.
    case_wall_factor: float = 3.0
    case_grace_seconds: float = 3.0

    def as_dict(self) -> dict:
        return asdict(self)


def apply(limits: Limits):
    """A preexec function: a new session, and the rlimits, in the child before it starts the sandbox."""

    def set_limits():
        os.setsid()
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
        resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))
        cpu = int(limits.submission_seconds) + 5
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    return set_limits
