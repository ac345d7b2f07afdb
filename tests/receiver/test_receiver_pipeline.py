"""Webhooks received over HTTP, then decided and pushed into the local CRM by the process stage."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import httpx
import pytest
import uvicorn
import yaml

from connectors.sources.webhooks import WebhookSource
from flows.pipeline.run import run_sync
from flows.pipeline.runtime import build_runtime
from flows.receiver import create_app
from tests.receiver.test_receiver import GOOGLE_KEY, SAMPLES, TF_SECRET
from tests.support.postgres import free_port


def test_webhooks_to_crm(demo_config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEADSYNC_TF_SECRET", TF_SECRET)
    monkeypatch.setenv("LEADSYNC_GOOGLE_KEY", GOOGLE_KEY)
    config = yaml.safe_load(demo_config.read_text())
    config["sources"] = [{"type": "web_form", "name": "demo-request", "honeypot_field": "website"},
                         {"type": "typeform", "name": "demo", "secret": "${LEADSYNC_TF_SECRET}"},
                         {"type": "google_ads", "name": "leadform", "google_key": "${LEADSYNC_GOOGLE_KEY}"}]
    demo_config.write_text(yaml.safe_dump(config))
    runtime = build_runtime(demo_config)
    hooks = {n: s for n, s in runtime.sources.items() if isinstance(s, WebhookSource)}
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(runtime.store, hooks), host="127.0.0.1", port=port,
                                           log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    try:
        url = f"http://127.0.0.1:{port}"
        signature = json.loads((SAMPLES / "typeform_webhook.headers.json").read_text())["Typeform-Signature"]
        posts = [
            httpx.post(f"{url}/typeform/demo", content=(SAMPLES / "typeform_webhook.json").read_bytes(),
                       headers={"Content-Type": "application/json", "Typeform-Signature": signature}),
            httpx.post(f"{url}/google_ads/leadform", content=(SAMPLES / "google_ads_lead.json").read_bytes(),
                       headers={"Content-Type": "application/json"}),
            httpx.post(f"{url}/web_form/demo-request", data={"email": "ann@bigco.example", "company": "BigCo",
                                                             "first_name": "Ann", "utm_source": "google"}),
        ]
        assert [p.status_code for p in posts] == [200, 200, 200]
        summary = run_sync(runtime)
        assert summary.outcomes == {"created": 3}
        emails = {lead["email"] for lead in runtime.sink.all_leads()}  # type: ignore[attr-defined]
        assert emails == {"soren.k@nordlys-analytics.example", "priya.raman@northwind-traders.example",
                          "ann@bigco.example"}
    finally:
        server.should_exit = True
        thread.join(5)
        runtime.close()
