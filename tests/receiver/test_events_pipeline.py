"""Engagement events through the receiver and the process stage: behaviour never becomes a CRM lead.

Events-only leads (tracking calls, SendGrid events) are kept on the person's profile and their rows
settled as done: not pushed, not dead-lettered; they count once the person brings lead data.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import yaml
from segment.analytics.client import Client

from connectors.sources.webhooks import WebhookSource
from flows.pipeline.plan_preview import preview
from flows.pipeline.run import run_sync
from flows.pipeline.runtime import build_runtime
from flows.receiver import create_app
from tests.receiver.server import serve
from tests.receiver.test_sendgrid_receiver import PUBLIC_B64, signed


def test_tracking_and_email_events_are_kept_out_of_the_crm_push(demo_config: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEADSYNC_SEGMENT_KEY", "wk-demo")
    monkeypatch.setenv("LEADSYNC_SENDGRID_KEY", PUBLIC_B64)
    config = yaml.safe_load(demo_config.read_text())
    config["sources"] = [
        {"type": "web_form", "name": "demo-request"},
        {"type": "segment", "name": "site", "write_key": "${LEADSYNC_SEGMENT_KEY}",
         "events": {"pages": {"/pricing*": "pricing_page_visit"}}},
        {"type": "sendgrid", "name": "mail", "public_key": "${LEADSYNC_SENDGRID_KEY}"}]
    demo_config.write_text(yaml.safe_dump(config))
    runtime = build_runtime(demo_config)
    hooks = {n: s for n, s in runtime.sources.items() if isinstance(s, WebhookSource)}
    try:
        with serve(create_app(runtime.store, hooks)) as url:
            segment = Client("wk-demo", host=f"{url}/segment/site", sync_mode=True, max_retries=0)
            visitor = str(uuid.uuid4())
            segment.page(anonymous_id=visitor, properties={"path": "/pricing"})
            segment.identify(anonymous_id=visitor, traits={"email": "carol@acme.example", "firstName": "Carol",
                                                           "company": "Acme"})
            body = json.dumps([{"email": "dan@acme.example", "timestamp": 1764500000, "event": "unsubscribe",
                                "sg_event_id": "sg-unsub-1"}]).encode()
            assert httpx.post(f"{url}/sendgrid/mail", content=body, headers=signed(body)).status_code == 200
            form = httpx.post(f"{url}/web_form/demo-request", data={"email": "ann@bigco.example", "company": "BigCo"})
            assert form.status_code == 200
        planned = preview(runtime, datetime.now(UTC))  # `leadsync plan` agrees with what a run does
        assert [c.lead.email for c in planned.changes] == ["ann@bigco.example"]
        summary = run_sync(runtime)
        assert (summary.outcomes, summary.events, summary.rejections) == ({"created": 1}, 3, [])
        assert {lead["email"] for lead in runtime.sink.all_leads()} == {"ann@bigco.example"}  # type: ignore[attr-defined]
        assert runtime.store.inbox_status_counts() == {"done": 4}
        assert runtime.store.profile_by_identity("email", "carol@acme.example") is not None  # kept, not pushed
        assert runtime.store.list_dead_letters() == []
        again = run_sync(runtime)  # settled rows are not claimed again
        assert (again.claimed, again.events) == (0, 0)
    finally:
        runtime.close()
