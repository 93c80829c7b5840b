"""One compute thread per process, unless TDN_THREADS says otherwise.

The course's arrays are small (a 64 x 100 weight matrix, a batch of 50 rows). Splitting such a
product across threads costs more in synchronization than it saves, and on a busy laptop the
threads that OpenBLAS, OpenMP and torch start by default spin while they wait for a core: on two
cores a filled-in assignment notebook took 213 s with the default threads and 18 s with one. The
Makefile and the grader set OPENBLAS_NUM_THREADS=1 and OMP_NUM_THREADS=1; a plain `jupyter lab`
does not, so the course caps the thread pools itself:

- `import course` caps the BLAS and OpenMP pools already loaded, NumPy's among them (through
  threadpoolctl), and torch's intra-op threads if torch is already imported;
- it also sets OPENBLAS_NUM_THREADS, OMP_NUM_THREADS and MKL_NUM_THREADS to the cap, so that a
  library loaded later (SciPy brings its own OpenBLAS) and child processes start capped too;
- the course modules that import torch (`course.torch_bridge`, `course.torch_nets`) cap torch's
  intra-op threads when they are imported, so importing torch does not make `import course` slow.

The environment variable TDN_THREADS sets the cap: unset or empty means 1; a positive integer N
means N threads; 0 opts out and leaves every library at its own default (and its own variables,
such as OMP_NUM_THREADS, untouched).
"""
from __future__ import annotations

import os
import sys

ENV_VAR = "TDN_THREADS"
DEFAULT_THREADS = 1
LIBRARY_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def thread_cap() -> int | None:
    """The number of threads TDN_THREADS asks for, or None when it opts out (TDN_THREADS=0)."""
    raw = os.environ.get(ENV_VAR, "").strip()
    if not raw:
        return DEFAULT_THREADS
    try:
        threads = int(raw)
    except ValueError:
        threads = -1
    if threads < 0:
        raise ValueError(f"{ENV_VAR} must be a whole number of threads (0: the libraries' defaults), got {raw!r}")
    return threads or None


def cap_numpy_threads() -> None:
    """Limit the BLAS and OpenMP libraries loaded so far (NumPy's among them) to `thread_cap()`."""
    threads = thread_cap()
    if threads is not None:
        import numpy  # noqa: F401  (loads NumPy's BLAS first: threadpoolctl limits only loaded libraries)
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=threads)  # not used as a context manager: the limit stays


def cap_torch_threads() -> None:
    """Limit torch's intra-op threads to `thread_cap()`; call it only where torch is imported anyway."""
    threads = thread_cap()
    if threads is not None:
        import torch

        # Where torch is only a stand-in (a graded notebook's sandbox, which has no PyTorch),
        # there are no threads to cap, and touching it would fail the notebook's setup cell.
        if getattr(torch, "__version__", None) is not None:
            torch.set_num_threads(threads)


def cap_threads() -> None:
    """What `import course` does: cap the pools loaded so far and those loaded later, and torch's if loaded."""
    threads = thread_cap()
    if threads is not None:
        os.environ.update({name: str(threads) for name in LIBRARY_VARIABLES})
    cap_numpy_threads()
    if "torch" in sys.modules:
        cap_torch_threads()
