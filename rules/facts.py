"""The values conditions look at: lead fields, dotted sub-fields and derived facts, computed lazily."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from connectors.records import Event, Lead, ProfileState

LEAD_FIELDS = {name for name in Lead.model_fields if name not in {"consent", "attribution", "events", "custom"}}
CONSENT_FIELDS = {"consent.email", "consent.phone", "consent.sms"}
ATTRIBUTION_FIELDS = {f"attribution.{name}" for name in
                      ("source", "medium", "campaign", "term", "content", "gclid", "gbraid", "wbraid", "fbclid",
                       "landing_page", "referrer", "form_id", "ad_id")}
DERIVED_FIELDS = {
    "email_domain", "days_since_last_activity", "account_owner", "owner", "score", "fit_score",
    "behaviour_score", "grade", "mql", "qualification", "location",
}
_EVENT_FIELD = re.compile(r"^events\.([A-Za-z0-9_-]+)(?:\.within_(\d+)d)?$")


def is_known_field(name: str) -> bool:
    return (name in LEAD_FIELDS or name in CONSENT_FIELDS or name in ATTRIBUTION_FIELDS or name in DERIVED_FIELDS
            or name.startswith("custom.") or bool(_EVENT_FIELD.match(name)))


def is_event_property(name: str) -> bool:
    """Behaviour rules' conditions read the event's properties by name (and `detail`): any name will do."""
    return bool(name) and name not in {"all", "any", "not"}


def count_events(events: Sequence[Event], kind: str, window_seconds: int | None, now: datetime,
                 profile: ProfileState | None = None) -> int:
    """Events of one type, all (kept ones plus those the profile compacted into counts) or those within the
    window before `now` (the compiled engine calls this too)."""
    older = profile.compacted_event_counts.get(kind, 0) if profile is not None and window_seconds is None else 0
    if not events:
        return older
    if window_seconds is None:
        return [e.type for e in events].count(kind) + older
    return sum(1 for e in events if e.type == kind and (now - e.at).total_seconds() <= window_seconds)


def last_activity(events: Sequence[Event], profile: ProfileState | None) -> datetime | None:
    """The latest event, or the profile's last activity when that is later (its events may be compacted)."""
    latest = max([e.at for e in events]) if events else None
    known = profile.last_activity_at if profile is not None else None
    if known is not None and (latest is None or known > latest):
        return known
    return latest


def days_idle(events: Sequence[Event], now: datetime, profile: ProfileState | None = None) -> float | None:
    """Days since the last activity; None when there never was any."""
    latest = last_activity(events, profile)
    return (now - latest).total_seconds() / 86400 if latest is not None else None


def location_of(lead: Lead) -> tuple[float, float] | None:
    """The lead's coordinates (set at normalisation from city or postal code), None when not placed."""
    if lead.latitude is None or lead.longitude is None:
        return None
    return (lead.latitude, lead.longitude)


class Facts(dict[str, Any]):
    """A lead's facts; anything not set yet is derived on first use and cached."""

    def __init__(self, lead: Lead, now: datetime, account_owner: str | None, owner: str | None,
                 profile: ProfileState | None = None) -> None:
        super().__init__()
        self.lead = lead
        self.now = now
        self.profile = profile
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
            return days_idle(lead.events, self.now, self.profile)
        if name == "location":
            return location_of(lead)
        match = _EVENT_FIELD.match(name)
        if match:
            window = match.group(2)
            return count_events(lead.events, match.group(1), int(window) * 86400 if window else None, self.now,
                                self.profile)
        return None
