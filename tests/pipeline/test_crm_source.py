"""Leads entered directly in the CRM with no owner are decided and written back, once, onto the same record."""

from __future__ import annotations

from pathlib import Path

import yaml

from connectors.crm.local import LocalCrmSink
from flows.pipeline.run import run_sync
from flows.pipeline.runtime import build_runtime


def test_unrouted_crm_leads_are_routed_in_place(demo_config: Path) -> None:
    config = yaml.safe_load(demo_config.read_text())
    config["sources"] = [{"type": "crm_unrouted", "name": "local", "queues": ["Unassigned Leads"]}]
    demo_config.write_text(yaml.safe_dump(config))
    runtime = build_runtime(demo_config)
    crm = runtime.sink
    assert isinstance(crm, LocalCrmSink)
    by_hand = {
        crm.create_by_hand({"email": "walkin@bigco.example", "first_name": "Walk", "last_name": "In"}): "no owner",
        crm.create_by_hand({"phone": "+14155550100", "last_name": "Phone Only", "owner": "Unassigned Leads"}): "queue",
        crm.create_by_hand({"email": "kept@x.example", "owner": "bob@ourco.example", "status": "Working"}): "owned",
    }
    try:
        first = run_sync(runtime)
        capture = {c.source: c.new for c in first.captures}
        assert capture == {"crm_unrouted:local": 2}
        leads = {str(lead["id"]): lead for lead in crm.all_leads()}
        assert len(leads) == 3, "a CRM-sourced lead must update its own record, never create a twin"
        owned_id = next(i for i, why in by_hand.items() if why == "owned")
        assert leads[owned_id]["owner"] == "bob@ourco.example" and leads[owned_id]["lead_key"] is None
        for crm_id, why in by_hand.items():
            if why != "owned":
                assert leads[crm_id]["lead_key"] and leads[crm_id]["explanation"] and leads[crm_id]["status"]
        walk_in = next(lead for lead in leads.values() if lead["email"] == "walkin@bigco.example")
        assert walk_in["owner"] == "erin@ourco.example"  # the account owner of bigco.example
        writes = crm.write_calls
        second = run_sync(runtime)
        assert [c.new for c in second.captures] == [0] and second.claimed == 0
        assert crm.write_calls == writes, "leadsync must not feed on its own writes"
    finally:
        runtime.close()
