"""`leadsync rescore`: re-decide profiles from their history without a new submission.

Without flags: the profiles whose time came (a window expiring, a decay step), as every run does
after the inbox. With --all: every profile with lead data, under the current rules (after a rule
change; `leadsync plan --all` shows what it would change first). Only changed values are written.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from flows.cli.common import ConfigOption, clean_errors, config_path, console


def register(app: typer.Typer) -> None:
    app.command()(rescore)


@clean_errors
def rescore(config: ConfigOption = None,
            all_profiles: Annotated[bool, typer.Option("--all", help="Every profile, not only the due ones "
                                                       "(apply a changed ruleset).")] = False) -> None:
    """Re-score profiles: the due ones, or --all after a rule change (see `leadsync plan --all` first)."""
    from flows.pipeline.rescore import rescore_all, rescore_next_batch
    from flows.pipeline.run import process_context, rescore_due
    from flows.pipeline.runtime import build_runtime
    from flows.pipeline.summary import RunSummary

    runtime = build_runtime(config_path(config))
    store = runtime.store
    run_id = store.start_run("rescore")
    summary = RunSummary(run_id=run_id)
    try:
        ctx = process_context(runtime, run_id)
        if all_profiles:
            summary.rescored = rescore_all(ctx, summary.add_batch)
        else:
            rescore_due(ctx, summary, rescore_next_batch)
        store.finish_run(run_id, "stopped" if summary.stopped else "completed", summary.metrics())
    except BaseException as exc:
        store.finish_run(run_id, "failed", summary.metrics(), error=str(exc))
        raise
    finally:
        runtime.close()
    changed = sum(n for k, n in summary.outcomes.items() if k != "unchanged")
    console.print(f"re-scored {summary.rescored} profile(s) at {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: "
                  f"{changed} CRM record(s) changed; {summary.mqls} MQL(s) among the re-scored", soft_wrap=True)
    if summary.stopped:
        console.print(f"[yellow]stopped early: {summary.stopped}; the rest is re-scored next time[/yellow]")
        raise typer.Exit(1)
