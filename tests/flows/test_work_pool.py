"""Prefect-native operation against a real `prefect server`: the sync deployment on a process work pool,
two `prefect worker` processes sharing a PostgreSQL state store, FAILED runs with the reason, a summary
artifact per run, INFO logs in the API, and the receiver's processing as flow runs.

Slow (a server, two workers, a subprocess per flow run): marked prefect_server, every wait has a deadline
and every process is stopped in a finally.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from tests.support.postgres import free_port
from tests.support.prefect_server import background, prefect_server

pytestmark = [pytest.mark.prefect_server, pytest.mark.postgres, pytest.mark.timeout(900)]
REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
LEADSYNC = str(BIN / "leadsync")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    env = {"PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "5", "PREFECT_WORKER_QUERY_SECONDS": "2",
           "PREFECT_WORKER_PREFETCH_SECONDS": "2", "PREFECT_RUNNER_POLL_FREQUENCY": "2"}
    with prefect_server(tmp_path_factory.mktemp("prefect"), **env) as server_env:
        yield server_env


def api(env: dict[str, str], query: Any) -> Any:
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    async def call() -> Any:
        async with get_client() as client:
            return await query(client)

    with temporary_settings({PREFECT_API_URL: env["PREFECT_API_URL"]}):
        return asyncio.run(call())


def flow_runs(env: dict[str, str], flow_name: str) -> list[Any]:
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName

    return list(api(env, lambda c: c.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=[flow_name])))))


def latest_cli_run(env: dict[str, str]) -> Any:
    """The newest flow run started by the CLI (no deployment: the scheduled ones keep coming meanwhile)."""
    return max((r for r in flow_runs(env, "leadsync-sync") if r.deployment_id is None), key=lambda r: r.created)


def leadsync(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([LEADSYNC, *args], capture_output=True, text=True, timeout=300, check=False, env=env,
                          cwd=REPO)


def wait_for(what: str, check: Any, timeout: float, logs: list[Path]) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(2)
    tails = "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in logs if p.exists())
    pytest.fail(f"timed out waiting for {what}\n{tails}")


def submission(n: int) -> str:
    return json.dumps({"id": f"pool-{n}", "form_id": "contact-us", "submitted_at": "2026-03-05T09:12:44-05:00",
                       "fields": {"first_name": "Pat", "last_name": f"Pool{n}", "email": f"pat.pool{n}@pool.example",
                                  "company": f"Pool {n} GmbH", "country": "DE", "website": ""}}) + "\n"


def test_scheduled_runs_land_on_both_workers_and_no_lead_is_decided_twice(
        server: dict[str, str], demo_config: Path, postgres_url: str, tmp_path: Path) -> None:
    config = demo_config.read_text().replace("sqlite:///../var/state.db", postgres_url)
    demo_config.write_text(config.replace("interval_seconds: 900", "interval_seconds: 10"))
    forms = demo_config.parent / "demo" / "website-forms.jsonl"
    deployed = leadsync("deploy", "--config", str(demo_config), "--pool", "test-pool", env=server)
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    assert "on work pool test-pool: every 10 s" in deployed.stdout
    stop = threading.Event()

    def feed() -> None:  # new people keep arriving while runs overlap on the two workers
        n = 0
        while not stop.wait(1.5):
            with forms.open("a", encoding="utf-8") as handle:
                handle.writelines(submission(n + i) for i in range(5))
            n += 5

    feeder = threading.Thread(target=feed, daemon=True)
    logs = [tmp_path / "w1.log", tmp_path / "w2.log"]
    worker = [str(BIN / "prefect"), "worker", "start", "--pool", "test-pool", "--type", "process", "--name"]
    try:
        with background([*worker, "w1"], server, logs[0], cwd=REPO), \
                background([*worker, "w2"], server, logs[1], cwd=REPO):
            feeder.start()

            def both_workers_ran() -> bool:
                done = {str(r.id) for r in flow_runs(server, "leadsync-sync") if r.state and r.state.is_final()}
                ran = [any(f"flow run '{i}'" in p.read_text() for i in done) for p in logs if p.exists()]
                return len(done) >= 3 and ran == [True, True]

            wait_for("completed scheduled runs on both workers", both_workers_ran, 600, logs)
            stop.set()
            feeder.join()
            wait_for("runs in flight to finish", lambda: not [
                r for r in flow_runs(server, "leadsync-sync") if r.state and r.state.is_running()], 180, logs)
    finally:
        stop.set()
    runs = [r for r in flow_runs(server, "leadsync-sync") if r.state and r.state.is_final()]
    assert all(r.state.is_completed() for r in runs), [(r.name, r.state.message) for r in runs]
    engine = create_engine(postgres_url)
    with engine.connect() as conn:
        twice = conn.execute(text("select lead_key, count(distinct run_id) from decisions "
                                  "group by lead_key having count(distinct run_id) > 1")).fetchall()
        decided = conn.execute(text("select count(distinct lead_key) from decisions")).scalar_one()
        runs_with_work = conn.execute(text("select count(distinct run_id) from decisions")).scalar_one()
    engine.dispose()
    assert not twice, twice
    assert decided >= 12 + 5 and runs_with_work >= 2
    import sqlite3

    with sqlite3.connect(demo_config.parent.parent / "var" / "crm.db") as crm:
        assert crm.execute("select count(*) from crm_leads").fetchone()[0] == decided


def test_a_failed_source_fails_the_flow_run_with_the_reason_artifact_and_info_logs(
        server: dict[str, str], demo_config: Path) -> None:
    demo_config.write_text(demo_config.read_text().replace("demo/tradeshow.csv", "demo/gone.csv"))
    proc = leadsync("run", "--config", str(demo_config), env=server)  # PREFECT_API_URL set: tracked
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert "failed: source csv:tradeshow failed: FATAL: source csv:tradeshow: no file matches" in proc.stderr
    assert "Created" not in proc.stderr  # Prefect's INFO lines go to the API, not the console
    assert proc.stderr.count("source csv:tradeshow failed") == 1  # the run's ERROR log line is not echoed
    run = latest_cli_run(server)
    assert run.state.is_failed() and "source csv:tradeshow failed" in (run.state.message or "")
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId, LogFilter, LogFilterFlowRunId

    artifacts = api(server, lambda c: c.read_artifacts(
        artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run.id]))))
    by_key = {a.key: a for a in artifacts}
    assert sorted(by_key) == ["leadsync-report", "leadsync-run-summary"]  # the run's summary and the report's
    summary = str(by_key["leadsync-run-summary"].data)
    assert "source csv:tradeshow failed" in summary and "| CRM created | 12 |" not in summary
    assert "### Funnel" in str(by_key["leadsync-report"].data)
    logs = api(server, lambda c: c.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run.id]))))
    info = [log.message for log in logs if log.level == 20]
    assert any(m.startswith("captured form_files:website: 7 new") for m in info), info
    assert any(m.startswith("batch of 7:") for m in info), info


def test_a_config_error_in_a_tracked_run_is_one_line_and_a_failed_run(server: dict[str, str],
                                                                       demo_config: Path) -> None:
    demo_config.write_text(demo_config.read_text().replace("batch_size: 500", "batch_size: -1"))
    proc = leadsync("run", "--prefect", "--config", str(demo_config), env=server)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.startswith(f"error: {demo_config} has 1 error(s)") and "Traceback" not in proc.stderr
    assert f"{demo_config}:33: processing.batch_size" in proc.stderr
    run = latest_cli_run(server)
    assert run.state.is_failed() and "processing.batch_size" in (run.state.message or "")


def test_receiver_processing_appears_as_flow_runs(server: dict[str, str], demo_config: Path, tmp_path: Path) -> None:
    port = free_port()
    text_ = demo_config.read_text().replace("sources:\n", "sources:\n  - {type: web_form, name: contact}\n")
    demo_config.write_text(text_)
    log = tmp_path / "receive.log"
    with background([LEADSYNC, "receive", "--config", str(demo_config), "--port", str(port)], server, log,
                    cwd=REPO):
        def up() -> bool:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                    return True
            except OSError:
                return False

        wait_for("the receiver", up, 120, [log])
        body = b"email=kim.receiver%40web.example&company=Web+Co&first_name=Kim"
        request = urllib.request.Request(f"http://127.0.0.1:{port}/web_form/contact", data=body, headers={
            "Content-Type": "application/x-www-form-urlencoded"})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
        done = wait_for("a completed leadsync-process flow run", lambda: [
            r for r in flow_runs(server, "leadsync-process") if r.state and r.state.is_completed()], 240, [log])
    assert done
    text_log = log.read_text()
    assert "stored web_form/contact record" in text_log and ": pending" in text_log
    assert "kim.receiver" not in text_log
