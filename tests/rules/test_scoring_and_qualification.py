from __future__ import annotations

from typing import Any

import pytest

from rules import DecisionContext
from tests.rules.builders import MONDAY_10_UTC, lead, ruleset

SEED_EVENTS = {"email_open": {"points": 2}, "email_click": {"points": 4}, "whitepaper_download": {"points": 10},
               "website_visit": {"points": 5}, "pricing_page_visit": {"points": 10}, "event_attended": {"points": 25},
               "careers_page_visit": {"points": -5}, "unsubscribe": {"points": -50}}
SEED_FIT = [
    {"id": "industry", "when": {"industry": {"in": ["software"]}}, "points": 10},
    {"id": "size", "when": {"employees": {"between": [50, 100]}}, "points": 10},
    {"id": "region", "when": {"country": {"in": ["US", "CA"]}}, "points": 10},
]
SEED = ruleset(scoring={"mql_threshold": 60, "rules": SEED_FIT, "events": SEED_EVENTS,
                        "decay": {"after_days": 30, "percent_per_month": 25}})


def decide(rs: Any, **kwargs: Any) -> Any:
    return rs.decide([lead(**kwargs)], DecisionContext(now=MONDAY_10_UTC)).decisions[0]


@pytest.mark.parametrize(("events", "fit", "score", "mql"), [
    ([], {}, 0, False),
    ([("email_open", 1), ("email_click", 1), ("whitepaper_download", 1), ("website_visit", 1),
      ("pricing_page_visit", 1)], {"industry": "Software", "employees": 75, "country": "US"}, 61, True),
    ([("event_attended", 1), ("pricing_page_visit", 1), ("pricing_page_visit", 2)],
     {"industry": "software", "country": "CA"}, 65, True),
    ([("event_attended", 1), ("careers_page_visit", 1), ("careers_page_visit", 2)], {}, 15, False),
    ([("unsubscribe", 1), ("event_attended", 1)], {"employees": 60}, -15, False),
])
def test_seed_example_points(events: list[tuple[str, float]], fit: dict[str, Any], score: float, mql: bool) -> None:
    d = decide(SEED, events=events, company="Co", **fit)
    assert (d.score, d.mql) == (score, mql)
    assert d.score == sum(line.points for line in d.score_lines)


def test_caps_and_windows() -> None:
    rs = ruleset(scoring={"mql_threshold": 60, "events": {
        "website_visit": {"points": 5, "max": 12, "window_days": 30},
        "unsubscribe": {"points": -50, "max": 30}}})
    d = decide(rs, events=[("website_visit", 1)] * 5 + [("website_visit", 31)])
    assert d.score == 12 and "capped" in d.score_lines[0].detail
    assert decide(rs, events=[("website_visit", 31)]).score == 0  # outside the window
    assert decide(rs, events=[("unsubscribe", 1)]).score == -30  # caps bound negative totals too


@pytest.mark.parametrize(("idle_days", "expected"), [
    (30, 25.0),       # decay starts after 30 days, not on day 30
    (60, 18.75),      # one month past: 25 % of behaviour lost
    (90, 12.5),
    (600, 0.0),       # never below zero from decay alone
])
def test_decay_boundaries(idle_days: float, expected: float) -> None:
    rs = ruleset(scoring={"mql_threshold": 60, "events": {"event_attended": {"points": 25, "window_days": 3650}},
                          "decay": {"after_days": 30, "percent_per_month": 25}})
    d = decide(rs, events=[("event_attended", idle_days)])
    assert d.behaviour_score == expected


@pytest.mark.parametrize(("fit", "grade"), [(30, "A"), (29, "B"), (20, "B"), (19, "C"), (10, "C"), (9, "D"),
                                            (-5, "D")])
def test_grade_boundaries(fit: float, grade: str) -> None:
    rs = ruleset(scoring={"mql_threshold": 60, "rules": [{"id": "fit", "when": {}, "points": fit}]})
    assert decide(rs).grade == grade


QUAL = {"disqualify": [{"id": "competitor", "when": {"email_domain": {"in": ["rival.example"]}},
                        "reason": "Competitor"},
                       {"id": "test-lead", "when": {"is_test": {"equals": True}}, "reason": "Test lead"}],
        "require": [{"id": "has-company", "when": {"company": {"exists": True}}},
                    {"id": "has-country", "when": {"country": {"exists": True}}}]}


@pytest.mark.parametrize(("fields", "qualification", "reasons", "failed", "status"), [
    ({"company": "Co", "country": "US"}, "qualified", [], [], "New"),
    ({"company": "Co"}, "unqualified", [], ["has-country"], "Unqualified"),
    ({}, "unqualified", [], ["has-company", "has-country"], "Unqualified"),
    ({"email": "x@rival.example", "company": "Rival", "country": "US"}, "disqualified", ["Competitor"], [],
     "Unqualified"),
    ({"email": "x@rival.example", "is_test": True}, "disqualified", ["Competitor", "Test lead"],
     ["has-company", "has-country"], "Unqualified"),
])
def test_qualification(fields: dict[str, Any], qualification: str, reasons: list[str], failed: list[str],
                       status: str) -> None:
    d = decide(ruleset(qualification=QUAL), **fields)
    assert (d.qualification, d.disqualify_reasons, d.failed_checks, d.status) == (qualification, reasons, failed,
                                                                                  status)


def test_unqualified_lead_is_never_an_mql() -> None:
    rs = ruleset(qualification=QUAL, scoring={"mql_threshold": 10, "rules": [{"id": "all", "when": {},
                                                                             "points": 50}]})
    assert decide(rs).mql is False
    assert decide(rs, company="Co", country="US").mql is True


def test_nurture_add_remove_and_consent() -> None:
    rs = ruleset(nurture=[{"id": "early", "list": "Early", "when": {"mql": {"equals": False}}},
                          {"id": "hot", "list": "Hot", "when": {"mql": {"equals": True}}}])
    d = decide(rs, consent={"email": True})
    assert (d.lists_add, d.lists_remove, d.status) == (["Early"], ["Hot"], "Nurturing")
    refused = decide(rs, consent={"email": False})
    assert (refused.lists_add, refused.lists_remove) == ([], ["Early", "Hot"])
    unknown = decide(rs)
    assert unknown.lists_add == ["Early"]  # no answer is not a refusal


def test_explanation_names_rules_points_owner_and_version() -> None:
    d = decide(SEED, events=[("event_attended", 1)], industry="software", company="Co")
    assert "industry +10" in d.explanation and "event:event_attended +25 (1 x 25, 2026-03-01)" in d.explanation
    assert "Routed to queue Unassigned" in d.explanation
    assert d.ruleset_version.startswith("7 (sha256:") and d.ruleset_version in d.explanation
    again = decide(SEED, events=[("event_attended", 1)], industry="software", company="Co")
    assert again.explanation == d.explanation  # deterministic: a re-sync writes nothing
