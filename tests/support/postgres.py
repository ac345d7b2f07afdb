"""A private PostgreSQL server for the tests: initdb in a temp dir, 127.0.0.1, a free port."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise RuntimeError("PostgreSQL server binaries not found: run scripts/test.sh, which installs postgresql")


def _as_postgres(cmd: list[str]) -> list[str]:
    # initdb refuses to run as root; the Debian package creates the postgres user.
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@contextmanager
def postgres_server(workdir: Path) -> Iterator[str]:
    """Start PostgreSQL; yields the admin URL (database 'postgres', user 'leadsync', trust auth)."""
    bindir = _bindir()
    datadir = workdir / "pgdata"
    datadir.mkdir(parents=True)
    if os.geteuid() == 0:
        shutil.chown(workdir, "postgres")
        shutil.chown(datadir, "postgres")
        workdir.chmod(0o755)
    subprocess.run(_as_postgres([str(bindir / "initdb"), "-D", str(datadir), "-A", "trust", "-U", "leadsync",
                                 "--no-sync", "-E", "UTF8"]), check=True, capture_output=True)
    port = free_port()
    options = f"-p {port} -k {datadir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100"
    subprocess.run(_as_postgres([str(bindir / "pg_ctl"), "-D", str(datadir), "-o", options, "-w", "-t", "60",
                                 "-l", str(datadir / "server.log"), "start"]), check=True, capture_output=True)
    try:
        yield f"postgresql+psycopg://leadsync@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(_as_postgres([str(bindir / "pg_ctl"), "-D", str(datadir), "-m", "immediate", "stop"]),
                       check=False, capture_output=True)


def create_database(admin_url: str, name: str) -> str:
    import psycopg

    plain = admin_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return admin_url.rsplit("/", 1)[0] + f"/{name}"
