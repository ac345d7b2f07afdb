"""The real pipeline pushing into the Salesforce emulator: owners kept, rejects dead-lettered, quota stops
cleanly, and leads entered in Salesforce by hand routed in place (CRM as a source)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import update

import flows.pipeline.runtime as runtime_module
from flows.pipeline.run import run_sync
from flows.pipeline.runtime import build_runtime
from flows.state.schema import inbox
from tests.crm.salesforce.conftest import ALICE, BOB, NEW, factory, queue_id, user_id, write_calls
from tests.emulators.salesforce import SalesforceEmulator

RULES = """\
version: 1
scoring:
  mql_threshold: 40
  rules:
    - {id: senior, when: {title: {matches: '\\b(vp|head|director|founder)\\b'}}, points: 45}
routing:
  never_reassign_owned: true
  teams: {reps: {members: [alice@ourco.example, bob@ourco.example]}}
  rules: [{id: all, when: {qualification: {equals: qualified}}, assign: {team: reps}}]
  default: {queue: Unassigned}
nurture: [{id: early, list: Nurture, when: {mql: {equals: false}}}]
statuses: {new: Open - Not Contacted, mql: Working - Contacted, unqualified: Closed - Not Converted}
"""


@pytest.fixture
def sf_config(demo_config: Path, emulator: SalesforceEmulator, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LEADSYNC_SF_PASSWORD", "hunter2-e2e-secret")
    # Logging in to a loopback org is impossible (simple-salesforce hard-codes *.salesforce.com),
    # so the login step is the one seam replaced; every data call is real HTTP.
    monkeypatch.setattr(runtime_module, "login_factory", lambda _credentials, _config: factory(emulator))
    (demo_config.parent / "rules.yaml").write_text(RULES)
    config = yaml.safe_load(demo_config.read_text())
    config["crm"] = {"type": "salesforce", "username": "integration@ourco.example",
                     "password": "${LEADSYNC_SF_PASSWORD}", "bulk_poll_seconds": 0}
    config["sources"] = [s for s in config["sources"] if s["type"] == "form_files"]
    demo_config.write_text(yaml.safe_dump(config))
    return demo_config


def test_demo_forms_into_salesforce_then_a_replay_writes_nothing(sf_config: Path,
                                                                 emulator: SalesforceEmulator) -> None:
    owned = emulator.org.add_record("Lead", {"LastName": "Reyes", "Company": "BigCo", "Status": NEW,
                                             "Email": "marcus.reyes@bigco.example",
                                             "OwnerId": user_id(emulator, BOB)})
    runtime = build_runtime(sf_config)
    try:
        first = run_sync(runtime)
        assert first.outcomes == {"created": 3, "updated": 1} and first.spam == 1 and len(first.rejections) == 1
        assert emulator.org.records["Lead"][owned]["OwnerId"] == user_id(emulator, BOB)  # never reassigned
        owners = {r["OwnerId"] for r in emulator.org.records["Lead"].values()}
        assert owners <= {user_id(emulator, ALICE), user_id(emulator, BOB)}
        writes = write_calls(emulator)
        assert sum(emulator.calls.values()) <= 16, emulator.calls  # batched, never per lead
    finally:
        runtime.close()
    runtime = build_runtime(sf_config)
    try:
        with runtime.store.engine.begin() as conn:
            conn.execute(update(inbox).where(inbox.c.status == "done").values(status="pending"))
        second = run_sync(runtime)
        assert second.outcomes == {"unchanged": 4} and write_calls(emulator) == writes
        assert len(emulator.org.records["Lead"]) == 4
    finally:
        runtime.close()


def test_a_record_salesforce_rejects_is_dead_lettered_with_its_error(sf_config: Path,
                                                                     emulator: SalesforceEmulator) -> None:
    emulator.faults.reject_emails["priya@freshstartup.example"] = ("FIELD_CUSTOM_VALIDATION_EXCEPTION",
                                                                   "Founders need a phone number")
    runtime = build_runtime(sf_config)
    try:
        summary = run_sync(runtime)
        assert summary.outcomes == {"created": 3, "rejected": 1}
        letters = [d for d in runtime.store.list_dead_letters() if d.stage == "crm"]
        assert [(d.code, d.message) for d in letters] == [("SF:FIELD_CUSTOM_VALIDATION_EXCEPTION",
                                                           "Founders need a phone number")]
    finally:
        runtime.close()


def test_quota_share_stops_the_run_with_leads_left_in_the_inbox(sf_config: Path,
                                                                emulator: SalesforceEmulator) -> None:
    runtime = build_runtime(sf_config)
    try:
        emulator.faults.daily_max = 100
        emulator.faults.daily_used = 79  # the default ceiling is 80 %: the next response tells the sink
        stopped = run_sync(runtime)
        assert stopped.stopped is not None and "80%" in stopped.stopped
        assert runtime.store.inbox_count(status="pending") == 5 and emulator.org.records.get("Lead", {}) == {}
        emulator.faults.daily_max = 15_000  # a new day
        resumed = run_sync(runtime)
        assert resumed.outcomes == {"created": 4} and runtime.store.inbox_count(status="pending") == 0
    finally:
        runtime.close()


def test_unrouted_salesforce_leads_are_routed_in_place_once(sf_config: Path, emulator: SalesforceEmulator) -> None:
    config: dict[str, Any] = yaml.safe_load(sf_config.read_text())
    config["sources"] = [{"type": "crm_unrouted", "name": "salesforce", "queues": ["Unassigned"]}]
    sf_config.write_text(yaml.safe_dump(config))
    queue = queue_id(emulator, "Unassigned")
    walk_in = emulator.org.add_record("Lead", {"LastName": "In", "FirstName": "Walk", "Company": "BigCo",
                                               "Email": "walkin@bigco.example", "Title": "VP Sales",
                                               "OwnerId": queue})
    owned = emulator.org.add_record("Lead", {"LastName": "Kept", "Company": "X", "Email": "kept@x.example",
                                             "OwnerId": user_id(emulator, BOB)})
    runtime = build_runtime(sf_config)
    try:
        first = run_sync(runtime)
        assert {c.source: c.new for c in first.captures} == {"crm_unrouted:salesforce": 1}
        assert first.outcomes == {"updated": 1}
        leads = emulator.org.records["Lead"]
        assert len(leads) == 2, "a CRM-sourced lead must update its own record, never create a twin"
        assert leads[walk_in]["OwnerId"] in {user_id(emulator, ALICE), user_id(emulator, BOB)}
        assert leads[walk_in]["Leadsync_Key__c"] and leads[walk_in]["Leadsync_Explanation__c"]
        assert leads[owned].get("Leadsync_Key__c") is None
        writes = write_calls(emulator)
        second = run_sync(runtime)
        assert [c.new for c in second.captures] == [0] and second.claimed == 0
        assert write_calls(emulator) == writes, "leadsync must not feed on its own writes"
    finally:
        runtime.close()


def test_validate_check_crm_lists_what_the_org_lacks(sf_config: Path, emulator: SalesforceEmulator) -> None:
    from typer.testing import CliRunner

    from flows.cli import app

    runner = CliRunner()
    ok = runner.invoke(app, ["validate", "--check-crm", "--config", str(sf_config)])
    assert ok.exit_code == 0, ok.output
    assert "every mapped field, owner and queue exists" in ok.output
    emulator.org.schema["Lead"].fields.pop("leadsync_grade__c")
    emulator.org.picklists[("Lead", "Status")] = ["Open - Not Contacted", "Closed - Not Converted"]
    bad = runner.invoke(app, ["validate", "--check-crm", "--config", str(sf_config)])
    assert bad.exit_code == 2, bad.output
    assert "Leadsync_Grade__c" in bad.output and "'Working - Contacted' is not a value" in bad.output
    assert "Traceback" not in bad.output and "hunter2-e2e-secret" not in bad.output


def test_a_large_backlog_goes_through_bulk_api_even_with_small_batches(sf_config: Path,
                                                                        emulator: SalesforceEmulator) -> None:
    config = yaml.safe_load(sf_config.read_text())
    config["crm"].update(bulk_threshold=250, bulk_batch_size=1000)
    config["processing"]["batch_size"] = 100  # each batch alone stays under the threshold
    lines = [json.dumps({"id": f"s{i}", "submitted_at": "2026-03-01T10:00:00Z", "fields": {
        "email": f"p{i}@co{i}.example", "first_name": "P", "last_name": f"L{i}", "company": f"Co {i}"}})
             for i in range(300)]
    forms = sf_config.parent / "backlog.jsonl"
    forms.write_text("\n".join(lines) + "\n")
    config["sources"] = [{"type": "form_files", "name": "backlog", "path": "backlog.jsonl"}]
    sf_config.write_text(yaml.safe_dump(config))
    runtime = build_runtime(sf_config)
    try:
        run_sync(runtime, process=False)  # the backlog: 300 leads waiting
        summary = run_sync(runtime)
    finally:
        runtime.close()
    assert summary.outcomes == {"created": 300} and summary.batches == 1
    assert emulator.calls["bulk_create_job"] == 1 and emulator.subrequests["composite_upsert"] == 0
    assert len(emulator.org.records["Lead"]) == 300
