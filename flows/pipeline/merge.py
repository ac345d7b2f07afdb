"""De-duplicate within a batch: submissions of the same person (same lead key) become one lead.

A later submission brings news (a new phone, a new job) but also worse copies of what we know: a
badge scan in capitals, a title typed in lower case, a company name cut short by a form's field
length, a one-line reply where the first mail held the real question. So text keeps the better
spelling of the same thing, the longer of a name and its truncation, and every inquiry the person
wrote, oldest first, as a rep reads a thread.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from connectors.records import Lead

# Text a person typed, where a later copy may be worse than the one we have.
_SPELLED_FIELDS = {"first_name", "last_name", "company", "title", "industry", "street", "city", "state",
                   "salutation", "name_suffix", "website"}
_ACCUMULATED = {"events", "submission_ids", "custom", "product_interest", "lead_key", "inquiry", "phone_flags"}
_COMPARABLE = re.compile(r"[\W_]+")


def merge_leads(leads: Sequence[Lead]) -> Lead:
    """Later submissions win for every field they fill, unless they only bring a worse copy of the same text;
    events, submission ids, product interests, phone flags and inquiries accumulate."""
    if len(leads) == 1:  # the usual case: nothing to merge, and a deep copy per lead cost a quarter of a run
        return leads[0]
    ordered = sorted(leads, key=lambda lead: lead.received_at)
    merged = ordered[0].model_copy(deep=True)
    for later in ordered[1:]:
        for name, value in later:
            if name in _ACCUMULATED:
                continue
            if name in {"consent", "attribution"}:
                filled = {k: v for k, v in value.model_dump().items() if v is not None}
                setattr(merged, name, getattr(merged, name).model_copy(update=filled))
                continue
            if value in (None, ""):
                continue
            if name in _SPELLED_FIELDS and isinstance(value, str):
                value = better_text(getattr(merged, name), value)
            setattr(merged, name, value)
        if later.phone:
            merged.phone_extension = later.phone_extension  # an extension belongs to its number
        merged.inquiry = merged_inquiry(merged.inquiry, later)
        merged.events = [*merged.events, *later.events]
        merged.custom = {**merged.custom, **later.custom}
        for name in ("phone", "mobile_phone"):
            if getattr(later, name) and f"{name}_as_written" not in later.custom:
                merged.custom.pop(f"{name}_as_written", None)  # read at last: the unreadable copy is history
        merged.product_interest = sorted({*merged.product_interest, *later.product_interest})
        merged.phone_flags = merged_flags(merged.phone_flags, later)
        merged.submission_ids = [*merged.submission_ids, *later.submission_ids]
    return merged


def _comparable(text: str) -> str:
    return _COMPARABLE.sub(" ", text.casefold()).strip()


def _well_cased(text: str) -> bool:
    """Written with care: neither ALL CAPS nor all lower case (a rep's or a scanner's shortcut)."""
    cased = [c for c in text if c.isalpha() and (c.isupper() or c.islower())]
    return not cased or not (all(c.isupper() for c in cased) or all(c.islower() for c in cased)) or len(cased) < 2


def better_text(current: str | None, later: str) -> str:
    """The later text, unless it is the same text spelt worse or a truncation of the current one."""
    if not current:
        return later
    old, new = _comparable(current), _comparable(later)
    if old == new:
        # The same words: keep whichever is well cased; between two well-cased ones the later is a correction.
        return later if _well_cased(later) or not _well_cased(current) else current
    if old.startswith(new):
        return current  # "Acme Robotics" after "Acme Robotics Inc.": cut short, not renamed
    return later


def merged_flags(current: list[str], later: Lead) -> list[str]:
    """Flags of a number stay while no later submission speaks of that number again."""
    spoken = {flag.split(":", 1)[0] for flag in later.phone_flags}
    spoken |= {name for name in ("phone", "mobile_phone") if getattr(later, name)}
    kept = [flag for flag in current if flag.split(":", 1)[0] not in spoken]
    return list(dict.fromkeys([*kept, *later.phone_flags]))


def merged_inquiry(current: str | None, later: Lead) -> str | None:
    """Every inquiry kept, oldest first; a later one is added with when and where it came from."""
    text = later.inquiry
    if not text:
        return current
    if not current:
        return text
    if _comparable(text) in _comparable(current):
        return current  # a repeat (a re-submitted form, a quoted copy) adds nothing
    if _comparable(current) in _comparable(text):
        return text  # the later one holds the earlier one and more
    stamp = later.received_at.strftime("%Y-%m-%d %H:%M %Z").strip()
    return f"{current}\n\n--- {stamp}, {later.source} ---\n{text}"


def group_by_key(leads: Sequence[Lead]) -> dict[str, list[Lead]]:
    groups: dict[str, list[Lead]] = {}
    for lead in leads:
        groups.setdefault(lead.lead_key, []).append(lead)
    return groups
