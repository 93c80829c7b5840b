"""A throwaway PostgreSQL server for the tests that run the feedback service on it.

Debian's `postgresql` package (installed with apt-get when missing, as root); the cluster is made
with initdb in a temporary folder, listens only on a Unix socket there, and is stopped and removed
afterwards. As root the server runs as the package's `postgres` account (PostgreSQL refuses root).
Where none of this can be had, `start` returns None and the tests skip.
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path


def _binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found and shutil.which("initdb"):
        found = [shutil.which("initdb")]
    if not found and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for command in (["apt-get", "install", "-y", "postgresql"], ["apt-get", "update"], ["apt-get", "install", "-y", "postgresql"]):
            subprocess.run(command, env=env, capture_output=True, timeout=1200)
            found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
            if found:
                break
    return Path(found[-1]).parent if found else None


class Server:
    def __init__(self, folder: Path, bin_dir: Path, as_user: list[str]):
        self.folder, self.bin, self.as_user = folder, bin_dir, as_user
        self.url = f"postgresql+psycopg://postgres@/postgres?host={folder}&port=5432"

    def stop(self) -> None:
        subprocess.run([*self.as_user, str(self.bin / "pg_ctl"), "-D", str(self.folder / "data"), "-m", "immediate", "stop"],
                       capture_output=True, timeout=60)
        shutil.rmtree(self.folder, ignore_errors=True)


def start() -> Server | None:
    bin_dir = _binaries()
    if bin_dir is None:
        return None
    folder = Path(tempfile.mkdtemp(prefix="tdn-postgres-"))
    as_user = []
    if os.geteuid() == 0:
        try:
            account = pwd.getpwnam("postgres")
        except KeyError:
            return None
        os.chown(folder, account.pw_uid, account.pw_gid)
        as_user = ["setpriv", f"--reuid={account.pw_uid}", f"--regid={account.pw_gid}", "--init-groups"]
    run = lambda *args: subprocess.run([*as_user, *args], capture_output=True, text=True, timeout=120)  # noqa: E731
    made = run(str(bin_dir / "initdb"), "-D", str(folder / "data"), "-U", "postgres", "--auth=trust", "-E", "UTF8")
    if made.returncode != 0:
        return None
    started = run(str(bin_dir / "pg_ctl"), "-D", str(folder / "data"), "-w", "-l", str(folder / "log"),
                  "-o", f"-k {folder} -c listen_addresses='' -p 5432", "start")
    if started.returncode != 0:
        return None
    return Server(folder, bin_dir, as_user)
