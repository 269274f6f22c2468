"""A throwaway PostgreSQL server for tests and benchmarks: Debian's `postgresql` binaries, a cluster
made with initdb in a temporary folder, listening on a free loopback port, removed on close.

As root (CI, this machine) the server runs as the `postgres` user the Debian package creates:
PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def binaries() -> Path | None:
    """The folder with initdb, pg_ctl and postgres (Debian: /usr/lib/postgresql/N/bin), or None."""
    found = shutil.which("pg_ctl")
    if found and Path(found).with_name("initdb").exists():
        return Path(os.path.realpath(found)).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    return Path(versions[-1]).parent if versions else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Postgres:
    """One PostgreSQL cluster on 127.0.0.1 (trust authentication, loopback only): `url(name)` gives a
    SQLAlchemy URL of a database on it, created on first use; `stop` / `start` take it down and bring
    it back (a database server that goes away mid-run)."""

    def __init__(self):
        folder = binaries()
        if folder is None:
            raise FileNotFoundError("PostgreSQL is not installed (apt-get install postgresql)")
        self.bin = folder
        self.port = _free_port()
        self.root = Path(tempfile.mkdtemp(prefix="cnnviz-pg-"))
        self.data = self.root / "data"
        self._as = []
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
            self._as = ["runuser", "-u", "postgres", "--"]
        self._run([str(self.bin / "initdb"), "-D", str(self.data), "-U", "cnnviz", "--auth=trust", "-E", "UTF8"])
        self.start()
        self._databases: set[str] = set()

    def _run(self, command: list[str]) -> None:
        subprocess.run([*self._as, *command], check=True, capture_output=True, cwd=self.root)

    def start(self) -> None:
        options = f"-h 127.0.0.1 -p {self.port} -k {self.root} -c fsync=off -c max_connections=300"
        self._run(
            [str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.root / "log"), "-w", "start"]
        )

    def stop(self, mode: str = "immediate") -> None:
        """Stop the server (`immediate`: as a crash would, connections cut)."""
        self._run([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"])

    def url(self, name: str = "cnnviz") -> str:
        """A SQLAlchemy URL of database `name` on this server (created if new)."""
        if name not in self._databases:
            import psycopg

            deadline = time.monotonic() + 30
            while True:
                try:
                    with psycopg.connect(
                        f"host=127.0.0.1 port={self.port} user=cnnviz dbname=postgres", autocommit=True
                    ) as connection:
                        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
                        if not exists:
                            connection.execute(f'CREATE DATABASE "{name}"')
                    break
                except psycopg.OperationalError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)
            self._databases.add(name)
        return f"postgresql+psycopg://cnnviz@127.0.0.1:{self.port}/{name}"

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.stop("fast")
        shutil.rmtree(self.root, ignore_errors=True)
