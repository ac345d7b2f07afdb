"""What a hand-off sets in motion: its SLA clock and its outbox rows (a task, an owner notification).

Pure functions of a Handoff, the rules' `followup:` section and the reps' availability.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from connectors.records import Handoff, HandoffKind
from flows.state.outbox import HandoffRow, OutboxItem
from rules.followup import FollowUp
from rules.models import Availability
from rules.sla import sla_due


def handoff_key(lead_key: str, kind: HandoffKind, owner: str, anchor: str) -> str:
    """Deterministic: the same hand-off derived again (retry, re-run) gets the same key."""
    return hashlib.sha256(f"{lead_key}|{kind}|{owner.lower()}|{anchor}".encode()).hexdigest()[:40]


def start_clock(handoff: Handoff, spec: FollowUp, reps: dict[str, Availability], *,
                initial_status: str | None, reroutes: int = 0) -> HandoffRow:
    rule = spec.sla_for(handoff.kind, handoff.source)
    due = sla_due(handoff.at, rule.within_minutes, rule.working_hours, reps.get(handoff.owner.lower())) \
        if rule else None
    return HandoffRow(handoff=handoff, sla_id=rule.id if rule else None, due_at=due,
                      initial_status=initial_status, reroutes=reroutes)


def local_date(moment: datetime, availability: Availability | None) -> str:
    zone = ZoneInfo(availability.timezone) if availability else None
    return (moment.astimezone(zone) if zone else moment).date().isoformat()


def followup_items(row: HandoffRow, spec: FollowUp, reps: dict[str, Availability]) -> list[OutboxItem]:
    """The task and the owner notification of a new hand-off, as the rules configure them per kind."""
    h = row.handoff
    items: list[OutboxItem] = []
    rule = spec.sla_for(h.kind, h.source)
    common: dict[str, Any] = {"handoff": h.model_dump(mode="json"),
                              "due_at": row.due_at.isoformat() if row.due_at else None,
                              "sla": rule.label() if rule else None}
    task = spec.tasks.get(h.kind)
    if task is not None and task.enabled:
        subject = task.subject.format(name=h.name, company=h.company or "", kind=h.kind)[:255]
        items.append(OutboxItem(key=f"{h.key}:task", handoff_key=h.key, channel="task", purpose="handoff",
                                recipient=h.owner, payload={
                                    **common, "subject": subject, "priority": task.priority,
                                    "due_date": local_date(row.due_at or h.at, reps.get(h.owner.lower()))}))
    if h.kind in spec.notify:
        items.append(OutboxItem(key=f"{h.key}:notify", handoff_key=h.key, channel="notify", purpose="handoff",
                                recipient=h.owner, payload=common))
    return items


def escalation_item(row: HandoffRow, purpose: str, recipient: str, minutes_late: int) -> OutboxItem:
    """A reminder to the owner or a note to the team lead: one per hand-off and step, keyed so."""
    h = row.handoff
    return OutboxItem(key=f"{h.key}:{purpose}", handoff_key=h.key, channel="notify", purpose=purpose,
                      recipient=recipient, payload={"handoff": h.model_dump(mode="json"),
                                                    "due_at": row.due_at.isoformat() if row.due_at else None,
                                                    "sla": row.sla_id, "minutes_late": minutes_late})
