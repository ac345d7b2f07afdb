"""`leadsync plan`: what a run (or a rule change) would change in the CRM, writing nothing.

Looks at what the next run would process: new records the sources have since their cursors
(read, never stored, cursors untouched, nothing acknowledged upstream) and pending inbox rows;
with `include_done`, also every lead already pushed, decided from its profile (fit facts and whole
kept history, as `leadsync rescore --all` would: what a rule change would rewrite).
Rotation turns are simulated on a copy of the state and never saved.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from connectors.crm.plan import PlanItem, plan_changes
from connectors.errors import RecordRejectedError
from connectors.records import ChangeKind, CrmChange, Lead, RawSubmission
from flows.pipeline.lifecycle import keep_days
from flows.pipeline.merge import group_by_key, merge_leads
from flows.pipeline.run import managed_statuses
from flows.pipeline.runtime import Runtime
from flows.state.engine import as_utc
from flows.state.schema import inbox, rotation_state
from rules import DecisionContext, RotationState


@dataclass
class PlanPreview:
    changes: list[tuple[Lead, CrmChange]] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)

    def totals(self) -> Counter[str]:
        return Counter(change.kind.value for _, change in self.changes)

    def field_totals(self) -> Counter[str]:
        return Counter(name for _, change in self.changes if change.kind is ChangeKind.UPDATE
                       for name in change.fields)


def preview(runtime: Runtime, now: datetime, include_done: bool = False, limit: int = 5000) -> PlanPreview:
    profiles = runtime.store.profiles_after(0, limit, now, keep_days(runtime.ruleset)) if include_done else []
    # A store from before profiles has done rows and no profiles: decide those rows as before.
    statuses = ["pending", "done"] if include_done and not profiles else ["pending"]
    with runtime.store.engine.connect() as conn:
        rows = conn.execute(select(inbox).where(inbox.c.status.in_(statuses)).order_by(inbox.c.id).limit(limit))
        raws = [RawSubmission(source=r.source, partition=r.partition, source_record_id=r.source_record_id,
                              received_at=as_utc(r.received_at) or now, cursor_value=r.cursor_value,
                              payload=r.payload) for r in rows]
        state = conn.execute(select(rotation_state.c.state).where(rotation_state.c.name == "default")).scalar()
    for name, reader in runtime.sources.items():
        for page in reader.read(runtime.store.get_cursors(name)):
            raws += page.records
    result = PlanPreview()
    leads: list[Lead] = []
    for raw in raws:
        source = runtime.sources.get(raw.source)
        if source is None:
            continue
        try:
            lead = source.to_lead(raw)
        except RecordRejectedError as exc:
            result.rejected.append((f"{raw.source}/{raw.source_record_id}", str(exc)))
            continue
        if lead.events_only:
            continue  # behaviour only: it re-scores its person's profile, never creates a CRM lead by itself
        if not lead.is_spam and (not lead.is_test or runtime.loaded.config.processing.push_test_leads):
            leads.append(lead)
    merged = [merge_leads(group) for group in group_by_key(leads).values()]
    known = {p.lead_key for p in profiles}
    merged = [p.as_lead() for p in profiles] + [lead for lead in merged if lead.lead_key not in known]
    if not merged:
        return result
    existing = runtime.sink.lookup(merged)
    domains = sorted({lead.email_domain for lead in merged if lead.email_domain})
    batch = runtime.ruleset.decide(merged, DecisionContext(
        now=now, crm=existing, account_owners=runtime.sink.account_owners(domains),
        rotation=RotationState.model_validate(state or {}), profiles={p.lead_key: p.state for p in profiles}))
    items = [PlanItem(lead, decision, existing.get(lead.lead_key)) for lead, decision in
             zip(merged, batch.decisions, strict=True)]
    changes = plan_changes(items, managed_statuses(runtime), runtime.sink.mapped_fields())
    result.changes = list(zip(merged, changes, strict=True))
    return result
