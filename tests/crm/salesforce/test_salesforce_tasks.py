"""Follow-up Tasks (Collections upsert on the hand-off key) and touch reads, real client against the emulator."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from connectors.crm.followup import FollowUpTask, touched
from connectors.crm.salesforce.tasks import SalesforceTasks
from tests.crm.salesforce.conftest import ALICE, NEW, WORKING, decision, lead, make_sink, sync_outcomes
from tests.emulators.salesforce import SalesforceEmulator

HANDED = datetime(2026, 3, 2, 10, tzinfo=UTC)


def task(key: str, crm_id: str, owner: str = ALICE) -> FollowUpTask:
    return FollowUpTask(key=key, crm_id=crm_id, owner=owner, subject="Follow up with P", description="Because",
                        due_date="2026-03-02", due_at=HANDED + timedelta(minutes=15), priority="high")


def setup(emulator: SalesforceEmulator, n: int) -> tuple[SalesforceTasks, list[str]]:
    emulator.org.add_custom_field("Task", "Leadsync_Handoff_Key__c", type="string", external_id=True, unique=True)
    sink = make_sink(emulator)
    outcomes = sync_outcomes(sink, [lead(i) for i in range(n)], [decision(i) for i in range(n)])
    return SalesforceTasks(sink.client, sink.directory, sink.config), [str(o.crm_id) for o in outcomes]


def test_tasks_upserted_in_collections_of_200_and_never_twice(emulator: SalesforceEmulator) -> None:
    writer, ids = setup(emulator, 205)
    before = emulator.calls["composite_upsert"]
    results = writer.create_tasks([task(f"h{i}:task", crm_id) for i, crm_id in enumerate(ids)], maybe_sent=())
    assert emulator.calls["composite_upsert"] - before == 2  # 200 + 5
    assert all(r.task_id and r.error is None for r in results.values())
    tasks = list(emulator.org.records["Task"].values())
    assert len(tasks) == 205
    first = next(t for t in tasks if t["Leadsync_Handoff_Key__c"] == "h0:task")
    assert first["WhoId"] == ids[0] and first["ActivityDate"] == "2026-03-02" and first["Priority"] == "High"
    assert first["Subject"] == "Follow up with P" and first["Description"] == "Because"
    assert emulator.org.records["User"][first["OwnerId"]]["Email"] == ALICE
    # a retry of the same keys (a lost reply) updates the same tasks
    again = writer.create_tasks([task("h0:task", ids[0]), task("h1:task", ids[1])], maybe_sent={"h0:task"})
    assert again["h0:task"].task_id == results["h0:task"].task_id
    assert len(emulator.org.records["Task"]) == 205


def test_lost_reply_retry_makes_no_twin(emulator: SalesforceEmulator) -> None:
    writer, ids = setup(emulator, 1)
    emulator.faults.timeouts = 1  # the upsert is processed, the answer comes after the client gave up
    emulator.faults.timeout_seconds = 0.5
    writer.client._config = writer.client._config.model_copy(update={"request_timeout": 0.2})
    results = writer.create_tasks([task("h:task", ids[0])], maybe_sent=())
    assert results["h:task"].task_id
    assert len(emulator.org.records["Task"]) == 1


def test_touch_states_in_batched_queries(emulator: SalesforceEmulator) -> None:
    writer, ids = setup(emulator, 3)
    writer.create_tasks([task(f"h{i}:task", crm_id) for i, crm_id in enumerate(ids)], maybe_sent=())
    emulator.org.records["Lead"][ids[1]]["Status"] = WORKING  # rep moved the status
    task_id = next(i for i, t in emulator.org.records["Task"].items() if t["WhoId"] == ids[2])
    emulator.org.complete_task(task_id)  # rep completed the follow-up task
    queries = emulator.calls["query"]
    states = writer.touch_states(ids, since=HANDED)
    assert emulator.calls["query"] - queries <= 2 + 1  # leads, tasks (+ owner names): not one per lead
    assert [touched(states[i], NEW, HANDED) for i in ids] == [False, True, True]
    assert states[ids[2]].last_activity_date == date(2026, 3, 2)
    assert states[ids[0]].owner == ALICE
