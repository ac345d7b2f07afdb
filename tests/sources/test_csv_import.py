"""CSV imports: encodings, separators, header aliases, line numbers, resume, rejects."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.errors import FatalError, RecordRejectedError
from connectors.sources.csv_import import CsvImportConfig, CsvImportSource

SAMPLE = Path(__file__).resolve().parents[2] / "config" / "demo" / "tradeshow.csv"


def source(path: Path, **options: object) -> CsvImportSource:
    return CsvImportSource(CsvImportConfig(name="t", path=str(path), **options))  # type: ignore[arg-type]


def records(src: CsvImportSource, cursors: dict[str, str] | None = None) -> list:  # type: ignore[type-arg]
    return [r for page in src.read(cursors or {}) for r in page.records]


@pytest.mark.parametrize(("content", "encoding"), [
    ("\ufeffE-mail,First Name,Company\nann@x.com,Ann,Acme\n", "utf-8"),
    ("Email Address;First Name;Company Name;Employees\nann@x.com;Änne;Müller GmbH;1.500\n", "cp1252"),
    ("email\tfirst\tcompany name\nann@x.com\tAnn\tAcme\n", "utf-8"),
    ("mail|given name|organisation\nann@x.com|Ann|Acme\n", "utf-8"),
])
def test_encodings_separators_and_aliases(tmp_path: Path, content: str, encoding: str) -> None:
    path = tmp_path / "list.csv"
    path.write_bytes(content.encode(encoding))
    src = source(path)
    [raw] = records(src)
    lead = src.to_lead(raw)
    assert lead.email == "ann@x.com"
    assert lead.company in {"Acme", "Müller GmbH"}
    assert lead.employees in {None, 1500}


def test_cp1252_umlauts_survive(tmp_path: Path) -> None:
    path = tmp_path / "de.csv"
    path.write_bytes("Email;Nachname;Firma\nann@x.com;Müller;Bäckerei Weiß\n".encode("cp1252"))
    src = source(path, columns={"last_name": ["Nachname"], "company": ["Firma"]})
    lead = src.to_lead(records(src)[0])
    assert (lead.last_name, lead.company) == ("Müller", "Bäckerei Weiß")


def test_shared_tradeshow_sample() -> None:
    src = source(SAMPLE)
    raws = records(src)
    outcomes: dict[int, str] = {}
    keys: dict[int, str] = {}
    records_named: dict[int, str] = {}
    for raw in raws:
        try:
            lead = src.to_lead(raw)
            outcomes[raw.payload["line"]] = "lead"
            keys[raw.payload["line"]] = lead.lead_key
        except RecordRejectedError as exc:
            outcomes[raw.payload["line"]] = exc.field
            records_named[raw.payload["line"]] = exc.record
    assert records_named == {11: "csv:t/tradeshow.csv:line 11", 15: "csv:t/tradeshow.csv:line 15"}
    assert keys[2] == keys[3] == keys[14]  # the same person scanned three times, by case and spaces
    assert outcomes[4] == "lead"  # no e-mail on the badge, but a phone
    assert outcomes[11] == "email" and outcomes[15] == "email"
    assert len(raws) == 12


def test_multiline_notes_keep_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "notes.csv"
    path.write_text('email,notes\na@x.com,"one\ntwo\nthree"\nb@x.com,ok\n', encoding="utf-8")
    assert [r.payload["line"] for r in records(source(path))] == [2, 5]


def test_resume_from_cursor_and_same_content_under_another_name(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("email\n" + "".join(f"p{i}@x.com\n" for i in range(5)), encoding="utf-8")
    src = source(path, batch_size=2)
    pages = list(src.read({}))
    assert [len(p.records) for p in pages] == [2, 2, 1]
    resumed = list(src.read({pages[0].partition: pages[1].cursor or ""}))
    assert [r.payload["line"] for p in resumed for r in p.records] == [6]
    copy = tmp_path / "b.csv"
    copy.write_bytes(path.read_bytes())
    ids_a = {r.source_record_id for r in records(src)}
    ids_b = {r.source_record_id for r in records(source(copy))}
    assert ids_a == ids_b
    path.write_text(path.read_text() + "p9@x.com\n", encoding="utf-8")
    assert {p.partition for p in src.read({})} != {pages[0].partition}


def test_no_contact_column_is_a_clear_file_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("First Name,Company\nAnn,Acme\n", encoding="utf-8")
    expected = r"bad\.csv has no e-mail or phone column \(headers found: First Name, Company\)"
    with pytest.raises(FatalError, match=expected):
        records(source(path))


@pytest.mark.parametrize("content", ["", "email,name\n", "email,name\n,\n\n"])
def test_empty_files(tmp_path: Path, content: str) -> None:
    path = tmp_path / "e.csv"
    path.write_text(content, encoding="utf-8")
    assert records(source(path)) == []


def test_truncated_row_is_captured_and_mapped(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("email,first name,company\nann@x.com,Ann\n", encoding="utf-8")
    src = source(path)
    lead = src.to_lead(records(src)[0])
    assert (lead.email, lead.first_name, lead.company) == ("ann@x.com", "Ann", None)


ATTENDANCE = """\
Email,First Name,Last Name,Company,Webinar,Joined At,Duration (Minutes)
ann@bigco.example,Ann,Lee,BigCo,Pricing deep dive,2026-11-20 10:02:11,48
bo@acme.example,Bo,Ng,Acme,Pricing deep dive,2026-11-20T10:05:00+01:00,12
cy@acme.example,Cy,Ok,Acme,Pricing deep dive,,0
di@acme.example,Di,Ro,Acme,Pricing deep dive,yesterday,3
"""


def test_attendance_list_rows_carry_one_event_each(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta, timezone

    from connectors.sources.csv_events import CsvEvents

    path = tmp_path / "webinar.csv"
    path.write_text(ATTENDANCE)
    events = CsvEvents(type="event_attended", at_column="Joined At", detail_column="Webinar",
                       property_columns=["Duration (Minutes)"], timezone="Europe/Berlin")
    src = source(path, events=events)
    leads, rejected = [], {}
    for raw in records(src):
        try:
            leads.append(src.to_lead(raw))
        except RecordRejectedError as exc:
            rejected[raw.payload["line"]] = (exc.field, exc.code)
    assert rejected == {4: ("Joined At", "MISSING_EVENT_TIME"), 5: ("Joined At", "INVALID_EVENT_TIME")}
    ann, bo = leads
    [event] = ann.events
    assert (event.type, event.detail, event.properties) == ("event_attended", "Pricing deep dive",
                                                            {"Duration (Minutes)": "48"})
    assert event.at == datetime(2026, 11, 20, 9, 2, 11, tzinfo=UTC)  # 10:02 in Berlin
    assert bo.events[0].at == datetime(2026, 11, 20, 10, 5, tzinfo=timezone(timedelta(hours=1)))
    assert not ann.events_only and ann.company == "BigCo"
    assert "Webinar" not in ann.custom and "Joined At" not in ann.custom
    again = [src.to_lead(raw) for raw in records(src)[:1]]
    assert again[0].events[0].event_id == event.event_id  # a re-import names the same event


def test_attendance_list_without_the_time_column_is_a_clear_file_error(tmp_path: Path) -> None:
    from connectors.sources.csv_events import CsvEvents

    path = tmp_path / "webinar.csv"
    path.write_text("Email,Webinar\nann@bigco.example,Launch\n")
    src = source(path, events=CsvEvents(type="webinar_attended", at_column="Joined At"))
    with pytest.raises(FatalError, match="no column 'Joined At' named in events"):
        records(src)


def test_attendance_mapping_is_validated_with_yaml_path_and_line() -> None:
    from connectors.errors import ConfigError
    from flows.config import parse_config

    text = """\
rules: rules.yaml
sources:
  - type: csv
    name: webinar
    path: webinar.csv
    events:
      type: Event Attended
      at_column: Joined At
      timezone: Mars/Olympus
      colour: blue
"""
    with pytest.raises(ConfigError) as info:
        parse_config(text, "leadsync.yaml")
    problems = "\n".join(info.value.problems)
    assert "leadsync.yaml:7: sources[0].events.type: 'Event Attended' is not an event type" in problems
    assert "leadsync.yaml:9: sources[0].events.timezone: 'Mars/Olympus' is not an IANA time zone" in problems
    assert "leadsync.yaml:10: sources[0].events.colour: unknown setting" in problems
