"""`leadsync run` and `leadsync plan`: one sync, or what one would change."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from flows.cli.common import (
    EXIT_FAILED,
    ConfigOption,
    JsonOption,
    UsageProblem,
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
def run(config: ConfigOption = None, prefect: TrackOption = None, as_json: JsonOption = False,
        as_of: Annotated[str | None, typer.Option("--as-of", help="Decide as of this moment (ISO 8601 with a time "
                                                  "zone, e.g. 2027-01-20T12:00Z): replays of history and demos. "
                                                  "Untracked runs only.")] = None) -> None:
    """One sync: capture every source into the inbox, then decide and push every lead to the CRM."""
    path = config_path(config)
    moment = _moment(as_of) if as_of else None
    if tracking_wanted(prefect):
        if moment is not None:
            raise UsageProblem("--as-of replays history in this process: use it with --no-prefect")
        require_prefect_server("leadsync run --prefect")
        summary = _tracked(path, as_json)
    else:
        summary = _untracked(path, as_json, moment)
    if as_json:
        print_json(summary.to_json())
    else:
        summary.render(console)
    failure = summary.failure()
    if failure:
        if not as_json:
            err.print(f"[red]failed:[/red] {failure}", highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_FAILED)


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageProblem(f"--as-of {text!r}: write an ISO 8601 time with its zone, e.g. 2027-01-20T12:00Z") from None
    if moment.tzinfo is None:
        raise UsageProblem(f"--as-of {text!r}: give the time zone, e.g. 2027-01-20T12:00Z or +01:00")
    return moment


def _untracked(path: str, as_json: bool, moment: datetime | None = None) -> RunSummary:
    from connectors.errors import LeadsyncError
    from flows.gc_tuning import tune_gc
    from flows.pipeline.run import run_sync
    from flows.pipeline.runtime import build_runtime
    from flows.pipeline.summary import RunSummary

    runtime = build_runtime(path)
    if moment is not None:
        runtime.now = lambda: moment
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
         limit: Annotated[int, typer.Option("--limit", min=0, help="How many changes to list; every change is "
                                             "counted in the totals whatever this says.")] = 200,
         as_json: JsonOption = False) -> None:
    """Show what a run would change in the CRM, per lead (old -> new) and in totals, writing nothing."""
    from datetime import UTC, datetime

    from flows.pipeline.plan_preview import preview
    from flows.pipeline.runtime import build_runtime

    runtime = build_runtime(config_path(config))
    try:
        result = preview(runtime, datetime.now(UTC), include_done=all_leads, show=limit)
    finally:
        runtime.close()
    if as_json:
        print_json({"totals": dict(result.totals()), "fields_updated": dict(result.field_totals()),
                    "listed": len(result.changes), "not_listed": result.omitted,
                    "rejected": result.rejected_total,
                    "changes": [{"lead_key": c.lead.lead_key, "name": c.lead.display_name, "email": c.lead.email,
                                 "change": c.change.kind.value,
                                 "fields": {k: {"old": c.before.get(k), "new": v} for k, v in c.change.fields.items()},
                                 "lists_add": c.change.lists_add, "lists_remove": c.change.lists_remove}
                                for c in result.changes]})
        return
    table = Table(title="Planned CRM changes (nothing written)", title_justify="left")
    for column in ("person", "change", "old -> new"):
        table.add_column(column, overflow="fold")
    for planned in result.changes:
        change, lead = planned.change, planned.lead
        person = lead.display_name + (f" <{lead.email}>" if lead.email else "")
        values = [f"{k}: {_short(planned.before.get(k))} -> {_short(v)}" if change.kind.value == "update"
                  else f"{k}: {_short(v)}" for k, v in change.fields.items() if k != "explanation"]
        values += [f"+list {n}" for n in change.lists_add] + [f"-list {n}" for n in change.lists_remove]
        table.add_row(person, change.kind.value, "; ".join(values))
    console.print(table)
    listed = len(result.changes)
    console.print(f"listed {listed} change(s)" + (f"; {result.omitted} more not listed (--limit {limit}), counted "
                                                  "below" if result.omitted else ""), highlight=False)
    totals = result.totals()
    console.print("totals: " + ", ".join(f"{k} {v}" for k, v in sorted(totals.items())) if totals else "totals: none")
    if result.field_totals():
        console.print("fields updated: " + ", ".join(f"{k} {v}" for k, v in result.field_totals().most_common()))
    if result.rejected_total:
        console.print(f"{result.rejected_total} submission(s) would be rejected (see `leadsync run`)")


def _short(value: object, width: int = 60) -> str:
    text = "(empty)" if value in (None, "") else str(value)
    return text if len(text) <= width else text[: width - 1] + "…"
