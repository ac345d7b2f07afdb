"""Normalisation: table-driven over the messes real sources send."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from connectors.errors import RecordRejectedError
from connectors.normalise import (
    build_lead,
    lead_key_for,
    normalise_country,
    normalise_email,
    normalise_name,
    normalise_phone,
    parse_bool,
    parse_int,
)
from connectors.records import RawSubmission

RAW = RawSubmission(source="csv:t", source_record_id="line 7", received_at=datetime(2026, 3, 1, tzinfo=UTC),
                    payload={})


@pytest.mark.parametrize(("given", "expected"), [
    (" Jane.Doe@Acme-Robotics.example ", "jane.doe@acme-robotics.example"),
    ("zoe.nakamura+demo@example.co.uk", "zoe.nakamura+demo@example.co.uk"),
    ("<ann@BigCo.COM>", "ann@bigco.com"),
    ("mailto:bob@x.io", "bob@x.io"),
    ("", None),
    (None, None),
])
def test_email(given: Any, expected: str | None) -> None:
    assert normalise_email(given, "r") == expected


@pytest.mark.parametrize("given", ["lars.holm@@nordic.example", "no-at-sign", "a@b", "jane doe@x.com"])
def test_bad_email_names_record_and_field_but_not_the_value(given: str) -> None:
    with pytest.raises(RecordRejectedError) as info:
        normalise_email(given, "csv:t/line 7")
    assert (info.value.record, info.value.field) == ("csv:t/line 7", "email")
    assert given not in str(info.value)
    assert str(info.value).startswith("record csv:t/line 7: field 'email': not a valid e-mail address")


@pytest.mark.parametrize(("given", "region", "expected"), [
    ("(415) 555-0134", "US", "+14155550134"),
    ("+1 415-555-0134", "GB", "+14155550134"),
    ("+44 (0)20 7946 0958", "US", "+442079460958"),
    ("020 7946 0958", "GB", "+442079460958"),
    ("+46 8 123 456 78", None, "+46812345678"),
    ("", "US", None),
])
def test_phone_e164(given: str, region: str | None, expected: str | None) -> None:
    assert normalise_phone(given, region, "r") == expected


@pytest.mark.parametrize("given", ["call me", "12", "+1 555"])
def test_bad_phone(given: str) -> None:
    with pytest.raises(RecordRejectedError, match="field 'phone'"):
        normalise_phone(given, "US", "r")


@pytest.mark.parametrize(("given", "expected"), [
    ("USA", "US"), ("United States", "US"), ("us", "US"), ("UK", "GB"), ("China", "CN"), ("Sweden", "SE"),
    ("DE", "DE"), (" france ", "FR"), (None, None),
])
def test_country(given: str | None, expected: str | None) -> None:
    assert normalise_country(given, "r") == expected


def test_unknown_country() -> None:
    with pytest.raises(RecordRejectedError, match="field 'country': unknown country"):
        normalise_country("Atlantis", "r")


@pytest.mark.parametrize(("given", "expected"), [
    (" JANE ", "Jane"), ("DOE", "Doe"), ("nakamura-smith", "Nakamura-Smith"), ("McDonald", "McDonald"),
    ("van Dijk", "van Dijk"), ("Zoë", "Zoë"), ("", None),
])
def test_names(given: str, expected: str | None) -> None:
    assert normalise_name(given) == expected


@pytest.mark.parametrize(("given", "expected"), [
    ("Yes", True), ("Y", True), ("TRUE", True), ("1", True), ("on", True), ("Oui", True),
    ("No", False), ("0", False), ("off", False), ("", None), (None, None), ("maybe", None),
])
def test_bools(given: Any, expected: bool | None) -> None:
    assert parse_bool(given) is expected


@pytest.mark.parametrize(("given", "expected"), [("2500", 2500), ("2,500", 2500), ("50-100", 50), ("1000+", 1000),
                                                 ("", None)])
def test_ints(given: str, expected: int | None) -> None:
    assert parse_int(given, "employees", "r") == expected


def test_lead_key_is_the_person_not_the_submission() -> None:
    assert lead_key_for("a@x.com", "csv:1", "1") == lead_key_for("a@x.com", "forms:2", "9")
    assert lead_key_for(None, "csv:1", "1") != lead_key_for(None, "csv:1", "2")


def test_build_lead_needs_a_way_to_reach_the_person() -> None:
    with pytest.raises(RecordRejectedError) as info:
        build_lead(RAW, {"first_name": "Li", "company": "Shenzhen Example"})
    assert info.value.code == "MISSING_CONTACT" and info.value.record == "csv:t/line 7"


def test_build_lead_full() -> None:
    lead = build_lead(RAW, {
        "email": " Jane.Doe@Acme-Robotics.example ", "full_name": "Jane Q Doe", "phone": "(415) 555-0134",
        "country": "USA", "employees": "2,500", "consent": {"email": "Yes"},
        "attribution": {"source": "google", "gclid": " abc "}, "product_interest": "Routing;Scoring",
        "submitted_at": "2026-03-04T17:31:09+01:00",
    }, default_region="GB")
    assert (lead.email, lead.first_name, lead.last_name, lead.phone) == (
        "jane.doe@acme-robotics.example", "Jane Q", "Doe", "+14155550134")
    assert (lead.country, lead.employees, lead.consent.email, lead.attribution.gclid) == ("US", 2500, True, "abc")
    assert lead.product_interest == ["Routing", "Scoring"]
    assert lead.received_at.isoformat() == "2026-03-04T17:31:09+01:00"
    assert lead.email_domain == "acme-robotics.example"


def test_unreadable_phone_does_not_lose_a_reachable_lead() -> None:
    lead = build_lead(RAW, {"email": "aisha@cafes.example", "phone": "0207 946 0321"}, default_region="US")
    assert lead.phone is None and lead.custom["phone_as_written"] == "0207 946 0321"
    with pytest.raises(RecordRejectedError, match="field 'phone'"):
        build_lead(RAW, {"phone": "0207 946 0321"}, default_region="US")


def test_country_code_domain_sets_the_phone_region() -> None:
    lead = build_lead(RAW, {"email": "zoe@example.co.uk", "phone": "020 7946 0958"}, default_region="US")
    assert lead.phone == "+442079460958"
