"""Open the state store's database: SQLite file by default, PostgreSQL by URL."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError

from connectors.errors import FatalError
from connectors.redaction import redact
from connectors.sqlite_wal import switch_to_wal


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything we store is UTC."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def safe_url(url: str) -> str:
    """The URL with its password masked, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return redact(url)


def open_engine(url: str) -> Engine:
    """Create the engine; SQLite gets WAL and BEGIN IMMEDIATE so concurrent writers queue instead of failing."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise FatalError(f"state store URL is not a database URL: {redact(url)}") from None
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        _configure_sqlite(engine)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return create_engine(url, pool_pre_ping=True)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        switch_to_wal(cursor)  # several processes may open a new state store at once
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # 64 MiB of page cache (SQLite's default is 2 MiB): the interior pages of the profile and
        # identity indexes of a million people fit, so a batch's look-ups and random inserts read
        # leaf pages only (at 100k profiles: a third of the bytes read, two thirds written per event).
        cursor.execute("PRAGMA cache_size=-65536")
        # Checkpoint the WAL into the database file every ~200 MB of WAL, not SQLite's default 4 MB: a
        # batch of 20,000 events of random people dirties ~80 MB of pages, and at the default every
        # commit paid a checkpoint (copy back and two fsyncs): at 1M profiles and 9M events that was
        # 14.5 of 47.7 s wall for 400,000 events (8,400/s), 18,800/s with this. The file is cut back to
        # 64 MB after each checkpoint.
        cursor.execute("PRAGMA wal_autocheckpoint=50000")
        cursor.execute("PRAGMA journal_size_limit=67108864")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def describe_connection_error(url: str, exc: OperationalError) -> FatalError:
    reason = str(exc.orig).strip().splitlines()[0] if exc.orig else "connection failed"
    return FatalError(f"cannot reach the state store at {safe_url(url)}: {redact(reason)}")
