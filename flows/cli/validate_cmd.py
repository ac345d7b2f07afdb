"""`leadsync validate`: config, rules and everything a run would hit first, without touching a source."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from connectors.errors import ConfigError
from flows.cli.common import EXIT_CONFIG, ConfigOption, JsonOption, clean_errors, config_path, console, print_json


def register(app: typer.Typer) -> None:
    app.command()(validate)


@clean_errors
def validate(config: ConfigOption = None,
             check_crm: Annotated[bool, typer.Option(help="Also check the CRM: mapped fields, statuses, and that "
                                                     "every owner and queue exists there.")] = False,
             create_properties: Annotated[bool, typer.Option(help="With --check-crm: create missing fields.")] = False,
             as_json: JsonOption = False) -> None:
    """Check config and rules, and the reps, queues, files and secrets they name (file, line, YAML path).

    Also runs the rules' tests. Nothing is read from a source; the CRM only with --check-crm.
    """
    from flows.config import load_config
    from flows.config.checks import deep_check
    from rules import validate_file

    loaded = load_config(config_path(config))
    report = validate_file(loaded.rules_path)
    problems = deep_check(loaded) if report.ok else []
    crm_checked = False
    if report.ok and not problems and check_crm:
        problems = _check_crm(str(loaded.path), create_properties)
        crm_checked = True
    ok = report.ok and not problems
    event_warnings = _event_warnings(loaded) if report.ok else []
    if as_json:
        document: dict[str, Any] = {"ok": ok, "config": str(loaded.path), "rules": str(loaded.rules_path),
                                    "rule_errors": report.errors, "rule_test_failures": report.test_failures,
                                    "warnings": report.warnings + event_warnings, "rule_tests_run": report.tests_run,
                                    "problems": problems, "crm_checked": crm_checked}
        print_json(document)
        if not ok:
            raise typer.Exit(EXIT_CONFIG)
        return
    console.print(report.render(), highlight=False)
    if not report.ok:
        raise typer.Exit(EXIT_CONFIG)
    for warning in event_warnings:
        console.print(f"[yellow]warning[/yellow]: {loaded.path}: {warning}", highlight=False)
    if problems:
        raise ConfigError(f"{loaded.path}: {len(problems)} problem(s) a run would hit", problems)
    if crm_checked:
        console.print("CRM: every mapped field, owner and queue exists.")
    console.print(f"[green]ok[/green]: {loaded.path} and {loaded.rules_path}", highlight=False)


def _event_warnings(loaded: Any) -> list[str]:
    """Mapped event types that no scoring rule counts (a typo would silently score nothing)."""
    from flows.config.event_types import unscored_event_types
    from rules import load_ruleset
    from rules.behaviour import behaviour_rules

    scored: set[str] = set()
    for rule in behaviour_rules(load_ruleset(loaded.rules_path).spec.scoring):
        scored.update([rule.event] if isinstance(rule.event, str) else rule.event)
    return list(unscored_event_types(loaded.config, scored))


def _check_crm(path: str, create_properties: bool) -> list[str]:
    from flows.config.checks import locate_crm_problems
    from flows.config.loader import load_config
    from flows.pipeline.runtime import build_runtime

    try:
        runtime = build_runtime(path)  # logs in and resolves every owner, queue and list the rules name
    except ConfigError as exc:
        return locate_crm_problems(exc, load_config(path).rules_path)
    try:
        return runtime.sink.check_schema(create_missing=create_properties)
    finally:
        runtime.close()
