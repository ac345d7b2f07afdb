"""HubSpotSink.fetch_unrouted through the real client and the emulator's lagging search index."""

from __future__ import annotations

import time
from datetime import datetime

from connectors.sources.crm_unrouted import UnroutedFeed, UnroutedRecord
from tests.crm.hubspot.test_hubspot_sink import ALICE, emulator, sink  # noqa: F401 - fixture
from tests.emulators.hubspot import HubSpotEmulator

SAME_MS = "2026-03-02T10:00:00.000Z"


def drain(feed: UnroutedFeed, limit: int, statuses: tuple[str, ...] = ()) -> list[list[UnroutedRecord]]:
    """Read the feed the way CrmUnroutedSource does: page after page on the (modified_at, id) cursor."""
    pages: list[list[UnroutedRecord]] = []
    after: tuple[datetime, str] | None = None
    while records := feed.fetch_unrouted(after, limit, [], list(statuses)):
        pages.append(records)
        after = (records[-1].modified_at, records[-1].crm_id)
        assert len(pages) < 50, "the cursor must advance"
    return pages


def test_unowned_contacts_by_hand_in_order_never_owned_or_leadsync_ones(emulator: HubSpotEmulator) -> None:  # noqa: F811
    alice = next(o for o, v in emulator.account.owners.items() if v["email"] == ALICE)
    first = emulator.create_contact({"email": "walk@in.example", "firstname": "Walk", "jobtitle": "VP"})
    emulator.create_contact({"email": "owned@x.example", "hubspot_owner_id": alice})
    emulator.create_contact({"email": "ours@x.example", "leadsync_key": "k-ours"})  # leadsync wrote it, queued
    status = emulator.create_contact({"email": "status@x.example", "hubspot_owner_id": alice,
                                      "hs_lead_status": "NEW"})
    s = sink(emulator, unrouted_settle_seconds=0)
    assert isinstance(s, UnroutedFeed)
    [[record]] = drain(s, 10)
    assert record.crm_id == first
    assert record.fields == {"email": "walk@in.example", "first_name": "Walk", "title": "VP"}
    assert [r.crm_id for r in drain(s, 10, ("NEW",))[0]] == [first, status]
    owned = next(r for r in drain(s, 10, ("NEW",))[0] if r.crm_id == status)
    assert owned.fields["owner"] == ALICE  # owners travel as e-mails


def test_contacts_sharing_a_millisecond_are_neither_skipped_nor_repeated(emulator: HubSpotEmulator) -> None:  # noqa: F811
    emulator.faults.search_per_second = 1000
    ids = [emulator.create_contact({"email": f"tie{i}@x.example"}, modified_at=SAME_MS) for i in range(5)]
    ids += [emulator.create_contact({"email": f"later{i}@x.example"}) for i in range(3)]
    s = sink(emulator, unrouted_settle_seconds=0, searches_per_second=1000)
    assert [[r.crm_id for r in page] for page in drain(s, 2)] == [ids[0:2], ids[2:4], ids[4:6], ids[6:8]]
    ids += [emulator.create_contact({"email": f"bulk{i}@x.example"}) for i in range(450)]  # > 2 search pages
    pages = drain(s, 300)
    assert [len(page) for page in pages] == [300, 158]
    assert [r.crm_id for page in pages for r in page] == ids  # in (modified_at, id) order, each once


def test_recent_changes_wait_for_the_search_index_to_settle(emulator: HubSpotEmulator) -> None:  # noqa: F811
    emulator.faults.search_lag_seconds = 0.5
    s = sink(emulator, unrouted_settle_seconds=1.0)
    contact = emulator.create_contact({"email": "fresh@x.example"})
    assert drain(s, 10) == []  # not in the index yet, and too fresh to trust a cursor past it
    time.sleep(1.05)
    assert [r.crm_id for r in drain(s, 10)[0]] == [contact]
