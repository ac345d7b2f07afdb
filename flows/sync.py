"""Prefect flows: thin wrappers that give each source capture and each batch its own task run.

One task per batch, never per lead (a task run costs ~5 ms client-side and ~30 ms of server
ingest, the price of ~1,800 leads of rule evaluation). Inputs are not cached: every run must
see the inbox as it is now. A run whose source or push failed ends FAILED with the reason, and
every run publishes its summary as a markdown artifact; the summary object itself is returned to an
in-process caller only (persist_result=False: nothing pickled to disk per run).
"""

from __future__ import annotations

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State
from prefect.states import Completed, Failed

from connectors.errors import LeadsyncError
from connectors.redaction import redact
from connectors.sources.base import Source
from flows.gc_tuning import tune_gc
from flows.pipeline.capture import CaptureResult, PageCallback, capture_source_safely, pause_line
from flows.pipeline.process import BatchResult, ProcessContext, process_next_batch
from flows.pipeline.progress import PeriodicLines, observe
from flows.pipeline.rescore import rescore_next_batch
from flows.pipeline.run import run_sync
from flows.pipeline.runtime import Runtime, build_runtime
from flows.pipeline.summary import RunSummary
from flows.settings import LeadsyncSettings
from flows.state import StateStore

SUMMARY_ARTIFACT = "leadsync-run-summary"


@task(name="capture-source", cache_policy=NO_CACHE, task_run_name="capture-{source.name}")
def capture_source_task(store: StateStore, source: Source, on_page: PageCallback | None = None) -> CaptureResult:
    result = capture_source_safely(store, source, on_page)
    logger = get_run_logger()
    if result.error:
        logger.error("capture of %s failed, will resume next run: %s", source.name, result.error)
    elif result.paused_until is not None:
        logger.info(pause_line(source.name, result.paused_until, result.paused_reason or ""))
    else:
        logger.info("captured %s: %d new, %d already stored, %d skipped", source.name, result.new,
                    result.duplicates, result.skipped)
    return result


@task(name="process-batch", cache_policy=NO_CACHE)
def process_batch_task(ctx: ProcessContext) -> BatchResult | None:
    result = process_next_batch(ctx)
    if result is not None:
        get_run_logger().info("batch of %d: %s, %d dead-lettered, %d merged, %d spam, %d back in the inbox",
                              result.claimed, result.outcomes, len(result.dead_letters), result.merged,
                              result.spam, result.requeued)
    return result


@task(name="rescore-batch", cache_policy=NO_CACHE)
def rescore_batch_task(ctx: ProcessContext) -> BatchResult | None:
    result = rescore_next_batch(ctx)
    if result is not None:
        get_run_logger().info("re-scored %d due profiles: %s", len(result.decisions), result.outcomes)
    return result


REPORT_ARTIFACT = "leadsync-report"


def publish(summary: RunSummary) -> State[RunSummary]:
    """The summary as an artifact and the run's final state: FAILED with the reason when something failed."""
    create_markdown_artifact(markdown=summary.to_markdown(), key=SUMMARY_ARTIFACT,
                             description="What this leadsync run captured, decided and wrote")
    failure = summary.failure()
    if failure:
        get_run_logger().error("%s", failure)
        return Failed(message=failure, data=summary)
    get_run_logger().info("run %s completed: %d rows processed, %s", summary.run_id, summary.claimed,
                          dict(summary.outcomes))
    return Completed(data=summary)


def sync(config_path: str) -> State[RunSummary]:
    """The body of the sync flow: every error becomes the run's FAILED state with the reason, never a crash."""
    summary = RunSummary(run_id="")
    get_run_logger().info("leadsync sync with %s", config_path)
    try:
        runtime = build_runtime(config_path)
    except LeadsyncError as exc:  # bad config: the run is FAILED with every problem listed
        summary.fatal, summary.fatal_code = redact(f"{exc.code}: {exc}"), exc.code
        return publish(summary)
    tune_gc()  # after start-up: see flows/gc_tuning.py
    try:
        with observe(PeriodicLines(get_run_logger().info, every=10)):
            run_sync(runtime, capture_fn=capture_source_task, process_fn=process_batch_task,
                     rescore_fn=rescore_batch_task, into=summary)
    except LeadsyncError as exc:
        summary.fatal_code = exc.code  # run_sync put the reason in summary.fatal; held leads are back in the inbox
    else:
        publish_report(runtime)
    finally:
        runtime.close()
    return publish(summary)


def publish_report(runtime: Runtime) -> None:
    """The report's summary tables for the last 30 days (`leadsync report`'s markdown) as an artifact."""
    from datetime import UTC, datetime, timedelta

    from flows.insights.markdown import render_markdown
    from flows.insights.queries import StoreQueries
    from flows.insights.summary import build_report

    now = datetime.now(UTC)
    weights = {name: team.weights() for name, team in runtime.ruleset.spec.routing.teams.items()}
    try:  # the report reads the store only (no CRM call: conversions are in `leadsync report`)
        data = build_report(StoreQueries(runtime.store.engine, now - timedelta(days=30), now), None, weights)
    except Exception as exc:  # noqa: BLE001 - a report problem must never fail the sync it describes
        get_run_logger().warning("report artifact not published: %s", redact(exc))
        return
    create_markdown_artifact(markdown=render_markdown(data), key=REPORT_ARTIFACT,
                             description="leadsync report, last 30 days (the charts: `leadsync report`)")


@flow(name="leadsync-sync", log_prints=False, persist_result=False)
def sync_flow(config_path: str) -> State[RunSummary]:
    """Capture every configured source into the inbox, then process the inbox into the CRM (deployments)."""
    return sync(config_path)


@flow(name="leadsync-sync", log_prints=False, persist_result=False)
def sync_flow_from_env() -> State[RunSummary]:
    """The same flow for `leadsync run --prefect`: the config path comes from LEADSYNC_CONFIG.

    Without parameters Prefect skips serialising them, which imports FastAPI (~0.25 s of start-up).
    """
    return sync(LeadsyncSettings().config)


@flow(name="leadsync-process", log_prints=False, persist_result=False)
def process_flow(config_path: str) -> State[RunSummary]:
    """Process what the webhook receiver stored (no capture): the receiver's speed-to-lead runs, tracked."""
    runtime = build_runtime(config_path)
    summary = RunSummary(run_id="")
    try:
        run_sync(runtime, capture=False, process_fn=process_batch_task, into=summary)
    except LeadsyncError:
        pass
    finally:
        runtime.close()
    return publish(summary)
