"""`leadsync serve` against a real `prefect server`: a scheduled run happens and syncs the demo."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.postgres import free_port

REPO = Path(__file__).resolve().parents[2]
LEADSYNC = str(Path(sys.executable).with_name("leadsync"))


def interrupt(process: subprocess.Popen[bytes]) -> None:
    """Ctrl-C the process group (Prefect shuts down cleanly on SIGINT), then kill it if it lingers."""
    os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture
def prefect_server(tmp_path: Path) -> Iterator[dict[str, str]]:
    port = free_port()
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect-home"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "PREFECT_API_URL": f"http://127.0.0.1:{port}/api", "PREFECT_UI_ENABLED": "false"}
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen([str(Path(sys.executable).with_name("prefect")), "server", "start", "--host",
                               "127.0.0.1", "--port", str(port), "--no-ui"], env=env, stdout=log,
                              stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if time.monotonic() > deadline or server.poll() is not None:
            os.killpg(server.pid, signal.SIGKILL)
            pytest.fail("prefect server did not start: " + (tmp_path / "server.log").read_text()[-2000:])
        time.sleep(0.5)
    try:
        yield env
    finally:
        interrupt(server)
        log.close()


def test_scheduled_run_happens(prefect_server: dict[str, str], demo_config: Path, tmp_path: Path) -> None:
    import asyncio

    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    serve_log = (tmp_path / "serve.log").open("w")
    serve = subprocess.Popen([LEADSYNC, "serve", "--config", str(demo_config), "--interval", "10"],
                             env=prefect_server, stdout=serve_log, stderr=subprocess.STDOUT, cwd=REPO,
                             start_new_session=True)

    async def completed_runs() -> list[str]:
        async with get_client() as client:
            runs = await client.read_flow_runs()
            return [str(r.state_name) for r in runs
                    if r.deployment_id is not None and r.state and r.state.is_completed()]

    import sqlite3

    def crm_leads() -> int:
        crm_db = demo_config.parent.parent / "var" / "crm.db"
        if not crm_db.exists():
            return 0
        with sqlite3.connect(crm_db) as crm:
            tables = crm.execute("select count(*) from sqlite_master where name = 'crm_leads'").fetchone()[0]
            return int(crm.execute("select count(*) from crm_leads").fetchone()[0]) if tables else 0

    try:
        with temporary_settings({PREFECT_API_URL: prefect_server["PREFECT_API_URL"]}):
            deadline = time.monotonic() + 180
            done: list[str] = []
            # Two scheduled runs may start together: the one that finds every row claimed completes first,
            # so wait for the demo's leads too, not only for a completed run.
            while time.monotonic() < deadline and not (done and crm_leads() >= 8):
                time.sleep(3)
                assert serve.poll() is None, (tmp_path / "serve.log").read_text()[-3000:]
                done = asyncio.run(completed_runs())
        assert done, "no scheduled run completed: " + (tmp_path / "serve.log").read_text()[-3000:]
    finally:
        interrupt(serve)
        serve_log.close()
    assert crm_leads() >= 8, (tmp_path / "serve.log").read_text()[-3000:]  # the scheduled runs synced the demo
