"""Phone numbers: spreadsheet damage flagged not 'fixed', extensions kept, the second number kept apart."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from connectors.errors import RecordRejectedError
from connectors.normalise import build_lead
from connectors.people.phones import PhoneReading, labelled_numbers, read_phone
from connectors.records import RawSubmission
from connectors.sources.csv_import import CsvImportConfig, CsvImportSource

RAW = RawSubmission(source="t", source_record_id="1", received_at=datetime(2026, 3, 1, tzinfo=UTC), payload={})


@pytest.mark.parametrize(("text", "region", "expected"), [
    # spreadsheets: digits lost in scientific notation are never rebuilt into another number
    ("3.12457E+10", "US", PhoneReading(problem="spreadsheet_mangled")),
    ("4.47911E+11", "GB", PhoneReading(problem="spreadsheet_mangled")),
    ("4.15555E+09", "US", PhoneReading(problem="spreadsheet_mangled")),
    ("4,47911E+11", "DE", PhoneReading(problem="spreadsheet_mangled")),
    ("4.15555e9", "US", PhoneReading(problem="spreadsheet_mangled")),
    # ... but a cell that kept every digit reads, flagged
    ("4.155550134E+09", "US", PhoneReading("+14155550134", flags=("from_spreadsheet",))),
    ("4155550134.0", "US", PhoneReading("+14155550134", flags=("from_spreadsheet",))),
    ("447911123456.0", "GB", PhoneReading("+447911123456", flags=("from_spreadsheet",))),
    ("447911123456.0", "US", PhoneReading(problem="spreadsheet_mangled")),  # lost its "+": not guessed back
    ("31245700000.0", "US", PhoneReading(problem="spreadsheet_mangled")),  # nor made Dutch
    ("7911123456.0", "US", PhoneReading(problem="spreadsheet_mangled")),  # GB mobile that lost its 0: not a US number
    # extensions kept apart from E.164
    ("(415) 555-0134 x123", "US", PhoneReading("+14155550134", "123")),
    ("415-555-0134 ext. 123", "US", PhoneReading("+14155550134", "123")),
    ("415-555-0134 #123", "US", PhoneReading("+14155550134", "123")),
    ("+971 4 555 0100 ext 12", "US", PhoneReading("+97145550100", "12")),
    ("+44 20 7946 0958 extn 4", "US", PhoneReading("+442079460958", "4")),
    # plain numbers
    ("(415) 555-0134", "US", PhoneReading("+14155550134")),
    ("020 7946 0958", "GB", PhoneReading("+442079460958")),
    ("call me", "US", PhoneReading(problem="unreadable")),
    ("+1 555", "US", PhoneReading(problem="not_possible")),
])
def test_read_phone(text: str, region: str, expected: PhoneReading) -> None:
    assert read_phone(text, region) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("T: +44 161 496 0732 | M: +44 7700 900 418", [("phone", "+44 161 496 0732"), ("mobile", "+44 7700 900 418")]),
    ("Direct: +1 415 555 0134 x 22\nMobile: +1 415 555 0199", [("phone", "+1 415 555 0134 x 22"),
                                                             ("mobile", "+1 415 555 0199")]),
    ("Tel +49 89 1234567 / Handy +49 151 12345678", [("phone", "+49 89 1234567"), ("mobile", "+49 151 12345678")]),
    ("Cell: (415) 555-0199", [("mobile", "(415) 555-0199")]),
])
def test_labelled_numbers(text: str, expected: list[tuple[str, str]]) -> None:
    assert labelled_numbers(text, "US") == expected


@pytest.mark.parametrize(("fields", "phone", "extension", "mobile", "flags"), [
    ({"phone": "(415) 555-0134 x 22", "mobile": "415 555 0199"}, "+14155550134", "22", "+14155550199", []),
    ({"phone": "T: +44 161 496 0732 | M: +44 7700 900 418"}, "+441614960732", None, "+447700900418", []),
    ({"work_phone": "+1 415 555 0134", "phone": "+1 415 555 0199"}, "+14155550134", None, "+14155550199", []),
    ({"mobile": "+1 415 555 0199"}, "+14155550199", None, "+14155550199", []),
    ({"phone": "3.12457E+10", "mobile": "+1 415 555 0199"}, "+14155550199", None, "+14155550199",
     ["phone:spreadsheet_mangled"]),
    ({"phone": "4.47911E+11"}, None, None, None, ["phone:spreadsheet_mangled"]),
    ({"phone": "+1-415-555-0134 (cell)"}, "+14155550134", None, "+14155550134", []),
    ({"phone": "+1 415 555 0134 (work), +1 415 555 0199 (mobile)"}, "+14155550134", None, "+14155550199", []),
    ({"phone": "O: 415-555-0134, C: 415-555-0199"}, "+14155550134", None, "+14155550199", []),
    ({"phone": "415-555-0134 / 415-555-0199"}, "+14155550134", None, "+14155550199", []),
    ({"phone": "+1 415 555 0134 ext.12"}, "+14155550134", "12", None, []),
    ({"phone": "Mobile: +44 7700 900418"}, "+447700900418", None, "+447700900418", []),
])
def test_build_lead_numbers(fields: dict[str, Any], phone: str | None, extension: str | None, mobile: str | None,
                            flags: list[str]) -> None:
    lead = build_lead(RAW, {"email": "a@b.example", **fields})
    assert (lead.phone, lead.phone_extension, lead.mobile_phone, lead.phone_flags) == (phone, extension, mobile, flags)


def test_mangled_number_is_kept_as_written_and_never_in_e164() -> None:
    lead = build_lead(RAW, {"email": "a@b.example", "phone": "3.12457E+10"})
    assert lead.phone is None and lead.custom["phone_as_written"] == "3.12457E+10"


def test_mangled_number_alone_rejects_with_the_reason() -> None:
    with pytest.raises(RecordRejectedError, match="field 'phone': mangled by a spreadsheet") as info:
        build_lead(RAW, {"first_name": "Carlos", "phone": "4.15555E+09"})
    assert info.value.code == "PHONE_MANGLED"


def test_csv_mobile_column_is_its_own_field(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_text("First Name,Email,Phone,Cell Phone,Work Phone,Country\n"
                    "Emile,emile@sge.example,01 23 45 67 89,06 12 34 56 78,,France\n"
                    "Li,,+86 755 8888 0000,138 0013 8000,,China\n"
                    "Ann,ann@x.example,415 555 0199,,415 555 0134 ext 7,USA\n", encoding="utf-8")
    source = CsvImportSource(CsvImportConfig(name="t", path=str(path), default_region="FR"))
    page = next(iter(source.read({})))
    emile, li, ann = (source.to_lead(raw) for raw in page.records)
    assert (emile.phone, emile.mobile_phone) == ("+33123456789", "+33612345678")
    assert (li.phone, li.mobile_phone) == ("+8675588880000", "+8613800138000")
    assert (ann.phone, ann.phone_extension, ann.mobile_phone) == ("+14155550134", "7", "+14155550199")


def test_crm_gets_the_extension_with_the_number_and_the_mobile_apart() -> None:
    from connectors.crm.mapping import DEFAULT_FIELDS
    from connectors.crm.plan import desired_fields
    from connectors.records import Decision

    lead = build_lead(RAW, {"email": "a@b.example", "phone": "(415) 555-0134 x 22", "mobile": "415 555 0199"})
    wanted = desired_fields(lead, Decision(lead_key=lead.lead_key, qualification="qualified"))
    assert (wanted["phone"], wanted["mobile_phone"]) == ("+14155550134 ext. 22", "+14155550199")
    assert (DEFAULT_FIELDS["salesforce"]["mobile_phone"], DEFAULT_FIELDS["hubspot"]["mobile_phone"]) == (
        "MobilePhone", "mobilephone")
