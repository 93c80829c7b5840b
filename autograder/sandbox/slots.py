"""Sandbox slots: at most one submission per slot on this machine, held with an flock.

As root the slot picks the runtime's uid, and RLIMIT_NPROC counts per uid: two submissions
sharing a slot would share one process limit, so one fork bomb could starve the other. The locks
live in a directory only this account can write (root's under /run, an ordinary account's under
its runtime directory or /tmp/tdn-slots-<uid>), created 0700 and checked to be a real directory
owned by this account; lock files are opened without following symlinks. So a second instructor
account never contends for (or tampers with) another account's slots, and a symlink planted by
anyone else cannot make root write through it.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
import tempfile
from pathlib import Path

MAX_SLOTS = 4096


class SlotError(RuntimeError):
    pass


def lock_dir(base: Path | None = None) -> Path:
    """This account's private slot directory (created 0700); `base` chooses another place (tests)."""
    uid = os.geteuid()
    if base is not None:
        pass
    elif uid == 0 and Path("/run").is_dir() and os.access("/run", os.W_OK):
        base = Path("/run/tdn-sandbox-slots")
    elif os.environ.get("XDG_RUNTIME_DIR") and Path(os.environ["XDG_RUNTIME_DIR"]).is_dir():
        base = Path(os.environ["XDG_RUNTIME_DIR"]) / "tdn-sandbox-slots"
    else:
        base = Path(tempfile.gettempdir()) / f"tdn-slots-{uid}"
    try:
        os.mkdir(base, 0o700)
    except FileExistsError:
        pass
    info = os.lstat(base)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != uid or info.st_mode & 0o022:
        raise SlotError(f"{base} is not a private directory of this account (a symlink, or someone else's): "
                        "remove it and grade again")
    return base


@contextlib.contextmanager
def slot(base: Path | None = None):
    """A slot number no other grading process of this account on this machine holds."""
    base = lock_dir(base)
    for number in range(MAX_SLOTS):
        try:
            fd = os.open(base / f"{number}.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        except OSError as err:
            if err.errno == errno.ELOOP:
                raise SlotError(f"{base / f'{number}.lock'} is a symlink: remove it") from None
            raise
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        try:
            yield number
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
        return
    raise SlotError(f"all {MAX_SLOTS} sandbox slots in {base} are taken")
