"""The compiled engine against the interpreted reference: same decisions, field for field, on every operator
and on generated leads; plus the trusted Decision fill and the code generator's handling of hostile values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict

from connectors.records import (
    Attribution,
    Consent,
    CrmRecord,
    Decision,
    Event,
    Lead,
    ProfileState,
    ScoreLine,
    SkippedRep,
)
from rules import BatchDecision, DecisionContext, RotationState, Ruleset
from rules.codegen import MatchMemo
from rules.facts import ATTRIBUTION_FIELDS, CONSENT_FIELDS
from rules.reference import decide_interpreted
from rules.trusted import DECISION_FIELDS, _check_plain, trusted
from tests.rules.builders import MONDAY_10_UTC, ruleset
from tests.rules.test_operators import CASES, LISTS

A, B, C = "alice@ourco.example", "bob@ourco.example", "carol@ourco.example"


def assert_same(compiled: BatchDecision, interpreted: BatchDecision) -> None:
    assert len(compiled.decisions) == len(interpreted.decisions)
    for ours, reference in zip(compiled.decisions, interpreted.decisions, strict=True):
        assert ours == reference
        assert ours.model_dump_json() == reference.model_dump_json()  # also float vs int, key order
        assert ours.model_fields_set == reference.model_fields_set
    assert compiled.rotation == interpreted.rotation
    assert compiled.assignments == interpreted.assignments


def both(rs: Ruleset, leads: list[Lead], **context: Any) -> tuple[BatchDecision, BatchDecision]:
    ctx = DecisionContext(now=MONDAY_10_UTC, **context)
    return rs.decide(leads, ctx), decide_interpreted(rs, leads, ctx)


def outcome(decide: Any) -> BatchDecision | str:
    """The batch, or the name of the error a value the rules cannot compare raised (e.g. a list for `in`)."""
    try:
        batch: BatchDecision = decide()
    except TypeError as exc:
        return type(exc).__name__
    return batch


def make_lead(n: int = 0, **fields: Any) -> Lead:
    events = [Event(type=e[0], at=MONDAY_10_UTC - timedelta(days=e[1]), properties=e[2] if len(e) > 2 else {},
                    detail=e[3] if len(e) > 3 else None) for e in fields.pop("events", [])]
    fields.update(fields.pop("place", {}))
    return Lead(lead_key=f"k{n}", source="t", source_record_id=str(n), received_at=MONDAY_10_UTC, events=events,
                **fields)


@pytest.mark.parametrize(("condition", "fields", "expected"), CASES)
@pytest.mark.parametrize("stage", ["disqualify", "score", "route", "nurture"])
def test_every_operator_case_compiles_to_the_same_answer(condition: dict[str, Any], fields: dict[str, Any],
                                                         expected: bool, stage: str) -> None:
    sections: dict[str, Any] = {"lists": LISTS}
    if stage == "disqualify":
        sections["qualification"] = {"disqualify": [{"id": "x", "when": condition, "reason": "X"}]}
    elif stage == "score":
        sections["scoring"] = {"mql_threshold": 60, "rules": [{"id": "x", "when": condition, "points": 7}]}
    elif stage == "route":
        sections["routing"] = {"rules": [{"id": "x", "when": condition, "assign": {"queue": "X"}}],
                               "default": {"queue": "Other"}}
    else:
        sections["nurture"] = [{"id": "x", "list": "X", "when": condition}]
    compiled, interpreted = both(ruleset(**sections), [make_lead(**fields)])
    assert_same(compiled, interpreted)
    d = compiled.decisions[0]
    hit = {"disqualify": d.qualification == "disqualified", "score": d.fit_score == 7,
           "route": d.queue == "X", "nurture": d.lists_add == ["X"]}[stage]
    assert hit is expected


EVERYTHING: dict[str, Any] = {
    "lists": {"freemail": ["gmail.com", "Yahoo.com"], "embargo": ["CU", "ir"]},
    "qualification": {
        "disqualify": [{"id": "embargo", "when": {"country": {"in_list": "embargo"}}, "reason": "Embargo"},
                       {"id": "unsub", "when": {"events.unsubscribe.within_30d": {"gte": 1}}, "reason": "Unsub"},
                       {"id": "early-score", "when": {"score": {"exists": True}}, "reason": "never: no score yet"}],
        "require": [{"id": "email", "when": {"email": {"matches": r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$"}}},
                    {"id": "named", "when": {"any": [{"company": {"exists": True}}, {"title": {"exists": True}}]}}]},
    "scoring": {
        "mql_threshold": 30,
        "rules": [
            {"id": "senior", "when": {"title": {"matches": r"\b(vp|director|head)\b"}}, "points": 15},
            {"id": "exact-ceo", "when": {"title": {"equals": "CEO", "case_sensitive": True}}, "points": 12.5},
            {"id": "size", "when": {"employees": {"between": [50, 500]}}, "points": 10},
            {"id": "big", "when": {"employees": {"gt": 999, "lte": 100000}}, "points": 5},
            {"id": "free", "when": {"email_domain": {"in_list": "freemail"}}, "points": -10},
            {"id": "not-us", "when": {"not": {"country": {"in": ["US", "CA"]}}}, "points": -3},
            {"id": "edu", "when": {"email": {"ends_with": ".EDU"}}, "points": -7},
            {"id": "info", "when": {"email": {"starts_with": "info@", "case_sensitive": True}}, "points": -1},
            {"id": "demo", "when": {"inquiry": {"contains": "demo"}}, "points": 8, "kind": "behaviour"},
            {"id": "routing", "when": {"product_interest": {"contains": "routing"}}, "points": 4},
            {"id": "rating", "when": {"custom.rating": {"equals": "hot"}}, "points": 6},
            {"id": "rating-num", "when": {"custom.rating": {"gte": 3}}, "points": 2},
            {"id": "tags", "when": {"custom.tags": {"in": ["a", "b"]}}, "points": 1},
            {"id": "consent", "when": {"consent.email": {"equals": True}}, "points": 2},
            {"id": "campaign", "when": {"attribution.campaign": {"not_equals": "spring"}}, "points": 1},
            {"id": "not-de", "when": {"country": {"not_in": ["DE"]}}, "points": 0.5},
            {"id": "qual", "when": {"qualification": {"equals": "qualified"}}, "points": 3},
            {"id": "owned", "when": {"owner": {"exists": True}}, "points": 1},
            {"id": "account", "when": {"account_owner": {"exists": True}}, "points": 1},
            {"id": "idle", "when": {"days_since_last_activity": {"lt": 10}}, "points": 2, "kind": "behaviour"},
            {"id": "near", "when": {"location": {"within_miles": {"of": "hq", "miles": 100}}}, "points": 9},
            {"id": "webinars", "when": {"events.webinar": {"gte": 2}}, "points": 3},
            {"id": "recent-webinar", "when": {"events.webinar.within_10d": {"gte": 1}}, "points": 2,
             "kind": "behaviour"},
        ],
        "events": {"email_open": {"points": 1.5, "max": 5}, "pricing_page_visit": {"points": 10, "max": 30},
                   "unsubscribe": {"points": -50, "max": 60}, "webinar": {"points": 20, "window_days": 30}},
        "behaviour": [
            {"id": "pricing", "event": "page_view", "when": {"path": {"matches": "^/pricing"}}, "points": 10,
             "max": 25},
            {"id": "visit", "event": ["page_view", "webinar"], "points": 3, "window_days": 15},
            {"id": "careers", "event": "page_view", "when": {"any": [{"path": {"starts_with": "/careers"}},
                                                                     {"url": {"contains": "jobs"}}]}, "points": -7},
            {"id": "campaign", "event": "email_click", "when": {"all": [{"campaign": {"in": ["Spring", "launch"]}},
                                                                        {"n": {"gte": 2}}]}, "points": 4.5},
            {"id": "detail", "event": "email_open", "when": {"detail": {"exists": True}}, "points": 1,
             "window_days": 7}],
        "decay": {"after_days": 20, "percent_per_month": 25, "step_days": 3},
        "grades": {"A": 25, "B": 15, "C": 5},
    },
    "routing": {
        "teams": {"ent": {"members": [A, B], "capacity_per_day": 3},
                  "smb": {"members": {B: 2, C: 1}, "method": "weighted"},
                  "lb": {"members": [A, B, C], "method": "load_balanced"}},
        "reps": {C: {"working_days": ["mon", "tue"]}, B: {"capacity_per_day": 4}},
        "rules": [
            {"id": "account", "when": {"account_owner": {"exists": True}}, "assign": "account_owner"},
            {"id": "hot", "when": {"all": [{"mql": {"equals": True}}, {"grade": {"in": ["A", "B"]}}]},
             "assign": {"team": "ent"}},
            {"id": "scored", "when": {"score": {"gte": 10}}, "assign": {"team": "smb"}},
            {"id": "named", "when": {"fit_score": {"lt": -5}}, "assign": {"owner": "Carol@ourco.example"}},
            {"id": "behaving", "when": {"behaviour_score": {"gt": 5}}, "assign": {"team": "lb"}},
            {"id": "junk", "when": {"qualification": {"not_equals": "qualified"}}, "assign": {"queue": "Junk"}},
        ],
        "default": {"queue": "Inbound"}, "never_reassign_owned": True},
    "nurture": [{"id": "early", "list": "Early", "when": {"mql": {"equals": False}}},
                {"id": "all", "list": "Everyone", "when": {}, "requires_email_consent": False},
                {"id": "early-too", "list": "Early", "when": {"grade": {"equals": "D"}}}],
    "statuses": {"new": "New", "mql": "MQL", "unqualified": "Unqualified", "disqualified": "Disqualified",
                 "nurture": "Nurturing"},
    "offices": {"hq": {"latitude": 42.36, "longitude": -71.06}},
    "lifecycle": {"recycle_below": 12, "recycle_only_unworked": False},
}
EVERYTHING_RULES = ruleset(**EVERYTHING)

maybe_text = st.one_of(st.none(), st.sampled_from(["", "VP Sales", "vp", "CEO", "ceo", "Head of IT", "Intern"]))
event = st.tuples(st.sampled_from(["email_open", "pricing_page_visit", "unsubscribe", "webinar", "other", "page_view",
                                   "email_click"]),
                  st.floats(min_value=0, max_value=120),
                  st.dictionaries(st.sampled_from(["path", "url", "campaign", "n"]),
                                  st.one_of(st.none(), st.sampled_from(["/pricing", "/PRICING/x", "/careers", "jobs",
                                                                        "Spring", "LAUNCH", 2, 1.5, ""])),
                                  max_size=3),
                  st.one_of(st.none(), st.sampled_from(["", "Re: hi"])))
place = st.one_of(st.just({}), st.fixed_dictionaries({"latitude": st.floats(min_value=40, max_value=45),
                                                      "longitude": st.floats(min_value=-75, max_value=-68)}))
stage = st.sampled_from(["new", "nurture", "mql", "worked", "recycled", "unqualified", "disqualified"])
profile = st.one_of(st.none(), st.builds(
    ProfileState, stage=st.one_of(st.none(), stage), worked=st.booleans(), owner=st.sampled_from([None, A]),
    stage_since=st.just(MONDAY_10_UTC - timedelta(days=40)), stage_cause=st.sampled_from([None, "crossed 30"]),
    last_activity_at=st.one_of(st.none(), st.floats(min_value=0, max_value=200).map(
        lambda d: MONDAY_10_UTC - timedelta(days=d))),
    compacted_event_counts=st.dictionaries(st.sampled_from(["webinar", "email_open"]),
                                           st.integers(min_value=0, max_value=3), max_size=2)))
custom_value = st.one_of(st.none(), st.sampled_from(["hot", "HOT", "a", "B", 3, 2.5, True, ["a"], ""]))
lead_fields = st.fixed_dictionaries({
    "email": st.one_of(st.none(), st.sampled_from(["a@gmail.com", "b@YAHOO.com", "info@x.edu", "INFO@bigco.com",
                                                   "bad@", "c@bigco.com", "d@acct.example"])),
    "title": maybe_text, "company": st.one_of(st.none(), st.sampled_from(["", "Co"])),
    "country": st.one_of(st.none(), st.sampled_from(["US", "us", "CA", "DE", "CU", "IR", "SE"])),
    "employees": st.one_of(st.none(), st.integers(min_value=0, max_value=200_000)),
    "inquiry": st.one_of(st.none(), st.sampled_from(["Need a DEMO", "pricing?"])),
    "product_interest": st.lists(st.sampled_from(["Routing", "sync"]), max_size=2),
    "custom": st.dictionaries(st.sampled_from(["rating", "tags"]), custom_value, max_size=2),
    "consent": st.fixed_dictionaries({"email": st.one_of(st.none(), st.booleans())}),
    "attribution": st.fixed_dictionaries({"campaign": st.one_of(st.none(), st.sampled_from(["spring", "Spring"]))}),
    "events": st.lists(event, max_size=6),
    "place": place,
})


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(lead_fields, min_size=1, max_size=25), st.sets(st.integers(min_value=0, max_value=24)),
       st.lists(profile, min_size=25, max_size=25))
def test_generated_leads_decide_identically(fields: list[dict[str, Any]], owned: set[int],
                                            profiles: list[ProfileState | None]) -> None:
    leads = [make_lead(i, **f) for i, f in enumerate(fields)]
    crm = {f"k{i}": CrmRecord(crm_id=f"c{i}", owner=A if i % 2 else "Inbound") for i in owned}
    context = {"crm": crm, "account_owners": {"acct.example": "erin@ourco.example"}, "pinned_owners": {"k3": B},
               "rotation": RotationState(day="2026-03-02", assigned_today={A: 2}),
               "profiles": {f"k{i}": p for i, p in enumerate(profiles) if p is not None}}
    ctx = DecisionContext(now=MONDAY_10_UTC, **context)
    compiled = outcome(lambda: EVERYTHING_RULES.decide(leads, ctx))
    interpreted = outcome(lambda: decide_interpreted(EVERYTHING_RULES, leads, ctx))
    if isinstance(compiled, str) or isinstance(interpreted, str):
        assert compiled == interpreted  # both refuse the same leads
    else:
        assert_same(compiled, interpreted)


def test_the_everything_ruleset_reaches_every_branch() -> None:
    # Guards the property test above: the ruleset is not vacuous on plain leads.
    leads = [make_lead(i, email="a@acct.example" if i == 0 else f"p{i}@gmail.com", company="Co", country="US",
                       title="VP Sales", employees=60 + i, consent={"email": True},
                       events=[("pricing_page_visit", 1)] * 3 if i % 2 else [("webinar", 25)]) for i in range(12)]
    compiled, interpreted = both(EVERYTHING_RULES, leads, account_owners={"acct.example": "erin@ourco.example"})
    assert_same(compiled, interpreted)
    methods = {d.routing_method for d in compiled.decisions}
    assert {"account_owner", "round_robin"} <= methods
    assert any(line.kind == "decay" for d in compiled.decisions for line in d.score_lines)
    lived = [make_lead(i, email=f"p{i}@co.example", company="Co", title="VP Sales", consent={"email": True},
                       latitude=42.4, longitude=-71.1,
                       events=[("page_view", 1, {"path": "/pricing"}), ("page_view", 2, {"path": "/careers"}),
                               ("email_click", 3, {"campaign": "spring", "n": 2}), ("email_open", 1, {}, "x"),
                               ("webinar", 5)] * (i % 3)) for i in range(6)]
    profiles = {"k0": ProfileState(stage="mql"), "k1": ProfileState(stage="mql", worked=True),
                "k2": ProfileState(stage="nurture", compacted_event_counts={"webinar": 2}),
                "k3": ProfileState(stage="mql", last_activity_at=MONDAY_10_UTC - timedelta(days=90))}
    compiled, interpreted = both(EVERYTHING_RULES, lived, profiles=profiles)
    assert_same(compiled, interpreted)
    ids = {line.rule_id for d in compiled.decisions for line in d.score_lines}
    assert {"pricing", "visit", "careers", "campaign", "detail", "near", "webinars", "recent-webinar"} <= ids
    assert {d.stage for d in compiled.decisions} >= {"mql", "worked"}
    assert any(d.transition is not None for d in compiled.decisions)
    assert [d.next_rescore_at is not None for d in compiled.decisions] == [False, True, True, True, True, True]
    # k0: no events and no past activity, nothing can change; k3: its profile's last activity makes
    # days_since_last_activity (read by a rule) move


@pytest.mark.parametrize("points", [-0.001, 0.004, 0.005, 2.675, 1e-9, -1e16, 0.1 + 0.2])
def test_rounding_and_signed_zero_print_like_the_reference(points: float) -> None:
    rs = ruleset(scoring={"mql_threshold": 60, "rules": [{"id": "odd", "when": {"title": {"exists": True}},
                                                          "points": points}]})
    leads = [make_lead(0), make_lead(1, title="x"), make_lead(2), make_lead(3, title="y")]  # 0 first, then points
    assert_same(*both(rs, leads))


EDGE_CONDITIONS: list[dict[str, Any]] = [
    {"title": {"case_sensitive": True}},  # no operator at all: always holds
    {"title": {"equals": None}}, {"title": {"not_equals": None}}, {"employees": {"equals": 0}},
    {"is_test": {"equals": False}}, {"product_interest": {"equals": ["Routing"]}},
    {"product_interest": {"exists": False}}, {"employees": {"between": [0, 0]}},
    {"custom.n": {"gt": 1}}, {"custom.n": {"equals": 2.0}}, {"custom.n": {"in": [2, "x"]}},
    {"custom.n": {"matches": "^2"}}, {"custom.n": {"starts_with": "Tr"}}, {"custom.n": {"contains": "ru"}},
]
EDGE_LEADS: list[dict[str, Any]] = [
    {}, {"title": "VP", "employees": 0, "is_test": True, "product_interest": ["routing"]},
    {"custom": {"n": 2}}, {"custom": {"n": 2.0}}, {"custom": {"n": True}}, {"custom": {"n": "2x"}},
    {"custom": {"n": None}}, {"custom": {"n": ""}},
]


@pytest.mark.parametrize("condition", EDGE_CONDITIONS)
def test_edge_conditions_match_the_reference(condition: dict[str, Any]) -> None:
    rs = ruleset(scoring={"mql_threshold": 60, "rules": [{"id": "edge", "when": condition, "points": 1}]})
    assert_same(*both(rs, [make_lead(i, **fields) for i, fields in enumerate(EDGE_LEADS)]))


@pytest.mark.parametrize(("depth", "compiled"), [(20, True), (240, False)])
def test_deeply_nested_conditions_still_decide(depth: int, compiled: bool) -> None:
    # Past ~200 levels Python will not parse one expression; such a ruleset falls back to interpretation.
    condition: dict[str, Any] = {"title": {"exists": True}}
    for _ in range(depth):  # an even number of nots: the condition still means "has a title"
        condition = {"not": condition}
    rs = ruleset(scoring={"mql_threshold": 60, "rules": [{"id": "deep", "when": condition, "points": 5}]})
    assert (rs.source is not None) is compiled
    ours, reference = both(rs, [make_lead(0, title="VP"), make_lead(1)])
    assert_same(ours, reference)
    assert [d.fit_score for d in ours.decisions] == [5, 0]


def test_consent_and_attribution_facts_are_model_attributes() -> None:
    # codegen reads these as plain attributes (lead.consent.email); the reference uses getattr with a default.
    for facts, model in ((CONSENT_FIELDS, Consent), (ATTRIBUTION_FIELDS, Attribution)):
        assert {name.split(".", 1)[1] for name in facts} <= set(model.model_fields)


HOSTILE = "'); import os; os.system('echo pwned') #\" {k0} \\n"


def test_values_never_become_source_text() -> None:
    rs = ruleset(
        lists={"odd": [HOSTILE]},
        qualification={"disqualify": [{"id": HOSTILE, "when": {"title": {"equals": HOSTILE}}, "reason": HOSTILE}]},
        scoring={"mql_threshold": 1, "rules": [
            {"id": "in", "when": {"custom.x') or True or ('": {"in_list": "odd"}}, "points": 5},
            {"id": "re", "when": {"inquiry": {"matches": "'''\"\"\""}}, "points": 1}]})
    assert "pwned" not in rs.source and "'''" not in rs.source and "x')" not in rs.source
    hostile = make_lead(0, title=HOSTILE.upper(), custom={"x') or True or ('": HOSTILE}, inquiry="a'''\"\"\"b")
    plain = make_lead(1, title="VP", custom={"x": HOSTILE})
    compiled, interpreted = both(rs, [hostile, plain])
    assert_same(compiled, interpreted)
    assert [d.disqualify_reasons for d in compiled.decisions] == [[HOSTILE], []]
    assert [d.fit_score for d in compiled.decisions] == [6, 0]


def test_trusted_decision_equals_a_validated_one() -> None:
    fields: dict[str, Any] = {
        "lead_key": "k", "qualification": "qualified", "disqualify_reasons": [], "failed_checks": ["x"],
        "score": 12.5, "fit_score": 10.0, "behaviour_score": 2.5,
        "score_lines": [ScoreLine(rule_id="a", points=10.0, kind="fit")], "grade": "C", "mql": False,
        "owner": A, "queue": None, "team": "t", "routing_rule_id": "r", "routing_method": "round_robin",
        "routing_reason": "team t", "skipped": [SkippedRep(owner=B, reason="inactive")], "status_key": "new",
        "status": "New", "lists_add": ["L"], "lists_remove": [], "ruleset_version": "1", "explanation": "e",
        "stage": "new", "stage_since": None, "stage_cause": None, "transition": None, "next_rescore_at": None}
    validated = Decision(**fields)
    filled = trusted(Decision, {name: fields[name] for name in DECISION_FIELDS}, set(DECISION_FIELDS))
    assert filled == validated and filled.model_dump_json() == validated.model_dump_json()
    assert filled.model_fields_set == validated.model_fields_set
    filled.explanation = "changed"  # still an ordinary, assignable model
    assert filled.explanation == "changed" and validated.explanation == "e"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)
    a: int = 0


def test_trusted_refuses_models_a_direct_fill_would_break() -> None:
    with pytest.raises(TypeError, match="needs its constructor"):
        _check_plain(_Frozen)


def test_remembered_regex_answers_stay_those_of_the_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    # `matches` on text facts answers from a bounded memo (rules.codegen.MatchMemo): repeated, case-varied,
    # non-text and never-repeating values, past the memo's size, must decide as the interpreted reference does.
    monkeypatch.setattr(MatchMemo, "size", 4)
    rs = ruleset(scoring={"mql_threshold": 60, "rules": [
        {"id": "senior", "when": {"title": {"matches": r"\b(vp|director)\b"}}, "points": 10},
        {"id": "exact", "when": {"title": {"matches": "^VP", "case_sensitive": True}}, "points": 1},
        {"id": "rated", "when": {"custom.rating": {"matches": "^[0-9]"}}, "points": 3}],
        "behaviour": [{"id": "pricing", "event": "page_view", "when": {"path": {"matches": "^/pricing"}},
                       "points": 5}]})
    titles = ["VP Sales", "vp sales", "Director", "Engineer", None, "VP Sales", "Intern"]
    ratings: list[Any] = ["1a", 7, ["9"], None, "x", "1a", 2.5]
    leads = [make_lead(i, title=titles[i % 7] if i < 40 else f"VP {i}", custom={"rating": ratings[i % 7]},
                       events=[("page_view", 1, {"path": "/pricing" if i % 3 else "/careers"})]) for i in range(60)]
    for _ in range(2):  # the second time from what the memo kept
        assert_same(*both(rs, leads))
    cells = rs._evaluate.__closure__ if rs._evaluate is not None else ()
    memos = [cell.cell_contents for cell in cells or () if isinstance(cell.cell_contents, MatchMemo)]
    assert sorted((memo.clears, len(memo)) for memo in memos) == [(0, 2), (2, 4), (2, 4)]
    # the title memos, full three times over (25 distinct titles), stopped storing; the rating memo holds two
    assert {"1a": True, "x": False} in memos


def test_event_windows_count_elapsed_time_when_now_has_daylight_saving() -> None:
    # Window cut-offs are worked out once per batch only for a fixed-offset `now`: in a zone with daylight saving,
    # `now - 90 days` is wall-clock arithmetic, an hour off the elapsed time across the change.
    rs = ruleset(scoring={"mql_threshold": 60, "events": {"webinar": {"points": 5}}})
    now = datetime(2026, 3, 30, 10, 0, tzinfo=ZoneInfo("Europe/Stockholm"))  # 08:00 UTC, summer time
    inside = datetime(2025, 12, 30, 8, 30, tzinfo=UTC)  # 89 days 23.5 hours before now
    lead = Lead(lead_key="k0", source="t", source_record_id="0", received_at=now,
                events=[Event(type="webinar", at=inside)])
    ctx = DecisionContext(now=now)
    ours, reference = rs.decide([lead], ctx), decide_interpreted(rs, [lead], ctx)
    assert_same(ours, reference)
    assert ours.decisions[0].behaviour_score == 5


def test_decisions_share_one_fields_set_without_leaking_assignments() -> None:
    rs = ruleset()
    first, second = rs.decide([make_lead(0), make_lead(1)], DecisionContext(now=MONDAY_10_UTC)).decisions
    first.owner = "someone@ourco.example"
    changed = second.model_copy(update={"queue": "Elsewhere"})
    assert first.model_fields_set == second.model_fields_set == changed.model_fields_set == set(DECISION_FIELDS)
    assert second.owner is None and second.queue == "Unassigned" and changed.queue == "Elsewhere"
