"""Shared fixtures: state-store URLs for SQLite and a real PostgreSQL server started once per session."""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.postgres import create_database, postgres_server

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
_db_counter = itertools.count()


REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def demo_config(tmp_path: Path) -> Path:
    """A copy of the demo config in a temp dir: every test starts from an empty inbox and CRM.

    The demo's state and CRM paths are relative (../var/...), so they land in tmp_path/var.
    """
    config_dir = tmp_path / "config"
    shutil.copytree(REPO / "config", config_dir, ignore=shutil.ignore_patterns("*.db", "var"))
    return config_dir / "leadsync.yaml"


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    # Not under pytest's tmp dir: that one is private to root and the server runs as postgres.
    workdir = Path(tempfile.mkdtemp(prefix="leadsync-pg-"))
    try:
        server = postgres_server(workdir)
        url = server.__enter__()
    except RuntimeError as exc:
        pytest.fail(str(exc))
    try:
        yield url
    finally:
        server.__exit__(None, None, None)
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_admin_url: str) -> str:
    """A fresh, empty database per test."""
    return create_database(postgres_admin_url, f"t{os.getpid()}_{next(_db_counter)}")


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture(autouse=True)
def _redaction_registry_per_test() -> Iterator[None]:
    """Secrets a test registers (e.g. a login with security token "TOKEN") must not mask another test's words."""
    from connectors import redaction

    secrets, staff = set(redaction._known_secrets), set(redaction._staff_addresses)
    yield
    redaction._known_secrets.clear()
    redaction._known_secrets.update(secrets)
    redaction._staff_addresses.clear()
    redaction._staff_addresses.update(staff)
