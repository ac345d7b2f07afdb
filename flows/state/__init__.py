"""The state store: inbox, cursors, dead letters, decisions and rotation ledgers, runs, profiles, hand-off outbox.

SQLAlchemy Core over a SQLite file by default (embedded) or PostgreSQL by URL when several
Prefect workers share the work.
"""

from __future__ import annotations

from sqlalchemy.exc import OperationalError

from connectors.errors import FatalError
from flows.state.dead_letters import DeadLetter, DeadLetterRow, DeadLetterStore
from flows.state.engine import describe_connection_error, open_engine, safe_url
from flows.state.inbox import InboxRow, InboxStore
from flows.state.ledgers import LedgerEntry, LedgerStore
from flows.state.migrate import upgrade_to_head
from flows.state.outbox import OutboxStore
from flows.state.parking import ParkingStore, Submission
from flows.state.pauses import PauseStore, SourcePause
from flows.state.profile_queries import ProfileQueryStore
from flows.state.profile_rows import Profile, ProfileOutcome
from flows.state.profiles import Attached, ProfileStore
from flows.state.retention import RetentionStore

__all__ = ["Attached", "DeadLetter", "DeadLetterRow", "InboxRow", "LedgerEntry", "Profile", "ProfileOutcome",
           "SourcePause", "StateStore", "Submission"]


class StateStore(InboxStore, DeadLetterStore, LedgerStore, ProfileStore, ProfileQueryStore, RetentionStore,
                 OutboxStore, PauseStore, ParkingStore):
    """All durable state of leadsync behind one object."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = open_engine(url)

    def __repr__(self) -> str:
        return f"StateStore({safe_url(self.url)})"

    def create_schema(self) -> None:
        """Upgrade the schema to the newest migration (creating it in an empty database, adopting a store
        made by leadsync 0.1.0 in place); raises FatalError with one clear line when the database is
        unreachable or not leadsync's."""
        try:
            upgrade_to_head(self.engine)
        except OperationalError as exc:
            raise describe_connection_error(self.url, exc) from None
        except RuntimeError as exc:
            raise FatalError(f"cannot upgrade the state store at {safe_url(self.url)}: {exc}") from None

    def dispose(self) -> None:
        self.engine.dispose()
