"""How vendors' behaviour (page paths, track names, clicked links) becomes the rules' event types.

One mapping model for every engagement source, validated when the config is loaded (so a typo
is reported with its YAML path and line). Patterns are shell-style globs (`/pricing*`), matched
in the order written: the first match wins. A call nothing matches is kept as a generic event
(`page_view`, `screen_view`, or the track name in snake_case) unless `unmapped: drop`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from fnmatch import fnmatchcase
from functools import lru_cache
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

EVENT_TYPE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_NOT_WORD = re.compile(r"[^a-z0-9]+")


def check_event_type(value: str) -> str:
    if not EVENT_TYPE.match(value):
        raise ValueError(f"'{value}' is not an event type (lower-case letters, digits and _, as in the rules)")
    return value


def snake_case(name: str) -> str:
    """'Whitepaper Downloaded' -> 'whitepaper_downloaded': a track name usable as a rules' event type."""
    return _NOT_WORD.sub("_", name.lower()).strip("_")[:64] or "track"


def _check_types(value: dict[str, str], what: str, *, pattern: bool) -> dict[str, str]:
    for key, event_type in value.items():
        if not key.strip():
            raise ValueError(f"an empty {what} cannot be mapped")
        if pattern and not (key.startswith(("/", "*", "http://", "https://"))):
            raise ValueError(f"{what} '{key}' must start with '/', '*' or http(s)://")
        check_event_type(event_type)
    return value


class EventMapping(BaseModel):
    """`events:` of an engagement source: vendor names and paths -> the rules' event types."""

    model_config = ConfigDict(extra="forbid")
    pages: dict[str, str] = Field(default_factory=dict, description="Page path glob -> event type, e.g. "
                                  "'/pricing*': pricing_page_visit. Matched on the path, or the full URL "
                                  "when the glob starts with http(s)://.")
    tracks: dict[str, str] = Field(default_factory=dict, description="Track event name (exact, case-insensitive) "
                                   "-> event type, e.g. 'Whitepaper Downloaded': whitepaper_download.")
    links: dict[str, str] = Field(default_factory=dict, description="URL or path glob of a clicked link -> an "
                                  "extra event type (a click on a pricing link also counts as a pricing visit).")
    unmapped: Literal["keep", "drop"] = Field(
        default="keep", description="keep: unmatched calls become page_view / screen_view / the track name in "
        "snake_case; drop: they are stored but produce no event.")

    @field_validator("pages", "links")
    @classmethod
    def _patterns(cls, value: dict[str, str]) -> dict[str, str]:
        return _check_types(value, "pattern", pattern=True)

    @field_validator("tracks")
    @classmethod
    def _tracks(cls, value: dict[str, str]) -> dict[str, str]:
        _check_types(value, "track name", pattern=False)
        folded: dict[str, str] = {}
        for name in value:
            if name.casefold() in folded:
                raise ValueError(f"track names '{folded[name.casefold()]}' and '{name}' differ only in case")
            folded[name.casefold()] = name
        return value

    def page_type(self, path: str | None, url: str | None = None, fallback: str = "page_view") -> str | None:
        """The event type of a page (or screen) view, None when unmapped calls are dropped."""
        return _first_match(self.pages, path, url) or (fallback if self.unmapped == "keep" else None)

    def track_type(self, name: str) -> str | None:
        mapped = _folded(tuple(self.tracks.items())).get(name.casefold())
        return mapped or (snake_case(name) if self.unmapped == "keep" else None)

    def link_type(self, url: str | None) -> str | None:
        """The extra event type of a clicked link; never a generic one."""
        return _first_match(self.links, None, url)


@lru_cache(maxsize=64)
def _folded(tracks: tuple[tuple[str, str], ...]) -> dict[str, str]:
    return {name.casefold(): event_type for name, event_type in tracks}


def _first_match(patterns: Mapping[str, str], path: str | None, url: str | None) -> str | None:
    """First pattern matching the path (taken from the URL when not given), or the URL for http(s) globs."""
    if not patterns or not (path or url):
        return None
    if not path and url:
        path = (urlsplit(url).path or "/") if "://" in url else url
    for pattern, event_type in patterns.items():
        subject = url if pattern.startswith(("http://", "https://")) else path
        if subject and fnmatchcase(subject, pattern):
            return event_type
    return None
