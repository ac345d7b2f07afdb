"""`leadsync run` and `leadsync plan`: one sync, or what one would change."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from flows.cli.common import (
    EXIT_FAILED,
    ConfigOption,
    JsonOption,
    clean_errors,
    config_path,
    console,
    err,
    prefect_logging,
    print_json,
    require_prefect_server,
    run_logs_to_api_only,
    tracking_wanted,
)
from flows.cli.progress import run_progress
from flows.settings import LeadsyncSettings

if TYPE_CHECKING:
    from flows.pipeline.summary import RunSummary


def register(app: typer.Typer) -> None:
    app.command()(run)
    app.command()(plan)


TrackOption = Annotated[bool | None, typer.Option(
    "--prefect/--no-prefect", help="Track the run as a Prefect flow run on the server at PREFECT_API_URL "
    "(default: on when PREFECT_API_URL is set, else an untracked in-process run; never a temporary server).")]


@clean_errors
def run(config: ConfigOption = None, prefect: TrackOption = None, as_json: JsonOption = False) -> None:
    """One sync: capture every source into the inbox, then decide and push every lead to the CRM."""
    path = config_path(config)
    if tracking_wanted(prefect):
        require_prefect_server("leadsync run --prefect")
        summary = _tracked(path, as_json)
    else:
        summary = _untracked(path, as_json)
    if as_json:
        print_json(summary.to_json())
    else:
        summary.render(console)
    failure = summary.failure()
    if failure:
        if not as_json:
            err.print(f"[red]failed:[/red] {failure}", highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_FAILED)


def _untracked(path: str, as_json: bool) -> RunSummary:
    from connectors.errors import LeadsyncError
    from flows.gc_tuning import tune_gc
    from flows.pipeline.run import run_sync
    from flows.pipeline.runtime import build_runtime
    from flows.pipeline.summary import RunSummary

    runtime = build_runtime(path)
    tune_gc()  # after start-up: see flows/gc_tuning.py
    summary = RunSummary(run_id="")
    try:
        with run_progress(err if as_json else console, LeadsyncSettings().progress_seconds):
            run_sync(runtime, into=summary)
    except LeadsyncError:
        if not summary.run_id:
            raise
        # A fatal error mid-run: what was done is kept, the rest is back in the inbox; show both.
    finally:
        runtime.close()
    return summary


def _tracked(path: str, as_json: bool) -> RunSummary:
    """The sync as a flow run on the server; config problems come back as the run's FAILED reason."""
    import os

    from connectors.errors import ConfigError, LeadsyncError

    prefect_logging()
    os.environ["LEADSYNC_CONFIG"] = path
    from flows.pipeline.summary import RunSummary
    from flows.sync import sync_flow_from_env

    run_logs_to_api_only()
    with run_progress(err if as_json else console, LeadsyncSettings().progress_seconds):
        state = sync_flow_from_env(return_state=True)
    summary = state.result(raise_on_failure=False)
    if not isinstance(summary, RunSummary):  # the flow itself crashed (a bug): Prefect has the traceback
        raise RuntimeError(f"flow run ended {state.type.value}: {state.message}")
    if not summary.run_id and summary.fatal:  # nothing ran: one error line, exit 2 for config
        message = summary.fatal.removeprefix(f"{summary.fatal_code}: ")
        raise ConfigError(message) if summary.fatal_code == "CONFIG" else LeadsyncError(message)
    return summary


@clean_errors
def plan(config: ConfigOption = None,
         all_leads: Annotated[bool, typer.Option("--all", help="Also re-decide leads already pushed "
                                                 "(what a rule change would change).")] = False,
         ) -> None:
    """Show what a run would change in the CRM, per lead and in totals, writing nothing."""
    from datetime import UTC, datetime

    from flows.pipeline.plan_preview import preview
    from flows.pipeline.runtime import build_runtime

    runtime = build_runtime(config_path(config))
    try:
        result = preview(runtime, datetime.now(UTC), include_done=all_leads)
    finally:
        runtime.close()
    table = Table(title="Planned CRM changes (nothing written)", title_justify="left")
    for column in ("lead", "change", "fields"):
        table.add_column(column, overflow="fold")
    for lead, change in result.changes:
        if change.kind.value != "unchanged":
            fields = ", ".join(f"{k}={v}" for k, v in change.fields.items() if k != "explanation")
            lists = "".join([f" +list {n}" for n in change.lists_add] + [f" -list {n}" for n in change.lists_remove])
            table.add_row(lead.lead_key, change.kind.value, fields + lists)
    console.print(table)
    if result.omitted:
        console.print(f"... and {result.omitted} more change(s), counted in the totals")
    totals = result.totals()
    console.print("totals: " + ", ".join(f"{k} {v}" for k, v in sorted(totals.items())) if totals else "totals: none")
    if result.field_totals():
        console.print("fields updated: " + ", ".join(f"{k} {v}" for k, v in result.field_totals().most_common()))
    if result.rejected:
        console.print(f"{result.rejected_total} submission(s) would be rejected (see `leadsync run`)")
