"""The values conditions look at: lead fields, dotted sub-fields and derived facts, computed lazily."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from connectors.records import Event, Lead

LEAD_FIELDS = {name for name in Lead.model_fields if name not in {"consent", "attribution", "events", "custom"}}
CONSENT_FIELDS = {"consent.email", "consent.phone", "consent.sms"}
ATTRIBUTION_FIELDS = {f"attribution.{name}" for name in
                      ("source", "medium", "campaign", "term", "content", "gclid", "gbraid", "wbraid", "fbclid",
                       "landing_page", "referrer", "form_id", "ad_id")}
DERIVED_FIELDS = {
    "email_domain", "days_since_last_activity", "account_owner", "owner", "score", "fit_score",
    "behaviour_score", "grade", "mql", "qualification",
}
_EVENT_FIELD = re.compile(r"^events\.([A-Za-z0-9_-]+)(?:\.within_(\d+)d)?$")


def is_known_field(name: str) -> bool:
    return (name in LEAD_FIELDS or name in CONSENT_FIELDS or name in ATTRIBUTION_FIELDS or name in DERIVED_FIELDS
            or name.startswith("custom.") or bool(_EVENT_FIELD.match(name)))


def count_events(events: Sequence[Event], kind: str, window_seconds: int | None, now: datetime) -> int:
    """Events of one type, all or those within the window before `now` (the compiled engine calls this too)."""
    if not events:
        return 0
    if window_seconds is None:
        return [e.type for e in events].count(kind)
    return sum(1 for e in events if e.type == kind and (now - e.at).total_seconds() <= window_seconds)


def days_idle(events: Sequence[Event], now: datetime) -> float | None:
    """Days since the latest event; None without events."""
    times = [e.at for e in events]
    return (now - max(times)).total_seconds() / 86400 if times else None


class Facts(dict[str, Any]):
    """A lead's facts; anything not set yet is derived on first use and cached."""

    def __init__(self, lead: Lead, now: datetime, account_owner: str | None, owner: str | None) -> None:
        super().__init__()
        self.lead = lead
        self.now = now
        self["account_owner"] = account_owner
        self["owner"] = owner

    def __missing__(self, name: str) -> Any:
        value = self._derive(name)
        self[name] = value
        return value

    def _derive(self, name: str) -> Any:
        lead = self.lead
        if name in LEAD_FIELDS:
            return getattr(lead, name)
        if name == "email_domain":
            return lead.email_domain
        if name.startswith("consent."):
            return getattr(lead.consent, name.split(".", 1)[1], None)
        if name.startswith("attribution."):
            return getattr(lead.attribution, name.split(".", 1)[1], None)
        if name.startswith("custom."):
            return lead.custom.get(name.split(".", 1)[1])
        if name == "days_since_last_activity":
            return days_idle(lead.events, self.now)
        match = _EVENT_FIELD.match(name)
        if match:
            window = match.group(2)
            return count_events(lead.events, match.group(1), int(window) * 86400 if window else None, self.now)
        return None
