"""The sandbox: where a submission's cells run, and the supervisor that watches them.

- `limits`: what one submission may use (memory, processes, CPU, files, output, wall time).
- `isolation`: how it is shut in: bubblewrap namespaces, as root (plus a separate uid per slot)
  or rootless through user namespaces; the command line; refusing when no isolation exists.
- `slots`: machine-wide slot locks, one directory per account, safe against symlinks.
- `staging`: the read-only copy of what the sandbox may import (`course`, `autograder.runtime`).
- `supervisor`: starts the runtime, serves it the hidden cases one at a time, reads its messages
  as untrusted data under a strict protocol, and restarts past a cell that breaks.
"""
from autograder.sandbox.isolation import SandboxUnavailable, describe, mode, require
from autograder.sandbox.limits import Limits
from autograder.sandbox.supervisor import Execution, SandboxError, kill_all, run_cells

__all__ = ["Execution", "Limits", "SandboxError", "SandboxUnavailable", "describe", "kill_all", "mode", "require", "run_cells"]
