"""The SLA report: open hand-offs in breach and about to breach, per owner, and time to first touch.

Reads the state store only (never the CRM); `leadsync sla` renders it.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flows.state.outbox import HandoffRow


@dataclass
class OwnerSla:
    owner: str
    breached: list[HandoffRow] = field(default_factory=list)
    due_soon: list[HandoffRow] = field(default_factory=list)
    open: int = 0
    first_touch_seconds: list[int] = field(default_factory=list)

    @property
    def median_first_touch_minutes(self) -> float | None:
        if not self.first_touch_seconds:
            return None
        return round(statistics.median(self.first_touch_seconds) / 60, 1)


def sla_report(rows: Sequence[HandoffRow], now: datetime, warn_before: timedelta) -> list[OwnerSla]:
    """Owners with open, breached or soon-due hand-offs (or a first-touch record), worst first."""
    owners: dict[str, OwnerSla] = {}
    for row in rows:
        entry = owners.setdefault(row.handoff.owner, OwnerSla(owner=row.handoff.owner))
        if row.first_touch_seconds is not None:
            entry.first_touch_seconds.append(row.first_touch_seconds)
        if row.status != "open":
            continue
        entry.open += 1
        if row.due_at is None:
            continue
        if row.due_at <= now:
            entry.breached.append(row)
        elif row.due_at <= now + warn_before:
            entry.due_soon.append(row)
    for entry in owners.values():
        entry.breached.sort(key=lambda r: r.due_at or now)
        entry.due_soon.sort(key=lambda r: r.due_at or now)
    return sorted(owners.values(), key=lambda e: (-len(e.breached), -len(e.due_soon), e.owner))
