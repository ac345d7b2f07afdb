"""The `leadsync` command. Every error is one clear line and an exit code, never a traceback."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from connectors.errors import ConfigError, LeadsyncError
from connectors.redaction import redact
from flows.settings import LeadsyncSettings
from flows.state import StateStore

P = ParamSpec("P")
R = TypeVar("R")

app = typer.Typer(help="leadsync: capture leads, decide with YAML rules, push to your CRM.",
                  no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)
dead_letters_app = typer.Typer(help="Inspect, replay or discard leads that failed.", no_args_is_help=True)
app.add_typer(dead_letters_app, name="dead-letters")
console = Console()
err = Console(stderr=True)

ConfigOption = Annotated[str | None, typer.Option("--config", "-c", help="leadsync YAML (env LEADSYNC_CONFIG).")]

EXIT_CONFIG = 2
EXIT_FAILED = 1


def _config_path(config: str | None) -> str:
    return config or LeadsyncSettings().config


def _quiet_prefect() -> None:
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", LeadsyncSettings().log_level)
    os.environ.setdefault("PREFECT_LOGGING_TO_API_ENABLED", "true")


def clean_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn leadsync errors into one line on stderr and an exit code."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except ConfigError as exc:
            err.print(f"[red]error:[/red] {redact(exc)}", highlight=False, soft_wrap=True)
            raise typer.Exit(EXIT_CONFIG) from None
        except LeadsyncError as exc:
            err.print(f"[red]error:[/red] {redact(exc)}", highlight=False, soft_wrap=True)
            raise typer.Exit(EXIT_FAILED) from None
        except KeyboardInterrupt:
            err.print("interrupted: claimed leads go back to the inbox on the next run")
            raise typer.Exit(130) from None

    return wrapper


@app.command()
@clean_errors
def validate(config: ConfigOption = None,
             check_crm: Annotated[bool, typer.Option(help="Also check the CRM against the mapping.")] = False,
             create_properties: Annotated[bool, typer.Option(help="With --check-crm: create missing fields.")] = False,
             ) -> None:
    """Check the config and the rules (every error with file, line and YAML path) and run the rules' tests."""
    from flows.config import load_config
    from rules import validate_file

    loaded = load_config(_config_path(config))
    report = validate_file(loaded.rules_path)
    console.print(report.render(), highlight=False)
    if not report.ok:
        raise typer.Exit(EXIT_CONFIG)
    if check_crm:
        from flows.pipeline.runtime import build_runtime

        runtime = build_runtime(loaded.path)
        try:
            problems = runtime.sink.check_schema(create_missing=create_properties)
        finally:
            runtime.close()
        if problems:
            raise ConfigError("the CRM does not match the mapping", problems)
        console.print("CRM: every mapped field, owner and queue exists.")
    console.print(f"[green]ok[/green]: {loaded.path} and {loaded.rules_path}")


@app.command()
@clean_errors
def run(config: ConfigOption = None,
        prefect: Annotated[bool, typer.Option(help="Run as a Prefect flow (default) or in-process only.")] = True,
        ) -> None:
    """One sync: capture every source into the inbox, then decide and push every lead to the CRM."""
    path = _config_path(config)
    if prefect:
        _quiet_prefect()
        from flows.pipeline.runtime import build_runtime

        build_runtime(path).close()  # config, rules and CRM owners checked before Prefect starts
        from flows.sync import sync_flow

        summary = sync_flow(path)
    else:
        from flows.pipeline.run import run_sync
        from flows.pipeline.runtime import build_runtime

        runtime = build_runtime(path)
        try:
            summary = run_sync(runtime)
        finally:
            runtime.close()
    summary.render(console)
    if summary.stopped or any(c.error for c in summary.captures):
        raise typer.Exit(EXIT_FAILED)


@app.command()
@clean_errors
def plan(config: ConfigOption = None,
         all_leads: Annotated[bool, typer.Option("--all", help="Also re-decide leads already pushed "
                                                 "(what a rule change would change).")] = False,
         ) -> None:
    """Show what a run would change in the CRM, per lead and in totals, writing nothing."""
    from datetime import UTC, datetime

    from flows.pipeline.plan_preview import preview
    from flows.pipeline.runtime import build_runtime

    runtime = build_runtime(_config_path(config))
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
    totals = result.totals()
    console.print("totals: " + ", ".join(f"{k} {v}" for k, v in sorted(totals.items())) if totals else "totals: none")
    if result.field_totals():
        console.print("fields updated: " + ", ".join(f"{k} {v}" for k, v in result.field_totals().most_common()))
    if result.rejected:
        console.print(f"{len(result.rejected)} submission(s) would be rejected (see `leadsync run`)")


@app.command()
@clean_errors
def serve(config: ConfigOption = None,
          cron: Annotated[str | None, typer.Option(help="Cron schedule (overrides the config).")] = None,
          interval: Annotated[int | None, typer.Option(help="Interval in seconds (overrides the config).")] = None,
          name: Annotated[str, typer.Option(help="Deployment name.")] = "leadsync-scheduled",
          ) -> None:
    """Serve the sync flow as a scheduled Prefect deployment (needs a Prefect server: PREFECT_API_URL)."""
    from flows.config import load_config

    path = str(Path(_config_path(config)).resolve())
    loaded = load_config(path)
    schedule = loaded.config.schedule
    cron = cron or (schedule.cron if schedule and interval is None else None)
    interval = interval or (schedule.interval_seconds if schedule and cron is None else None)
    if not cron and not interval:
        raise ConfigError("no schedule: set schedule.cron or schedule.interval_seconds in the config, "
                          "or pass --cron / --interval")
    if not os.environ.get("PREFECT_API_URL"):
        raise ConfigError("leadsync serve needs a Prefect server: start one with `prefect server start` and set "
                          "PREFECT_API_URL=http://127.0.0.1:4200/api")
    _quiet_prefect()
    from flows.sync import sync_flow

    console.print(f"serving {name}: " + (f"cron {cron}" if cron else f"every {interval} s"))
    sync_flow.serve(name=name, cron=cron, interval=interval, parameters={"config_path": path})


@app.command()
@clean_errors
def receive(config: ConfigOption = None,
            process: Annotated[bool, typer.Option(help="Decide and push each submission at once (speed to "
                                                  "lead); off: leave it for the scheduled run.")] = True) -> None:
    """Run the webhook receiver: each submission is stored in the inbox before the sender gets a 2xx."""
    import uvicorn

    from connectors.sources.webhooks import WebhookSource
    from flows.pipeline.run import run_sync
    from flows.pipeline.runtime import build_runtime
    from flows.receiver import DebouncedTrigger, create_app

    runtime = build_runtime(_config_path(config))
    hooks = {name: s for name, s in runtime.sources.items() if isinstance(s, WebhookSource)}
    if not hooks:
        raise ConfigError("no webhook sources (web_form, typeform, google_ads, meta_webhook, webflow, json) "
                          "in the config")
    settings = runtime.loaded.config.receiver
    console.print(f"receiving on http://{settings.host}:{settings.port}/<kind>/<name> for {', '.join(hooks)}")
    trigger = DebouncedTrigger(lambda: run_sync(runtime, capture=False)) if process else None
    try:
        uvicorn.run(create_app(runtime.store, hooks, settings.max_body_bytes, trigger.poke if trigger else None),
                    host=settings.host, port=settings.port, log_level="warning")
    finally:
        if trigger:
            trigger.stop()
        runtime.close()


@app.command()
@clean_errors
def export(out: Annotated[Path, typer.Argument(help="CSV file to write.")], config: ConfigOption = None) -> None:
    """Export every lead of the local CRM to CSV."""
    from connectors.crm.local import LocalCrmSink
    from flows.config import load_config
    from flows.pipeline.runtime import build_sink

    sink = build_sink(load_config(_config_path(config)))
    if not isinstance(sink, LocalCrmSink):
        raise ConfigError("export works on the local CRM; your CRM has its own export")
    try:
        rows = sink.export_csv(out)
    finally:
        sink.close()
    console.print(f"wrote {rows} leads to {out}")


def _store(config: str | None) -> StateStore:
    from flows.config import load_config
    from flows.pipeline.runtime import resolve_state_url

    loaded = load_config(_config_path(config))
    store = StateStore(resolve_state_url(loaded))
    store.create_schema()
    return store


@dead_letters_app.command("list")
@clean_errors
def dead_letters_list(config: ConfigOption = None,
                      status: Annotated[str, typer.Option(help="open, replayed, discarded or all")] = "open",
                      limit: int = 100) -> None:
    """List dead letters: record, stage, code and the (redacted) reason."""
    store = _store(config)
    rows = store.list_dead_letters(None if status == "all" else status, limit)
    table = Table(title=f"Dead letters ({status})", title_justify="left")
    for column in ("id", "record", "stage", "type", "code", "reason", "status"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(str(row.id), f"{row.source}/{row.source_record_id}", row.stage, row.failure_type, row.code,
                      row.message, row.status)
    console.print(table)


@dead_letters_app.command("replay")
@clean_errors
def dead_letters_replay(ids: Annotated[list[int] | None, typer.Argument(help="Ids; none = all open.")] = None,
                        config: ConfigOption = None) -> None:
    """Send dead letters back to the inbox; the next run processes them again (CRM writes are upserts)."""
    count = _store(config).replay_dead_letters(ids or None)
    console.print(f"{count} dead letter(s) back in the inbox; run `leadsync run` to process them")


@dead_letters_app.command("discard")
@clean_errors
def dead_letters_discard(ids: Annotated[list[int] | None, typer.Argument(help="Ids; none = all open.")] = None,
                         config: ConfigOption = None) -> None:
    """Mark dead letters as discarded (kept for audit, never processed)."""
    count = _store(config).discard_dead_letters(ids or None)
    console.print(f"{count} dead letter(s) discarded")


@app.command()
@clean_errors
def schema(out: Annotated[Path, typer.Argument(help="Where to write the JSON Schema.")] = Path(
        "config/rules.schema.json")) -> None:
    """Write the JSON Schema of the rules YAML (editors use it to autocomplete and check rules)."""
    import json

    from rules import json_schema

    out.write_text(json.dumps(json_schema(), indent=2) + "\n", encoding="utf-8")
    console.print(f"wrote {out}")


def main() -> None:
    app(prog_name="leadsync")


if __name__ == "__main__":
    main()


from flows import sla_cli as _sla_cli  # noqa: E402, F401 - registers `leadsync sla`
