"""Placing leads from postal code or city + country with the packaged offline data (no network)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connectors.geo import fold, place
from connectors.normalise import build_lead
from connectors.records import RawSubmission
from rules.conditions import miles_between


@pytest.mark.parametrize(("city", "state", "postal_code", "country", "near", "how"), [
    (None, None, "02139", "US", (42.36, -71.10), "postal code 02139"),        # Cambridge MA by ZIP
    (None, None, "02139-4307", None, (42.36, -71.10), "postal code 02139"),   # ZIP+4, no country: still US
    ("Wrong City", None, "10001", "US", (40.75, -73.99), "postal code 10001"),  # the ZIP wins over the city
    ("Portland", "ME", None, "US", (43.66, -70.26), "city Portland, US"),    # the state picks among namesakes
    ("Portland", "OR", None, "US", (45.52, -122.68), "city Portland, US"),
    ("Portland", None, None, "US", (45.52, -122.68), "city Portland, US"),   # no state: the most populous
    ("são paulo", None, None, "BR", (-23.55, -46.64), "city são paulo, BR"),  # case and accents do not matter
    ("Sao Paulo", None, None, "BR", (-23.55, -46.64), "city Sao Paulo, BR"),
    ("Stockholm", None, None, "se", (59.33, 18.07), "city Stockholm, SE"),
])
def test_places(city: str | None, state: str | None, postal_code: str | None, country: str | None,
                near: tuple[float, float], how: str) -> None:
    where = place(city, state, postal_code, country)
    assert where.placed and where.how == how
    assert where.latitude is not None and where.longitude is not None
    assert miles_between((where.latitude, where.longitude), near) < 5


@pytest.mark.parametrize(("city", "postal_code", "country", "why"), [
    ("Smallville", None, "US", "not among the cities of 15,000 people or more"),
    (None, "SW1A 1AA", "GB", "only US ZIP codes"),
    ("Boston", None, None, "needs its country"),
    (None, None, "US", "no postal code or city"),
    (None, "00000", "US", "US ZIP code 00000 is not known"),  # no city to fall back on
])
def test_unplaced_says_why(city: str | None, postal_code: str | None, country: str | None, why: str) -> None:
    where = place(city, None, postal_code, country)
    assert not where.placed and why in where.how


def test_fold() -> None:
    assert fold("  Saint-Étienne ") == "saint etienne"


def test_normalisation_sets_coordinates() -> None:
    raw = RawSubmission(source="t", source_record_id="1", received_at=datetime(2026, 3, 2, tzinfo=UTC), payload={})
    lead = build_lead(raw, {"email": "a@b.example", "city": "Worcester", "state": "MA", "country": "USA"})
    assert lead.latitude is not None and lead.longitude is not None
    assert miles_between((lead.latitude, lead.longitude), (42.36, -71.06)) < 50  # ~40 miles from Boston
    unplaced = build_lead(raw, {"email": "a@b.example", "city": "Atlantis", "country": "US"})
    assert unplaced.latitude is None and unplaced.longitude is None


def test_miles_between_known_distances() -> None:
    assert miles_between((40.7128, -74.0060), (42.3601, -71.0589)) == pytest.approx(190, abs=3)  # New York-Boston
    assert miles_between((51.5074, -0.1278), (48.8566, 2.3522)) == pytest.approx(213, abs=3)  # London-Paris
    assert miles_between((0, 0), (0, 0)) == 0


def test_zip_lookups_switch_to_the_index_with_the_same_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    import connectors.geo as geo

    one_by_one = [place(None, None, z, "US") for z in ("02139", "94105", "10001")]
    monkeypatch.setattr(geo, "_zips_seen", {})
    monkeypatch.setattr(geo, "_ZIPS_BEFORE_INDEX", 0)  # a large import: the full index from the first ZIP
    assert [place(None, None, z, "US") for z in ("02139", "94105", "10001")] == one_by_one
    assert geo._zip_index.cache_info().currsize == 1
