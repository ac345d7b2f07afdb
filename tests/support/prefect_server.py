"""A real `prefect server` (and workers) as subprocesses of a test, always stopped afterwards."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.postgres import free_port

BIN = Path(sys.executable).parent


def interrupt(process: subprocess.Popen[bytes]) -> None:
    """Ctrl-C the process group (Prefect shuts down cleanly on SIGINT), then kill it if it lingers."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@contextmanager
def prefect_server(workdir: Path, **extra_env: str) -> Iterator[dict[str, str]]:
    """Start a server on a free port with its own PREFECT_HOME; yield the environment its clients need."""
    port = free_port()
    env = {**os.environ, "PREFECT_HOME": str(workdir / "prefect-home"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "PREFECT_API_URL": f"http://127.0.0.1:{port}/api", "PREFECT_UI_ENABLED": "false", **extra_env}
    log_path = workdir / "server.log"
    with log_path.open("w") as log:
        server = subprocess.Popen([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port",
                                   str(port), "--no-ui"], env=env, stdout=log, stderr=subprocess.STDOUT,
                                  start_new_session=True)
        try:
            _wait_healthy(port, server, log_path)
            yield env
        finally:
            interrupt(server)


def _wait_healthy(port: int, server: subprocess.Popen[bytes], log_path: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline or server.poll() is not None:
            raise RuntimeError("prefect server did not start: " + log_path.read_text()[-2000:])
        time.sleep(0.5)


@contextmanager
def background(args: list[str], env: dict[str, str], log_path: Path, cwd: Path | None = None,
               ) -> Iterator[subprocess.Popen[bytes]]:
    """A long-running command (worker, receiver, serve) in its own process group, interrupted on exit."""
    with log_path.open("w") as log:
        process = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=cwd,
                                   start_new_session=True)
        try:
            yield process
        finally:
            interrupt(process)
