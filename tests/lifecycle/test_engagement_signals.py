"""E-mail engagement changes the person, not only the score: an unsubscribe withdraws consent (out of nurture
lists that need it), a hard bounce marks the address invalid. Through the real pipeline and the local CRM."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from connectors.records import Event
from tests.lifecycle.harness import EventFeed, Pipeline, pipeline

T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)
SAM = "sam@acme.example"
FIT = {"first_name": "Sam", "company": "Acme", "country": "US", "employees": "80", "industry": "Software"}
NURTURE = "Nurture - Early stage"


@pytest.fixture
def pipe(store_url: str, tmp_path: Path) -> Iterator[tuple[Pipeline, EventFeed]]:
    feed = EventFeed()
    p = pipeline(store_url, tmp_path, feed)
    yield p, feed
    p.close()


def test_an_unsubscribe_takes_the_person_out_of_nurture_and_a_hard_bounce_marks_the_address(
        pipe: tuple[Pipeline, EventFeed]) -> None:
    p, feed = pipe
    feed.add(T0, email=SAM, fields=FIT)
    p.run(T0 + timedelta(hours=1))
    assert p.crm_lead(SAM)["lists"] == NURTURE

    feed.add(T0 + timedelta(days=1), email=SAM, consent_email=False,
             events=[Event(type="unsubscribe", at=T0 + timedelta(days=1), event_id="sg-1")])
    p.run(T0 + timedelta(days=1, hours=1))
    sam = p.crm_lead(SAM)
    assert sam["lists"] == "" and sam["score"] == 30 - 50  # out of nurture; the unsubscribe's points count too
    [profile] = p.store.profile_rows()
    assert profile["fit"]["consent"]["email"] is False

    feed.add(T0 + timedelta(days=2), email=SAM, email_invalid=True,
             events=[Event(type="bounce", at=T0 + timedelta(days=2), event_id="sg-2")])
    p.run(T0 + timedelta(days=2, hours=1))
    [profile] = p.store.profile_rows()
    assert profile["fit"]["email_invalid"] is True
