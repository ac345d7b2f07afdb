"""Re-scoring profiles without a new submission: the due ones each run, every one after a rule change.

Due profiles (`next_rescore_at` passed: an event leaving its window, a decay step) are found by
index and leased, a batch at a time; `rescore_all` walks every profile with lead data in id order
(`leadsync rescore --all`). Each batch is decided from the profiles (fit facts + kept history),
planned against the CRM and written in the sink's batches; only changed values are written.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from connectors.crm.plan import PlanItem, plan_changes
from connectors.errors import QuotaExhaustedError, RetriableError
from connectors.records import ChangeKind, OutcomeStatus, RecordOutcome
from flows.handoff.derive import record_settled
from flows.pipeline.lifecycle import LifecycleBatch, keep_days
from flows.pipeline.process import BatchResult, ProcessContext, decide_with_rotation
from flows.state import DeadLetter, Profile
from flows.state.profiles import RETENTION
from rules import DecisionContext

RETRY_UNPLACED = timedelta(days=1)  # a refused profile with no submission left to dead-letter against


def rescore_next_batch(ctx: ProcessContext) -> BatchResult | None:
    """Re-score one batch of due profiles; None when none is due."""
    now = ctx.now()
    due = ctx.store.claim_due_profiles(now, ctx.settings.batch_size, timedelta(minutes=ctx.settings.lease_minutes),
                                       keep_days(ctx.ruleset), RETENTION)
    if not due:
        return None
    return decide_profiles(ctx, due, now)


def rescore_all(ctx: ProcessContext, on_batch: Callable[[BatchResult], None] | None = None) -> int:
    """Re-decide every profile with lead data under the current rules; returns how many."""
    after, total = 0, 0
    while profiles := ctx.store.profiles_after(after, ctx.settings.batch_size, ctx.now(), keep_days(ctx.ruleset)):
        result = decide_profiles(ctx, profiles, ctx.now())
        total += len(profiles)
        after = profiles[-1].id
        if on_batch:
            on_batch(result)
        if result.stopped:
            break
    return total


def decide_profiles(ctx: ProcessContext, profiles: Sequence[Profile], now: datetime) -> BatchResult:
    """Decide profiles, push what changed, save their state with the ledger (changed ones only)."""
    result = BatchResult(claimed=0)
    batch = LifecycleBatch(profiles={p.lead_key: p for p in profiles}, now=now, ruleset=ctx.ruleset)
    leads = [p.as_lead() for p in profiles]
    try:
        existing = ctx.sink.lookup(leads)
        domains = sorted({lead.email_domain for lead in leads if lead.email_domain})
        account_owners = ctx.sink.account_owners(domains) if ctx.ruleset.needs_account_owners() else {}

        decisions = decide_with_rotation(ctx, leads, DecisionContext(
            now=now, crm=existing, account_owners=account_owners, profiles=batch.states()))
        items = [PlanItem(lead, d, existing.get(lead.lead_key), batch.worked(lead.lead_key))
                 for lead, d in zip(leads, decisions, strict=True)]
        changes = plan_changes(items, ctx.managed_statuses, ctx.sink.mapped_fields())
        outcomes = ctx.sink.apply(changes)
    except QuotaExhaustedError as exc:  # the lease runs out and the next run takes them again
        result.stopped = f"CRM quota: {exc}"
        return result
    except RetriableError as exc:
        result.stopped = f"CRM unavailable: {exc}"
        return result
    ledger = []
    for item, change, outcome in zip(items, changes, outcomes, strict=True):
        result.outcomes[outcome.status.value] = result.outcomes.get(outcome.status.value, 0) + 1
        if change.kind is not ChangeKind.UNCHANGED or item.decision.transition is not None \
                or outcome.status is OutcomeStatus.REJECTED:
            ledger.append({"lead_key": item.lead.lead_key, "ruleset_version": item.decision.ruleset_version,
                           "outcome": outcome.status.value, "crm_id": outcome.crm_id,
                           "decision": item.decision.model_dump(mode="json")})
    # Time alone can hand a lead over (an MQL crossed by an expiring negative event, a recycle): the
    # hand-offs it causes are recorded with the decisions, like the process stage's.
    record_settled(ctx.store, ctx.run_id, ctx.ruleset, items, outcomes, ledger, now, batch.outcomes(items, outcomes))
    result.dead_letters += park_refused(ctx, items, outcomes, now)
    result.decisions = decisions
    return result


def park_refused(ctx: ProcessContext, items: Sequence[PlanItem], outcomes: Sequence[RecordOutcome],
                 now: datetime) -> list[DeadLetter]:
    """Profiles the CRM refused for good go to the dead-letter store instead of being re-tried every run.

    A retriable refusal stays leased and comes back next run, as a due profile does. A permanent one is
    dead-lettered against the person's newest submission and the profile is parked (no time-based
    re-score) until that letter is replayed or a new submission or event decides the person again.
    Without a submission to point at (pruned), the profile is tried again a day later.
    """
    refused = {item.lead.lead_key: (item, outcome) for item, outcome in zip(items, outcomes, strict=True)
               if outcome.status is OutcomeStatus.REJECTED and not outcome.retriable}
    if not refused:
        return []
    newest = ctx.store.newest_submissions(list(refused))
    letters = [DeadLetter(inbox_id=row.inbox_id, source=row.source, source_record_id=row.source_record_id,
                          stage="crm", failure_type="data", code=outcome.error_code or "REJECTED",
                          message=f"re-scoring: {outcome.error_message or 'rejected by the CRM'}", lead_key=key,
                          ruleset_version=item.decision.ruleset_version)
               for key, (item, outcome) in refused.items() if (row := newest.get(key)) is not None]
    ctx.store.add_dead_letters(letters)
    ctx.store.set_next_rescore([letter.lead_key for letter in letters if letter.lead_key], None)
    ctx.store.set_next_rescore([key for key in refused if key not in newest], now + RETRY_UNPLACED)
    return letters
