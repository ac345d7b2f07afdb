"""End to end on the demo (local CRM): hand-offs become one task and one notification each, never twice;
SLA breaches remind, escalate and re-route; a channel that is down retries, then dead-letters."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from connectors.crm.local import LocalCrmSink
from connectors.crm.local_tasks import LocalTasks
from flows.pipeline.followup import FollowThrough
from flows.pipeline.run import run_sync
from flows.pipeline.runtime import build_runtime
from flows.pipeline.summary import RunSummary
from tests.handoff.conftest import FollowupEnv


def sync(config: Path) -> RunSummary:
    runtime = build_runtime(config)
    try:
        return run_sync(runtime)
    finally:
        runtime.close()


def local_tasks(config: Path) -> list[dict[str, object]]:
    runtime = build_runtime(config)
    try:
        assert isinstance(runtime.sink, LocalCrmSink)
        return LocalTasks(runtime.sink.engine).all_tasks()
    finally:
        runtime.close()


def follow_at(config: Path, moment: datetime) -> dict[str, object]:
    runtime = build_runtime(config)
    follow = FollowThrough(runtime, now=lambda: moment)
    try:
        return follow.run("test-run").metrics()
    finally:
        follow.close()
        runtime.close()


def test_each_handoff_gets_one_task_and_one_message_and_a_rerun_sends_nothing(
        followup_env: FollowupEnv, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    first = sync(followup_env.config)
    runtime = build_runtime(followup_env.config)
    handoffs = runtime.store.handoff_rows()
    leads = {str(lead["id"]): lead for lead in (runtime.sink.all_leads() if isinstance(runtime.sink, LocalCrmSink)
                                                 else [])}
    runtime.close()
    assert handoffs, "the demo routes leads to reps"
    # A lead that is an MQL the moment it is routed is one hand-off of kind mql, not two.
    assert len({h.handoff.lead_key for h in handoffs}) == len(handoffs)
    assert all(h.handoff.kind in ("routed", "mql") and h.status == "open" and h.due_at for h in handoffs)
    assert all(leads[str(h.handoff.crm_id)]["owner"] == h.handoff.owner for h in handoffs)

    tasks = local_tasks(followup_env.config)
    assert sorted(str(t["lead_id"]) for t in tasks) == sorted(str(h.handoff.crm_id) for h in handoffs)
    subjects = {"routed": "Follow up with {}", "mql": "MQL: {}"}
    assert all(t["subject"] == subjects[h.handoff.kind].format(h.handoff.name) for t, h in
               zip(sorted(tasks, key=lambda t: str(t["lead_id"])),
                   sorted(handoffs, key=lambda h: str(h.handoff.crm_id)), strict=True))
    messages = followup_env.smtp.messages
    assert Counter(m.rcpt_tos[0] for m in messages) == Counter(h.handoff.owner for h in handoffs)
    body = messages[0].message.get_content()
    assert "Why:" in body and "https://crm.ourco.example/leads/" in body
    assert "@" not in body.split("Why:")[0].split("\n", 1)[1].replace("@ourco.example", "")  # no lead e-mail
    enterprise = [h for h in handoffs if h.handoff.team == "enterprise"]
    assert len(followup_env.slack.posts) == len(enterprise)
    assert first.followup is not None and first.followup["tasks_created"] == len(handoffs)

    second = sync(followup_env.config)  # nothing new: no task, no message
    assert second.followup is not None and second.followup["tasks_created"] == 0
    assert len(local_tasks(followup_env.config)) == len(tasks)
    assert len(followup_env.smtp.messages) == len(messages)
    assert len(followup_env.slack.posts) == len(enterprise)
    assert followup_env.smtp.password not in caplog.text
    assert "XXXXsecretXXXX" not in caplog.text


def test_touch_is_recorded_and_breaches_remind_escalate_and_reroute(followup_env: FollowupEnv) -> None:
    sync(followup_env.config)
    runtime = build_runtime(followup_env.config)
    assert isinstance(runtime.sink, LocalCrmSink)
    enterprise = [h for h in runtime.store.handoff_rows() if h.handoff.team == "enterprise"]
    assert len(enterprise) >= 2, "the demo routes more than one lead to the enterprise team"
    worked, ignored = enterprise[0], enterprise[1]
    other = ({"alice@ourco.example", "bob@ourco.example"} - {ignored.handoff.owner}).pop()
    with runtime.sink.engine.begin() as conn:  # alice works her first lead (an MQL already: "Working - Contacted")
        conn.exec_driver_sql("UPDATE crm_leads SET status = 'Qualified' WHERE id = ?",
                             (int(str(worked.handoff.crm_id)),))
    runtime.close()
    assert ignored.due_at is not None
    messages_before = len(followup_env.smtp.messages)

    follow_at(followup_env.config, ignored.due_at + timedelta(minutes=1))  # breach: a reminder to alice
    reminders = followup_env.smtp.messages[messages_before:]
    subjects = [(m.rcpt_tos, str(m.message["Subject"])) for m in reminders]
    assert ([ignored.handoff.owner], f"Reminder: {ignored.handoff.name}") in [(r, s.split(" (")[0].split(
        " is waiting")[0]) for r, s in subjects]
    assert not any(worked.handoff.name in s for _, s in subjects)  # touched: no reminder
    follow_at(followup_env.config, ignored.due_at + timedelta(minutes=31))  # escalation to the team lead
    assert any(m.rcpt_tos == ["lead.enterprise@ourco.example"] for m in followup_env.smtp.messages)
    follow_at(followup_env.config, ignored.due_at + timedelta(minutes=121))  # re-route

    runtime = build_runtime(followup_env.config)
    try:
        rows = {h.handoff.key: h for h in runtime.store.handoff_rows()}
        assert rows[worked.handoff.key].status == "touched"
        assert rows[worked.handoff.key].first_touch_seconds is not None
        assert rows[ignored.handoff.key].status == "rerouted"
        rerouted = [h for h in rows.values() if h.handoff.kind == "rerouted"
                    and h.handoff.lead_key == ignored.handoff.lead_key]
        assert len(rerouted) == 1
        assert not any(h.handoff.kind == "rerouted" and h.handoff.lead_key == worked.handoff.lead_key
                       for h in rows.values())
        new_owner = rerouted[0].handoff.owner
        assert new_owner == other and rerouted[0].reroutes == 1
        assert isinstance(runtime.sink, LocalCrmSink)
        crm = {str(lead["id"]): lead for lead in runtime.sink.all_leads()}
        assert crm[str(ignored.handoff.crm_id)]["owner"] == new_owner
        assert crm[str(worked.handoff.crm_id)]["owner"] == worked.handoff.owner  # touched: never re-routed
        ledger = [r for r in runtime.store.rotation_ledger_rows() if r["method"].startswith("reassigned")
                  and r["lead_key"] == ignored.handoff.lead_key]
        assert [(r["owner"], r["method"]) for r in ledger] == [(new_owner, "reassigned: no touch within 1h")]
        tasks = LocalTasks(runtime.sink.engine).all_tasks()
        assert [t["owner"] for t in tasks if str(t["lead_id"]) == str(ignored.handoff.crm_id)] == [
            ignored.handoff.owner, new_owner]
    finally:
        runtime.close()
    assert any(m.rcpt_tos == [new_owner] and m.message["Subject"].startswith("Re-routed to you")
               for m in followup_env.smtp.messages)
    # the second hand-off breaches too, but max_reroutes is 1: no second re-route
    assert rerouted[0].due_at is not None
    follow_at(followup_env.config, rerouted[0].due_at + timedelta(hours=5))
    runtime = build_runtime(followup_env.config)
    try:
        assert len([r for r in runtime.store.rotation_ledger_rows() if r["method"].startswith("reassigned")
                    and r["lead_key"] == ignored.handoff.lead_key]) == 1
    finally:
        runtime.close()


def test_slack_down_retries_with_backoff_then_dead_letters_while_email_goes_out(followup_env: FollowupEnv) -> None:
    followup_env.slack.down = True
    sync(followup_env.config)
    runtime = build_runtime(followup_env.config)
    slack_rows = [r for r in runtime.store.outbox_rows() if r["channel"] == "slack"]
    runtime.close()
    assert slack_rows and all(r["status"] == "pending" and r["attempts"] == 1 for r in slack_rows)
    assert all("SLACK_503" in str(r["last_error"]) and "XXXXsecretXXXX" not in str(r["last_error"])
               for r in slack_rows)
    assert followup_env.smtp.messages, "e-mail is not held up by Slack"
    later = datetime.now(UTC) + timedelta(hours=3)
    follow_at(followup_env.config, later)
    follow_at(followup_env.config, later + timedelta(hours=3))
    runtime = build_runtime(followup_env.config)
    first_ids = {r["id"] for r in slack_rows}  # (the breaches since then made more: reminders, re-routes)
    rows = [r for r in runtime.store.outbox_rows() if r["id"] in first_ids]
    runtime.close()
    assert all(r["status"] == "dead" and "after 3 attempts" in str(r["last_error"]) for r in rows)
    assert followup_env.slack.posts == []


def test_slack_rate_limit_waits_for_retry_after(followup_env: FollowupEnv) -> None:
    followup_env.slack.fail_next.append((429, "rate_limited", {"Retry-After": "30"}))
    sync(followup_env.config)
    runtime = build_runtime(followup_env.config)
    rows = [r for r in runtime.store.outbox_rows() if r["channel"] == "slack"]
    runtime.close()
    waiting = [r for r in rows if r["status"] == "pending"]
    assert waiting and len(followup_env.slack.posts) == 0  # the rest of the channel waits too
    follow_at(followup_env.config, datetime.now(UTC) + timedelta(seconds=31))
    assert len(followup_env.slack.posts) == len(rows)


def test_never_rerouted_to_an_unavailable_rep(followup_env: FollowupEnv) -> None:
    sync(followup_env.config)
    runtime = build_runtime(followup_env.config)
    ignored = next(h for h in runtime.store.handoff_rows() if h.handoff.team == "enterprise")
    runtime.close()
    # After the hand-off both enterprise reps go on leave: nobody can take the lead over.
    rules_path = followup_env.config.parent / "rules.yaml"
    away = "{timezone: UTC, out_of_office: [[2026-01-01, 2027-12-31]]}"
    rules_path.write_text(rules_path.read_text().replace(
        "  reps:\n", f"  reps:\n    alice@ourco.example: {away}\n", 1).replace(
        "bob@ourco.example: {timezone: Europe/Stockholm, out_of_office: [[2026-07-01, 2026-07-31]]}",
        f"bob@ourco.example: {away}"))
    assert ignored.due_at is not None
    follow_at(followup_env.config, ignored.due_at + timedelta(hours=3))
    runtime = build_runtime(followup_env.config)
    try:
        row = next(h for h in runtime.store.handoff_rows() if h.handoff.key == ignored.handoff.key)
        assert row.status == "open" and row.escalation_level == 2  # reminded and escalated, not moved
        assert not any(h.handoff.kind == "rerouted" and h.handoff.lead_key == ignored.handoff.lead_key
                       for h in runtime.store.handoff_rows())
        # (the SMB leads may move to dan meanwhile, when the clock is inside his New York working hours)
        assert not any(r["method"].startswith("reassigned") for r in runtime.store.rotation_ledger_rows()
                       if r["lead_key"] == ignored.handoff.lead_key)
    finally:
        runtime.close()
