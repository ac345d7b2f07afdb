"""A run on another clock (`leadsync run --as-of`, a replay of history) stamps what it records with that clock:
the decisions ledger and the rotation ledger say when the decision was made in the replayed time."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from connectors.sources.csv_import import CsvImportConfig, CsvImportSource
from flows.state.engine import as_utc
from flows.state.schema import decisions
from tests.lifecycle.harness import pipeline

PEOPLE = """First Name,Last Name,Company,Email,Country
Jane,Doe,Acme Robotics,jane@acme.example,US
Max,Mustermann,Beispiel GmbH,max@beispiel.example,DE
"""


def test_decisions_and_turns_are_stamped_with_the_runs_clock(store_url: str, tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text(PEOPLE, encoding="utf-8")
    p = pipeline(store_url, tmp_path, CsvImportSource(CsvImportConfig(name="people", path=str(path))))
    replayed = datetime(2027, 1, 20, 12, tzinfo=UTC)  # far from the real clock either way
    try:
        summary = p.run(replayed)
        assert sum(summary.outcomes.values()) == 2
        with p.store.engine.connect() as conn:
            stamps = {as_utc(at) for at in conn.execute(select(decisions.c.created_at)).scalars()}
        assert stamps == {replayed}
        turns = p.store.rotation_ledger_rows()
        assert turns and {as_utc(row["at"]) for row in turns} == {replayed}
    finally:
        p.close()
