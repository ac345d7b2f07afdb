"""Bring a state store's schema to the newest revision (Alembic), safely when several processes start at once.

Three starting points: an empty database (every revision runs), a store made by leadsync 0.1.0
(its tables exist but no `alembic_version`: stamped at the baseline, then upgraded in place, no row
touched), and a store already under migrations (upgraded, or left alone at head). The check and the
upgrade run under one lock: a PostgreSQL advisory lock held for the transaction (DDL is transactional
there), the write lock of BEGIN IMMEDIATE on SQLite, so a second process waits and then finds head.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.exc import DBAPIError

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")
BASELINE = "0001_baseline"
HEAD = "0008_store_keys"
"""The newest revision (a test keeps it equal to Alembic's head): a store already there is recognised
with one query, without importing Alembic (a quarter of a second on every run)."""
# Any constant shared by every leadsync process; "leadsync" in ASCII, as a 64-bit key.
ADVISORY_LOCK_KEY = 0x6C65616473796E63
RELEASE_0_1_TABLES = frozenset({"inbox", "cursors", "dead_letters", "decisions", "rotation_state",
                                "rotation_ledger", "runs"})


def alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade_to_head(engine: Engine) -> None:
    """Create or upgrade the schema; returns when the store is at head (whoever did the work)."""
    if _at_head(engine):
        return
    from alembic import command
    from alembic.runtime.migration import MigrationContext

    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
        tables = set(inspect(conn).get_table_names())
        config = alembic_config(conn)
        if "alembic_version" not in tables and tables & RELEASE_0_1_TABLES:
            missing = RELEASE_0_1_TABLES - tables
            if missing:  # create_all of 0.1.0 made every table at once; a part means someone else's database
                raise RuntimeError(f"the state store has some of leadsync's tables but not {sorted(missing)}")
            command.stamp(config, BASELINE)
        if MigrationContext.configure(conn).get_current_revision() != head_revision():
            command.upgrade(config, "head")


def _at_head(engine: Engine) -> bool:
    """Whether the store is at HEAD already (no lock needed: a store at head stays there)."""
    try:
        with engine.connect() as conn:
            return bool(conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == HEAD)
    except DBAPIError:  # no alembic_version table yet (or no database: the locked path says so clearly)
        return False
