"""The Prefect flow wraps the plain stages: one task per source capture and per batch, never per lead."""

from __future__ import annotations

import asyncio
from pathlib import Path

from flows.sync import sync_flow


def test_sync_flow_on_the_demo(prefect_harness: None, demo_config: Path) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    state = sync_flow(str(demo_config), return_state=True)
    summary = state.result()
    assert state.is_completed()
    assert sum(c.new for c in summary.captures) >= 11
    assert summary.outcomes["created"] >= 8 and summary.batches == 1

    async def task_run_names() -> list[str]:
        async with get_client() as client:
            runs = await client.read_task_runs(flow_run_filter=FlowRunFilter(
                id=FlowRunFilterId(any_=[state.state_details.flow_run_id])))
            return sorted(r.name for r in runs)

    names = asyncio.run(task_run_names())
    # 2 captures + 1 batch + the empty claim that ends the loop + the due-profiles claim that finds
    # none (re-scoring after the inbox): 5 task runs for ~15 leads
    assert len(names) == 5, names
    assert sum(n.startswith("rescore-batch") for n in names) == 1
    assert sum(n.startswith("capture-") for n in names) == 2

    again = sync_flow(str(demo_config))
    assert again.claimed == 0 and all(c.new == 0 for c in again.captures)
