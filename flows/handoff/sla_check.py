"""SLA clocks: read "touched" from the CRM in batches, then remind, escalate and re-route untouched leads.

Each step happens once per hand-off (its outbox key names the step). A re-route picks the next
available rep of the team through the rotation (never the current owner, never an unavailable
rep), records the turn in the rotation ledger as "reassigned: no touch within <SLA>", changes
the CRM owner, and starts a new hand-off (task, notification, SLA clock). A lead a rep touched is
never re-routed; a lead someone reassigned in the CRM is left to its new owner.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from connectors.crm.base import CrmSink
from connectors.crm.followup import FollowUpCrm, TouchState, touched
from connectors.records import ChangeKind, CrmChange, Handoff, OutcomeStatus
from flows.handoff.plan import escalation_item, followup_items, handoff_key, start_clock
from flows.state import LedgerEntry, StateStore
from flows.state.outbox import HandoffRow, OutboxItem
from rules import RotationState, Ruleset
from rules.assign import PinnedRoute
from rules.followup import FollowUp
from rules.models import Team
from rules.routing import pick_from_team

ROTATION = "default"  # the process stage's rotation: one line of turns per team
CHUNK = 500


@dataclass
class SlaSummary:
    touched: int = 0
    reminders: int = 0
    escalations: int = 0
    reroutes: int = 0
    released: int = 0  # someone else took the lead in the CRM
    nurture: int = 0
    notes: list[str] = field(default_factory=list)


@dataclass
class SlaContext:
    store: StateStore
    crm: FollowUpCrm
    sink: CrmSink
    ruleset: Ruleset
    spec: FollowUp
    run_id: str
    now: Callable[[], datetime]

    @property
    def statuses(self) -> list[str]:
        """leadsync's own status values: a move to one of them is not a rep's touch."""
        return self.ruleset.status_values()


def check_slas(ctx: SlaContext, summary: SlaSummary) -> None:
    rows = ctx.store.open_handoffs()
    for start in range(0, len(rows), CHUNK):
        _check_chunk(ctx, rows[start:start + CHUNK], summary)


def _check_chunk(ctx: SlaContext, rows: Sequence[HandoffRow], summary: SlaSummary) -> None:
    now = ctx.now()
    with_records = [r for r in rows if r.handoff.crm_id]
    if not with_records:
        return
    since = min(r.handoff.at for r in with_records)
    states = ctx.crm.touch_states([str(r.handoff.crm_id) for r in with_records], since)
    updates: list[HandoffRow] = []
    items: list[OutboxItem] = []
    reroute: list[tuple[HandoffRow, TouchState | None]] = []
    escalation = ctx.spec.escalation
    for row in with_records:
        state = states.get(str(row.handoff.crm_id))
        if touched(state, row.initial_status, row.handoff.at, ctx.statuses):
            assert state is not None
            first = state.last_activity if state.last_activity and state.last_activity >= row.handoff.at else now
            row.status, row.touched_at = "touched", first
            row.first_touch_seconds = int((first - row.handoff.at).total_seconds())
            updates.append(row)
            summary.touched += 1
            continue
        if state is not None and state.owner and "@" in state.owner and state.owner != row.handoff.owner:
            row.status = "closed"  # reassigned in the CRM by a person: their call, not ours
            updates.append(row)
            summary.released += 1
            continue
        if row.due_at is None or now < row.due_at:
            continue
        late = int((now - row.due_at).total_seconds() // 60)
        if row.escalation_level < 1 and escalation.remind:
            items.append(escalation_item(row, "reminder", row.handoff.owner, late))
            row.escalation_level = 1
            updates.append(row)
            summary.reminders += 1
        lead = escalation.team_leads.get(row.handoff.team or "")
        if (row.escalation_level < 2 and lead and escalation.escalate_after_minutes is not None
                and late >= escalation.escalate_after_minutes):
            items.append(escalation_item(row, "escalation", lead.lower(), late))
            row.escalation_level = 2
            updates.append(row)
            summary.escalations += 1
        if (escalation.reroute_after_minutes is not None and late >= escalation.reroute_after_minutes
                and row.reroutes < escalation.max_reroutes and row.handoff.team):
            reroute.append((row, state))
    ctx.store.add_followups((), items, list({id(r): r for r in updates}.values()))
    # A worked lead keeps the status its rep gave it, whatever leadsync decides later (see plan_change).
    ctx.store.mark_worked([r.handoff.lead_key for r in updates if r.status == "touched"])
    if reroute:
        _reroute(ctx, reroute, summary)


def _without(team: Team, owner: str) -> Team:
    if isinstance(team.members, dict):
        members: list[str] | dict[str, float] = {m: w for m, w in team.members.items() if m.lower() != owner}
    else:
        members = [m for m in team.members if m.lower() != owner]
    return team.model_copy(update={"members": members})


def _reroute(ctx: SlaContext, candidates: Sequence[tuple[HandoffRow, TouchState | None]],
             summary: SlaSummary) -> None:
    now = ctx.now()
    routing = ctx.ruleset.spec.routing
    reps = {rep.lower(): a for rep, a in routing.reps.items()}
    picks: dict[str, str] = {}

    def decide(state: dict[str, Any], _pinned: dict[str, PinnedRoute]) -> tuple[
            None, dict[str, Any], list[LedgerEntry]]:
        rotation = RotationState.model_validate(state)
        rotation.roll_day(now)
        entries: list[LedgerEntry] = []
        for row, _ in candidates:
            h = row.handoff
            team = routing.teams.get(h.team or "")
            if team is None:
                continue
            chosen, skipped = pick_from_team(h.team or "", _without(team, h.owner), reps, now, rotation)
            if chosen is None:
                summary.notes.append(f"{h.lead_key}: no available rep in team {h.team} to re-route to")
                continue
            rotation.count(chosen)
            picks[h.key] = chosen
            label = _sla_label(ctx.spec, row)
            entries.append(LedgerEntry(lead_key=h.lead_key, team=h.team, owner=chosen,
                                       method=f"reassigned: no touch within {label}",
                                       skipped=[(s.owner, s.reason) for s in skipped], rule_id="sla",
                                       reason=f"re-routed: nobody touched it within {label}"))
        return None, rotation.model_dump(mode="json"), entries

    ctx.store.with_rotation(ROTATION, decide, [row.handoff.lead_key for row, _ in candidates], ctx.run_id,
                            at=now)
    moved = [(row, state, picks[row.handoff.key]) for row, state in candidates if row.handoff.key in picks]
    if not moved:
        return
    outcomes = ctx.sink.apply([CrmChange(lead_key=row.handoff.lead_key, kind=ChangeKind.UPDATE,
                                         crm_id=row.handoff.crm_id, fields={"owner": new},
                                         object_type="contact" if str(row.handoff.crm_id).startswith("003")
                                         else "lead") for row, _, new in moved])
    reps_lower = reps
    new_rows: list[HandoffRow] = []
    items: list[OutboxItem] = []
    updates: list[HandoffRow] = []
    for (row, state, new_owner), outcome in zip(moved, outcomes, strict=True):
        if outcome.status is OutcomeStatus.REJECTED:
            summary.notes.append(f"{row.handoff.lead_key}: the CRM refused the new owner ({outcome.error_code})")
            continue
        old = row.handoff
        handoff = Handoff(key=handoff_key(old.lead_key, "rerouted", new_owner, old.key), lead_key=old.lead_key,
                          kind="rerouted", owner=new_owner.lower(), team=old.team, crm_id=old.crm_id, at=now,
                          name=old.name, company=old.company, score=old.score, source=old.source,
                          explanation=f"{old.explanation} Re-routed: {old.owner} did not touch the lead within "
                                      f"{_sla_label(ctx.spec, row)}.".strip())
        new = start_clock(handoff, ctx.spec, reps_lower, initial_status=state.status if state else row.initial_status,
                          reroutes=row.reroutes + 1)
        new_rows.append(new)
        items += followup_items(new, ctx.spec, reps_lower)
        row.status = "rerouted"
        updates.append(row)
        summary.reroutes += 1
    ctx.store.add_followups(new_rows, items, updates)


def _sla_label(spec: FollowUp, row: HandoffRow) -> str:
    rule = next((r for r in spec.sla if r.id == row.sla_id), None)
    return rule.label() if rule else "the SLA"


def run_nurture(ctx: SlaContext, summary: SlaSummary) -> None:
    """Owned leads in nurture: a follow-up task every N days until their stage changes."""
    if ctx.spec.nurture is None:
        return
    now = ctx.now()
    reps = {rep.lower(): a for rep, a in ctx.ruleset.spec.routing.reps.items()}
    every = timedelta(days=ctx.spec.nurture.every_days)
    for template, due in ctx.store.due_nurture(now):
        handoff = template.model_copy(update={
            "key": handoff_key(template.lead_key, "nurture_followup", template.owner, due.isoformat()), "at": now})
        row = start_clock(handoff, ctx.spec, reps, initial_status=None)
        if row.due_at is None:
            row.status = "closed"  # no SLA clock for a check-in unless one is configured
        next_due = due + every
        while next_due <= now:  # a long pause does not make a burst of check-ins
            next_due += every
        ctx.store.advance_nurture(template.lead_key, due, next_due, [row], followup_items(row, ctx.spec, reps))
        summary.nurture += 1
