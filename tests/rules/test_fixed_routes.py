"""Assignments that cannot fail (a queue, an owner without availability, a plain round-robin team), as a rule's
or as the default route: the compiled engine places them from routes made when the ruleset is built, the
interpreted reference through `Router.place`. Same decisions, explanations, rotation and assignments."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.records import CrmRecord
from rules import DecisionContext, RotationState
from rules.reference import decide_interpreted
from tests.rules.builders import MONDAY_10_UTC, lead, ruleset
from tests.rules.test_compiled import assert_same

A, B, C, D = "alice@ourco.example", "bob@ourco.example", "carol@ourco.example", "Dave@ourco.example"
DEFAULTS: list[dict[str, Any]] = [{"queue": "Inbound"}, {"owner": D}, {"team": "plain"}, {"team": "capped"},
                                  {"owner": C}]


@pytest.mark.parametrize("default", DEFAULTS, ids=["queue", "owner", "plain-team", "capped-team",
                                                   "owner-with-availability"])
@pytest.mark.parametrize("never_reassign_owned", [False, True])
def test_fixed_routes_place_leads_as_the_general_router_does(default: Any, never_reassign_owned: bool) -> None:
    rs = ruleset(
        scoring={"mql_threshold": 20, "rules": [{"id": "big", "when": {"employees": {"gte": 1000}}, "points": 25}]},
        routing={"teams": {"plain": {"members": [A, B, C]}, "capped": {"members": [A, B], "capacity_per_day": 2}},
                 "reps": {C: {"working_days": ["tue"]}},
                 "rules": [{"id": "acct", "when": {"employees": {"lt": 5}}, "assign": "account_owner"},
                           {"id": "hot", "when": {"mql": {"equals": True}}, "assign": {"team": "plain"}},
                           {"id": "de", "when": {"country": {"equals": "DE"}}, "assign": {"owner": D}},
                           {"id": "fr", "when": {"country": {"equals": "FR"}}, "assign": {"queue": "France"}},
                           {"id": "se", "when": {"country": {"equals": "SE"}}, "assign": {"team": "capped"}}],
                 "default": default, "never_reassign_owned": never_reassign_owned},
        nurture=[{"id": "early", "list": "Early", "when": {"mql": {"equals": False}}}])
    countries = ["DE", "FR", "SE", "US", None]
    leads = [lead(i, country=countries[i % 5], employees=5000 if i % 3 == 0 else 3 if i % 7 == 0 else 10,
                  email=f"p{i}@acct.example" if i % 4 == 0 else f"p{i}@co{i}.example") for i in range(40)]
    ctx = DecisionContext(now=MONDAY_10_UTC, crm={"k5": CrmRecord(crm_id="c5", owner=B),
                                                  "k6": CrmRecord(crm_id="c6", owner="Inbound")},
                          account_owners={"acct.example": "erin@ourco.example"},
                          pinned_owners={"k7": A, "k8": "France"},
                          rotation=RotationState(day="2026-03-02", assigned_today={A: 1}))
    compiled, interpreted = rs.decide(leads, ctx), decide_interpreted(rs, leads, ctx)
    assert_same(compiled, interpreted)
    for ours, reference in zip(compiled.decisions, interpreted.decisions, strict=True):
        assert ours.explanation == reference.explanation
    methods = {d.routing_method for d in compiled.decisions}
    assert {"round_robin", "owner", "queue"} <= methods  # every kind of fixed rule route was taken
    assert len(compiled.assignments) >= 30
