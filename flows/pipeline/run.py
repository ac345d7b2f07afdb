"""One sync: capture every source, then process the inbox batch by batch."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable

from connectors.errors import LeadsyncError
from connectors.redaction import redact
from connectors.sources.base import Source
from flows.pipeline.capture import CaptureResult, PageCallback, capture_source_safely
from flows.pipeline.followup import prepare_follow_through
from flows.pipeline.process import BatchResult, ProcessContext, process_next_batch
from flows.pipeline.progress import Reporter
from flows.pipeline.rescore import rescore_next_batch
from flows.pipeline.runtime import Runtime
from flows.pipeline.summary import RunSummary
from flows.state import StateStore

CaptureFn = Callable[[StateStore, Source, PageCallback | None], CaptureResult]
ProcessFn = Callable[[ProcessContext], BatchResult | None]


def managed_statuses(runtime: Runtime) -> list[str]:
    configured = runtime.loaded.config.crm.mapping.managed_statuses
    return configured or runtime.ruleset.status_values()


def process_context(runtime: Runtime, run_id: str) -> ProcessContext:
    settings = runtime.loaded.config.processing
    batch_size_for = getattr(runtime.sink, "batch_size_for", None)  # a sink with a bulk API sizes by the backlog
    if callable(batch_size_for):
        size = batch_size_for(runtime.store.inbox_count(status="pending"), settings.batch_size)
        settings = settings.model_copy(update={"batch_size": size})
    return ProcessContext(store=runtime.store, sink=runtime.sink, ruleset=runtime.ruleset, sources=runtime.sources,
                          settings=settings, run_id=run_id,
                          now=runtime.now, managed_statuses=managed_statuses(runtime))


def run_sync(runtime: Runtime, *, capture: bool = True, process: bool = True,
             only_sources: Iterable[str] | None = None, capture_fn: CaptureFn = capture_source_safely,
             process_fn: ProcessFn = process_next_batch, rescore_fn: ProcessFn | None = None,
             into: RunSummary | None = None) -> RunSummary:
    """One run. `into` receives the counts as they happen, so a caller still has them if the run raises."""
    store = runtime.store
    follow = prepare_follow_through(runtime) if process else None  # a bad notify config fails before capture
    store.release_dead_claims()
    run_id = store.start_run("sync")
    summary = into if into is not None else RunSummary(run_id=run_id)
    summary.run_id = run_id
    summary.received_sources = received_sources(runtime)
    reporter = Reporter()
    wanted = set(only_sources) if only_sources is not None else None
    try:
        if capture:
            for name, source in runtime.sources.items():
                if wanted is None or name in wanted:
                    summary.add_capture(capture_fn(store, source, reporter.page_read))
        if process:
            ctx = process_context(runtime, run_id)
            while (batch := process_fn(ctx)) is not None:
                summary.add_batch(batch)
                reporter.batch_done(batch.claimed, len(batch.decisions),
                                    sum(n for k, n in batch.outcomes.items() if k in ("created", "updated")))
                if batch.stopped:
                    break
            if follow is not None:  # tasks, notifications, SLA checks; also when a batch stopped
                # Before re-scoring: a lead found touched is marked worked first, so its rep's status stays.
                summary.followup = follow.run_safely(run_id)
            rescore_due(ctx, summary, rescore_fn or rescore_next_batch)
    except (LeadsyncError, KeyboardInterrupt) as exc:
        summary.fatal = redact(f"{getattr(exc, 'code', 'INTERRUPTED')}: {exc}")
        store.finish_run(run_id, "failed", summary.metrics(), error=str(exc))
        raise
    finally:
        if follow is not None:
            follow.close()
    status = "stopped" if summary.stopped else "completed"
    store.finish_run(run_id, status, summary.metrics())
    return summary


def rescore_due(ctx: ProcessContext, summary: RunSummary, rescore_fn: ProcessFn) -> None:
    """After the inbox: re-score the profiles whose time came (a window expiring, a decay step)."""
    while not summary.stopped and (batch := rescore_fn(ctx)) is not None:
        summary.add_batch(batch)
        summary.rescored += len(batch.decisions)


def received_sources(runtime: Runtime) -> list[str]:
    """Sources the receiver fills (shown in the summary).

    A WebhookSource exists only once its module is imported: a config without one never pays for importing it
    (and the normalisation libraries behind it) at start-up.
    """
    webhooks = sys.modules.get("connectors.sources.webhooks")
    if webhooks is None:
        return []
    return sorted(n for n, s in runtime.sources.items() if isinstance(s, webhooks.WebhookSource))
