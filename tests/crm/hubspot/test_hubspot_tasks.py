"""HubSpot follow-up tasks (batch create + contact association, search by key before a retry) and touch reads,
with the real hubspot-api-client against the emulator."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from connectors.crm.followup import FollowUpTask, touched
from connectors.crm.hubspot import HubSpotSink
from connectors.crm.hubspot.tasks import HubSpotTasks
from tests.crm.hubspot.test_hubspot_sink import ALICE, BOB, decision, lead, sink, sync
from tests.emulators.hubspot import HubSpotEmulator
from tests.emulators.hubspot.state import complete_task

HANDED = datetime(2026, 3, 2, 10, tzinfo=UTC)


@pytest.fixture
def emulator() -> Iterator[HubSpotEmulator]:
    emu = HubSpotEmulator().start()
    emu.account.add_owner(ALICE)
    emu.account.add_owner(BOB)
    for name in ("leadsync_score", "leadsync_grade", "leadsync_mql", "leadsync_explanation", "leadsync_key",
                 "leadsync_ruleset", "leadsync_source"):
        emu.account.properties[name] = "string"
    emu.account.unique_properties.add("leadsync_key")
    yield emu
    emu.stop()


def setup(emu: HubSpotEmulator, n: int) -> tuple[HubSpotSink, HubSpotTasks, list[str]]:
    emu.account.task_properties.add("leadsync_handoff_key")
    s = sink(emu)
    sync(s, [lead(i) for i in range(n)], [decision(i) for i in range(n)])
    found = s.lookup([lead(i) for i in range(n)])
    return s, HubSpotTasks(s.client, s.config), [found[f"k{i}"].crm_id for i in range(n)]


def task(key: str, crm_id: str, owner: str = ALICE) -> FollowUpTask:
    return FollowUpTask(key=key, crm_id=crm_id, owner=owner, subject="Follow up with P", description="Because",
                        due_date="2026-03-02", due_at=HANDED + timedelta(minutes=15), priority="high")


def test_batch_create_with_contact_association(emulator: HubSpotEmulator) -> None:
    _s, writer, ids = setup(emulator, 101)
    results = writer.create_tasks([task(f"h{i}:task", c) for i, c in enumerate(ids)], maybe_sent=())
    assert emulator.calls["tasks.batch.create"] == 2  # 100 + 1
    assert len(emulator.account.tasks) == 101 and all(r.task_id for r in results.values())
    first = emulator.account.tasks[str(results["h0:task"].task_id)]
    assert first["contacts"] == [ids[0]]
    props = first["properties"]
    assert props["hs_task_subject"] == "Follow up with P" and props["hs_task_body"] == "Because"
    assert props["hs_timestamp"] == "2026-03-02T10:15:00.000Z" and props["hs_task_priority"] == "HIGH"
    assert emulator.account.owners[props["hubspot_owner_id"]]["email"] == ALICE


def test_retry_of_a_key_that_landed_makes_no_twin(emulator: HubSpotEmulator) -> None:
    _s, writer, ids = setup(emulator, 2)
    first = writer.create_tasks([task("h0:task", ids[0])], maybe_sent=())
    # The reply was lost: the outbox retries the key, flagged as maybe sent.
    again = writer.create_tasks([task("h0:task", ids[0]), task("h1:task", ids[1])], maybe_sent={"h0:task"})
    assert again["h0:task"].task_id == first["h0:task"].task_id
    assert len(emulator.account.tasks) == 2
    assert emulator.calls["tasks.search"] == 1


def test_touch_states_from_lead_status_and_activity(emulator: HubSpotEmulator) -> None:
    _s, writer, ids = setup(emulator, 3)
    results = writer.create_tasks([task(f"h{i}:task", c) for i, c in enumerate(ids)], maybe_sent=())
    emulator.account.contacts[ids[1]]["properties"]["hs_lead_status"] = "CONNECTED"
    complete_task(emulator.account, str(results["h2:task"].task_id), at="2026-03-02T11:00:00.000Z")
    reads = emulator.calls["contacts.batch.read"]
    states = writer.touch_states(ids, since=HANDED)
    assert emulator.calls["contacts.batch.read"] - reads == 1
    assert [touched(states[i], "NEW", HANDED) for i in ids] == [False, True, True]
    assert states[ids[0]].owner == ALICE
