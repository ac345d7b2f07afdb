"""Follow-through against the Salesforce and HubSpot emulators (real simple-salesforce and hubspot-api-client)
and a real SMTP server: one task and one e-mail per hand-off; a re-run with nothing new creates no task and
sends no e-mail, even when every lead is processed again."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from sqlalchemy import update

import flows.pipeline.runtime as runtime_module
from flows.pipeline.run import run_sync
from flows.pipeline.runtime import build_runtime
from flows.state.schema import inbox
from tests.crm.salesforce.conftest import ALICE, BOB, NEW, factory, seed_org, user_id
from tests.crm.salesforce.test_salesforce_pipeline import RULES as SF_RULES
from tests.emulators.hubspot import HubSpotEmulator
from tests.emulators.salesforce import SalesforceEmulator
from tests.handoff.conftest import FOLLOWUP
from tests.support.smtp_server import SmtpTestServer

SECTION = yaml.safe_dump({"followup": {**FOLLOWUP, "escalation": {
    **FOLLOWUP["escalation"], "team_leads": {"reps": "lead@ourco.example"}}}}, sort_keys=False)


def notify(smtp: SmtpTestServer) -> dict[str, object]:
    return {"email": {"host": "127.0.0.1", "port": smtp.port, "username": smtp.user,
                      "password": "${TEST_SMTP_PASSWORD}", "from_address": "leadsync@ourco.example",
                      "ca_file": str(smtp.cert)}, "quiet_hours": False}


@pytest.fixture
def smtp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpTestServer]:
    with SmtpTestServer(tmp_path) as server:
        monkeypatch.setenv("TEST_SMTP_PASSWORD", server.password)
        yield server


def configure(demo_config: Path, rules: str, crm: dict[str, object], smtp: SmtpTestServer) -> None:
    (demo_config.parent / "rules.yaml").write_text(rules + SECTION)
    config = yaml.safe_load(demo_config.read_text())
    config["crm"] = crm
    config["sources"] = [s for s in config["sources"] if s["type"] == "form_files"]
    config["notify"] = notify(smtp)
    demo_config.write_text(yaml.safe_dump(config))


def sync_twice(config: Path) -> tuple[int, int]:
    """First sync; then every lead processed again. Returns (hand-offs, outbox rows) after the first."""
    runtime = build_runtime(config)
    try:
        run_sync(runtime)
        counts = len(runtime.store.handoff_rows()), len(runtime.store.outbox_rows())
    finally:
        runtime.close()
    return counts


def rerun(config: Path) -> None:
    runtime = build_runtime(config)
    try:
        with runtime.store.engine.begin() as conn:
            conn.execute(update(inbox).where(inbox.c.status == "done").values(status="pending"))
        run_sync(runtime)
        run_sync(runtime)
    finally:
        runtime.close()


@pytest.fixture
def sf() -> Iterator[SalesforceEmulator]:
    emu = SalesforceEmulator().start()
    seed_org(emu)
    emu.org.add_custom_field("Task", "Leadsync_Handoff_Key__c", type="string", external_id=True, unique=True)
    yield emu
    emu.stop()


def test_salesforce_tasks_and_mail_once(sf: SalesforceEmulator, demo_config: Path, smtp: SmtpTestServer,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEADSYNC_SF_PASSWORD", "hunter2-e2e-secret")
    monkeypatch.setattr(runtime_module, "login_factory", lambda _credentials, _config: factory(sf))
    sf.org.add_record("Lead", {"LastName": "Reyes", "Company": "BigCo", "Status": NEW,
                               "Email": "marcus.reyes@bigco.example", "OwnerId": user_id(sf, BOB)})
    configure(demo_config, SF_RULES, {"type": "salesforce", "username": "integration@ourco.example",
                                      "password": "${LEADSYNC_SF_PASSWORD}", "bulk_poll_seconds": 0}, smtp)
    handoffs, _ = sync_twice(demo_config)
    tasks = list(sf.org.records["Task"].values())
    assert handoffs == 4 and len(tasks) == 4
    owners = {sf.org.records["User"][t["OwnerId"]]["Email"] for t in tasks}
    assert owners <= {ALICE, BOB}
    assert all(sf.org.records["Lead"][t["WhoId"]]["OwnerId"] == t["OwnerId"] for t in tasks)
    assert all(t["Description"] and t["ActivityDate"] and t["Subject"].startswith(("Follow up with", "MQL: "))
               for t in tasks)
    assert len(smtp.messages) == 4
    upserts = sf.calls["composite_upsert"]
    rerun(demo_config)
    assert len(sf.org.records["Task"]) == 4 and len(smtp.messages) == 4
    assert sf.calls["composite_upsert"] == upserts  # no task write at all on the re-run


def test_hubspot_tasks_and_mail_once(demo_config: Path, smtp: SmtpTestServer,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    emu = HubSpotEmulator().start()
    try:
        emu.account.add_owner(ALICE)
        emu.account.add_owner(BOB)
        for name in ("leadsync_score", "leadsync_grade", "leadsync_mql", "leadsync_explanation", "leadsync_key",
                     "leadsync_ruleset", "leadsync_source"):
            emu.account.properties[name] = "string"
        emu.account.unique_properties.add("leadsync_key")
        emu.account.task_properties.add("leadsync_handoff_key")
        monkeypatch.setenv("LEADSYNC_HS_TOKEN", "pat-na1-e2e-secret")
        rules = SF_RULES.replace("Open - Not Contacted", "NEW").replace("Working - Contacted", "IN_PROGRESS") \
            .replace("Closed - Not Converted", "UNQUALIFIED").replace("  never_reassign_owned: true\n", "")
        configure(demo_config, rules, {"type": "hubspot", "host": emu.url, "access_token": "${LEADSYNC_HS_TOKEN}"},
                  smtp)
        handoffs, _ = sync_twice(demo_config)
        assert handoffs == 4 and len(emu.account.tasks) == 4
        for task in emu.account.tasks.values():
            [contact] = task["contacts"]
            assert emu.account.contacts[contact]["properties"]["hubspot_owner_id"] == \
                task["properties"]["hubspot_owner_id"]
        assert len(smtp.messages) == 4
        creates = emu.calls["tasks.batch.create"]
        assert creates == 1  # four tasks, one batch call
        rerun(demo_config)
        assert len(emu.account.tasks) == 4 and len(smtp.messages) == 4
        assert emu.calls["tasks.batch.create"] == creates
    finally:
        emu.stop()
