"""The demo end to end without Prefect: capture, decide, push into the local CRM, re-run idempotently."""

from __future__ import annotations

from pathlib import Path

from connectors.crm.local import LocalCrmSink
from flows.pipeline.run import run_sync
from flows.pipeline.runtime import build_runtime
from flows.pipeline.summary import RunSummary


def sync(config: Path) -> tuple[RunSummary, int, list[dict[str, object]]]:
    runtime = build_runtime(config)
    try:
        summary = run_sync(runtime)
        assert isinstance(runtime.sink, LocalCrmSink)
        return summary, runtime.sink.write_calls, runtime.sink.all_leads()
    finally:
        runtime.close()


def test_demo_run_then_rerun(demo_config: Path) -> None:
    first, writes, leads = sync(demo_config)
    captured = {c.source: (c.new, c.duplicates, c.error) for c in first.captures}
    assert captured == {"csv:tradeshow": (captured["csv:tradeshow"][0], 0, None),
                        "form_files:website": (7, 0, None)}
    assert captured["csv:tradeshow"][0] >= 4
    assert first.spam == 1  # the honeypot submission is stored but never pushed
    codes = {record: code for record, code, _ in first.rejections}
    assert codes["form_files:website/wf-1005"] == "INVALID_EMAIL"
    reasons = [reason for record, _, reason in first.rejections if record == "form_files:website/wf-1005"]
    assert reasons[0].startswith("record form_files:website/wf-1005: field 'email': not a valid e-mail address")
    emails = [str(lead["email"]) for lead in leads if lead["email"]]
    assert len(emails) == len(set(emails)), "a person was created twice"
    assert "marcus.reyes@bigco.example" in emails and "jane.doe@acme-robotics.example" in emails
    marcus = next(lead for lead in leads if lead["email"] == "marcus.reyes@bigco.example")
    assert marcus["owner"] == "erin@ourco.example"  # existing account owner of bigco.example
    assert all(lead["owner"] and lead["status"] and lead["explanation"] and lead["ruleset_version"]
               for lead in leads)
    assert first.outcomes["created"] == len(leads) and writes >= 1
    assert sum(first.owners.values()) == len(leads)

    second, writes_again, leads_again = sync(demo_config)
    assert all(c.new == 0 for c in second.captures)
    assert second.claimed == 0 and writes_again == 0
    assert leads_again == leads


def test_replayed_dead_letter_is_processed_again(demo_config: Path) -> None:
    sync(demo_config)
    runtime = build_runtime(demo_config)
    try:
        letters = runtime.store.list_dead_letters()
        assert letters, "the demo has at least one invalid submission"
        assert runtime.store.replay_dead_letters([letters[0].id]) == 1
        summary = run_sync(runtime)
        assert summary.claimed == 1 and len(summary.rejections) == 1  # still invalid: back in the dead letters
        assert len(runtime.store.list_dead_letters()) == len(letters)
    finally:
        runtime.close()
