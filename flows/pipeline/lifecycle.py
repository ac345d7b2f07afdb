"""Leads live over time: the process stage's bridge to the profile store.

Each batch's leads are resolved to their people (one profile per person), their events attached
to the profile, and each person decided from the profile: the latest fit facts plus the whole
kept history, with the profile's past (stage, MQL time, owner) in `DecisionContext.profiles`.
What the rules decided is saved on the profile in the same transaction as the decisions ledger.
Events-only leads (tracking, e-mail engagement) never create a CRM lead by themselves: a person
is pushed only once a submission (form, CSV, IMAP, CRM) brought lead data.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from connectors.records import Decision, Lead, OutcomeStatus, ProfileState, RawSubmission, RecordOutcome
from connectors.redaction import redact
from flows.state import DeadLetter, InboxRow, Profile, ProfileOutcome
from rules import Ruleset
from rules.conditions import referenced_fields

if TYPE_CHECKING:
    from connectors.crm.plan import PlanItem
    from flows.pipeline.process import BatchResult, ProcessContext


class MakeLetter(Protocol):
    def __call__(self, row: InboxRow, stage: str, failure: str, code: str, message: str,
                 lead_key: str | None = None) -> DeadLetter: ...

DEFAULT_KEEP_DAYS = 90
"""History kept when no rule names a window (the rules' default event window)."""
MIN_RESCORE_DELAY = timedelta(hours=1)
_WITHIN = re.compile(r"^events\.[A-Za-z0-9_-]+\.within_(\d+)d$")


def keep_days(ruleset: Ruleset) -> int:
    """Days of events the rules can see: the longest event window or `events.x.within_Nd` they use."""
    asked = getattr(ruleset, "history_days", None)
    if callable(asked):
        return int(asked())
    spec = ruleset.spec
    windows = [int(getattr(cfg, "window_days", DEFAULT_KEEP_DAYS)) for cfg in spec.scoring.events.values()]
    conditions = [r.when for r in spec.qualification.disqualify] + [c.when for c in spec.qualification.require]
    conditions += [r.when for r in spec.scoring.rules] + [r.when for r in spec.routing.rules]
    conditions += [n.when for n in spec.nurture]
    for condition in conditions:
        windows += [int(m.group(1)) for name in referenced_fields(condition) if (m := _WITHIN.match(name))]
    return max(windows, default=DEFAULT_KEEP_DAYS)


def stamp_event_ids(lead: Lead, raw: RawSubmission) -> None:
    """Give events without a vendor id one from their submission, so re-processing attaches nothing twice."""
    for n, event in enumerate(lead.events):
        if event.event_id is None:
            event.event_id = f"{raw.source}/{raw.source_record_id}#{n}"


@dataclass
class LifecycleBatch:
    """The profiles of the leads being decided, by the lead key they are decided (and pushed) under."""

    profiles: dict[str, Profile]
    now: datetime
    ruleset: Ruleset

    def states(self) -> dict[str, ProfileState]:
        return {key: profile.state for key, profile in self.profiles.items()}

    def worked(self, lead_key: str) -> bool:
        profile = self.profiles.get(lead_key)
        return profile is not None and profile.state.worked

    def outcomes(self, items: Sequence[PlanItem], results: Sequence[RecordOutcome]) -> list[ProfileOutcome]:
        """The profile changes of every lead the CRM took (a rejected lead is decided again on retry)."""
        return [profile_outcome(self.profiles[item.lead.lead_key], item.lead, item.decision, result.crm_id,
                                self.ruleset, self.now)
                for item, result in zip(items, results, strict=True)
                if result.status is not OutcomeStatus.REJECTED and item.lead.lead_key in self.profiles]


def attach_profiles(ctx: ProcessContext, leads: Sequence[Lead], rows_of_lead: Mapping[str, list[InboxRow]],
                    result: BatchResult) -> tuple[list[Lead], dict[str, list[InboxRow]], LifecycleBatch]:
    """Resolve the batch to profiles and return one lead per person with lead data, built from its profile."""
    now = ctx.now()
    attached = ctx.store.attach(leads, now, keep_days(ctx.ruleset))
    batch = LifecycleBatch(profiles={}, now=now, ruleset=ctx.ruleset)
    rows_of: dict[str, list[InboxRow]] = {}
    waiting: dict[int, str] = {}
    for i, lead in enumerate(leads):
        profile = attached.profiles[attached.profile_of[i]]
        rows = rows_of.setdefault(profile.lead_key, [])
        rows += [row for row in rows_of_lead[lead.lead_key] if row not in rows]
        if not profile.has_lead_data:
            waiting.update({row.id: profile.lead_key for row in rows_of_lead[lead.lead_key]})
        batch.profiles[profile.lead_key] = profile
    ctx.store.set_inbox_status(list(waiting), "done", lead_keys=waiting)
    result.events += len(waiting)  # kept on the profile, credited once the person brings lead data
    decided: list[Lead] = []
    for key, profile in list(batch.profiles.items()):
        if not profile.has_lead_data:
            del batch.profiles[key]
            rows_of.pop(key, None)
            continue
        lead = profile.as_lead()
        lead.submission_ids = [str(row.id) for row in rows_of[key]]
        decided.append(lead)
    return decided, rows_of, batch


def attach_isolating(ctx: ProcessContext, leads: Sequence[Lead], rows_of_lead: Mapping[str, list[InboxRow]],
                     result: BatchResult, letter: MakeLetter) -> tuple[list[Lead], dict[str, list[InboxRow]],
                                                                      LifecycleBatch]:
    """`attach_profiles`, but a person whose submissions cannot be attached is dead-lettered alone.

    The batch is attached in one transaction; only when that fails is each person attached on their
    own (each a transaction of its own, so the failed one left nothing behind), and the one that
    fails again goes to the dead-letter store with stage "profile".
    """
    try:
        return attach_profiles(ctx, leads, rows_of_lead, result)
    except Exception:
        if len(leads) == 1:
            raise
    decided: dict[str, Lead] = {}
    rows_of: dict[str, list[InboxRow]] = {}
    merged = LifecycleBatch(profiles={}, now=ctx.now(), ruleset=ctx.ruleset)
    for lead in leads:
        rows = rows_of_lead[lead.lead_key]
        try:
            alone, alone_rows, batch = attach_profiles(ctx, [lead], {lead.lead_key: rows}, result)
        except Exception as exc:  # noqa: BLE001 - one person's bad data stops only them
            letters = [letter(r, "profile", "system", type(exc).__name__, redact(exc), lead.lead_key) for r in rows]
            ctx.store.add_dead_letters(letters)
            result.dead_letters += letters
            continue
        for one in alone:  # the same person twice in a batch: the later attach holds everything
            key = one.lead_key
            rows_of[key] = [*rows_of.get(key, []), *alone_rows[key]]
            one.submission_ids = [str(row.id) for row in rows_of[key]]
            decided[key] = one
            merged.profiles[key] = batch.profiles[key]
    return list(decided.values()), rows_of, merged


def profile_outcome(profile: Profile, lead: Lead, decision: Decision, crm_id: str | None, ruleset: Ruleset,
                    now: datetime) -> ProfileOutcome:
    """The profile after a decision. None from the rules means no change: stage stays, no timed re-score
    from the rules (then `fallback_rescore_at` from the event windows and decay)."""
    past = profile.state
    move = decision.transition
    stage = decision.stage or past.stage
    mql_at = past.mql_at
    if mql_at is None and (decision.mql or (move is not None and move.to_stage == "mql")):
        mql_at = move.at if move is not None and move.to_stage == "mql" else now
    lists = sorted((set(profile.lists) | set(decision.lists_add)) - set(decision.lists_remove))
    rescore = decision.next_rescore_at or fallback_rescore_at(lead, decision, ruleset, now)
    if rescore is not None:
        rescore = max(rescore, now + MIN_RESCORE_DELAY)
    return ProfileOutcome(
        profile_id=profile.id, score=decision.score, grade=decision.grade, qualification=decision.qualification,
        stage=stage, stage_since=move.at if move is not None else (past.stage_since if stage == past.stage
                                                                     else now if stage else None),
        owner=decision.owner or decision.queue, lists=lists, crm_id=crm_id or profile.crm_id, mql_at=mql_at,
        next_rescore_at=rescore, ruleset_version=decision.ruleset_version, transition=move)


def fallback_rescore_at(lead: Lead, decision: Decision, ruleset: Ruleset, now: datetime) -> datetime | None:
    """When time alone next changes the score under today's rules: an event leaving its window, or
    (while behaviour points decay) the start of decay and then one step a day."""
    windows = {kind: getattr(cfg, "window_days", None) for kind, cfg in ruleset.spec.scoring.events.items()}
    times = [event.at + timedelta(days=days) for event in lead.events
             if (days := windows.get(event.type)) and event.at + timedelta(days=days) > now]
    decay = ruleset.spec.scoring.decay
    if decay is not None and decision.behaviour_score > 0 and lead.events:
        start = max(event.at for event in lead.events) + timedelta(days=decay.after_days)
        if start > now:
            times.append(start)
        else:  # decaying: come back when the (rounded) score has lost about one more point, 1 to 30 days
            per_day = decision.behaviour_score * decay.percent_per_month / 100 / 30
            times.append(now + timedelta(days=min(30.0, max(1.0, 1 / per_day))))
    return min(times, default=None)
