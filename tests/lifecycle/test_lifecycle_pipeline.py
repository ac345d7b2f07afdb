"""Leads over time through the real pipeline (SQLite and PostgreSQL, the local CRM): history, MQL, decay."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

import pytest

from connectors.crm.local import LocalCrmSink
from connectors.records import CrmChange, Event, OutcomeStatus, RecordOutcome
from tests.lifecycle.harness import EventFeed, Pipeline, pipeline

T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)
SAM = "sam@acme.example"
FIT = {"first_name": "Sam", "company": "Acme", "country": "US", "employees": "80", "industry": "Software"}


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


def ev(kind: str, n: float, **props: object) -> Event:
    return Event(type=kind, at=day(n), properties=props)


@pytest.fixture
def feed() -> EventFeed:
    return EventFeed()


@pytest.fixture
def pipe(store_url: str, tmp_path: Path, feed: EventFeed) -> Iterator[Pipeline]:
    p = pipeline(store_url, tmp_path, feed)
    yield p
    p.close()


def test_a_lead_collecting_60_points_over_four_weeks_becomes_an_mql_in_the_run_it_crosses(
        pipe: Pipeline, feed: EventFeed) -> None:
    # before the person is known: an anonymous pricing visit, an e-mail open. Nothing reaches the CRM.
    feed.add(day(-2), anonymous_id="anon-sam", events=[ev("pricing_page_visit", -2, path="/pricing")])
    feed.add(day(-1), email=SAM, events=[ev("email_open", -1, campaign="nov-webinar")])
    pipe.run(day(-1) + timedelta(hours=1))
    assert pipe.sink.all_leads() == []

    # day 0: a form fill carrying the tracking id: fit 30 + pricing 10 + open 2, credited now
    feed.add(day(0), email=SAM, anonymous_id="anon-sam", fields=FIT)
    pipe.run(day(0) + timedelta(hours=1))
    sam = pipe.crm_lead(SAM)
    assert (sam["score"], sam["mql"], sam["status"]) == (42, False, "Nurturing")

    feed.add(day(7), email=SAM, events=[ev("email_click", 7)])
    pipe.run(day(7) + timedelta(hours=1))
    feed.add(day(14), email=SAM, events=[ev("whitepaper_download", 14)])
    pipe.run(day(14) + timedelta(hours=1))
    assert pipe.crm_lead(SAM)["score"] == 56 and not pipe.crm_lead(SAM)["mql"]

    writes = pipe.sink.write_calls
    quiet = pipe.run(day(21) + timedelta(hours=1))  # a week without news: nothing to write
    assert pipe.sink.write_calls == writes and quiet.claimed == 0

    feed.add(day(28), email=SAM, events=[ev("website_visit", 28, path="/product")])
    crossing = pipe.run(day(28) + timedelta(hours=1))
    sam = pipe.crm_lead(SAM)
    assert (sam["score"], sam["mql"], sam["status"]) == (61, True, "Working - Contacted")
    assert sam["owner"]  # kept: never_reassign_owned (re-routing an MQL is the stage rules' call)
    assert crossing.mqls == 1
    [profile] = pipe.store.profile_rows()
    assert profile["mql_at"] is not None and profile["score"] == 61 and profile["crm_id"] == str(sam["id"])
    assert pipe.store.profile_by_identity("crm_id", str(sam["id"])) == profile["id"]
    assert len(pipe.sink.all_leads()) == 1

    writes = pipe.sink.write_calls
    pipe.run(day(28) + timedelta(hours=2))  # re-run: nothing twice
    assert pipe.sink.write_calls == writes


def test_time_alone_rescores_a_profile_when_its_window_expires(pipe: Pipeline, feed: EventFeed) -> None:
    feed.add(day(0), email=SAM, fields=FIT, events=[ev("website_visit", 0), ev("pricing_page_visit", 0)])
    feed.add(day(0), email="other@acme.example", fields=FIT)
    pipe.run(day(0) + timedelta(hours=1))
    assert pipe.crm_lead(SAM)["score"] == 45
    profiles = {p["lead_key"]: p for p in pipe.store.profile_rows()}
    assert sum(1 for p in profiles.values() if p["next_rescore_at"] is not None) == 1  # only Sam's can change
    assert pipe.run(day(29)).rescored == 0
    later = pipe.run(day(30) + timedelta(hours=1))  # the website visit left its 30-day window
    assert later.rescored == 1
    assert pipe.crm_lead(SAM)["score"] == 40


class RefusingCrm(LocalCrmSink):
    """The local CRM with a validation rule switched on for some leads, as a Salesforce org can refuse a record."""

    refuse: set[str]

    def apply(self, changes: Sequence[CrmChange]) -> list[RecordOutcome]:
        taken = super().apply([c for c in changes if c.lead_key not in self.refuse])
        by_key = {o.lead_key: o for o in taken}
        return [by_key[c.lead_key] if c.lead_key not in self.refuse else RecordOutcome(
            lead_key=c.lead_key, status=OutcomeStatus.REJECTED, error_code="FIELD_CUSTOM_VALIDATION_EXCEPTION",
            error_message="Score cannot go down while a deal is open") for c in changes]


def test_a_profile_the_crm_refuses_while_rescoring_is_dead_lettered_once_and_pushed_after_replay(
        store_url: str, tmp_path: Path, feed: EventFeed) -> None:
    pipe = pipeline(store_url, tmp_path, feed)
    pipe.sink.__class__ = RefusingCrm
    crm = cast(RefusingCrm, pipe.sink)
    crm.refuse = set()
    try:
        feed.add(day(0), email=SAM, fields=FIT, events=[ev("website_visit", 0), ev("pricing_page_visit", 0)])
        pipe.run(day(0) + timedelta(hours=1))
        [sam_key] = [p["lead_key"] for p in pipe.store.profile_rows()]
        crm.refuse = {sam_key}

        refused = pipe.run(day(30) + timedelta(hours=1))  # the visit left its window: 45 -> 40, refused
        assert refused.rescored == 1 and refused.rejected_by_code == {"FIELD_CUSTOM_VALIDATION_EXCEPTION": 1}
        [letter] = pipe.store.list_dead_letters()
        assert (letter.stage, letter.lead_key, letter.source) == ("crm", sam_key, feed.name)
        assert letter.message.startswith("re-scoring: ") and SAM not in letter.message
        assert pipe.crm_lead(SAM)["score"] == 45
        [profile] = pipe.store.profile_rows()
        assert profile["next_rescore_at"] is None  # parked: not re-tried every run

        writes = crm.write_calls
        later = pipe.run(day(31))
        assert later.rescored == 0 and crm.write_calls == writes and len(pipe.store.list_dead_letters()) == 1

        crm.refuse = set()  # ops fixed the validation rule
        assert pipe.store.replay_dead_letters() == 1
        pipe.run(day(31) + timedelta(hours=1))
        assert pipe.crm_lead(SAM)["score"] == 40
        assert pipe.store.list_dead_letters() == [] and len(pipe.sink.all_leads()) == 1
    finally:
        pipe.close()
