"""A demo run on SQLite and on PostgreSQL, with one lead converted in the local CRM: the data reports read."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, update

from connectors.crm.local import LocalCrmSink, _leads
from flows.pipeline.run import run_sync
from flows.pipeline.runtime import build_runtime
from flows.state import StateStore

CONVERTED_EMAIL = "marcus.reyes@bigco.example"


@dataclass
class DemoStore:
    config: Path
    store: StateStore
    crm_path: Path
    converted_crm_id: str


@pytest.fixture
def demo_store(demo_config: Path, store_url: str) -> Iterator[DemoStore]:
    text = demo_config.read_text().replace("sqlite:///../var/state.db", store_url)
    demo_config.write_text(text)
    runtime = build_runtime(demo_config)
    try:
        run_sync(runtime)
        assert isinstance(runtime.sink, LocalCrmSink)
        crm_path = Path(runtime.sink.config.path)
        lead = next(row for row in runtime.sink.all_leads() if row["email"] == CONVERTED_EMAIL)
    finally:
        runtime.close()
    engine = create_engine(f"sqlite:///{crm_path}")
    with engine.begin() as conn:  # a rep converts one lead in the CRM
        conn.execute(update(_leads).where(_leads.c.email == CONVERTED_EMAIL).values(status="Closed - Converted"))
    engine.dispose()
    store = StateStore(store_url)
    try:
        yield DemoStore(demo_config, store, crm_path, str(lead["id"]))
    finally:
        store.dispose()
