"""Timestamps of the state store: TIMESTAMPTZ on PostgreSQL, integer microseconds since the epoch on SQLite.

SQLite has no date type: SQLAlchemy's DateTime stores 26 characters of text ("2026-12-02 03:31:11.604482"),
and a lead's rows carry about ten of them. An integer keeps the same microseconds in 8 bytes, sorts the
same and compares in SQL the same (every comparison binds its Python datetime through this type).
The declared column type stays DATETIME (NUMERIC affinity keeps the integers as integers), so a store
is converted by rewriting values, not tables. Text written before still reads; values come back as
aware UTC datetimes on both databases.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine, UserDefinedType

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


class _SqliteEpochMicros(UserDefinedType[Any]):
    """Declared DATETIME (as SQLAlchemy's own type declares it), holding plain integers."""

    cache_ok = True

    def get_col_spec(self, **_kw: Any) -> str:
        return "DATETIME"


def to_micros(value: datetime | date) -> int:
    if not isinstance(value, datetime):
        value = datetime.combine(value, time.min)
    if value.tzinfo is None:  # everything the store keeps is UTC
        value = value.replace(tzinfo=UTC)
    return (value - EPOCH) // _MICROSECOND


def from_stored(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, int | float):
        return EPOCH + timedelta(microseconds=int(value))
    if isinstance(value, str):  # text of a row written before (SQLAlchemy's DATETIME format, naive UTC)
        parsed = datetime.fromisoformat(value)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    raise TypeError(f"not a stored timestamp: {type(value).__name__}")


class UtcTimestamp(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out; 8-byte integers on SQLite, TIMESTAMPTZ elsewhere."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(_SqliteEpochMicros())
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None or dialect.name != "sqlite":
            return value
        return to_micros(value)

    def process_literal_param(self, value: Any, dialect: Dialect) -> Any:
        """Inline SQL (EXPLAIN QUERY PLAN in tests, compiled statements): the stored form."""
        if value is None or dialect.name != "sqlite":
            return value
        return str(to_micros(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        return from_stored(value)
