"""A lead over time: the seed example crossing 60 in the run where it crosses, decaying back to nurture,
stage transitions with their causes, and next_rescore_at as the exact time the score next moves."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from connectors.records import Decision, Event, Lead, ProfileState
from rules import DecisionContext, Ruleset, load_ruleset
from rules.reference import decide_interpreted
from tests.rules.builders import ruleset

DEMO_RULES = load_ruleset(Path(__file__).resolve().parents[2] / "config" / "rules.yaml")
NOV_1 = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
CAMBRIDGE_MA = {"latitude": 42.3647, "longitude": -71.1042}  # what normalisation sets from ZIP 02139
SEED_PERSON: dict[str, Any] = {"email": "sam@acme.example", "company": "Acme", "industry": "Marketing",
                               "employees": 80, "country": "US", "consent": {"email": True}, **CAMBRIDGE_MA}


def event(kind: str, day: float, path: str | None = None) -> Event:
    """An event on day `day` of November 2026, an hour before that day's 10:00 run."""
    return Event(type=kind, at=NOV_1 + timedelta(days=day, hours=-1), properties={"path": path} if path else {})


# Four weeks of one person's behaviour, the seed example's point values (config/rules.yaml).
FOUR_WEEKS = [event("email_open", 0), event("email_click", 3), event("whitepaper_download", 7),
              event("page_view", 12, "/blog/scoring"), event("page_view", 20, "/features"),
              event("page_view", 27, "/pricing")]


def person(events: Sequence[Event], now: datetime, **fields: Any) -> Lead:
    return Lead(lead_key="sam", source="t", source_record_id="1", received_at=now,
                events=[e for e in events if e.at <= now], **{**SEED_PERSON, **fields})


def remember(past: ProfileState | None, decision: Decision, lead: Lead, worked: bool = False) -> ProfileState:
    """What the profile store keeps of a decision (the store's job; the rules only read it)."""
    moved = decision.transition
    return ProfileState(stage=decision.stage, stage_since=decision.stage_since, stage_cause=decision.stage_cause,
                        mql_at=moved.at if moved and moved.to_stage == "mql" else (past.mql_at if past else None),
                        owner=decision.owner, worked=worked or (past.worked if past else False),
                        last_activity_at=max((e.at for e in lead.events), default=None))


def decide(rs: Ruleset, lead: Lead, now: datetime, past: ProfileState | None) -> Decision:
    ctx = DecisionContext(now=now, profiles={lead.lead_key: past} if past else {})
    ours = rs.decide([lead], ctx).decisions[0]
    assert ours == decide_interpreted(rs, [lead], ctx).decisions[0]  # the reference agrees, every run
    return ours


def test_seed_example_becomes_an_mql_in_the_run_where_it_crosses() -> None:
    past: ProfileState | None = None
    scores: list[float] = []
    for day in range(29):
        now = NOV_1 + timedelta(days=day)
        lead = person(FOUR_WEEKS, now)
        d = decide(DEMO_RULES, lead, now, past)
        scores.append(d.score)
        assert d.mql is (day >= 27), (day, d.score)
        if day == 27:
            assert d.transition is not None and d.transition.from_stage == "nurture"
            assert d.transition.to_stage == "mql" and d.transition.at == now
            assert d.transition.cause == "crossed 60 on 2026-11-28: pricing-page (page_view /pricing)"
            assert d.lists_add == [] and d.lists_remove == ["Nurture - Early stage"]  # out of nurture
            assert d.owner and d.status == "Working - Contacted"
            assert "Stage mql since 2026-11-28 (crossed 60 on 2026-11-28: pricing-page" in d.explanation
        elif day == 28:
            assert d.stage == "mql" and d.transition is None and d.stage_since == NOV_1 + timedelta(days=27)
            assert "Stage mql since 2026-11-28 (crossed 60 on 2026-11-28: pricing-page" in d.explanation
        past = remember(past, d, lead)
    # fit 30 (industry, size, within 100 miles) + 2 + 4 + 10 + 5 + 5, then the pricing page: 5 + 10
    assert scores[0] == 32 and scores[26] == 56 and scores[27] == 71
    assert past is not None and past.mql_at == NOV_1 + timedelta(days=27)


def follow_the_clock(rs: Ruleset, events: Sequence[Event], start: datetime, past: ProfileState,
                     worked: bool = False, **fields: Any) -> list[tuple[datetime, Decision]]:
    """Re-score only when next_rescore_at says so, checking the score does not move in between."""
    seen: list[tuple[datetime, Decision]] = []
    now = start
    for _ in range(200):
        lead = person(events, now, **fields)
        d = decide(rs, lead, now, past)
        seen.append((now, d))
        past = remember(past, d, lead, worked)
        if d.next_rescore_at is None:
            return seen
        assert d.next_rescore_at > now
        halfway = now + (d.next_rescore_at - now) / 2
        just_before = d.next_rescore_at - timedelta(microseconds=1)
        for t in (halfway, just_before):  # time alone does not move the score before next_rescore_at
            assert decide(rs, person(events, t, **fields), t, past).score == d.score
        now = d.next_rescore_at
    raise AssertionError("next_rescore_at never settled")


def test_an_mql_decays_back_to_nurture_and_then_nothing_is_due() -> None:
    crossed = NOV_1 + timedelta(days=27)
    mql = ProfileState(stage="mql", stage_since=crossed, mql_at=crossed, owner="alice@ourco.example")
    seen = follow_the_clock(DEMO_RULES, FOUR_WEEKS, crossed, mql)
    stages = [d.stage for _, d in seen]
    recycled = stages.index("nurture")
    assert set(stages[:recycled]) == {"mql"} and set(stages[recycled:]) == {"nurture"}
    when, d = seen[recycled]
    assert d.score < 40 <= seen[recycled - 1][1].score  # the first re-score below the recycle threshold
    assert d.transition is not None and d.transition.from_stage == "mql" and d.transition.at == when
    assert d.transition.cause == f"recycled on {when.date()}: score {d.score:g} fell below 40, never worked"
    assert not d.mql and d.lists_add == ["Nurture - Early stage"] and d.status == "Nurturing"
    assert all(d.mql for _, d in seen[:recycled])  # under 60 but above 40, still an MQL (no flapping)
    final = seen[-1][1]
    assert final.next_rescore_at is None and final.behaviour_score == 0 and final.score == 30


def test_a_worked_lead_stays_worked_while_it_decays() -> None:
    crossed = NOV_1 + timedelta(days=27)
    worked = ProfileState(stage="mql", stage_since=crossed, mql_at=crossed, owner="alice@ourco.example",
                          worked=True)
    seen = follow_the_clock(DEMO_RULES, FOUR_WEEKS, crossed, worked, worked=True)
    assert seen[0][1].transition is not None and seen[0][1].transition.cause == "worked by alice@ourco.example"
    assert {d.stage for _, d in seen} == {"worked"} and seen[-1][1].score == 30
    assert all(d.lists_add == [] for _, d in seen)  # a rep has it: no nurture


def test_next_rescore_at_is_the_first_window_or_decay_step() -> None:
    rs = ruleset(scoring={"mql_threshold": 60, "behaviour": [
        {"id": "visit", "event": "page_view", "points": 5, "window_days": 30},
        {"id": "webinar", "event": "webinar", "points": 20, "window_days": 90}],
        "decay": {"after_days": 10, "percent_per_month": 30, "step_days": 7}})
    now = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    visit, webinar = now - timedelta(days=3), now - timedelta(days=20)
    lead = Lead(lead_key="k", source="t", source_record_id="1", received_at=now, email="a@b.example",
                events=[Event(type="page_view", at=visit), Event(type="webinar", at=webinar)])
    d = decide(rs, lead, now, None)
    assert d.next_rescore_at == visit + timedelta(days=10 + 7)  # decay's first step (idle 3 days) beats windows
    lead.events = [Event(type="webinar", at=webinar)]
    d = decide(rs, lead, now, None)
    assert d.next_rescore_at == webinar + timedelta(days=10 + 2 * 7)  # 20 days idle: one step taken, next one
    assert d.score_lines[-1].detail == "20 days inactive since 2026-02-10" and d.score_lines[-1].points == -1.4
    lead.events = []
    assert decide(rs, lead, now, None).next_rescore_at is None  # nothing will change
    windows_only = ruleset(scoring={"mql_threshold": 60, "events": {"page_view": {"points": 5, "window_days": 30}}})
    lead.events = [Event(type="page_view", at=visit), Event(type="page_view", at=visit - timedelta(days=5))]
    assert decide(windows_only, lead, now, None).next_rescore_at == visit - timedelta(days=5) + timedelta(days=30)


SCORER = {"mql_threshold": 60, "events": {"x": {"points": 10, "window_days": 3650}}}
NURTURE = [{"id": "n", "list": "N", "when": {"mql": {"equals": False}}}]
ANN = {"email": "ann@co.example", "company": "Co"}


@pytest.mark.parametrize(("past", "fields", "points", "life", "stage", "mql", "cause"), [
    (None, ANN, 0, {}, "nurture", False, "entered nurture"),
    (None, {**ANN, "consent": {"email": False}}, 0, {}, "new", False, "first seen"),
    (None, ANN, 60, {}, "mql", True, "crossed 60 on 2026-03-01: event:x (x)"),
    (ProfileState(stage="nurture"), ANN, 70, {}, "mql", True, "crossed 60 on 2026-03-01: event:x (x)"),
    (ProfileState(stage="mql"), ANN, 50, {}, "mql", True, None),               # no recycle threshold: stays
    (ProfileState(stage="mql"), ANN, 50, {"recycle_below": 40}, "mql", True, None),  # above it: stays
    (ProfileState(stage="mql"), ANN, 30, {"recycle_below": 40}, "nurture", False,
     "recycled on 2026-03-02: score 30 fell below 40, never worked"),
    (ProfileState(stage="mql"), ANN, 30, {"recycle_below": 40, "recycle_to": "recycled"}, "recycled", False,
     "recycled on 2026-03-02: score 30 fell below 40, never worked"),
    (ProfileState(stage="recycled"), ANN, 10, {}, "recycled", False, None),     # no way back to new
    (ProfileState(stage="mql", worked=True, owner="bo@x.example"), ANN, 30, {"recycle_below": 40}, "worked", False,
     "worked by bo@x.example"),
    (ProfileState(stage="worked", worked=True), ANN, 30, {"recycle_below": 40, "recycle_only_unworked": False},
     "nurture", False, "recycled on 2026-03-02: score 30 fell below 40"),
    (ProfileState(stage="mql"), {"email": "spy@rival.example", "company": "Co"}, 90, {}, "disqualified", False,
     "disqualified: Competitor"),                                               # disqualified stays out
    (ProfileState(stage="worked", worked=True), {"email": "spy@rival.example", "company": "Co"}, 90, {},
     "disqualified", False, "disqualified: Competitor"),
    (ProfileState(stage="nurture"), {"email": "ann@co.example"}, 90, {}, "unqualified", False, "failed company"),
])
def test_stage_transitions(past: ProfileState | None, fields: dict[str, Any], points: int, life: dict[str, Any],
                           stage: str, mql: bool, cause: str | None) -> None:
    rs = ruleset(scoring=SCORER, nurture=NURTURE, lifecycle=life,
                 qualification={"disqualify": [{"id": "c", "when": {"email_domain": {"equals": "rival.example"}},
                                                "reason": "Competitor"}],
                                "require": [{"id": "company", "when": {"company": {"exists": True}}}]})
    now = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    lead = Lead(lead_key="k", source="t", source_record_id="1", received_at=now, **fields,
                events=[Event(type="x", at=now - timedelta(days=1))] * (points // 10))
    d = decide(rs, lead, now, past)
    assert (d.stage, d.mql) == (stage, mql)
    if cause is None:
        assert d.transition is None
    else:
        assert d.transition is not None and d.transition.cause == cause and d.stage_since == now
        assert d.transition.from_stage == (past.stage if past else None)
    if stage in ("mql", "worked"):
        assert d.lists_add == [] and d.lists_remove == ["N"]


def test_recycle_threshold_must_be_below_the_mql_threshold() -> None:
    from connectors.errors import ConfigError

    with pytest.raises(ConfigError) as caught:
        ruleset(lifecycle={"recycle_below": 60})
    assert any("lifecycle.recycle_below: recycle_below (60) must be below scoring.mql_threshold (60)" in p
               for p in caught.value.problems)
