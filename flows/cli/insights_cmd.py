"""`leadsync report`, `backtest` and `explain`: read the state store, write nothing anywhere."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from connectors.errors import ConfigError
from flows.cli.common import ConfigOption, JsonOption, clean_errors, config_path, console, open_store, print_json
from flows.cli.prune_cmd import parse_age

SinceOption = Annotated[str, typer.Option("--since", help="How far back: e.g. 30d, 12w, 48h.")]


def register(app: typer.Typer) -> None:
    app.command()(report)
    app.command()(backtest)
    app.command()(explain)


def parse_since(text: str, now: datetime) -> datetime:
    try:
        return now - parse_age(text)
    except ConfigError:
        raise ConfigError(f"--since {text!r}: write a number of days, weeks or hours, e.g. 30d, 12w, 48h") from None


@clean_errors
def report(config: ConfigOption = None, since: SinceOption = "30d",
           out: Annotated[Path, typer.Option(help="HTML file to write.")] = Path("report.html"),
           as_json: JsonOption = False,
           crm: Annotated[bool, typer.Option(help="Read conversions from the CRM.")] = True,
           candidate: Annotated[Path | None, typer.Option(
               "--backtest", help="Add a backtest of this rules YAML as a section.")] = None) -> None:
    """Write an HTML report (charts, offline) of where leads come from, MQLs, owners, speed, failures."""
    from flows.insights.html import render_html
    from flows.insights.markdown import render_markdown
    from flows.insights.queries import StoreQueries
    from flows.insights.summary import build_report
    from flows.pipeline.runtime import build_runtime

    now = datetime.now(UTC)
    start = parse_since(since, now)
    runtime = build_runtime(config_path(config), check_owners=False)
    sections: list[str] = []
    try:
        converted = runtime.sink.converted_since(start) if crm else None
        weights = {name: team.weights() for name, team in runtime.ruleset.spec.routing.teams.items()}
        data = build_report(StoreQueries(runtime.store.engine, start, now), converted, weights)
        if candidate is not None:
            sections.append(_backtest_html(runtime, candidate, start))
    finally:
        runtime.close()
    if as_json:
        print_json(data.to_json())
        return
    if out.parent and not out.parent.exists():
        raise ConfigError(f"folder {out.parent} does not exist")
    out.write_text(render_html(data, sections), encoding="utf-8")
    console.print(render_markdown(data), markup=False, highlight=False)
    console.print(f"wrote {out}")

@clean_errors
def backtest(candidate: Annotated[Path, typer.Argument(help="The rules YAML to compare with the current.")],
             config: ConfigOption = None, since: SinceOption = "90d", as_json: JsonOption = False) -> None:
    """Replay captured history through the current and a candidate ruleset; writes nothing."""
    from flows.pipeline.runtime import build_runtime

    start = parse_since(since, datetime.now(UTC))
    runtime = build_runtime(config_path(config), check_owners=False)
    try:
        result, other = _backtest(runtime, candidate, start)
    finally:
        runtime.close()
    if as_json:
        print_json(result.to_json())
        return
    _render_backtest(console, result, runtime.ruleset.version, other.version)

@clean_errors
def explain(who: Annotated[str, typer.Argument(help="E-mail address or lead key.")],
            config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """A lead's story in order: submissions, decisions and why, owner changes, CRM writes, dead letters."""
    from flows.insights.story import lead_story, resolve_lead_key, story_json

    store = open_store(config)
    try:
        key = resolve_lead_key(store.engine, who)
        entries = lead_story(store.engine, key)
    finally:
        store.dispose()
    if not entries:
        raise ConfigError(f"no lead {who!r} in the state store")
    if as_json:
        print_json({"lead_key": key, "story": story_json(entries)})
        return
    console.print(f"lead {key}", highlight=False)
    for entry in entries:
        console.print(f"{entry.at:%Y-%m-%d %H:%M:%S}  {entry.kind:<11} {entry.text}", markup=False,
                      highlight=False)


def _backtest(runtime: Any, candidate: Path, start: datetime) -> tuple[Any, Any]:
    from flows.insights.backtest import BacktestResult, history, run_backtest
    from rules import load_ruleset

    if not candidate.exists():
        raise ConfigError(f"candidate rules file {candidate} does not exist")
    other = load_ruleset(candidate)
    result = BacktestResult(since=start)
    run_backtest(history(runtime.store.engine, runtime.sources, start, result), runtime.ruleset, other, start, result)
    return result, other


def _backtest_html(runtime: Any, candidate: Path, start: datetime) -> str:
    from flows.insights.html import backtest_section

    result, other = _backtest(runtime, candidate, start)
    return backtest_section(result, runtime.ruleset.version, other.version)


def _side_by_side(title: str, what: str, current: Counter[str], candidate: Counter[str]) -> Table:
    table = Table(title=title, title_justify="left")
    for column in (what, "current", "candidate", "change"):
        table.add_column(column, justify="right")
    for key in sorted(set(current) | set(candidate)):
        table.add_row(key, str(current[key]), str(candidate[key]), f"{candidate[key] - current[key]:+d}")
    return table


def _render_backtest(console: Console, result: Any, current_version: str, candidate_version: str) -> None:
    console.print(f"backtest of {result.leads} leads since {result.since:%Y-%m-%d} "
                  f"(current {current_version} vs candidate {candidate_version}); nothing written", highlight=False)
    console.print(_side_by_side("MQLs per week", "week", result.current.mql_per_week, result.candidate.mql_per_week))
    console.print(_side_by_side("Leads per owner", "owner", result.current.load, result.candidate.load))
    rates = Table(title="MQL rate per source", title_justify="left")
    for column in ("source", "leads", "current", "candidate"):
        rates.add_column(column, justify="right")
    for source, leads in sorted(result.leads_per_source.items()):
        rates.add_row(source, str(leads), f"{result.current.mql_per_source[source] / leads:.1%}",
                      f"{result.candidate.mql_per_source[source] / leads:.1%}")
    console.print(rates)
    console.print("changed: " + (", ".join(f"{k} {v}" for k, v in sorted(result.changed.items())) or "nothing"))
    for change in result.examples:
        console.print(f"  {change.person or change.lead_key}: {'; '.join(change.what)}", markup=False,
                      highlight=False)
    if result.rejected:
        console.print(f"{result.rejected} stored submission(s) no longer normalise and were left out")