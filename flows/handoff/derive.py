"""Hand-offs caused by a settled batch: a lead newly owned by a person, or newly an MQL.

Called by the process stage in place of writing the decisions ledger alone: the ledger rows,
the hand-offs and their outbox rows are written in one transaction. A hand-off is recognised
against the hand-offs already recorded (not only the CRM's owner), so a crash between the CRM
write and this transaction still yields the hand-off on the retry, with the same key.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from connectors.crm.plan import PlanItem
from connectors.records import Decision, Handoff, HandoffKind, OutcomeStatus, RecordOutcome
from flows.handoff.plan import followup_items, handoff_key, start_clock
from flows.state import ProfileOutcome, StateStore
from flows.state.outbox import HandoffRow, NurtureUpdate, OutboxItem
from rules import Ruleset
from rules.followup import FollowUp


def _person(decision: Decision) -> str | None:
    return decision.owner if decision.owner and not decision.queue and "@" in decision.owner else None


def _kind(item: PlanItem, owner: str, latest: HandoffRow | None,
          decided_before: bool) -> tuple[HandoffKind, str] | None:
    """(kind, anchor of its key) when this decision hands the lead to `owner`, else None."""
    transition = item.decision.transition
    if transition is not None and transition.to_stage == "mql":
        anchor = transition.at.isoformat()
        if latest is not None and (latest.handoff.key == handoff_key(item.lead.lead_key, "mql", owner, anchor)
                                   or (latest.handoff.kind == "mql" and latest.status == "open"
                                       and latest.handoff.owner.lower() == owner.lower())):
            return None  # the same MQL hand-off again (retry), or one still waiting for its first touch
        return "mql", anchor
    if latest is not None and latest.handoff.owner.lower() == owner.lower():
        return None  # already handed to this owner
    crm_owner = item.existing.owner if item.existing else None
    if crm_owner and crm_owner.lower() == owner.lower() and decided_before and latest is None:
        return None  # owned before leadsync tracked hand-offs: not new
    return "routed", latest.handoff.key if latest else ""


def derive(items: Sequence[PlanItem], outcomes: Sequence[RecordOutcome], spec: FollowUp, ruleset: Ruleset,
           history: tuple[Mapping[str, HandoffRow], set[str]], now: datetime,
           ) -> tuple[list[HandoffRow], list[OutboxItem], NurtureUpdate]:
    latest, decided = history
    reps = {rep.lower(): availability for rep, availability in ruleset.spec.routing.reps.items()}
    statuses = set(ruleset.status_values())
    rows: list[HandoffRow] = []
    outbox: list[OutboxItem] = []
    nurture = NurtureUpdate()
    for item, outcome in zip(items, outcomes, strict=True):
        if outcome.status is OutcomeStatus.REJECTED:
            continue
        key = item.lead.lead_key
        owner = _person(item.decision)
        if spec.nurture is not None and item.decision.stage is not None:
            if item.decision.stage == "nurture" and owner:
                nurture.set.append((_handoff(item, outcome, owner, "nurture_followup", "", now),
                                    now + timedelta(days=spec.nurture.every_days)))
            else:
                nurture.clear.append(key)
        if owner is None:
            continue
        found = _kind(item, owner, latest.get(key), key in decided)
        if found is None:
            continue
        kind, anchor = found
        handoff = _handoff(item, outcome, owner, kind, anchor, now)
        row = start_clock(handoff, spec, reps, initial_status=_initial_status(item, statuses),
                          reroutes=latest[key].reroutes if key in latest else 0)
        rows.append(row)
        outbox += followup_items(row, spec, reps)
    return rows, outbox, nurture


def _handoff(item: PlanItem, outcome: RecordOutcome, owner: str, kind: HandoffKind, anchor: str,
             now: datetime) -> Handoff:
    lead, decision = item.lead, item.decision
    return Handoff(key=handoff_key(lead.lead_key, kind, owner, anchor), lead_key=lead.lead_key, kind=kind,
                   owner=owner.lower(), team=decision.team, crm_id=outcome.crm_id or (item.existing.crm_id
                                                                                    if item.existing else None),
                   at=now, name=lead.display_name, company=lead.company, score=decision.score, source=lead.source,
                   explanation=decision.explanation)


def _initial_status(item: PlanItem, managed: set[str]) -> str | None:
    """The status the CRM holds right after this write: leadsync's, unless a rep's status was kept."""
    current = item.existing.fields.get("status") if item.existing else None
    if current and current not in managed:
        return str(current)
    return item.decision.status


def record_settled(store: StateStore, run_id: str, ruleset: Ruleset, items: Sequence[PlanItem],
                   outcomes: Sequence[RecordOutcome], ledger: Sequence[Mapping[str, Any]], now: datetime,
                   profiles: Sequence[ProfileOutcome] = ()) -> None:
    """The decisions ledger, the profiles' decided state and, when the rules have a `followup:` section,
    the hand-offs it causes: one transaction."""
    spec = ruleset.spec.followup
    if spec is None:
        store.record_decisions(run_id, ledger, profiles, at=now)
        return
    history = store.handoff_history([item.lead.lead_key for item in items])
    rows, outbox, nurture = derive(items, outcomes, spec, ruleset, history, now)
    store.record_decisions_with_handoffs(run_id, ledger, rows, outbox, nurture, profiles, at=now)
