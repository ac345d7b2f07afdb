"""`leadsync serve` against a real `prefect server`: a scheduled run happens and syncs the demo."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.prefect_server import interrupt
from tests.support.prefect_server import prefect_server as start_server

REPO = Path(__file__).resolve().parents[2]
LEADSYNC = str(Path(sys.executable).with_name("leadsync"))


@pytest.fixture
def prefect_server(tmp_path: Path) -> Iterator[dict[str, str]]:
    with start_server(tmp_path) as env:
        yield env


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
