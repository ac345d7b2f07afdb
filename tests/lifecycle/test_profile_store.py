"""The profile store on SQLite and PostgreSQL: identities, kept events, merges, compaction, re-score index."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from connectors.normalise import lead_key_for
from connectors.records import Event, Lead, StageTransition
from flows.state import ProfileOutcome, StateStore

T0 = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture
def store(store_url: str) -> StateStore:
    s = StateStore(store_url)
    s.create_schema()
    return s


def lead(n: int, at: datetime = T0, events: list[Event] | None = None, **fields: object) -> Lead:
    email, phone = fields.get("email"), fields.get("phone")
    return Lead.model_validate({"source": "forms:web", "source_record_id": f"r{n}", "received_at": at,
                                "lead_key": lead_key_for(email, "forms:web", f"r{n}", phone),  # type: ignore[arg-type]
                                "events": events or [], **fields})


def ev(kind: str, at: datetime, event_id: str | None = None, **props: object) -> Event:
    return Event(type=kind, at=at, event_id=event_id, properties=props)


def test_one_profile_per_person_with_facts_events_and_identities(store: StateStore) -> None:
    first = lead(1, email="ann@co.example", company="Co", events=[ev("whitepaper_download", T0, "e1")])
    attached = store.attach([first], T0, 90)
    [profile] = attached.profiles.values()
    assert profile.lead_key == first.lead_key and profile.has_lead_data
    assert profile.fit is not None and profile.fit.company == "Co"
    assert [e.type for e in profile.events] == ["whitepaper_download"]
    later = T0 + timedelta(days=7)
    second = lead(2, later, email="ANN@co.example".lower(), title="CTO", phone="+14155550134",
                  events=[ev("pricing_page_visit", later, "e2", path="/pricing"), ev("whitepaper_download", T0, "e1")])
    again = store.attach([second], later, 90)
    assert again.profile_of == attached.profile_of
    profile = again.profiles[attached.profile_of[0]]
    assert profile.fit is not None and (profile.fit.company, profile.fit.title) == ("Co", "CTO")
    assert sorted(e.type for e in profile.events) == ["pricing_page_visit", "whitepaper_download"]  # e1 once
    assert next(e for e in profile.events if e.type == "pricing_page_visit").properties == {"path": "/pricing"}
    assert profile.state.last_activity_at == later
    assert store.profile_by_identity("phone", "+14155550134") == profile.id
    assert store.count_profile_events() == 2


def test_a_link_merges_two_profiles_and_records_why(store: StateStore) -> None:
    by_phone = store.attach([lead(1, phone="+14155550134", company="Co", events=[ev("email_open", T0, "o1")])],
                            T0, 90)
    by_email = store.attach([lead(2, email="ann@co.example", events=[ev("email_click", T0, "c1")])], T0, 90)
    phone_id, email_id = by_phone.profile_of[0], by_email.profile_of[0]
    both = store.attach([lead(3, email="ann@co.example", phone="+14155550134")], T0, 90)
    [survivor] = both.profiles.values()
    assert survivor.id == phone_id  # the older profile stays, its lead key (the CRM's) too
    assert sorted(e.type for e in survivor.events) == ["email_click", "email_open"]
    assert store.profile_by_identity("email", "ann@co.example") == phone_id
    assert store.profile_by_identity("lead_key", lead_key_for("ann@co.example", "", "")) == phone_id
    [merge] = store.profile_history(phone_id)["merges"]
    assert merge["merged_profile_id"] == email_id and merge["reason"] == "same phone (linked by forms:web/r3)"
    assert [r["id"] for r in store.profile_rows()] == [phone_id]


def test_events_older_than_the_kept_history_are_compacted_into_counts(store: StateStore) -> None:
    old = [ev("email_open", T0 - timedelta(days=100 + i), f"o{i}") for i in range(3)]
    recent = [ev("email_open", T0 - timedelta(days=5), "o9")]
    attached = store.attach([lead(1, email="ann@co.example", events=old + recent)], T0, 90)
    [profile] = attached.profiles.values()
    assert [e.event_id for e in profile.events] == [None] and len(profile.events) == 1
    assert profile.state.compacted_event_counts == {"email_open": 3}
    assert store.count_profile_events() == 1
    [reloaded] = store.profiles_after(0, 10, T0, 90)
    assert reloaded.state.compacted_event_counts == {"email_open": 3}


def test_anonymous_events_wait_for_the_person_and_are_credited_when_they_identify(store: StateStore) -> None:
    visits = lead(1, anonymous_ids=["anon-1"], events_only=True, events=[ev("pricing_page_visit", T0, "v1")])
    waiting = store.attach([visits], T0, 90)
    assert not next(iter(waiting.profiles.values())).has_lead_data
    form = lead(2, T0 + timedelta(days=1), email="ann@co.example", company="Co", anonymous_ids=["anon-1"])
    identified = store.attach([form], T0 + timedelta(days=1), 90)
    [profile] = identified.profiles.values()
    assert profile.has_lead_data and [e.type for e in profile.events] == ["pricing_page_visit"]


def test_people_who_never_identify_are_pruned_after_the_retention(store: StateStore) -> None:
    attached = store.attach([lead(1, anonymous_ids=["anon-2"], events_only=True,
                                  events=[ev("website_visit", T0, "w1")])], T0, 90)
    [pid] = attached.profile_of
    assert store.profile_rows()[0]["next_rescore_at"] is not None  # due for pruning in 90 days
    store.attach([lead(2, anonymous_ids=["anon-2"], events_only=True,
                       events=[ev("website_visit", T0 + timedelta(days=1), "w2")])], T0 + timedelta(days=1), 90)
    assert store.claim_due_profiles(T0 + timedelta(days=30), 100, timedelta(minutes=5), 90,
                                    timedelta(days=90)) == []
    assert store.claim_due_profiles(T0 + timedelta(days=90, hours=12), 100, timedelta(minutes=5), 90,
                                    timedelta(days=90)) == []
    assert len(store.profile_rows()) == 1  # its last visit (day 1) moved the retention on
    assert store.claim_due_profiles(T0 + timedelta(days=91, hours=1), 100, timedelta(minutes=5), 90,
                                    timedelta(days=90)) == []
    assert store.profile_rows() == [] and store.count_profile_events() == 0
    assert store.profile_by_identity("anonymous_id", "anon-2") is None and pid


def test_decided_state_is_saved_with_the_ledger_and_due_profiles_are_claimed_by_index(store: StateStore) -> None:
    attached = store.attach([lead(i, email=f"p{i}@co.example") for i in range(3)], T0, 90)
    ids = attached.profile_of
    move = StageTransition(from_stage="nurture", to_stage="mql", at=T0, cause="crossed 60: pricing page visit")
    outcomes = [ProfileOutcome(profile_id=pid, score=61, grade="A", qualification="qualified", stage="mql",
                               stage_since=T0, owner="alice@ourco.example", lists=[], crm_id="7", mql_at=T0,
                               next_rescore_at=T0 + timedelta(days=i + 1), ruleset_version="v1",
                               transition=move if i == 0 else None) for i, pid in enumerate(ids)]
    store.record_decisions("run1", [{"lead_key": "k", "ruleset_version": "v1", "outcome": "created",
                                     "crm_id": "7", "decision": {}}], profiles=outcomes)
    [moved] = store.profile_history(ids[0])["transitions"]
    assert (moved["from_stage"], moved["to_stage"], moved["cause"]) == ("nurture", "mql",
                                                                        "crossed 60: pricing page visit")
    due = store.claim_due_profiles(T0 + timedelta(days=2, hours=1), 100, timedelta(minutes=5), 90,
                                   timedelta(days=90))
    assert sorted(p.id for p in due) == ids[:2]
    assert due[0].state.stage == "mql" and due[0].score == 61 and due[0].crm_id == "7"
    # leased: a second claim right after finds nothing
    assert store.claim_due_profiles(T0 + timedelta(days=2, hours=1), 100, timedelta(minutes=5), 90,
                                    timedelta(days=90)) == []
