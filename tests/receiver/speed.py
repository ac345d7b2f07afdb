"""Measure speed to lead: a form POST to the receiver until its decision is written in the local CRM."""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import uvicorn
import yaml

from connectors.crm.local import LocalCrmSink
from connectors.normalise import lead_key_for
from connectors.records import Event, Lead
from connectors.sources.webhooks import WebhookSource
from flows.pipeline.run import run_sync
from flows.pipeline.runtime import build_runtime
from flows.receiver import DebouncedTrigger, create_app
from tests.support.postgres import free_port


def measure(config_path: Path, submissions: int, spacing_seconds: float, timeout: float = 120) -> list[float]:
    """Seconds from sending each submission to its lead being in the CRM with an owner."""
    config = yaml.safe_load(config_path.read_text())
    config["sources"] = [{"type": "web_form", "name": "contact", "honeypot_field": "website"}]
    config_path.write_text(yaml.safe_dump(config))
    runtime = build_runtime(config_path)
    assert isinstance(runtime.sink, LocalCrmSink)
    hooks = {n: s for n, s in runtime.sources.items() if isinstance(s, WebhookSource)}
    trigger = DebouncedTrigger(lambda: run_sync(runtime, capture=False), debounce_seconds=0.1)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(runtime.store, hooks, on_stored=trigger.poke),
                                           host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    sent: dict[str, float] = {}
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            for i in range(submissions):
                email = f"speed{i}@co{i}.example"
                sent[email] = time.time()
                response = client.post("/web_form/contact", data={"email": email, "company": f"Co {i}",
                                                                  "first_name": "Speedy"})
                response.raise_for_status()
                time.sleep(spacing_seconds)
        deadline = time.monotonic() + timeout
        written: dict[str, float] = {}
        while len(written) < submissions and time.monotonic() < deadline:
            for lead in runtime.sink.all_leads():
                if lead["email"] in sent and lead["owner"] and lead["email"] not in written:
                    created: datetime = lead["created_at"]
                    written[lead["email"]] = created.timestamp() if created.tzinfo else \
                        created.replace(tzinfo=__import__("datetime").UTC).timestamp()
            time.sleep(0.05)
    finally:
        server.should_exit = True
        thread.join(5)
        trigger.stop()
        runtime.close()
    assert len(written) == submissions, f"only {len(written)} of {submissions} reached the CRM"
    return sorted(written[e] - sent[e] for e in sent)


def measure_mql(config_path: Path, people: int, spacing_seconds: float, timeout: float = 120) -> list[float]:
    """Seconds from the form fill that takes a known lead over the threshold to MQL status and owner in the CRM.

    Each person first fills a form (fit 30 with the demo rules: marketing, 80 people, Boston) and has 25
    points of behaviour on their profile from earlier weeks (a whitepaper 10, a /pricing page view: pricing
    page 10 + website visit 5); nothing of that is timed. The timed form fill asks for a demo (+10): 65, an
    MQL, decided from the profile's whole history.
    """
    config = yaml.safe_load(config_path.read_text())
    config["sources"] = [{"type": "web_form", "name": "contact", "honeypot_field": "website"}]
    config_path.write_text(yaml.safe_dump(config))
    runtime = build_runtime(config_path)
    assert isinstance(runtime.sink, LocalCrmSink)
    hooks = {n: s for n, s in runtime.sources.items() if isinstance(s, WebhookSource)}
    trigger = DebouncedTrigger(lambda: run_sync(runtime, capture=False), debounce_seconds=0.1)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(runtime.store, hooks, on_stored=trigger.poke),
                                           host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    emails = [f"mql{i}@co{i}.example" for i in range(people)]
    fit = {"company": "Acme", "country": "US", "city": "Boston", "state": "MA", "employees": "80",
           "industry": "Marketing and Advertising", "first_name": "Quinn"}
    sent: dict[str, float] = {}
    written: dict[str, float] = {}
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            for email in emails:
                client.post("/web_form/contact", data={"email": email, **fit}).raise_for_status()
            _wait(lambda: sum(1 for lead in runtime.sink.all_leads() if lead["email"] in set(emails)) == people,
                  timeout)
            earlier = datetime.now(UTC) - timedelta(days=10)
            runtime.store.attach([Lead(lead_key=lead_key_for(email, "", ""), source="tracking:web",
                                       source_record_id=f"history-{email}", received_at=earlier, email=email,
                                       events_only=True, events=[
                                           Event(type="whitepaper_download", at=earlier, event_id=f"w-{email}"),
                                           Event(type="page_view", at=earlier, event_id=f"p-{email}",
                                                 properties={"path": "/pricing"})])
                                  for email in emails], datetime.now(UTC), 90)
            for email in emails:
                sent[email] = time.time()
                client.post("/web_form/contact", data={"email": email, **fit, "message": "Can we get a demo?"}
                            ).raise_for_status()
                time.sleep(spacing_seconds)
        deadline = time.monotonic() + timeout
        while len(written) < people and time.monotonic() < deadline:
            for lead in runtime.sink.all_leads():
                email = lead["email"]
                if email in sent and email not in written and lead["mql"] and lead["owner"] \
                        and lead["status"] == "Working - Contacted":
                    updated: datetime = lead["updated_at"]
                    written[email] = (updated if updated.tzinfo else updated.replace(tzinfo=UTC)).timestamp()
            time.sleep(0.05)
    finally:
        server.should_exit = True
        thread.join(5)
        trigger.stop()
        runtime.close()
    assert len(written) == people, f"only {len(written)} of {people} became MQLs in the CRM"
    return sorted(written[e] - sent[e] for e in sent)


def _wait(done: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError("the first submissions did not reach the CRM")
        time.sleep(0.05)


def percentile(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1] if len(values) > 1 else values[0]
