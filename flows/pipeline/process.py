"""Process stage: inbox -> normalise -> match -> rules -> plan -> CRM apply -> done or dead letter.

Works on one claimed batch at a time (one Prefect task per batch, never per lead). Every row
claimed ends the batch in exactly one place: done (pushed, merged, or behaviour of a person without lead
data kept on their profile and never pushed), dead letter, spam/test, or back to pending.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from connectors.crm.base import CrmSink
from connectors.crm.plan import PlanItem, plan_changes
from connectors.errors import FatalError, QuotaExhaustedError, RecordRejectedError, RetriableError
from connectors.records import Decision, Lead, OutcomeStatus, RawSubmission, RecordOutcome
from connectors.redaction import redact
from connectors.sources.base import Prefetching, Source
from flows.config.models import ProcessingConfig
from flows.handoff.derive import record_settled
from flows.pipeline.isolate import StageError, Stages, push_isolating
from flows.pipeline.lifecycle import LifecycleBatch, attach_isolating, stamp_event_ids
from flows.pipeline.merge import group_by_key, merge_leads
from flows.state import DeadLetter, InboxRow, LedgerEntry, StateStore
from rules import BatchDecision, DecisionContext, RotationState, Ruleset
from rules.assign import PinnedRoute

ROTATION = "default"


@dataclass
class ProcessContext:
    store: StateStore
    sink: CrmSink
    ruleset: Ruleset
    sources: Mapping[str, Source]
    settings: ProcessingConfig
    run_id: str
    now: Callable[[], datetime]
    managed_statuses: Sequence[str] = ()


@dataclass
class BatchResult:
    claimed: int = 0
    by_source: dict[str, int] = field(default_factory=dict)  # claimed rows per source (webhooks included)
    done: int = 0  # rows settled into a CRM lead (several rows of one person merge into one lead)
    merged: int = 0  # rows folded into another row's lead of the same batch
    outcomes: dict[str, int] = field(default_factory=dict)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    spam: int = 0
    test: int = 0
    events: int = 0
    requeued: int = 0
    stopped: str | None = None
    paused: dict[str, tuple[datetime, str]] = field(default_factory=dict)
    """Sources paused while processing (vendor's wait too long for this run): until when, and why."""


def process_next_batch(ctx: ProcessContext) -> BatchResult | None:
    """Claim and process one batch; None when the inbox has nothing left to do."""
    # Rows of a source the vendor asked us to leave alone for now (Meta webhook leads are read from
    # the Graph API when processed) stay pending, untouched, until its pause ends.
    paused = ctx.store.paused_sources(ctx.sources)
    rows = ctx.store.claim_batch(ctx.run_id, ctx.settings.batch_size,
                                 timedelta(minutes=ctx.settings.lease_minutes),
                                 sources=[name for name in ctx.sources if name not in paused])
    if not rows:
        return None
    return process_rows(ctx, rows)


def process_rows(ctx: ProcessContext, rows: Sequence[InboxRow]) -> BatchResult:
    result = BatchResult(claimed=len(rows))
    for row in rows:
        result.by_source[row.raw.source] = result.by_source.get(row.raw.source, 0) + 1
    leads, rows_of_lead = _normalise(ctx, rows, result)
    if not leads:
        return result
    leads, rows_of_lead, lifecycle = attach_isolating(ctx, leads, rows_of_lead, result, _letter)
    if not leads:
        return result
    open_rows = dict(rows_of_lead)  # the leads not settled yet: only these may be handed back

    def give_up(lead: Lead, failure: StageError) -> None:
        letters = [_letter(r, failure.stage, "system", failure.code, redact(failure.cause), lead.lead_key)
                   for r in open_rows.pop(lead.lead_key, [])]
        ctx.store.add_dead_letters(letters)
        result.dead_letters += letters

    try:
        result.decisions, given_up = push_isolating(
            leads, lambda part: _decide_and_push(ctx, part, open_rows, result, lifecycle), give_up)
    except QuotaExhaustedError as exc:
        _requeue(ctx, open_rows, result, error=exc.code, count_attempt=False)
        result.stopped = f"CRM quota: {exc}"
        return result
    except RetriableError as exc:
        _requeue_or_give_up(ctx, open_rows, result, exc)
        result.stopped = f"CRM unavailable: {exc}"
        return result
    except FatalError:
        _requeue(ctx, open_rows, result, error="fatal error, see run log", count_attempt=False)
        raise
    except BaseException:
        # An interrupt or a failure of the state store itself: hand the rows back now rather than
        # waiting for the lease to run out.
        _requeue(ctx, open_rows, result, error="interrupted by an unexpected error", count_attempt=True)
        raise
    if given_up == len(leads) > 1:
        # Not one odd record: every lead failed alone, so the fault is ours. Their dead letters say
        # why; stop before the rest of the inbox follows them.
        result.stopped = f"every lead of a batch failed at a later stage ({result.dead_letters[-1].code})"
    return result


def _normalise(ctx: ProcessContext, rows: Sequence[InboxRow],
               result: BatchResult) -> tuple[list[Lead], dict[str, list[InboxRow]]]:
    leads: list[Lead] = []
    spam: list[int] = []
    test: list[int] = []
    _prefetch(ctx, rows)
    for row in rows:
        source = ctx.sources.get(row.raw.source)
        try:
            if row.load_error is not None:
                raise RecordRejectedError(f"{row.raw.source}/{row.raw.source_record_id}", "payload",
                                          row.load_error, code="UNREADABLE_PAYLOAD")
            if source is None:
                raise RecordRejectedError(f"{row.raw.source}/{row.raw.source_record_id}", "source",
                                          "no source of this name is configured", code="UNKNOWN_SOURCE")
            lead = source.to_lead(row.raw)
        except RecordRejectedError as exc:
            result.dead_letters.append(_letter(row, "normalise", "data", exc.code, str(exc)))
            continue
        except RetriableError as exc:
            # The source could not fetch the record's details now (Meta webhook, Graph API throttled or down).
            # The row stays claimed until its lease runs out, so it is retried then, not again in this run.
            if exc.retry_after and row.raw.source not in result.paused:
                until = ctx.now() + timedelta(seconds=exc.retry_after)
                ctx.store.pause_source(row.raw.source, until, f"{exc.code}: {redact(exc)}")
                result.paused[row.raw.source] = (until, f"{exc.code}: {redact(exc)}")
            if row.attempts >= ctx.settings.max_attempts:
                result.dead_letters.append(_letter(row, "normalise", "transient_exhausted", exc.code, str(exc)))
            else:
                result.requeued += 1
            continue
        except FatalError as exc:  # e.g. an expired token: kept as a dead letter with the reason, for replay
            result.dead_letters.append(_letter(row, "normalise", "config", exc.code, str(exc)))
            continue
        except Exception as exc:  # noqa: BLE001 - a parser bug on one record must not sink the batch
            result.dead_letters.append(_letter(row, "normalise", "system", type(exc).__name__, redact(exc)))
            continue
        if lead.is_spam:
            spam.append(row.id)
        elif lead.is_test and not ctx.settings.push_test_leads:
            test.append(row.id)
        else:
            lead.submission_ids = [str(row.id)]
            stamp_event_ids(lead, row.raw)
            leads.append(lead)
    ctx.store.add_dead_letters(result.dead_letters)
    ctx.store.set_inbox_status(spam, "spam")
    ctx.store.set_inbox_status(test, "test")
    result.spam, result.test = len(spam), len(test)
    row_by_id = {str(row.id): row for row in rows}
    merged: list[Lead] = []
    letters: list[DeadLetter] = []
    for key, group in group_by_key(leads).items():
        try:
            merged.append(merge_leads(group))
        except Exception as exc:  # noqa: BLE001 - one person's submissions that cannot merge stop only them
            letters += [_letter(row_by_id[i], "merge", "system", type(exc).__name__, redact(exc), key)
                        for lead in group for i in lead.submission_ids]
            continue
        result.merged += len(group) - 1
    ctx.store.add_dead_letters(letters)
    result.dead_letters += letters
    rows_of_lead = {lead.lead_key: [row_by_id[i] for i in lead.submission_ids] for lead in merged}
    return merged, rows_of_lead


def _prefetch(ctx: ProcessContext, rows: Sequence[InboxRow]) -> None:
    """One look-up per source and batch for sources that fetch details per record (see Prefetching)."""
    by_source: dict[str, list[RawSubmission]] = {}
    for row in rows:
        by_source.setdefault(row.raw.source, []).append(row.raw)
    for name, raws in by_source.items():
        source = ctx.sources.get(name)
        if isinstance(source, Prefetching):
            # Only a speed-up: to_lead reads each record itself, so a failed prefetch loses nothing.
            with contextlib.suppress(Exception):
                source.prefetch(raws)


def _decide_and_push(ctx: ProcessContext, leads: list[Lead], open_rows: dict[str, list[InboxRow]],
                     result: BatchResult, lifecycle: LifecycleBatch) -> list[Decision]:
    """Decide, plan and write one group of leads, then settle their rows; StageError names a failing stage."""
    stages = Stages()
    existing = stages.run("lookup", lambda: ctx.sink.lookup(leads))
    domains = sorted({lead.email_domain for lead in leads if lead.email_domain})
    account_owners = stages.run("lookup", lambda: ctx.sink.account_owners(domains)
                                if ctx.ruleset.needs_account_owners() else {})
    context = DecisionContext(now=ctx.now(), crm=existing, account_owners=account_owners,
                              profiles=lifecycle.states())
    decisions = decide_with_rotation(ctx, leads, context,
                                     lambda decide: stages.run("rules", decide))
    items = [PlanItem(lead, decision, existing.get(lead.lead_key), lifecycle.worked(lead.lead_key))
             for lead, decision in zip(leads, decisions, strict=True)]
    changes = stages.run("plan", lambda: plan_changes(items, ctx.managed_statuses, ctx.sink.mapped_fields()))
    outcomes = stages.run("crm", lambda: ctx.sink.apply(changes))
    stages.run("settle", lambda: _settle(ctx, items, outcomes, open_rows, result, lifecycle))
    return decisions


def decide_with_rotation(ctx: ProcessContext, leads: Sequence[Lead], context: DecisionContext,
                         run: Callable[[Callable[[], BatchDecision]], BatchDecision] = lambda decide: decide(),
                         ) -> list[Decision]:
    """Decide under the rotation lock: turns read, taken and written in one transaction (see with_rotation).

    `context` has everything but the rotation state and the pinned routes, which come from the store.
    `run` wraps the deciding (the process stage names it as its "rules" stage).
    """
    def decide(state: dict[str, Any], pinned: dict[str, PinnedRoute]) -> tuple[
            list[Decision], dict[str, Any], list[LedgerEntry]]:
        batch = run(lambda: ctx.ruleset.decide(leads, replace(
            context, rotation=RotationState.model_validate(state), pinned_owners=pinned)))
        # A lead pinned by an earlier, interrupted attempt keeps its turn; it is not a new one.
        entries = [LedgerEntry(lead_key=a.lead_key, team=a.team, owner=a.owner, method=a.method,
                               skipped=[(s.owner, s.reason) for s in a.skipped], rule_id=a.rule_id,
                               reason=a.reason)
                   for a in batch.assignments if a.lead_key not in pinned]
        return batch.decisions, batch.rotation.model_dump(mode="json"), entries

    return ctx.store.with_rotation(ROTATION, decide, [lead.lead_key for lead in leads], ctx.run_id, at=ctx.now())


def _settle(ctx: ProcessContext, items: Sequence[PlanItem], outcomes: Sequence[RecordOutcome],
            rows_of_lead: dict[str, list[InboxRow]], result: BatchResult, lifecycle: LifecycleBatch) -> None:
    """Record decisions and outcomes; the leads settled leave `rows_of_lead` (the batch's open rows)."""
    done: dict[int, str] = {}
    letters: list[DeadLetter] = []
    retry: list[int] = []
    ledger: list[dict[str, Any]] = []
    for item, outcome in zip(items, outcomes, strict=True):
        key = item.lead.lead_key
        result.outcomes[outcome.status.value] = result.outcomes.get(outcome.status.value, 0) + 1
        rows = rows_of_lead[key]
        if outcome.status is OutcomeStatus.REJECTED:
            exhausted = max(r.attempts for r in rows) >= ctx.settings.max_attempts
            if outcome.retriable and not exhausted:
                retry.extend(r.id for r in rows)
                continue
            failure = "transient_exhausted" if outcome.retriable else "data"
            letters += [_letter(r, "crm", failure, outcome.error_code or "REJECTED",
                                outcome.error_message or "rejected by the CRM", key, item.decision.ruleset_version)
                        for r in rows]
        else:
            done.update({r.id: key for r in rows})
        ledger.append({"lead_key": key, "ruleset_version": item.decision.ruleset_version,
                       "outcome": outcome.status.value, "crm_id": outcome.crm_id,
                       "decision": item.decision.model_dump(mode="json"), "source": item.lead.source,
                       "campaign": (item.lead.attribution.campaign or "")[:500] or None,
                       "received_at": min(r.raw.received_at for r in rows)})
    # The ledger, the profiles' decided state and the hand-offs it causes: one transaction.
    record_settled(ctx.store, ctx.run_id, ctx.ruleset, items, outcomes, ledger, ctx.now(),
                   lifecycle.outcomes(items, outcomes))
    ctx.store.add_dead_letters(letters)
    ctx.store.set_inbox_status(list(done), "done", lead_keys=done)
    ctx.store.set_inbox_status(retry, "pending", error="CRM rejected the record with a transient error")
    result.dead_letters += letters
    result.requeued += len(retry)
    result.done += len(done)
    for item in items:
        rows_of_lead.pop(item.lead.lead_key, None)


def _requeue(ctx: ProcessContext, rows_of_lead: Mapping[str, list[InboxRow]], result: BatchResult, *,
             error: str, count_attempt: bool) -> None:
    ids = [r.id for rows in rows_of_lead.values() for r in rows]
    result.requeued += ctx.store.release_claims(ctx.run_id, ids, error, count_attempt=count_attempt)


def _requeue_or_give_up(ctx: ProcessContext, rows_of_lead: Mapping[str, list[InboxRow]], result: BatchResult,
                        exc: RetriableError) -> None:
    rows = [r for group in rows_of_lead.values() for r in group]
    exhausted = [r for r in rows if r.attempts >= ctx.settings.max_attempts]
    letters = [_letter(r, "crm", "transient_exhausted", exc.code, str(exc)) for r in exhausted]
    ctx.store.add_dead_letters(letters)
    result.dead_letters += letters
    again = [r.id for r in rows if r.attempts < ctx.settings.max_attempts]
    ctx.store.set_inbox_status(again, "pending", error=f"{exc.code}: CRM call failed after retries")
    result.requeued += len(again)


def _letter(row: InboxRow, stage: str, failure: str, code: str, message: str, lead_key: str | None = None,
            ruleset_version: str | None = None) -> DeadLetter:
    return DeadLetter(inbox_id=row.id, source=row.raw.source, source_record_id=row.raw.source_record_id,
                      stage=stage, failure_type=failure, code=code, message=message, lead_key=lead_key,
                      ruleset_version=ruleset_version)
