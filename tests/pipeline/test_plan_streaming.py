"""`leadsync plan --all` streams: chunk by chunk, totals of every lead, only the first changes kept for display."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from flows.pipeline import plan_preview
from flows.pipeline.run import run_sync
from flows.pipeline.runtime import build_runtime


def test_plan_all_in_small_chunks_counts_every_lead_and_keeps_only_what_it_shows(
        demo_config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runtime = build_runtime(demo_config)
    try:
        run_sync(runtime)
        pushed = runtime.store.inbox_count(status="done")
        in_crm = len(runtime.sink.all_leads())  # type: ignore[attr-defined]
        # Someone edited every score in the CRM: --all must plan an update for each pushed lead.
        with runtime.sink.engine.begin() as conn:  # type: ignore[attr-defined]
            conn.execute(text("UPDATE crm_leads SET score = -1"))
        whole = plan_preview.preview(runtime, datetime.now(UTC), include_done=True)
        monkeypatch.setattr(plan_preview, "CHUNK", 2)
        chunked = plan_preview.preview(runtime, datetime.now(UTC), include_done=True, show=3)
    finally:
        runtime.close()
    assert in_crm <= sum(chunked.totals().values()) <= pushed  # same-person rows merge only within a chunk
    assert len(chunked.changes) == 3
    assert chunked.omitted == sum(n for kind, n in chunked.totals().items() if kind != "unchanged") - 3
    assert whole.totals() == {"update": in_crm}
    assert chunked.totals()["update"] >= in_crm
    assert chunked.field_totals()["score"] == chunked.totals()["update"]
