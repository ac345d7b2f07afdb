"""Put a SQLite file in write-ahead-log mode safely when several processes open it for the first time."""

from __future__ import annotations

import sqlite3
import time
from typing import Any


def switch_to_wal(cursor: Any, patience_seconds: float = 30.0) -> None:
    """PRAGMA journal_mode=WAL on a DB-API cursor, waiting while another process holds the file.

    Switching needs the file to itself and SQLite answers "database is locked" at once, without its
    busy wait: two workers opening a new file together would fail. The mode is stored in the file, so
    once one connection has switched it the others find it done; until then they wait their turn.
    """
    deadline = time.monotonic() + patience_seconds
    while True:
        try:
            if str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal":
                return
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)
