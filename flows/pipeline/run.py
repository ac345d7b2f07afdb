"""One sync: capture every source, then process the inbox batch by batch."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from connectors.errors import LeadsyncError
from connectors.sources.base import Source
from flows.pipeline.capture import CaptureResult, capture_source_safely
from flows.pipeline.process import BatchResult, ProcessContext, process_next_batch
from flows.pipeline.runtime import Runtime
from flows.pipeline.summary import RunSummary
from flows.state import StateStore

CaptureFn = Callable[[StateStore, Source], CaptureResult]
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
                          now=lambda: datetime.now(UTC), managed_statuses=managed_statuses(runtime))


def run_sync(runtime: Runtime, *, capture: bool = True, process: bool = True,
             only_sources: Iterable[str] | None = None, capture_fn: CaptureFn = capture_source_safely,
             process_fn: ProcessFn = process_next_batch) -> RunSummary:
    store = runtime.store
    store.release_dead_claims()
    run_id = store.start_run("sync")
    summary = RunSummary(run_id=run_id)
    wanted = set(only_sources) if only_sources is not None else None
    try:
        if capture:
            for name, source in runtime.sources.items():
                if wanted is None or name in wanted:
                    summary.captures.append(capture_fn(store, source))
        if process:
            ctx = process_context(runtime, run_id)
            while (batch := process_fn(ctx)) is not None:
                summary.add_batch(batch)
                if batch.stopped:
                    break
    except (LeadsyncError, KeyboardInterrupt) as exc:
        store.finish_run(run_id, "failed", summary.metrics(), error=str(exc))
        raise
    status = "stopped" if summary.stopped else "completed"
    store.finish_run(run_id, status, summary.metrics())
    return summary
