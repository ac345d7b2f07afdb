"""Routing: first match, every method, caps, availability, fairness across roster changes."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest

from connectors.records import CrmRecord, SkippedRep
from rules import DecisionContext, RotationState, Ruleset
from rules.assign import PinnedRoute
from rules.models import Team
from rules.routing import TeamRotation, pick_from_team, round_robin_turn
from tests.rules.builders import MONDAY_10_UTC, lead, ruleset

A, B, C = "alice@ourco.example", "bob@ourco.example", "carol@ourco.example"


def routed(method: str = "round_robin", members: Any = (A, B), reps: dict[str, Any] | None = None,
           cap: int | None = None) -> Ruleset:
    team: dict[str, Any] = {"members": list(members) if not isinstance(members, dict) else members,
                            "method": method}
    if cap is not None:
        team["capacity_per_day"] = cap
    return ruleset(routing={"teams": {"t": team}, "reps": reps or {},
                            "rules": [{"id": "to-team", "when": {}, "assign": {"team": "t"}}],
                            "default": {"queue": "Unassigned"}})


def owners(rs: Ruleset, n: int, state: RotationState | None = None, now: datetime = MONDAY_10_UTC,
           start: int = 0) -> tuple[list[str | None], RotationState]:
    batch = rs.decide([lead(i) for i in range(start, start + n)],
                      DecisionContext(now=now, rotation=state or RotationState()))
    return [d.owner or d.queue for d in batch.decisions], batch.rotation


def test_round_robin_in_member_order_and_state_carries_over() -> None:
    rs = routed()
    first, state = owners(rs, 3)
    assert first == [A, B, A]
    second, _ = owners(rs, 2, state)
    assert second == [B, A]


def test_weighted_two_to_one() -> None:
    got, _ = owners(routed("weighted", {A: 2, B: 1}), 6)
    assert Counter(got) == {A: 4, B: 2}
    assert got[:3] == [A, B, A]  # smooth, not A A B


def test_load_balanced_fills_the_least_loaded() -> None:
    rs = routed("load_balanced", (A, B, C))
    state = RotationState(day="2026-03-02", assigned_today={A: 3, B: 1})
    got, _ = owners(rs, 4, state)
    assert got == [C, B, C, B]


def test_capacity_caps_then_default_with_reasons() -> None:
    batch = routed(cap=1).decide([lead(i) for i in range(3)], DecisionContext(now=MONDAY_10_UTC))
    assert [d.owner or d.queue for d in batch.decisions] == [A, B, "Unassigned"]
    last = batch.decisions[2]
    assert {s.reason for s in last.skipped} == {"daily cap of 1 reached"}
    assert last.routing_method == "default" and "nobody could take it" in last.routing_reason


def test_caps_reset_on_a_new_day() -> None:
    rs = routed(cap=1)
    _, state = owners(rs, 2)
    tuesday = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
    got, _ = owners(rs, 1, state, now=tuesday)
    assert got == [A]


@pytest.mark.parametrize(("utc_time", "expected"), [
    ("2026-03-02T13:59:00+00:00", B),   # 08:59 in New York (EST, UTC-5): Alice not yet working
    ("2026-03-02T14:00:00+00:00", A),   # 09:00 sharp: she is
    ("2026-03-02T21:59:00+00:00", A),   # 16:59
    ("2026-03-02T22:00:00+00:00", B),   # 17:00: done for the day
    ("2026-03-16T13:00:00+00:00", A),   # after the DST switch (EDT, UTC-4) 13:00 UTC is 09:00
    ("2026-03-07T15:00:00+00:00", B),   # Saturday
])
def test_working_hours_in_the_reps_time_zone(utc_time: str, expected: str) -> None:
    reps = {A: {"timezone": "America/New_York", "working_hours": "09:00-17:00",
                "working_days": ["mon", "tue", "wed", "thu", "fri"]}}
    got, _ = owners(routed(reps=reps), 1, now=datetime.fromisoformat(utc_time))
    assert got == [expected]


def test_out_of_office_is_skipped_and_recorded() -> None:
    reps = {A: {"out_of_office": [["2026-03-01", "2026-03-05"]]}}
    batch = routed(reps=reps).decide([lead(0)], DecisionContext(now=MONDAY_10_UTC))
    d = batch.decisions[0]
    assert d.owner == B
    assert [(s.owner, s.reason) for s in d.skipped] == [(A, "out of office until 2026-03-05")]
    assert "Skipped alice@ourco.example (out of office until 2026-03-05)" in d.explanation
    assert batch.assignments[0].skipped == d.skipped


def test_all_reps_unavailable_goes_to_default() -> None:
    reps = {A: {"active": False}, B: {"out_of_office": [["2026-03-01", "2026-03-31"]]}}
    d = routed(reps=reps).decide([lead(0)], DecisionContext(now=MONDAY_10_UTC)).decisions[0]
    assert (d.owner, d.queue, len(d.skipped)) == (None, "Unassigned", 2)


def test_returning_rep_is_not_flooded_and_new_rep_gets_no_burst() -> None:
    away = {B: {"out_of_office": [["2026-03-01", "2026-03-05"]]}}
    _, state = owners(routed(reps=away), 6)  # Bob away: Alice takes six
    back, state = owners(routed(), 4, state, now=datetime(2026, 3, 9, 10, tzinfo=UTC))
    assert back == [B, A, B, A]  # Bob gets his turn back, not six in a row
    joined, _ = owners(routed(members=(A, B, C)), 3, state, now=datetime(2026, 3, 9, 11, tzinfo=UTC), start=10)
    assert joined == [B, A, C]  # Carol joins at the back of the line


def test_ties_follow_member_order() -> None:
    got, _ = owners(routed(members=(C, A, B)), 3)
    assert got == [C, A, B]


def test_first_match_wins_and_account_owner() -> None:
    rs = ruleset(routing={
        "teams": {"t": {"members": [A, B]}},
        "rules": [{"id": "account", "when": {"account_owner": {"exists": True}}, "assign": "account_owner"},
                  {"id": "us", "when": {"country": {"equals": "US"}}, "assign": {"owner": C}},
                  {"id": "big", "when": {"employees": {"gte": 500}}, "assign": {"team": "t"}}],
        "default": {"queue": "Q"}})
    leads = [lead(0, country="US", employees=900), lead(1, employees=900), lead(2), lead(3, email="x@bigco.com")]
    batch = rs.decide(leads, DecisionContext(now=MONDAY_10_UTC, account_owners={"bigco.com": "erin@ourco.example"}))
    got = [(d.owner or d.queue, d.routing_rule_id, d.routing_method) for d in batch.decisions]
    assert got == [(C, "us", "owner"), (A, "big", "round_robin"), ("Q", None, "default"),
                   ("erin@ourco.example", "account", "account_owner")]


@pytest.mark.parametrize(("never_reassign", "crm_owner", "expected"), [
    (True, "dan@ourco.example", "dan@ourco.example"),
    (False, "dan@ourco.example", A),
    (True, "Unassigned", A),   # parked in our own queue: still waiting to be routed
])
def test_never_reassign_owned(never_reassign: bool, crm_owner: str, expected: str) -> None:
    rs = ruleset(routing={"teams": {"t": {"members": [A, B]}}, "never_reassign_owned": never_reassign,
                          "rules": [{"id": "all", "when": {}, "assign": {"team": "t"}}],
                          "default": {"queue": "Unassigned"}})
    crm = {"k0": CrmRecord(crm_id="1", owner=crm_owner)}
    d = rs.decide([lead(0)], DecisionContext(now=MONDAY_10_UTC, crm=crm)).decisions[0]
    assert d.owner == expected


def test_pinned_owner_from_an_interrupted_attempt_takes_no_new_turn() -> None:
    rs = routed()
    batch = rs.decide([lead(0), lead(1)], DecisionContext(now=MONDAY_10_UTC, pinned_owners={"k0": B}))
    assert [d.owner for d in batch.decisions] == [B, A]
    assert [e.lead_key for e in batch.assignments] == ["k1"]
    assert batch.rotation.teams["t"].seq == 1


def decide_both(rs: Ruleset, leads: list[Any], ctx: DecisionContext) -> list[Any]:
    from rules.reference import decide_interpreted

    compiled, interpreted = rs.decide(leads, ctx), decide_interpreted(rs, leads, ctx)
    assert compiled.decisions == interpreted.decisions
    assert [e.lead_key for e in compiled.assignments] == [e.lead_key for e in interpreted.assignments]
    return [compiled, *compiled.decisions]


PINNED = PinnedRoute(owner=B, team="t", rule_id="to-team", method="round_robin",
                     reason="team t (round robin)", skipped=(SkippedRep(owner=A, reason="out of office"),))


def test_pinned_route_keeps_its_rule_and_reason_after_a_crash() -> None:
    batch, kept, fresh = decide_both(routed(), [lead(0), lead(1)],
                                     DecisionContext(now=MONDAY_10_UTC, pinned_owners={"k0": PINNED}))
    assert (kept.owner, kept.team, kept.routing_rule_id, kept.routing_method, kept.routing_reason) == (
        B, "t", "to-team", "round_robin", "team t (round robin)")
    assert "by rule to-team" in kept.explanation and "earlier attempt" not in kept.explanation
    assert kept.skipped == [SkippedRep(owner=A, reason="out of office")]
    assert [e.lead_key for e in batch.assignments] == ["k1"]  # the pinned lead takes no new turn
    assert batch.rotation.teams["t"].seq == 1 and fresh.owner == A


@pytest.mark.parametrize(("crm_owner", "method"), [(B.upper(), "round_robin"), (A, "kept_existing_owner")])
def test_owned_by_the_pinned_owner_is_explained_by_the_pin(crm_owner: str, method: str) -> None:
    """A crash after the CRM write: the owner there is the pinned one, so its rule still explains it."""
    crm = {"k0": CrmRecord(crm_id="1", owner=crm_owner)}
    _, decision = decide_both(routed(), [lead(0)], DecisionContext(now=MONDAY_10_UTC, crm=crm,
                                                                   pinned_owners={"k0": PINNED}))
    assert decision.routing_method == method


def test_pinned_queue_route_stays_a_queue() -> None:
    pin = PinnedRoute(owner="Unassigned", method="default", reason="no routing rule matched; queue Unassigned")
    _, decision = decide_both(routed(), [lead(0)], DecisionContext(now=MONDAY_10_UTC, pinned_owners={"k0": pin}))
    assert (decision.owner, decision.queue, decision.routing_method) == (None, "Unassigned", "default")


def test_the_input_state_is_not_mutated() -> None:
    state = RotationState()
    owners(routed(), 2, state)
    assert state == RotationState()


def test_account_owners_are_only_needed_when_a_rule_uses_them() -> None:
    assert routed().needs_account_owners() is False
    uses = ruleset(routing={"rules": [{"id": "a", "when": {}, "assign": "account_owner"}], "default": {"queue": "Q"}})
    assert uses.needs_account_owners() is True
    looks = ruleset(scoring={"mql_threshold": 1, "rules": [{"id": "known", "when": {
        "not": {"account_owner": {"exists": False}}}, "points": 5}]})
    assert looks.needs_account_owners() is True


def test_plain_round_robin_takes_the_turns_the_general_picker_would() -> None:
    # rules.routing.round_robin_turn serves round-robin teams without caps or availability (no one is ever
    # skipped); it must hand out turns exactly as pick_from_team does, a rep joining mid-rotation included.
    team = Team(members=[A, B, C])
    fast = RotationState(teams={"t": TeamRotation(seq=5, last={B: 4, A: 5})})
    general = fast.model_copy(deep=True)
    turns = [round_robin_turn("t", (A, B, C), fast) for _ in range(7)]
    assert turns == [pick_from_team("t", team, {}, MONDAY_10_UTC, general)[0] for _ in range(7)]
    assert turns[:3] == [B, A, C]  # C joins at the back of the line (last = 5, as A): B (4), then A, C in order
    assert fast == general
