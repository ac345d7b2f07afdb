"""SOQL built safely: values always escaped by simple-salesforce's format_soql, `IN` lists chunked.

A query travels in the URL of a GET, and Salesforce refuses URIs beyond about 16 KB, well
below SOQL's own 100,000-character limit; so chunks are sized on the URL-encoded text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from urllib.parse import quote_plus

from simple_salesforce.format import format_soql, quote_soql_value

MAX_ENCODED_QUERY = 12_000
# What quote_plus leaves as one character (a space becomes "+"); every other byte becomes "%XX".
_URL_SAFE = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~ "
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)?$")


def field_list(fields: Sequence[str]) -> str:
    """Field names come from config: check them, since they cannot be quoted like values."""
    bad = [name for name in fields if not _NAME.match(name)]
    if bad:
        raise ValueError(f"not Salesforce field names: {bad}")
    return ", ".join(dict.fromkeys(fields))


def in_chunks(template: str, values: Sequence[str], *, limit: int = MAX_ENCODED_QUERY) -> Iterator[str]:
    """`template` holds one `{values}` placeholder for the IN list, e.g. "... WHERE Email IN {values}".

    Yields complete queries whose URL-encoded length stays under `limit`.
    """
    unique = list(dict.fromkeys(v for v in values if v))
    base = len(quote_plus(template.replace("{values}", "()")))
    chunk: list[str] = []
    size = base
    for value in unique:
        quoted = encoded_length(quote_soql_value(value)) + 3  # the value plus an encoded ", "
        if chunk and size + quoted > limit:
            yield _render(template, chunk)
            chunk, size = [], base
        chunk.append(value)
        size += quoted
    if chunk:
        yield _render(template, chunk)


def _render(template: str, values: list[str]) -> str:
    return template.replace("{values}", format_soql("{}", values))


def encoded_length(text: str) -> int:
    """len(quote_plus(text)) without building it: chunking sizes every value of a batch, so this is hot."""
    data = text.encode()
    return len(data) + 2 * len(data.translate(None, _URL_SAFE))
