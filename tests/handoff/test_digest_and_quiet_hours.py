"""Per-owner digest (one e-mail for several hand-offs) and quiet hours (held until the rep's working hours)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from flows.pipeline.followup import FollowThrough
from flows.pipeline.run import run_sync
from flows.pipeline.runtime import build_runtime
from rules.models import Availability
from rules.sla import next_working_moment
from tests.handoff.conftest import write_followup_config
from tests.support.slack_server import SlackTestServer
from tests.support.smtp_server import SmtpTestServer

Servers = tuple[SmtpTestServer, SlackTestServer]


@pytest.fixture
def servers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Servers]:
    with SmtpTestServer(tmp_path) as smtp, SlackTestServer() as slack:
        monkeypatch.setenv("TEST_SMTP_PASSWORD", smtp.password)
        monkeypatch.setenv("TEST_SLACK_WEBHOOK", slack.url())
        yield smtp, slack


def test_digest_sends_one_mail_per_owner_with_all_their_leads(demo_config: Path, servers: Servers) -> None:
    smtp, slack = servers
    write_followup_config(demo_config, smtp, slack, digest=True)
    runtime = build_runtime(demo_config)
    try:
        run_sync(runtime)
        per_owner = Counter(h.handoff.owner for h in runtime.store.handoff_rows())
        slot = max(r["next_attempt_at"] for r in runtime.store.outbox_rows() if r["channel"] == "email")
    finally:
        runtime.close()
    assert smtp.messages == []  # held for the digest
    assert max(per_owner.values()) >= 2, "someone gets several demo leads"
    slot = slot if slot.tzinfo else slot.replace(tzinfo=UTC)
    runtime = build_runtime(demo_config)
    follow = FollowThrough(runtime, now=lambda: slot + timedelta(seconds=1))
    try:
        follow.run("digest")
    finally:
        follow.close()
        runtime.close()
    assert Counter(m.rcpt_tos[0] for m in smtp.messages) == Counter(dict.fromkeys(per_owner, 1))
    for message in smtp.messages:
        count = per_owner[message.rcpt_tos[0]]
        assert message.message["Subject"] == f"{count} new lead{'s' if count != 1 else ''} for you"
        assert message.message.get_content().count("Why:") == count


def test_quiet_hours_hold_owner_mail_until_working_time(demo_config: Path, servers: Servers) -> None:
    smtp, slack = servers
    write_followup_config(demo_config, smtp, slack)
    app = yaml.safe_load(demo_config.read_text())
    app["notify"]["quiet_hours"] = True
    demo_config.write_text(yaml.safe_dump(app, sort_keys=False))
    # every rep works 09:00-09:01 UTC only: whenever this test runs, they are (almost surely) off now
    rules_path = demo_config.parent / "rules.yaml"
    text = rules_path.read_text()
    window = {"timezone": "UTC", "working_hours": "09:00-09:01"}
    reps = {f"{name}@ourco.example": window for name in ("alice", "bob", "carol", "dan", "erin")}
    entries = "".join(f"    {rep}: {{timezone: UTC, working_hours: '09:00-09:01'}}\n" for rep in reps)
    text = text.replace("  reps:\n", "  reps:\n" + entries, 1)
    text = text.replace("    dan@ourco.example: {timezone: America/New_York", "    dan.old@ourco.example: {timezone: "
                        "America/New_York").replace("    bob@ourco.example: {timezone: Europe/Stockholm",
                                                    "    bob.old@ourco.example: {timezone: Europe/Stockholm")
    rules_path.write_text(text)
    before = datetime.now(UTC)
    runtime = build_runtime(demo_config)
    try:
        run_sync(runtime)
        owners = {h.handoff.owner for h in runtime.store.handoff_rows()}
        rows = [r for r in runtime.store.outbox_rows() if r["channel"] == "email"]
    finally:
        runtime.close()
    opens = next_working_moment(before, Availability(**window))  # type: ignore[arg-type]
    if opens <= before + timedelta(seconds=5):
        pytest.fail("the test ran inside the one-minute window; run it again")
    assert owners, "account owners get their leads even off hours"
    assert smtp.messages == [] and {r["recipient"] for r in rows} == owners
    assert all(abs((r["next_attempt_at"].replace(tzinfo=UTC) if r["next_attempt_at"].tzinfo is None
                    else r["next_attempt_at"]) - opens) < timedelta(minutes=2) for r in rows)
