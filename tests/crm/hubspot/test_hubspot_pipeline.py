"""The demo sources pushed into HubSpot (emulator) by the real pipeline; a re-run writes nothing."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml
from sqlalchemy import update

from flows.pipeline.run import run_sync
from flows.pipeline.runtime import build_runtime
from flows.state.schema import inbox
from tests.crm.hubspot.test_hubspot_sink import ALICE, BOB, emulator  # noqa: F401 - fixture
from tests.emulators.hubspot import HubSpotEmulator

RULES = """\
version: 1
scoring:
  mql_threshold: 40
  rules:
    - {id: senior, when: {title: {matches: '\\b(vp|head|director|founder)\\b'}}, points: 45}
routing:
  teams: {reps: {members: [alice@ourco.example, bob@ourco.example]}}
  rules: [{id: all, when: {qualification: {equals: qualified}}, assign: {team: reps}}]
  default: {queue: Unassigned}
nurture: [{id: early, list: Nurture, when: {mql: {equals: false}}}]
statuses: {new: NEW, mql: IN_PROGRESS, unqualified: UNQUALIFIED}
"""


def test_demo_forms_into_hubspot(emulator: HubSpotEmulator, demo_config: Path,  # noqa: F811
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEADSYNC_HS_TOKEN", "pat-na1-e2e-secret")
    (demo_config.parent / "rules.yaml").write_text(RULES)
    config = yaml.safe_load(demo_config.read_text())
    config["crm"] = {"type": "hubspot", "host": emulator.url, "access_token": "${LEADSYNC_HS_TOKEN}"}
    config["sources"] = [s for s in config["sources"] if s["type"] == "form_files"]
    demo_config.write_text(yaml.safe_dump(config))
    runtime = build_runtime(demo_config)
    try:
        first = run_sync(runtime)
        assert first.outcomes == {"created": 4} and first.spam == 1 and len(first.rejections) == 1
        owners = {c["properties"]["hubspot_owner_id"] for c in emulator.account.contacts.values()}
        assert owners == {o for o, v in emulator.account.owners.items() if v["email"] in (ALICE, BOB)}
        writes = emulator.write_calls()
        calls = sum(emulator.calls.values())
        assert calls <= 12, emulator.calls  # owners, reads, companies, one upsert, lists: batched, never per lead
    finally:
        runtime.close()
    runtime = build_runtime(demo_config)
    try:
        # Process the same leads again (as a replay or a re-delivered webhook would): nothing changes.
        with runtime.store.engine.begin() as conn:
            conn.execute(update(inbox).where(inbox.c.status == "done").values(status="pending"))
        second = run_sync(runtime)
        assert second.claimed == 5 and second.outcomes == {"unchanged": 4}
        assert emulator.write_calls() == writes
    finally:
        runtime.close()


def _hubspot_demo(demo_config: Path, emulator: HubSpotEmulator) -> None:  # noqa: F811
    (demo_config.parent / "rules.yaml").write_text(RULES)
    config = yaml.safe_load(demo_config.read_text())
    config["crm"] = {"type": "hubspot", "host": emulator.url, "access_token": "${LEADSYNC_HS_TOKEN}"}
    config["sources"] = [s for s in config["sources"] if s["type"] == "form_files"]
    demo_config.write_text(yaml.safe_dump(config))


def test_daily_limit_stops_the_run_with_leads_left_in_the_inbox(
        emulator: HubSpotEmulator, demo_config: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    monkeypatch.setenv("LEADSYNC_HS_TOKEN", "pat-na1-e2e-secret")
    _hubspot_demo(demo_config, emulator)
    runtime = build_runtime(demo_config)
    try:
        emulator.faults.daily_remaining = 2  # enough for the lookups, not for the writes
        stopped = run_sync(runtime)
        assert stopped.stopped is not None and "daily" in stopped.stopped
        assert runtime.store.inbox_count(status="pending") == 5 and emulator.account.contacts == {}
        emulator.faults.daily_remaining = None  # a new day
        resumed = run_sync(runtime)
        assert resumed.outcomes == {"created": 4} and runtime.store.inbox_count(status="pending") == 0
    finally:
        runtime.close()


def test_a_record_hubspot_rejects_is_dead_lettered_with_its_message(
        emulator: HubSpotEmulator, demo_config: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    monkeypatch.setenv("LEADSYNC_HS_TOKEN", "pat-na1-e2e-secret")
    _hubspot_demo(demo_config, emulator)
    emulator.faults.reject_emails["priya@freshstartup.example"] = "Property values were not valid: jobtitle"
    runtime = build_runtime(demo_config)
    try:
        summary = run_sync(runtime)
        assert summary.outcomes == {"created": 3, "rejected": 1}
        letters = [d for d in runtime.store.list_dead_letters() if d.stage == "crm"]
        assert [(d.code, d.message) for d in letters] == [("HS:VALIDATION_ERROR",
                                                           "Property values were not valid: jobtitle")]
    finally:
        runtime.close()


def test_contacts_entered_by_hand_are_routed_once_and_leadsyncs_own_never_reenter(
        emulator: HubSpotEmulator, demo_config: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    monkeypatch.setenv("LEADSYNC_HS_TOKEN", "pat-na1-e2e-secret")
    _hubspot_demo(demo_config, emulator)
    config = yaml.safe_load(demo_config.read_text())
    config["crm"]["unrouted_settle_seconds"] = 0.3  # HubSpot's search index lags writes: leave the freshest
    config["sources"].append({"type": "crm_unrouted", "name": "hubspot"})
    demo_config.write_text(yaml.safe_dump(config))
    emulator.faults.search_lag_seconds = 0.1
    walk_in = emulator.create_contact({"email": "walkin@bigco.example", "firstname": "Walk", "lastname": "In",
                                       "jobtitle": "VP Sales"})
    phone_only = emulator.create_contact({"phone": "+14155550100", "lastname": "Phone Only"})  # found by id only
    bob = next(o for o, v in emulator.account.owners.items() if v["email"] == BOB)
    owned = emulator.create_contact({"email": "kept@x.example", "hubspot_owner_id": bob, "jobtitle": "VP"})
    time.sleep(0.4)
    runtime = build_runtime(demo_config)
    try:
        first = run_sync(runtime)
        assert {c.source: c.new for c in first.captures}["crm_unrouted:hubspot"] == 2
        assert first.outcomes == {"created": 4, "updated": 2}
        assert len(emulator.account.contacts) == 7, "routed in place: a CRM-sourced lead never makes a twin"
        assert emulator.account.contacts[phone_only]["properties"]["leadsync_key"]
        routed = emulator.account.contacts[walk_in]["properties"]
        assert emulator.account.owners[routed["hubspot_owner_id"]]["email"] in (ALICE, BOB)
        assert routed["leadsync_key"] and routed["leadsync_explanation"] and routed["firstname"] == "Walk"
        assert emulator.calls["contacts.batch.update"] == 1
        assert emulator.account.contacts[owned]["properties"].get("leadsync_key") is None
        writes = emulator.write_calls()
        time.sleep(0.4)  # everything leadsync wrote is now searchable and past the settle window
        second = run_sync(runtime)
        assert [c.new for c in second.captures if c.source == "crm_unrouted:hubspot"] == [0]
        assert second.claimed == 0 and emulator.write_calls() == writes
        assert emulator.calls["contacts.search"] == 2
    finally:
        runtime.close()
