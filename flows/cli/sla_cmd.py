"""`leadsync sla`: leads in breach and about to breach, per owner, with time to first touch.

"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from rich.table import Table

from flows.cli.common import ConfigOption, clean_errors, config_path, console, open_store


def register(app: typer.Typer) -> None:
    app.command("sla")(sla)


@clean_errors
def sla(config: ConfigOption = None,
        warn_minutes: Annotated[int | None, typer.Option(help="List leads due within this many minutes "
                                                               "(default: followup.warn_before_minutes).")] = None,
        ) -> None:
    """Leads in breach of their first-touch SLA and about to breach, per owner (reads the state store only)."""
    from flows.config import load_config
    from flows.handoff.report import sla_report
    from rules import load_ruleset

    loaded = load_config(config_path(config))
    spec = load_ruleset(loaded.rules_path).spec.followup
    if spec is None:
        console.print("The rules have no `followup:` section: no hand-offs are tracked.")
        return
    store = open_store(config)
    try:
        rows = store.handoff_rows()
    finally:
        store.dispose()
    now = datetime.now(UTC)
    warn = timedelta(minutes=warn_minutes if warn_minutes is not None else spec.warn_before_minutes)
    report = sla_report(rows, now, warn)
    summary = Table(title="First-touch SLA per owner", title_justify="left")
    for column in ("owner", "open", "in breach", "due soon", "median first touch (min)"):
        summary.add_column(column)
    for entry in report:
        median = entry.median_first_touch_minutes
        summary.add_row(entry.owner, str(entry.open), str(len(entry.breached)), str(len(entry.due_soon)),
                        "-" if median is None else f"{median:g}")
    console.print(summary)
    leads = Table(title="Leads in breach or due soon", title_justify="left")
    for column in ("owner", "lead", "company", "kind", "SLA", "due (UTC)", "state"):
        leads.add_column(column)
    for entry in report:
        for label, rows_ in (("BREACH", entry.breached), ("due soon", entry.due_soon)):
            for row in rows_:
                h = row.handoff
                due = row.due_at.strftime("%Y-%m-%d %H:%M") if row.due_at else "-"
                late = f" {int((now - row.due_at).total_seconds() // 60)} min late" \
                    if row.due_at and label == "BREACH" else ""
                leads.add_row(entry.owner, h.name, h.company or "", h.kind, row.sla_id or "", due, label + late)
    console.print(leads)
