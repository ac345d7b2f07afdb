"""Small builders so each test states only the part of the ruleset it is about."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import yaml

from connectors.records import Event, Lead
from rules import Ruleset, parse_ruleset

MONDAY_10_UTC = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def ruleset(**sections: Any) -> Ruleset:
    spec: dict[str, Any] = {
        "version": 7,
        "scoring": {"mql_threshold": 60},
        "routing": {"default": {"queue": "Unassigned"}},
        "statuses": {"new": "New", "mql": "MQL", "unqualified": "Unqualified", "nurture": "Nurturing"},
    }
    for key, value in sections.items():
        if isinstance(value, dict) and isinstance(spec.get(key), dict):
            spec[key] = {**spec[key], **value}
        else:
            spec[key] = value
    return parse_ruleset(yaml.safe_dump(spec, sort_keys=False), "rules.yaml")


def lead(n: int = 0, events: list[tuple[str, float]] | None = None, now: datetime = MONDAY_10_UTC,
         **fields: Any) -> Lead:
    fields.setdefault("email", f"p{n}@co{n}.example")
    return Lead(lead_key=f"k{n}", source="t", source_record_id=str(n), received_at=now,
                events=[Event(type=t, at=now - timedelta(days=d)) for t, d in (events or [])], **fields)
