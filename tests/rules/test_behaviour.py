"""Behaviour rules over the history: conditions on event properties, windows, caps, negative events, the
explanation's counts and dates; distance from an office; loader errors with line and path."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from connectors.errors import ConfigError
from connectors.records import Event, Lead
from rules import DecisionContext, Ruleset
from rules.explain import LOCATION_UNPLACED, explain
from rules.reference import decide_interpreted
from tests.rules.builders import MONDAY_10_UTC, ruleset

BEHAVIOUR: list[dict[str, Any]] = [
    {"id": "pricing", "event": "page_view", "when": {"path": {"matches": "^/pricing"}}, "points": 10, "max": 30},
    {"id": "visit", "event": "page_view", "when": {"not": {"path": {"starts_with": "/careers"}}}, "points": 5,
     "max": 12, "window_days": 30},
    {"id": "careers", "event": "page_view", "when": {"path": {"starts_with": "/careers"}}, "points": -10},
    {"id": "spring-click", "event": ["email_click", "sms_click"],
     "when": {"all": [{"campaign": {"equals": "Spring Launch"}}, {"url": {"contains": "demo"}}]}, "points": 8},
    {"id": "human-open", "event": "email_open", "when": {"machine_open": {"not_equals": True}}, "points": 2},
    {"id": "reply", "event": "email_reply", "when": {"detail": {"matches": "(?i)pricing"}}, "points": 15},
    {"id": "unsubscribe", "event": "unsubscribe", "points": -50},
]
RULES = ruleset(scoring={"mql_threshold": 60, "behaviour": BEHAVIOUR})


def ev(kind: str, days_ago: float, detail: str | None = None, **properties: Any) -> Event:
    return Event(type=kind, at=MONDAY_10_UTC - timedelta(days=days_ago), detail=detail, properties=properties)


def decide(rs: Ruleset, events: list[Event], **fields: Any) -> Any:
    lead = Lead(lead_key="k", source="t", source_record_id="1", received_at=MONDAY_10_UTC, email="a@b.example",
                events=events, **fields)
    ctx = DecisionContext(now=MONDAY_10_UTC)
    ours = rs.decide([lead], ctx).decisions[0]
    assert ours == decide_interpreted(rs, [lead], ctx).decisions[0]
    return ours


@pytest.mark.parametrize(("events", "lines"), [
    ([ev("page_view", 1, path="/pricing")], {"pricing": 10, "visit": 5}),          # every rule it meets counts it
    ([ev("page_view", 1, path="/pricing/enterprise")] * 4, {"pricing": 30, "visit": 12}),  # caps
    ([ev("page_view", 1, path="/PRICING")], {"pricing": 10, "visit": 5}),           # case-insensitive by default
    ([ev("page_view", 1, path="/blog/pricing")], {"visit": 5}),                     # ^ anchors the path
    ([ev("page_view", 1)], {"visit": 5}),                                           # no path: only the plain visit
    ([ev("page_view", 31, path="/pricing")], {"pricing": 10}),                      # the visit's 30-day window passed
    ([ev("page_view", 90, path="/pricing")], {}),                                   # the pricing rule's 90 days too
    ([ev("page_view", 2, path="/careers/jobs"), ev("page_view", 1, path="/careers")], {"careers": -20}),
    ([ev("email_click", 1, campaign="Spring Launch", url="https://x.example/demo?x=1"),
      ev("sms_click", 2, campaign="spring launch", url="https://x.example/DEMO"),
      ev("email_click", 1, campaign="Autumn", url="https://x.example/demo"),
      ev("email_click", 1, campaign="Spring Launch", url="https://x.example/blog")], {"spring-click": 16}),
    ([ev("email_open", 1, machine_open=True), ev("email_open", 1, machine_open=False), ev("email_open", 1)],
     {"human-open": 4}),                                                            # Apple MPP opens do not count
    ([ev("email_reply", 1, detail="Re: pricing for 50 seats"), ev("email_reply", 1, detail="Out of office")],
     {"reply": 15}),                                                                # `detail` reads the event's detail
    ([ev("unsubscribe", 3), ev("page_view", 1, path="/pricing")], {"pricing": 10, "visit": 5, "unsubscribe": -50}),
    ([ev("webinar", 1, path="/pricing")], {}),                                      # a type no rule names
])
def test_behaviour_rules(events: list[Event], lines: dict[str, float]) -> None:
    d = decide(RULES, events)
    assert {line.rule_id: line.points for line in d.score_lines} == lines
    assert d.behaviour_score == sum(lines.values())


def test_counts_and_dates_in_the_explanation() -> None:
    d = decide(RULES, [ev("page_view", 9, path="/pricing"), ev("page_view", 1, path="/pricing"),
                       ev("page_view", 3, path="/pricing"), ev("page_view", 2, path="/pricing")])
    assert "pricing +30 (4 x 10, capped at 30, 2026-02-21 to 2026-03-01)" in d.explanation
    assert "visit +12 (4 x 5, capped at 12, 2026-02-21 to 2026-03-01)" in d.explanation
    one = decide(RULES, [ev("unsubscribe", 1)])
    assert "unsubscribe -50 (1 x -50, 2026-03-01)" in one.explanation
    assert explain(one, 60) == one.explanation  # the one function, fed a Decision, writes the same paragraph


def test_short_events_form_and_list_form_together() -> None:
    pricing = {"id": "pricing", "event": "page_view", "when": {"path": {"equals": "/pricing"}}, "points": 10}
    rs = ruleset(scoring={"mql_threshold": 60, "events": {"email_open": {"points": 2, "max": 4}},
                          "behaviour": [pricing]})
    d = decide(rs, [ev("email_open", 1)] * 3 + [ev("page_view", 1, path="/pricing")])
    assert [(line.rule_id, line.points) for line in d.score_lines] == [("event:email_open", 4), ("pricing", 10)]


def test_history_days_is_the_longest_window_the_rules_read() -> None:
    assert RULES.history_days() == 90
    assert ruleset().history_days() == 0
    longer = ruleset(scoring={"mql_threshold": 60, "events": {"x": {"points": 1, "window_days": 400}}},
                     qualification={"disqualify": [{"id": "u", "when": {"events.unsubscribe.within_500d": {"gte": 1}},
                                                    "reason": "Unsubscribed"}]})
    assert longer.history_days() == 501  # an event exactly 500 days old still counts for within_500d


def test_unwindowed_event_counts_include_compacted_history() -> None:
    from connectors.records import ProfileState

    rs = ruleset(scoring={"mql_threshold": 60, "rules": [
        {"id": "loyal", "when": {"events.webinar": {"gte": 3}}, "points": 10}]})
    lead = Lead(lead_key="k", source="t", source_record_id="1", received_at=MONDAY_10_UTC, email="a@b.example",
                events=[ev("webinar", 1)])
    past = ProfileState(stage="nurture", compacted_event_counts={"webinar": 2})
    for ctx in (DecisionContext(now=MONDAY_10_UTC), DecisionContext(now=MONDAY_10_UTC, profiles={"k": past})):
        ours, reference = rs.decide([lead], ctx).decisions[0], decide_interpreted(rs, [lead], ctx).decisions[0]
        assert ours == reference
        assert ours.fit_score == (10 if ctx.profiles else 0)


NEAR_BOSTON = {"location": {"within_miles": {"of": "boston", "miles": 100}}}
BOSTON_RULES = ruleset(offices={"boston": {"latitude": 42.3601, "longitude": -71.0589, "label": "Boston office"}},
                       scoring={"mql_threshold": 60, "rules": [
                           {"id": "near", "when": NEAR_BOSTON, "points": 10},
                           {"id": "far", "when": {"not": NEAR_BOSTON}, "points": 1}]})


@pytest.mark.parametrize(("where", "near", "note"), [
    ({"latitude": 42.3647, "longitude": -71.1042}, True, False),     # Cambridge MA
    ({"latitude": 41.824, "longitude": -71.4128}, True, False),      # Providence RI, ~41 miles
    ({"latitude": 43.6591, "longitude": -70.2568}, True, False),     # Portland ME, ~100 miles less a little
    ({"latitude": 40.7128, "longitude": -74.006}, False, False),     # New York, ~190 miles
    ({"latitude": 42.3601}, False, True),                            # half a position is no position
    ({}, False, True),
])
def test_within_miles_of_the_office(where: dict[str, float], near: bool, note: bool) -> None:
    d = decide(BOSTON_RULES, [], **where)
    assert d.fit_score == (10 if near else 1)
    assert (LOCATION_UNPLACED in d.explanation) is note


@pytest.mark.parametrize(("sections", "problem"), [
    ({"scoring": {"mql_threshold": 60, "behaviour": [{"id": "p", "event": "page_view",
                                                      "when": {"path": {"matchez": "^/pricing"}}, "points": 1}]}},
     "rules.yaml:9: scoring.behaviour[0].when.path.matchez: unknown operator 'matchez'"),
    ({"scoring": {"mql_threshold": 60, "behaviour": [{"id": "p", "event": "page_view",
                                                      "when": {"path": {"matches": "(unclosed"}}, "points": 1}]}},
     "rules.yaml:9: scoring.behaviour[0].when.path.matches: invalid regular expression"),
    ({"scoring": {"mql_threshold": 60, "events": {"x": {"points": 1}},
                  "behaviour": [{"id": "event:x", "event": "x", "points": 1}]}},
     "rules.yaml:8: scoring.behaviour[0].id: duplicate id 'event:x'"),
    ({"scoring": {"mql_threshold": 60, "behaviour": [{"id": "p", "event": "x", "points": 1, "window_days": 0}]}},
     "rules.yaml:8: scoring.behaviour[0].window_days: Input should be greater than or equal to 1"),
    ({"scoring": {"mql_threshold": 60, "rules": [
        {"id": "near", "when": {"location": {"within_miles": {"of": "paris", "miles": 100}}}, "points": 1}]}},
     "rules.yaml:9: scoring.rules[0].when.location.within_miles: unknown office 'paris' (define it under offices:"),
    ({"scoring": {"mql_threshold": 60, "rules": [
        {"id": "near", "when": {"city": {"within_miles": {"of": "paris", "miles": 100}}}, "points": 1}]}},
     "scoring.rules[0].when.city.within_miles: within_miles applies to the field location"),
])
def test_loader_reports_behaviour_and_distance_errors_with_line_and_path(sections: dict[str, Any],
                                                                         problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        ruleset(**sections)
    assert any(problem in p for p in caught.value.problems), caught.value.problems
