"""Prefect flows: thin wrappers that give each source capture and each batch its own task run.

One task per batch, never per lead (a task run costs ~5 ms client-side and ~30 ms of server
ingest, the price of ~1,800 leads of rule evaluation). Inputs are not cached: every run must
see the inbox as it is now.
"""

from __future__ import annotations

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from connectors.sources.base import Source
from flows.pipeline.capture import CaptureResult, capture_source_safely
from flows.pipeline.process import BatchResult, ProcessContext, process_next_batch
from flows.pipeline.rescore import rescore_next_batch
from flows.pipeline.run import run_sync
from flows.pipeline.runtime import build_runtime
from flows.pipeline.summary import RunSummary
from flows.state import StateStore


@task(name="capture-source", cache_policy=NO_CACHE, task_run_name="capture-{source.name}")
def capture_source_task(store: StateStore, source: Source) -> CaptureResult:
    result = capture_source_safely(store, source)
    logger = get_run_logger()
    if result.error:
        logger.warning("capture of %s failed, will resume next run: %s", source.name, result.error)
    else:
        logger.info("captured %s: %d new, %d already stored, %d skipped", source.name, result.new,
                    result.duplicates, result.skipped)
    return result


@task(name="process-batch", cache_policy=NO_CACHE)
def process_batch_task(ctx: ProcessContext) -> BatchResult | None:
    result = process_next_batch(ctx)
    if result is not None:
        get_run_logger().info("batch of %d: %s, %d dead-lettered", result.claimed, result.outcomes,
                              len(result.dead_letters))
    return result


@task(name="rescore-batch", cache_policy=NO_CACHE)
def rescore_batch_task(ctx: ProcessContext) -> BatchResult | None:
    result = rescore_next_batch(ctx)
    if result is not None:
        get_run_logger().info("re-scored %d due profiles: %s", len(result.decisions), result.outcomes)
    return result


@flow(name="leadsync-sync", log_prints=False)
def sync_flow(config_path: str) -> RunSummary:
    """Capture every configured source into the inbox, then process the inbox into the CRM."""
    runtime = build_runtime(config_path)
    try:
        summary = run_sync(runtime, capture_fn=capture_source_task, process_fn=process_batch_task,
                           rescore_fn=rescore_batch_task)
    finally:
        runtime.close()
    return summary
