"""`leadsync dead-letters list | replay | discard`: leads that failed, with stage, code and reason."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import typer
from rich.table import Table

from flows.cli.common import ConfigOption, JsonOption, UsageProblem, clean_errors, console, open_store, print_json

IdsArgument = Annotated[list[int] | None, typer.Argument(help="Dead-letter ids (see `dead-letters list`).")]
AllOption = Annotated[bool, typer.Option("--all", help="Every open dead letter (instead of ids).")]


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Inspect, replay or discard leads that failed.", no_args_is_help=True)
    group.command("list")(dead_letters_list)
    group.command("replay")(dead_letters_replay)
    group.command("discard")(dead_letters_discard)
    app.add_typer(group, name="dead-letters")


def _chosen(ids: list[int] | None, every: bool, verb: str) -> list[int] | None:
    if ids and every:
        raise UsageProblem(f"dead-letters {verb}: give ids or --all, not both")
    if not ids and not every:
        raise UsageProblem(f"dead-letters {verb}: give the ids to {verb} (see `leadsync dead-letters list`), "
                           "or --all for every open one")
    return ids or None


@clean_errors
def dead_letters_list(config: ConfigOption = None,
                      status: Annotated[str, typer.Option(help="open, replayed, discarded or all")] = "open",
                      limit: Annotated[int, typer.Option(help="At most this many rows; 0 = all.", min=0)] = 100,
                      as_json: JsonOption = False) -> None:
    """List dead letters: record, stage, code and the (redacted) reason."""
    if status not in ("open", "replayed", "discarded", "all"):
        raise UsageProblem(f"--status must be open, replayed, discarded or all, not {status!r}")
    store = open_store(config)
    try:
        rows = store.list_dead_letters(None if status == "all" else status, limit or None)
    finally:
        store.dispose()
    if as_json:
        print_json([asdict(row) for row in rows])
        return
    table = Table(title=f"Dead letters ({status}, {len(rows)})", title_justify="left")
    for column in ("id", "record", "stage", "type", "code", "reason", "status"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(str(row.id), f"{row.source}/{row.source_record_id}", row.stage, row.failure_type, row.code,
                      row.message, row.status)
    console.print(table)


@clean_errors
def dead_letters_replay(ids: IdsArgument = None, every: AllOption = False, config: ConfigOption = None,
                        as_json: JsonOption = False) -> None:
    """Send dead letters back to the inbox; the next run processes them again (CRM writes are upserts)."""
    chosen = _chosen(ids, every, "replay")
    store = open_store(config)
    try:
        count = store.replay_dead_letters(chosen)
    finally:
        store.dispose()
    if as_json:
        print_json({"replayed": count})
    else:
        console.print(f"{count} dead letter(s) back in the inbox; run `leadsync run` to process them")


@clean_errors
def dead_letters_discard(ids: IdsArgument = None, every: AllOption = False, config: ConfigOption = None,
                         as_json: JsonOption = False) -> None:
    """Mark dead letters as discarded (kept for audit, never processed)."""
    chosen = _chosen(ids, every, "discard")
    store = open_store(config)
    try:
        count = store.discard_dead_letters(chosen)
    finally:
        store.dispose()
    if as_json:
        print_json({"discarded": count})
    else:
        console.print(f"{count} dead letter(s) discarded")
