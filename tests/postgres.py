"""A throwaway PostgreSQL server on 127.0.0.1 for tests, started from Debian's binaries.

`.ci/run` installs the `postgresql` package; where it is missing, tests that need it are skipped.
The server runs as the `postgres` system user when we are root (initdb refuses to run as root),
keeps its data in a temporary folder, and is stopped (immediately, no fsync) afterwards.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest


def _bindir() -> Path | None:
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), reverse=True)
    return candidates[0].parent if candidates else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Server:
    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.port = _free_port()
        self.root = Path(tempfile.mkdtemp(prefix="confbot-pg-", dir="/tmp"))
        self.data = self.root / "data"
        self.as_root = os.geteuid() == 0

    def _run(self, *args: str) -> None:
        command = [str(self.bindir / args[0]), *args[1:]]
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        if self.as_root:
            shutil.chown(self.root, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "confbot", "--no-sync")
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.root / "log"),
            "-w",
            "start",
        )

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://confbot@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A fresh empty database; returns its SQLAlchemy URL."""
        name = f"t_{uuid.uuid4().hex[:12]}"
        command = [str(self.bindir / "psql"), "-h", "127.0.0.1", "-p", str(self.port)]
        command += ["-U", "confbot", "-d", "postgres", "-c", f"CREATE DATABASE {name}"]
        subprocess.run(command, check=True, capture_output=True, timeout=60)
        return self.url(name)


@contextlib.contextmanager
def postgres() -> Iterator[Server]:
    bindir = _bindir()
    if bindir is None:
        pytest.skip("PostgreSQL is not installed (.ci/run installs Debian's postgresql)")
    server = Server(bindir)
    try:
        server.start()
    except (subprocess.CalledProcessError, OSError) as exc:
        server.stop()
        pytest.fail(f"could not start PostgreSQL: {exc}")
    try:
        yield server
    finally:
        server.stop()
