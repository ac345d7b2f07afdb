"""Every operator of the closed vocabulary, table-driven, plus the errors ops people will make."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from connectors.records import Consent, Event, Lead
from rules.conditions import ConditionError, compile_condition
from rules.facts import Facts

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
LISTS = {"freemail": ["gmail.com", "Yahoo.com"]}


def facts(**fields: Any) -> Facts:
    events = fields.pop("events", [])
    lead = Lead(lead_key="k", source="t", source_record_id="1", received_at=NOW,
                events=[Event(type=t, at=NOW - timedelta(days=d)) for t, d in events], **fields)
    return Facts(lead, NOW, fields.get("account_owner_"), None)


CASES: list[tuple[dict[str, Any], dict[str, Any], bool]] = [
    ({"country": {"equals": "us"}}, {"country": "US"}, True),
    ({"country": {"equals": "us", "case_sensitive": True}}, {"country": "US"}, False),
    ({"country": {"not_equals": "US"}}, {"country": "SE"}, True),
    ({"country": {"in": ["US", "CA"]}}, {"country": "ca"}, True),
    ({"country": {"in": ["US", "CA"]}}, {}, False),
    ({"country": {"not_in": ["US", "CA"]}}, {"country": "SE"}, True),
    ({"email_domain": {"in_list": "freemail"}}, {"email": "a@yahoo.com"}, True),
    ({"email_domain": {"in_list": "freemail"}}, {"email": "a@bigco.com"}, False),
    ({"title": {"matches": r"\bvp\b"}}, {"title": "VP Sales"}, True),
    ({"title": {"matches": r"\bvp\b"}}, {"title": "MVP hunter"}, False),
    ({"title": {"matches": r"\bvp\b"}}, {}, False),
    ({"phone": {"exists": True}}, {"phone": "+14155550134"}, True),
    ({"phone": {"exists": False}}, {}, True),
    ({"company": {"exists": True}}, {"company": ""}, False),
    ({"employees": {"gt": 100}}, {"employees": 101}, True),
    ({"employees": {"gt": 100}}, {"employees": 100}, False),
    ({"employees": {"gte": 100}}, {"employees": 100}, True),
    ({"employees": {"lt": 50}}, {"employees": 49}, True),
    ({"employees": {"lte": 50}}, {"employees": 51}, False),
    ({"employees": {"lt": 50}}, {}, False),  # unknown size is not "small"
    ({"employees": {"between": [50, 100]}}, {"employees": 50}, True),
    ({"employees": {"between": [50, 100]}}, {"employees": 100}, True),
    ({"employees": {"between": [50, 100]}}, {"employees": 101}, False),
    ({"employees": {"gte": 10, "lte": 20}}, {"employees": 15}, True),
    ({"inquiry": {"contains": "DEMO"}}, {"inquiry": "can we get a demo?"}, True),
    ({"product_interest": {"contains": "routing"}}, {"product_interest": ["Routing", "Sync"]}, True),
    ({"email": {"starts_with": "info@"}}, {"email": "info@x.com"}, True),
    ({"email": {"ends_with": ".EDU"}}, {"email": "a@mit.edu"}, True),
    ({"consent.email": {"equals": True}}, {"consent": Consent(email=True)}, True),
    ({"custom.Lead Rating": {"equals": "hot"}}, {"custom": {"Lead Rating": "Hot"}}, True),
    ({"events.pricing_page_visit": {"gte": 2}}, {"events": [("pricing_page_visit", 1), ("pricing_page_visit", 40)]},
     True),
    ({"events.pricing_page_visit.within_30d": {"gte": 2}},
     {"events": [("pricing_page_visit", 1), ("pricing_page_visit", 40)]}, False),
    ({"days_since_last_activity": {"gt": 30}}, {"events": [("email_open", 31)]}, True),
    ({"days_since_last_activity": {"exists": False}}, {}, True),
    ({"all": [{"country": {"equals": "US"}}, {"employees": {"gte": 500}}]}, {"country": "US", "employees": 10},
     False),
    ({"any": [{"country": {"equals": "US"}}, {"employees": {"gte": 500}}]}, {"country": "US", "employees": 10},
     True),
    ({"not": {"country": {"equals": "US"}}}, {"country": "US"}, False),
    ({}, {}, True),
]


@pytest.mark.parametrize(("condition", "lead", "expected"), CASES)
def test_operator(condition: dict[str, Any], lead: dict[str, Any], expected: bool) -> None:
    assert compile_condition(condition, ["when"], LISTS)(facts(**lead)) is expected


ERRORS: list[tuple[Any, list[str | int], str]] = [
    ({"titel": {"equals": "x"}}, ["when", "titel"], "unknown field 'titel'"),
    ({"title": {"like": "x"}}, ["when", "title", "like"], "unknown operator 'like'"),
    ({"employees": {"between": [100, 50]}}, ["when", "employees", "between"], "impossible range"),
    ({"employees": {"gte": 500, "lte": 100}}, ["when", "employees"], "impossible range"),
    ({"employees": {"gt": "many"}}, ["when", "employees", "gt"], "expects a number"),
    ({"title": {"matches": "("}}, ["when", "title", "matches"], "invalid regular expression"),
    ({"email_domain": {"in_list": "nope"}}, ["when", "email_domain", "in_list"], "unknown list 'nope'"),
    ({"all": []}, ["when", "all"], "non-empty list"),
    ({"a": {"exists": True}, "b": {"exists": True}}, ["when"], "exactly one key"),
    ({"phone": {"exists": "yes"}}, ["when", "phone", "exists"], "true or false"),
    ({"any": [{"country": {"in": "US"}}]}, ["when", "any", 0, "country", "in"], "takes a list"),
]


@pytest.mark.parametrize(("condition", "path", "message"), ERRORS)
def test_condition_errors_name_the_path(condition: Any, path: list[str | int], message: str) -> None:
    with pytest.raises(ConditionError, match=message) as info:
        compile_condition(condition, ["when"], LISTS)
    assert info.value.path == path
