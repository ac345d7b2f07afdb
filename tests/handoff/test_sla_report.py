"""`leadsync sla`: breached and soon-due leads per owner, from the state store only."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from connectors.records import Handoff
from flows.handoff.report import sla_report
from flows.pipeline.run import run_sync
from flows.pipeline.runtime import build_runtime
from flows.state.outbox import HandoffRow
from tests.handoff.conftest import FollowupEnv

NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)


def row(owner: str, due_minutes: int | None, status: str = "open", touch: int | None = None, n: int = 0) -> HandoffRow:
    h = Handoff(key=f"k{owner}{n}", lead_key=f"l{n}", kind="routed", owner=owner, at=NOW - timedelta(hours=1),
                name=f"Lead {n}")
    return HandoffRow(handoff=h, due_at=NOW + timedelta(minutes=due_minutes) if due_minutes is not None else None,
                      status=status, first_touch_seconds=touch)


def test_report_groups_breached_and_due_soon_per_owner() -> None:
    rows = [row("a", -5, n=1), row("a", 10, n=2), row("a", 90, n=3), row("b", 20, n=4),
            row("b", -50, status="touched", touch=600, n=5), row("b", None, status="touched", touch=1200, n=6),
            row("c", -1, status="rerouted", n=7)]
    report = {e.owner: e for e in sla_report(rows, NOW, timedelta(minutes=30))}
    assert [r.handoff.name for r in report["a"].breached] == ["Lead 1"]
    assert [r.handoff.name for r in report["a"].due_soon] == ["Lead 2"]
    assert report["a"].open == 3
    assert report["b"].breached == [] and len(report["b"].due_soon) == 1
    assert report["b"].median_first_touch_minutes == 15.0
    assert report["c"].open == 0 and report["c"].breached == []
    assert sla_report(rows, NOW, timedelta(minutes=30))[0].owner == "a"


def test_sla_command_lists_the_demo_handoffs(followup_env: FollowupEnv) -> None:
    runtime = build_runtime(followup_env.config)
    try:
        run_sync(runtime)
        owners = {h.handoff.owner for h in runtime.store.handoff_rows()}
    finally:
        runtime.close()
    proc = subprocess.run([str(Path(sys.executable).with_name("leadsync")), "sla", "--config",
                           str(followup_env.config), "--warn-minutes", "90"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "First-touch SLA per owner" in proc.stdout
    for owner in owners:
        assert owner in proc.stdout
    assert "due soon" in proc.stdout  # every demo hand-off is due within 60 minutes
