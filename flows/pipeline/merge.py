"""De-duplicate within a batch: submissions of the same person (same lead key) become one lead."""

from __future__ import annotations

from collections.abc import Sequence

from connectors.records import Lead


def merge_leads(leads: Sequence[Lead]) -> Lead:
    """Later submissions win for every field they fill; events and submission ids accumulate."""
    if len(leads) == 1:  # the usual case: nothing to merge, and a deep copy per lead cost a quarter of a run
        return leads[0]
    ordered = sorted(leads, key=lambda lead: lead.received_at)
    merged = ordered[0].model_copy(deep=True)
    for later in ordered[1:]:
        for name, value in later:
            if name in {"events", "submission_ids", "custom", "product_interest", "lead_key"}:
                continue
            if name in {"consent", "attribution"}:
                filled = {k: v for k, v in value.model_dump().items() if v is not None}
                setattr(merged, name, getattr(merged, name).model_copy(update=filled))
                continue
            if value not in (None, ""):
                setattr(merged, name, value)
        merged.events = [*merged.events, *later.events]
        merged.custom = {**merged.custom, **later.custom}
        merged.product_interest = sorted({*merged.product_interest, *later.product_interest})
        merged.submission_ids = [*merged.submission_ids, *later.submission_ids]
    return merged


def group_by_key(leads: Sequence[Lead]) -> dict[str, list[Lead]]:
    groups: dict[str, list[Lead]] = {}
    for lead in leads:
        groups.setdefault(lead.lead_key, []).append(lead)
    return groups
