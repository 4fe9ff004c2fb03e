"""A private PostgreSQL server for the tests: initdb in a temp dir, a free port, loopback only."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


def find_bindir() -> Path | None:
    """Debian keeps the server binaries off PATH, under /usr/lib/postgresql/<version>/bin."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if candidates:
        return Path(candidates[0]).parent
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PostgresServer:
    """A running cluster; `url(dbname)` gives a connection URL."""

    bindir: Path
    datadir: Path
    port: int
    user: str
    run_as: list[str]

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{dbname}"

    def pg_ctl(self, *args: str, check: bool = True) -> None:
        cmd = [*self.run_as, str(self.bindir / "pg_ctl"), "-D", str(self.datadir), *args]
        subprocess.run(cmd, check=check, capture_output=True, timeout=60)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.datadir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self.pg_ctl("-o", options, "-w", "-t", "30", "-l", str(self.datadir / "log"), "start")

    def stop(self) -> None:
        self.pg_ctl("-m", "fast", "-w", "stop", check=False)

    def close(self) -> None:
        """Stop the server and delete its cluster (every test database with it)."""
        self.stop()
        shutil.rmtree(self.datadir.parent, ignore_errors=True)

    def sql(self, statement: str) -> None:
        subprocess.run(
            [
                str(self.bindir / "psql"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                self.user,
                "-d",
                "postgres",
                "-v",
                "ON_ERROR_STOP=1",
                "-q",
                "-c",
                statement,
            ],
            check=True,
            capture_output=True,
            timeout=30,
        )


def start_server() -> PostgresServer:
    """initdb and start a cluster owned by the current user (or `postgres` when root)."""
    bindir = find_bindir()
    if bindir is None:
        raise FileNotFoundError("PostgreSQL server binaries (initdb) not found")
    root = Path(tempfile.mkdtemp(prefix="kickwatch-pg-"))
    datadir = root / "data"
    run_as: list[str] = []
    user = os.environ.get("USER") or "postgres"
    if os.geteuid() == 0:
        run_as = ["runuser", "-u", "postgres", "--"]
        user = "postgres"
        os.chmod(root, 0o755)
        datadir.mkdir()
        shutil.chown(datadir, "postgres", "postgres")
    else:
        import getpass

        user = getpass.getuser()
    subprocess.run(
        [
            *run_as,
            str(bindir / "initdb"),
            "-D",
            str(datadir),
            "-U",
            user,
            "-A",
            "trust",
            "--no-sync",
            "-E",
            "UTF8",
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    server = PostgresServer(
        bindir=bindir, datadir=datadir, port=free_port(), user=user, run_as=run_as
    )
    server.start()
    deadline = time.monotonic() + 20
    while True:
        try:
            server.sql("SELECT 1")
            return server
        except subprocess.CalledProcessError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
