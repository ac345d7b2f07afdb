"""Short stored forms of the text a lead's rows repeat: hex keys as bytes, enumerated values as one-byte codes.

Both are column types: Python code reads and writes the same strings as with `String`, and the declared
SQL type stays VARCHAR, so a store is converted by rewriting values, not tables (migration 0008). Only
SQLite stores the short forms (it keeps a BLOB in a VARCHAR column as it is); PostgreSQL keeps the text.

- `HexKey`: lead keys ("e-" + 24 hex digits, 26 characters) become 13 bytes; run ids, hand-off and outbox
  keys, file hashes inside record ids become their hex run as raw bytes; a ruleset version
  ("1 (sha256:77ca3fd246c6)", 23 characters) 8 bytes; an E.164 phone number (identity values) 8 bytes.
  A value without a run of 12 hex digits stays text.
- `PackedText`: long text of a few templates (routing reasons) packed like PackedJSON.
- `Coded`: statuses, kinds and outcomes become a one-byte BLOB (the value's position in a frozen list);
  a value not in the list stays text.

Every encoding is deterministic and reversible, and a BLOB never equals a TEXT in SQLite: equality,
IN, GROUP BY, unique constraints and the indexes work on the stored form exactly as on the text.
(Order differs from text order, which no query depends on beyond grouping equal values.)
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from sqlalchemy import String, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from flows.state.packing import _STORED_AS_IS, pack, unpack

_HEX_RUN = re.compile(r"[0-9a-f]{12,}")
_LEAD_KEY = re.compile(r"[a-z]-[0-9a-f]{24}")
_RULESET_VERSION = re.compile(r"([0-9]{1,9}) \(sha256:([0-9a-f]{12})\)")  # rules/loader.py
_PHONE = re.compile(r"\+[1-9][0-9]{6,14}")  # E.164, as connectors/normalise.py writes it
_MIN_RUN = 12
_RULESET_FORM = 0x7F
_PHONE_FORM = 0x7E


# Cached: a lead's key is bound five or six times in a batch (inbox, decision, ledger, profile, look-ups), and
# run ids, partitions and ruleset versions repeat on every row; a hit costs a tenth of an encoding.
@lru_cache(maxsize=1 << 15)
def encode_key(value: str) -> str | bytes:
    """The stored form of a key on SQLite (bytes where it has a hex run, else the text itself)."""
    if value[:1] == "+" and _PHONE.fullmatch(value):  # "+14155551666": 0x7E, the number in 7 bytes
        return bytes((_PHONE_FORM,)) + int(value[1:]).to_bytes(7, "big")
    if len(value) < _MIN_RUN:
        return value
    if len(value) == 26 and _LEAD_KEY.fullmatch(value):  # a lead key: letter | 0x80, then 12 bytes
        return bytes((ord(value[0]) | 0x80,)) + bytes.fromhex(value[2:])
    ruleset = _RULESET_VERSION.fullmatch(value)
    if ruleset is not None:  # "1 (sha256:77ca3fd246c6)": 0x7F, 6 bytes of digest, the version's digits
        return bytes((_RULESET_FORM,)) + bytes.fromhex(ruleset[2]) + ruleset[1].encode()
    found = _HEX_RUN.search(value)
    if found is None:
        return value
    start, end = found.start(), found.start() + (found.end() - found.start()) // 2 * 2
    prefix, rest = value[:start].encode(), value[end:].encode()
    if len(prefix) >= _PHONE_FORM or end - start > 2 * 255:
        return value
    # [prefix length][prefix][hex byte count][hex as bytes][rest]: value = prefix + hex + rest
    return bytes((len(prefix),)) + prefix + bytes(((end - start) // 2,)) + bytes.fromhex(value[start:end]) + rest


def decode_key(stored: Any) -> Any:
    if isinstance(stored, memoryview):
        stored = stored.tobytes()
    if not isinstance(stored, bytes):
        return stored
    return _decoded(stored)


@lru_cache(maxsize=1 << 15)
def _decoded(stored: bytes) -> str:
    if stored[0] & 0x80:
        return chr(stored[0] & 0x7F) + "-" + stored[1:].hex()
    if stored[0] == _RULESET_FORM:
        return f"{stored[7:].decode()} (sha256:{stored[1:7].hex()})"
    if stored[0] == _PHONE_FORM:
        return f"+{int.from_bytes(stored[1:], 'big')}"
    at = 1 + stored[0]
    count = stored[at]
    return (stored[1:at].decode() + stored[at + 1:at + 1 + count].hex()
            + stored[at + 1 + count:].decode())


class HexKey(TypeDecorator[str]):
    """A key string; on SQLite its hex digits are stored as bytes (half the size)."""

    impl = String
    cache_ok = True

    # The processors themselves (not process_bind_param): a lead binds some twenty keys, and each wrapper
    # call TypeDecorator adds costs as much as the cached encoding.
    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        if dialect.name != "sqlite":
            return None

        def process(value: Any) -> Any:
            return encode_key(value) if isinstance(value, str) else value

        return process

    def result_processor(self, dialect: Dialect, coltype: object) -> Callable[[Any], Any] | None:
        return decode_key if dialect.name == "sqlite" else None

    def process_literal_param(self, value: Any, dialect: Dialect) -> Any:
        return value  # inline SQL (compiled statements in tests) shows the text


class Coded(TypeDecorator[str]):
    """One of a known list of values; on SQLite stored as a one-byte code (its position in the list).

    The list is frozen: a value's code never changes (new values are appended; retired ones stay)."""

    impl = String
    cache_ok = True

    def __init__(self, length: int | None, values: tuple[str, ...]) -> None:
        super().__init__(length)
        self.values = values

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        if dialect.name != "sqlite":
            return None
        codes = {value: bytes((i,)) for i, value in enumerate(self.values)}

        def process(value: Any) -> Any:
            return codes.get(value, value)

        return process

    def result_processor(self, dialect: Dialect, coltype: object) -> Callable[[Any], Any] | None:
        if dialect.name != "sqlite":
            return None
        values = self.values

        def process(value: Any) -> Any:
            if isinstance(value, memoryview):
                value = value.tobytes()
            return values[value[0]] if isinstance(value, bytes) else value

        return process

    def process_literal_param(self, value: Any, dialect: Dialect) -> Any:
        return value


class CodedText(Coded):
    """`Coded` for a TEXT column: its common values coded, any other text kept."""

    impl = Text
    cache_ok = True


@lru_cache(maxsize=4096)
def _packed_text(value: str) -> bytes:
    return pack(value)


class PackedText(TypeDecorator[str]):
    """Text that repeats a few templates (routing reasons); on SQLite stored packed like PackedJSON when long.

    Text written before (and short text) stays text. Packing is cached: the same reason recurs lead after lead."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None or dialect.name != "sqlite" or len(value) <= _STORED_AS_IS:
            return value
        return _packed_text(value)

    def process_literal_param(self, value: Any, dialect: Dialect) -> Any:
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if isinstance(value, bytes | memoryview):
            return unpack(value)
        return value
