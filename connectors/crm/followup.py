"""Follow-up tasks and "touched" reads: the interface each CRM package implements for the follow-through.

A task carries its idempotency key, and every writer makes the key unique on the CRM side (an
external-id upsert, a search by key before a retry, a unique column), so a lost reply or a
retried batch never leaves two tasks. Touch states are read in batches, never per lead.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from connectors.errors import LeadsyncError


@dataclass(frozen=True)
class FollowUpTask:
    key: str                 # idempotency key (the outbox row's)
    crm_id: str              # the lead or contact the task is about
    owner: str               # owner e-mail
    subject: str
    description: str
    due_date: str            # ISO date in the owner's time zone
    due_at: datetime         # the same deadline as an instant (HubSpot's hs_timestamp)
    priority: str = "normal"  # low | normal | high


@dataclass(frozen=True)
class TaskResult:
    task_id: str | None = None
    error: LeadsyncError | None = None


@dataclass(frozen=True)
class TouchState:
    crm_id: str
    status: str | None = None
    owner: str | None = None                 # owner e-mail, when known
    last_activity: datetime | None = None    # a completed task, hs_last_sales_activity_timestamp, notes_last_contacted
    last_activity_date: date | None = None   # Salesforce's LastActivityDate (a date)


class FollowUpCrm(Protocol):
    def create_tasks(self, tasks: Sequence[FollowUpTask], maybe_sent: Collection[str]) -> dict[str, TaskResult]:
        """One result per task key. `maybe_sent`: keys an earlier attempt may have created (check first)."""
        ...

    def touch_states(self, crm_ids: Sequence[str], since: datetime) -> dict[str, TouchState]:
        """Current status, owner and activity (completed tasks since `since`) of these records, in batches."""
        ...


def touched(state: TouchState | None, initial_status: str | None, handed_at: datetime,
            leadsync_statuses: Collection[str] = ()) -> bool:
    """A rep worked the lead since the hand-off: status moved off its value then, or activity since.

    A move to one of leadsync's own status values (`leadsync_statuses`, e.g. its MQL status when the
    lead became an MQL after the hand-off) is leadsync's doing, not a rep's touch.
    """
    if state is None:
        return False
    if initial_status is not None and state.status is not None and state.status != initial_status \
            and state.status not in leadsync_statuses:
        return True
    if state.last_activity is not None and state.last_activity >= handed_at:
        return True
    return state.last_activity_date is not None and state.last_activity_date >= handed_at.date()
