"""The state store: inbox, cursors, dead letters, decisions and rotation ledgers, runs.

SQLAlchemy Core over a SQLite file by default (embedded) or PostgreSQL by URL when several
Prefect workers share the work.
"""

from __future__ import annotations

from sqlalchemy.exc import OperationalError

from flows.state.dead_letters import DeadLetter, DeadLetterRow, DeadLetterStore
from flows.state.engine import describe_connection_error, open_engine, safe_url
from flows.state.inbox import InboxRow, InboxStore
from flows.state.ledgers import LedgerEntry, LedgerStore
from flows.state.pauses import PauseStore, SourcePause
from flows.state.schema import metadata

__all__ = ["DeadLetter", "DeadLetterRow", "InboxRow", "LedgerEntry", "SourcePause", "StateStore"]


class StateStore(InboxStore, DeadLetterStore, LedgerStore, PauseStore):
    """All durable state of leadsync behind one object."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = open_engine(url)

    def __repr__(self) -> str:
        return f"StateStore({safe_url(self.url)})"

    def create_schema(self) -> None:
        """Create missing tables; raises FatalError with one clear line when the database is unreachable."""
        try:
            metadata.create_all(self.engine)
        except OperationalError as exc:
            raise describe_connection_error(self.url, exc) from None

    def dispose(self) -> None:
        self.engine.dispose()
