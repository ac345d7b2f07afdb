"""Outbox delivery: follow-up tasks in CRM batches, notifications fanned out to their channels.

At least once, never twice once recorded: a row is claimed (with a lease) before its call and
marked sent after it; tasks are deduplicated on the CRM side by the row's key. A channel that
is down only delays its own rows: they are retried with exponential backoff (or Slack's
Retry-After) and dead-lettered with the reason after `max_attempts`. Rejections (a refused
recipient, an invalid payload) are dead-lettered at once: no retry can fix them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from connectors.crm.followup import FollowUpCrm, FollowUpTask
from connectors.errors import LeadsyncError, RecordRejectedError, RetriableError
from connectors.notify import Notice
from connectors.notify.smtp import build_message
from connectors.records import Handoff
from flows.handoff.channels import Channels
from flows.state import StateStore
from flows.state.outbox import OutboxItem, OutboxRow
from rules.models import Availability
from rules.sla import next_working_moment

LEASE = timedelta(minutes=10)
MAX_BATCHES = 50


@dataclass
class Delivery:
    store: StateStore
    crm: FollowUpCrm
    channels: Channels
    reps: dict[str, Availability]  # lower-case e-mail -> availability
    now: Callable[[], datetime]


@dataclass
class DeliverySummary:
    tasks: int = 0
    messages: int = 0
    retried: int = 0
    dead: int = 0
    skipped: int = 0
    deferred: int = 0
    dead_reasons: list[str] = field(default_factory=list)


def deliver_outbox(d: Delivery, summary: DeliverySummary) -> None:
    for _ in range(MAX_BATCHES):
        rows = d.store.claim_outbox(d.now(), d.channels.config.batch_size, LEASE)
        if not rows:
            return
        by_channel: dict[str, list[OutboxRow]] = {}
        for row in rows:
            by_channel.setdefault(row.channel, []).append(row)
        _tasks(d, by_channel.pop("task", []), summary)
        _expand(d, by_channel.pop("notify", []), summary)
        _email(d, by_channel.pop("email", []), summary)
        _slack(d, by_channel.pop("slack", []), summary)
        for unknown in by_channel.values():
            _dead(d, unknown, "unknown outbox channel", summary)


# failures --------------------------------------------------------------------------------------------------
def _fail(d: Delivery, rows: Sequence[OutboxRow], error: LeadsyncError, summary: DeliverySummary) -> None:
    config = d.channels.config
    reason = f"{error.code}: {error}"
    if isinstance(error, RecordRejectedError):
        _dead(d, rows, reason, summary)
        return
    give_up = [r for r in rows if r.attempts >= config.max_attempts]
    _dead(d, give_up, f"{reason} (after {config.max_attempts} attempts)", summary)
    for row in rows:
        if row.attempts >= config.max_attempts:
            continue
        after = error.retry_after if isinstance(error, RetriableError) else None
        delay = after if after is not None else min(config.retry_base_seconds * 2 ** (row.attempts - 1),
                                                    config.retry_max_seconds)
        d.store.outbox_retry_later([row.id], reason, d.now() + timedelta(seconds=delay))
        summary.retried += 1


def _dead(d: Delivery, rows: Sequence[OutboxRow], reason: str, summary: DeliverySummary) -> None:
    if rows:
        d.store.outbox_dead([r.id for r in rows], reason)
        summary.dead += len(rows)
        summary.dead_reasons.append(reason)


# tasks -----------------------------------------------------------------------------------------------------
def _tasks(d: Delivery, rows: Sequence[OutboxRow], summary: DeliverySummary) -> None:
    if not rows:
        return
    by_key: dict[str, OutboxRow] = {}
    tasks: list[FollowUpTask] = []
    for row in rows:
        h = Handoff.model_validate(row.payload["handoff"])
        if not h.crm_id:
            _dead(d, [row], "the hand-off has no CRM record to attach a task to", summary)
            continue
        due_at = datetime.fromisoformat(row.payload["due_at"]) if row.payload.get("due_at") else h.at
        tasks.append(FollowUpTask(key=row.key, crm_id=h.crm_id, owner=h.owner, subject=row.payload["subject"],
                                  description=h.explanation, due_date=row.payload["due_date"], due_at=due_at,
                                  priority=row.payload.get("priority", "normal")))
        by_key[row.key] = row
    if not tasks:
        return
    try:
        results = d.crm.create_tasks(tasks, {k for k, r in by_key.items() if r.maybe_sent})
    except LeadsyncError as exc:  # the whole batch failed (CRM down, quota): every row retried later
        _fail(d, list(by_key.values()), exc, summary)
        return
    done: dict[int, str | None] = {}
    for key, row in by_key.items():
        result = results.get(key)
        if result is not None and result.task_id:
            done[row.id] = result.task_id
        else:
            error = result.error if result and result.error else RetriableError("no result for this task")
            _fail(d, [row], error, summary)
    d.store.outbox_done(done)
    summary.tasks += len(done)


# notifications ---------------------------------------------------------------------------------------------
def _digest_slot(now: datetime, minutes: int) -> datetime:
    step = minutes * 60
    return datetime.fromtimestamp(-(-int(now.timestamp()) // step) * step, UTC)


def _expand(d: Delivery, rows: Sequence[OutboxRow], summary: DeliverySummary) -> None:
    """A notification becomes one outbox row per channel, so each channel succeeds or retries on its own."""
    config = d.channels.config
    now = d.now()
    skipped: dict[int, str | None] = {}
    expanded: dict[int, str | None] = {}
    fanned_out: list[OutboxItem] = []
    for row in rows:
        owner_side: list[OutboxItem] = []
        if "email" in config.owner_channels and d.channels.email is not None:
            owner_side.append(OutboxItem(key=f"{row.key}:email", handoff_key=row.handoff_key, channel="email",
                                         purpose=row.purpose, payload=dict(row.payload), recipient=row.recipient))
        personal = config.slack.owners.get(row.recipient) if config.slack else None
        if "slack" in config.owner_channels and personal in d.channels.slack:
            owner_side.append(OutboxItem(key=f"{row.key}:slack:{personal}", handoff_key=row.handoff_key,
                                         channel="slack", purpose=row.purpose, payload=dict(row.payload),
                                         recipient=str(personal)))
        not_before = now
        if config.quiet_hours:
            not_before = next_working_moment(now, d.reps.get(row.recipient.lower()))
        for item in owner_side:
            item.not_before = not_before
            if item.channel == "email" and row.purpose == "handoff" and _digest_for(config, row.recipient):
                assert config.digest is not None
                item.payload["digest"] = True
                item.not_before = max(not_before, _digest_slot(now, config.digest.every_minutes))
        team = Handoff.model_validate(row.payload["handoff"]).team
        team_channel = config.slack.teams.get(team or "") if config.slack else None
        children = list(owner_side)
        if row.purpose in ("handoff", "escalation") and team_channel in d.channels.slack:
            children.append(OutboxItem(key=f"{row.key}:slack:{team_channel}", handoff_key=row.handoff_key,
                                       channel="slack", purpose=row.purpose, payload=dict(row.payload),
                                       recipient=str(team_channel)))
        if not children:
            skipped[row.id] = None
            continue
        expanded[row.id] = f"{len(children)} channel(s)"
        fanned_out += children
    # Two transactions for the whole batch, not one per row: each row still becomes "expanded" together
    # with its children (all or nothing), and a skipped row is final either way.
    d.store.outbox_done(skipped, status="skipped")
    summary.skipped += len(skipped)
    d.store.outbox_done(expanded, status="expanded", children=fanned_out)


def _digest_for(config: Any, recipient: str) -> bool:
    digest = config.digest
    return digest is not None and (digest.owners == "all" or recipient.lower() in {o.lower() for o in digest.owners})


def _item(d: Delivery, payload: dict[str, Any]) -> dict[str, Any]:
    """Template context: only what the owner needs (no e-mail address or phone number of the lead)."""
    h = payload["handoff"]
    record_url = d.channels.config.record_url
    due = payload.get("due_at")
    due_text = None
    if due:
        availability = d.reps.get(str(h["owner"]).lower())
        zone = ZoneInfo(availability.timezone) if availability else UTC
        due_text = datetime.fromisoformat(due).astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")
    return {"name": h["name"], "company": h.get("company"), "score": round(float(h.get("score") or 0), 1),
            "source": h.get("source", ""), "why": str(h.get("explanation") or "")[:500], "kind": h["kind"],
            "owner": h["owner"], "due": due_text, "sla": payload.get("sla"),
            "minutes_late": payload.get("minutes_late", 0),
            "link": record_url.format(crm_id=h["crm_id"]) if record_url and h.get("crm_id") else None}


def _email(d: Delivery, rows: Sequence[OutboxRow], summary: DeliverySummary) -> None:
    if not rows:
        return
    sender = d.channels.email
    if sender is None:  # the channel was removed from the config after these rows were made
        d.store.outbox_done({r.id: None for r in rows}, status="skipped")
        summary.skipped += len(rows)
        return
    groups: dict[str, list[OutboxRow]] = {}
    notices: dict[str, Notice] = {}
    for row in rows:
        if row.payload.get("digest"):
            key = f"digest:{row.recipient}:{min(r.id for r in rows if r.recipient == row.recipient)}"
            groups.setdefault(key, []).append(row)
        else:
            groups[row.key] = [row]
    for key, members in groups.items():
        purpose = "digest" if key.startswith("digest:") else members[0].purpose
        notices[key] = Notice(key=key, purpose=purpose, recipient=members[0].recipient,
                              items=[_item(d, r.payload) for r in members])
    from_address = d.channels.config.email.from_address if d.channels.config.email else "leadsync@localhost"
    messages = [(key, build_message(n, d.channels.templates.render(n), from_address)) for key, n in notices.items()]
    try:
        results = sender.send(messages)
    except LeadsyncError as exc:  # server down, login refused: every message of the batch waits
        _fail(d, rows, exc, summary)
        return
    done: dict[int, str | None] = {}
    for key, members in groups.items():
        error = results.get(key)
        if error is None:
            done.update({r.id: None for r in members})
        else:
            _fail(d, members, error, summary)
    d.store.outbox_done(done)
    summary.messages += len([k for k in groups if results.get(k) is None])


def _slack(d: Delivery, rows: Sequence[OutboxRow], summary: DeliverySummary) -> None:
    limited: dict[str, datetime] = {}  # channel -> when Slack lets us post again
    for row in rows:
        hook = d.channels.slack.get(row.recipient)
        if hook is None:
            d.store.outbox_done({row.id: None}, status="skipped")
            summary.skipped += 1
            continue
        if row.recipient in limited:  # rate limited a moment ago: wait, without counting an attempt
            d.store.outbox_retry_later([row.id], "", limited[row.recipient], count_attempt=False)
            summary.deferred += 1
            continue
        notice = Notice(key=row.key, purpose=row.purpose, recipient=row.recipient, items=[_item(d, row.payload)])
        try:
            hook.post(notice, d.channels.templates.render(notice))
        except LeadsyncError as exc:
            if isinstance(exc, RetriableError) and exc.retry_after is not None:
                limited[row.recipient] = d.now() + timedelta(seconds=exc.retry_after)
            _fail(d, [row], exc, summary)
            continue
        d.store.outbox_done({row.id: None})
        summary.messages += 1
