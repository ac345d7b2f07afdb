"""Lint of the sources' event mappings against the rules: a mapped type no rule counts scores nothing.

A typo (`whitepaper_downlaod`) would silently score nothing, so `leadsync validate` warns about
every event type a source maps explicitly (pages, tracks, links, a csv source's `events.type`)
that no behaviour rule of the rules (`scoring.events` or `scoring.behaviour`) counts. Warnings, not
errors: a type may be kept on purpose for reports or later rules. Generic types (page_view,
email_open...) are not listed.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator

from flows.config.models import AppConfig


def mapped_event_types(config: AppConfig) -> Iterator[tuple[str, str]]:
    """(YAML path, event type) of every event type the sources map explicitly."""
    for index, entry in enumerate(config.sources):
        events = getattr(entry, "events", None)
        if events is None:
            continue
        where = f"sources[{index}].events"
        if isinstance(getattr(events, "type", None), str):  # csv attendance lists
            yield f"{where}.type", events.type
        for table in ("pages", "tracks", "links"):
            for key, event_type in (getattr(events, table, None) or {}).items():
                yield f"{where}.{table}['{key}']", event_type


def unscored_event_types(config: AppConfig, scored: Collection[str]) -> list[str]:
    return [f"{path} maps to '{event_type}', which no behaviour rule of the rules counts"
            for path, event_type in mapped_event_types(config) if event_type not in scored]
