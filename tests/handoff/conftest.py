"""The demo config with a `followup:` section and a `notify:` section pointing at a real SMTP server and a
local Slack stand-in; secrets come from the environment like in production."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.slack_server import SlackTestServer
from tests.support.smtp_server import SmtpTestServer

FOLLOWUP: dict[str, Any] = {
    "tasks": {"routed": {"subject": "Follow up with {name}"}, "mql": {"subject": "MQL: {name}"},
              "rerouted": {"subject": "Re-routed: {name}", "priority": "high"},
              "nurture_followup": {"subject": "Check in with {name}", "priority": "low"}},
    "sla": [{"id": "mql-2h", "kinds": ["mql"], "within_minutes": 120, "working_hours": True},
            {"id": "first-touch", "kinds": ["routed", "rerouted"], "within_minutes": 60}],
    "escalation": {"remind": True, "escalate_after_minutes": 30, "reroute_after_minutes": 120, "max_reroutes": 1,
                   "team_leads": {"enterprise": "lead.enterprise@ourco.example", "smb": "lead.smb@ourco.example"}},
}


@dataclass
class FollowupEnv:
    config: Path
    smtp: SmtpTestServer
    slack: SlackTestServer


def write_followup_config(config: Path, smtp: SmtpTestServer, slack: SlackTestServer, *, digest: bool = False,
                          followup: dict[str, object] | None = None) -> None:
    rules_path = config.parent / "rules.yaml"
    section = yaml.safe_dump({"followup": followup or FOLLOWUP}, sort_keys=False)
    frozen = Path(__file__).with_name("rules.yaml")  # not the demo rules: those follow the product's examples
    rules_path.write_text(frozen.read_text() + "\n" + section)
    app = yaml.safe_load(config.read_text())
    app["notify"] = {
        "email": {"host": "127.0.0.1", "port": smtp.port, "username": smtp.user, "password": "${TEST_SMTP_PASSWORD}",
                  "from_address": "leadsync@ourco.example", "ca_file": str(smtp.cert)},
        "slack": {"webhooks": {"#enterprise": "${TEST_SLACK_WEBHOOK}"}, "teams": {"enterprise": "#enterprise"}},
        "owner_channels": ["email"], "quiet_hours": False, "record_url": "https://crm.ourco.example/leads/{crm_id}",
        "max_attempts": 3, "retry_base_seconds": 60,
        **({"digest": {"owners": "all", "every_minutes": 60}} if digest else {}),
    }
    config.write_text(yaml.safe_dump(app, sort_keys=False))


@pytest.fixture
def followup_env(demo_config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FollowupEnv]:
    with SmtpTestServer(tmp_path) as smtp, SlackTestServer() as slack:
        monkeypatch.setenv("TEST_SMTP_PASSWORD", smtp.password)
        monkeypatch.setenv("TEST_SLACK_WEBHOOK", slack.url())
        write_followup_config(demo_config, smtp, slack)
        yield FollowupEnv(demo_config, smtp, slack)
