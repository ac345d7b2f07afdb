"""Re-importing an edited copy of a CSV (rows added, reordered, corrected) makes no twin, e-mail or not."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from connectors.sources.csv_import import CsvImportConfig, CsvImportSource
from tests.lifecycle.harness import pipeline

FIRST = """First Name,Last Name,Company,Email,Phone,Country
Jane,Doe,Acme Robotics Inc.,jane@acme.example,(415) 555-0134,US
Li,Wei,Shenzhen Example Electronics,,+86 755 8888 0000,CN
Max,Mustermann,Beispiel GmbH,,030 1234567,DE
"""
# The same list a week later: reordered, a row added, Li's company and Max's phone corrected.
EDITED = """First Name,Last Name,Company,Email,Phone,Country
Ola,Nordmann,Fjord AS,,+47 22 12 34 56,NO
Max,Mustermann,Beispiel GmbH,,030 7654321,DE
Li,Wei,"Shenzhen Example Electronics Co., Ltd.",,+86 755 8888 0000,CN
Jane,Doe,Acme Robotics,jane@acme.example,(415) 555-0134,US
"""


def test_an_edited_copy_of_a_csv_makes_no_twin(store_url: str, tmp_path: Path) -> None:
    path = tmp_path / "show.csv"
    path.write_text(FIRST, encoding="utf-8")
    p = pipeline(store_url, tmp_path, CsvImportSource(CsvImportConfig(name="show", path=str(path))))
    try:
        p.run(datetime(2026, 11, 2, tzinfo=UTC))
        assert len(p.sink.all_leads()) == 3
        path.write_text(EDITED, encoding="utf-8")
        second = p.run(datetime(2026, 11, 9, tzinfo=UTC))
        assert second.captures[0].new == 4  # a changed file is new to the inbox...
        leads = p.sink.all_leads()
        names = sorted(f"{lead['first_name']} {lead['last_name']}" for lead in leads)
        assert names == ["Jane Doe", "Li Wei", "Max Mustermann", "Ola Nordmann"]  # ...but nobody twice
        assert len(p.store.profile_rows()) == 4
        max_profile = p.store.profile_by_identity("phone", "+49301234567")
        assert max_profile is not None and p.store.profile_by_identity("phone", "+49307654321") == max_profile
        third = p.run(datetime(2026, 11, 9, 1, tzinfo=UTC))
        assert third.claimed == 0 and len(p.sink.all_leads()) == 4
    finally:
        p.close()
