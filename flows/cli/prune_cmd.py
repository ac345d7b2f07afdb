"""`leadsync prune --older-than 180d`: counts what retention allows deleting; deletes it with --yes.

"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer

from connectors.errors import ConfigError
from flows.cli.common import ConfigOption, clean_errors, console, open_store

_AGE = re.compile(r"^\s*(\d+)\s*([dhw])\s*$")
_UNITS = {"d": timedelta(days=1), "h": timedelta(hours=1), "w": timedelta(weeks=1)}


def parse_age(text: str) -> timedelta:
    """'180d', '12w' or '48h'."""
    match = _AGE.match(text)
    if match is None:
        raise ConfigError(f"--older-than {text!r}: write a number of days, weeks or hours, e.g. 180d, 26w, 48h")
    return int(match.group(1)) * _UNITS[match.group(2)]


def register(app: typer.Typer) -> None:
    app.command()(prune)


@clean_errors
def prune(older_than: Annotated[str, typer.Option("--older-than", help="Age, e.g. 180d, 26w, 48h.")] = "180d",
          yes: Annotated[bool, typer.Option("--yes", help="Delete; without it, only count (dry run).")] = False,
          config: ConfigOption = None) -> None:
    """Delete state older than --older-than that no replay, report or backtest needs (dry-run count first)."""
    age = parse_age(older_than)
    cutoff = datetime.now(UTC) - age
    store = open_store(config)
    try:
        counts = store.prune(cutoff, apply=yes)
    finally:
        store.dispose()
    verb = "deleted" if yes else "would delete"
    for name, count in counts.items():
        console.print(f"{verb} {count} {name} older than {older_than} (before {cutoff:%Y-%m-%d %H:%M} UTC)")
    if not yes:
        console.print("dry run: nothing deleted; run again with --yes to delete")
