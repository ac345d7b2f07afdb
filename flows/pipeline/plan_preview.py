"""`leadsync plan`: what a run (or a rule change) would change in the CRM, writing nothing.

Looks at what the next run would process: new records the sources have since their cursors
(read, never stored, cursors untouched, nothing acknowledged upstream) and pending inbox rows;
with `include_done`, also every person already pushed, decided from their profile (fit facts and
whole kept history, as `leadsync rescore --all` would: what a rule change would rewrite).
Rotation turns are simulated on a copy of the state and never saved.

Streamed: profiles and inbox rows are read a chunk at a time (keyset on id) and decided chunk by
chunk, the way a run claims batches, with the simulated rotation carried from chunk to chunk.
Totals count everything; only the first `show` changes are kept for display, so memory stays
flat at a million leads. Nothing is left out silently: `omitted` says how many changes were
counted but not kept.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from typing import Any

from sqlalchemy import select

from connectors.crm.plan import PlanItem, plan_changes
from connectors.errors import RecordRejectedError
from connectors.records import ChangeKind, CrmChange, Lead, ProfileState, RawSubmission
from flows.pipeline.lifecycle import keep_days
from flows.pipeline.merge import group_by_key, merge_leads
from flows.pipeline.run import managed_statuses
from flows.pipeline.runtime import Runtime
from flows.state.engine import as_utc
from flows.state.schema import inbox, profiles, rotation_state
from rules import DecisionContext, RotationState

CHUNK = 1000


@dataclass(frozen=True)
class PlannedChange:
    lead: Lead
    change: CrmChange
    before: dict[str, Any]
    """The CRM's current values of the changed fields (empty for a create)."""


@dataclass
class PlanPreview:
    changes: list[PlannedChange] = field(default_factory=list)     # the first `show` changes
    rejected: list[tuple[str, str]] = field(default_factory=list)  # the first `show` rejections
    kinds: Counter[str] = field(default_factory=Counter)
    fields: Counter[str] = field(default_factory=Counter)
    omitted: int = 0           # changes beyond `show`, counted in the totals only
    rejected_total: int = 0

    def totals(self) -> Counter[str]:
        return self.kinds

    def field_totals(self) -> Counter[str]:
        return self.fields


def preview(runtime: Runtime, now: datetime, include_done: bool = False, show: int = 1000) -> PlanPreview:
    result = PlanPreview()
    with runtime.store.engine.connect() as conn:
        state = conn.execute(select(rotation_state.c.state).where(rotation_state.c.name == "default")).scalar()
        has_profiles = conn.execute(select(profiles.c.id).limit(1)).first() is not None
    rotation = RotationState.model_validate(state or {})
    if include_done and has_profiles:
        after = 0
        while chunk := runtime.store.profiles_after(after, CHUNK, now, keep_days(runtime.ruleset)):
            after = chunk[-1].id
            rotation = _decide(runtime, now, [p.as_lead() for p in chunk], rotation, result, show,
                               {p.lead_key: p.state for p in chunk})
    # A store from before profiles has done rows and no profiles: decide those rows as before.
    statuses = ["pending", "done"] if include_done and not has_profiles else ["pending"]
    for raws in _chunks(_submissions(runtime, now, statuses)):
        leads = _normalise(runtime, raws, result, show)
        if include_done and has_profiles:  # people already decided from their profile above
            leads = _not_profiled(runtime, leads)
        rotation = _decide(runtime, now, leads, rotation, result, show, {})
    return result


def _submissions(runtime: Runtime, now: datetime, statuses: list[str]) -> Iterator[RawSubmission]:
    after = 0
    while True:
        with runtime.store.engine.connect() as conn:
            rows = conn.execute(select(inbox).where(inbox.c.status.in_(statuses), inbox.c.id > after)
                                .order_by(inbox.c.id).limit(CHUNK)).fetchall()
        if not rows:
            break
        for r in rows:
            yield RawSubmission(source=r.source, partition=r.partition, source_record_id=r.source_record_id,
                                received_at=as_utc(r.received_at) or now, cursor_value=r.cursor_value,
                                payload=r.payload)
        after = rows[-1].id
    for name, reader in runtime.sources.items():
        for page in reader.read(runtime.store.get_cursors(name)):
            yield from page.records


def _chunks(raws: Iterator[RawSubmission]) -> Iterator[list[RawSubmission]]:
    while chunk := list(islice(raws, CHUNK)):
        yield chunk


def _normalise(runtime: Runtime, raws: list[RawSubmission], result: PlanPreview, show: int) -> list[Lead]:
    leads: list[Lead] = []
    for raw in raws:
        source = runtime.sources.get(raw.source)
        if source is None:
            continue
        try:
            lead = source.to_lead(raw)
        except RecordRejectedError as exc:
            result.rejected_total += 1
            if len(result.rejected) < show:
                result.rejected.append((f"{raw.source}/{raw.source_record_id}", str(exc)))
            continue
        # as the process stage: behaviour without lead data (events_only) is never pushed by itself
        if not lead.is_spam and not lead.events_only and (not lead.is_test
                                                          or runtime.loaded.config.processing.push_test_leads):
            leads.append(lead)
    return [merge_leads(group) for group in group_by_key(leads).values()]


def _not_profiled(runtime: Runtime, leads: list[Lead]) -> list[Lead]:
    keys = [lead.lead_key for lead in leads]
    with runtime.store.engine.connect() as conn:
        known = set(conn.execute(select(profiles.c.lead_key).where(profiles.c.lead_key.in_(keys))).scalars())
    return [lead for lead in leads if lead.lead_key not in known]


def _decide(runtime: Runtime, now: datetime, leads: list[Lead], rotation: RotationState, result: PlanPreview,
            show: int, states: Mapping[str, ProfileState]) -> RotationState:
    if not leads:
        return rotation
    existing = runtime.sink.lookup(leads)
    domains = sorted({lead.email_domain for lead in leads if lead.email_domain})
    owners: dict[str, Any] = runtime.sink.account_owners(domains) if runtime.ruleset.needs_account_owners() else {}
    batch = runtime.ruleset.decide(leads, DecisionContext(now=now, crm=existing, account_owners=owners,
                                                          rotation=rotation, profiles=states))
    items = [PlanItem(lead, decision, existing.get(lead.lead_key)) for lead, decision in
             zip(leads, batch.decisions, strict=True)]
    changes = plan_changes(items, managed_statuses(runtime), runtime.sink.mapped_fields())
    for item, change in zip(items, changes, strict=True):
        result.kinds[change.kind.value] += 1
        if change.kind is ChangeKind.UPDATE:
            result.fields.update(change.fields.keys())
        if change.kind is ChangeKind.UNCHANGED:
            continue
        if len(result.changes) < show:
            current = item.existing.fields if item.existing else {}
            result.changes.append(PlannedChange(item.lead, change, {k: current.get(k) for k in change.fields}))
        else:
            result.omitted += 1
    return batch.rotation
