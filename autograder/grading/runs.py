"""Recorded runs as the judge reads them: what the sandbox reported for one case, parsed defensively.

Everything here comes from a process that ran student code. `read_run` accepts only the shape the
runtime's recorder produces; anything else becomes a run whose error says the record could not be
read, and never an exception in the grading process.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from autograder.runtime import wire

MAX_OUTPUTS = 64
MAX_TEXT = 500


@dataclass
class Run:
    """What one case produced: outputs (name -> float64 array or None), or the error that stopped it."""

    outputs: dict[str, np.ndarray | None] | None = None
    error: str | None = None
    mutations: list[tuple[str, str]] = field(default_factory=list)  # (function, argument) changed in place


UNREADABLE = "its recorded outputs could not be read"


def read_run(data) -> Run:
    """A Run from the recorder's plain data (see autograder.runtime.recorder.record)."""
    if not isinstance(data, dict):
        return Run(error=UNREADABLE)
    error = data.get("error")
    if error is not None:
        return Run(error=str(error)[:MAX_TEXT], mutations=_mutations(data.get("mutated")))
    raw = data.get("outputs")
    if not isinstance(raw, dict) or len(raw) > MAX_OUTPUTS:
        return Run(error=UNREADABLE)
    outputs = {}
    try:
        for key, value in raw.items():
            decoded = None if value is None else wire.decode(value, untrusted=True)
            if decoded is not None and not isinstance(decoded, np.ndarray):
                raise wire.WireError("an output that is not an array")
            outputs[str(key)[:200]] = None if decoded is None else decoded.astype(np.float64)
    except wire.WireError:
        return Run(error=UNREADABLE)
    return Run(outputs, None, _mutations(data.get("mutated")))


def _mutations(data) -> list[tuple[str, str]]:
    if not isinstance(data, list):
        return []
    return [(str(m[0])[:100], str(m[1])[:100]) for m in data[:20]
            if isinstance(m, list) and len(m) == 2 and all(isinstance(s, str) for s in m)]
