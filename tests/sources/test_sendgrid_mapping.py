"""SendGrid events -> events-only leads (pure), and the `sendgrid` source's config checks."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from connectors.errors import ConfigError, RecordRejectedError
from connectors.records import Lead, RawSubmission
from connectors.sources.event_mapping import EventMapping
from connectors.sources.sendgrid_events import SendGridConfig, SendGridSource
from flows.config import parse_config
from tests.receiver.test_sendgrid_receiver import PUBLIC_B64

SOURCE = SendGridSource(SendGridConfig(name="mail", public_key=PUBLIC_B64,
                                       events=EventMapping(links={"*/pricing*": "pricing_page_visit"})))
AT = datetime(2025, 11, 30, 10, 53, 20, tzinfo=UTC)


def lead_of(**event: Any) -> Lead:
    payload = {"email": "Ann@Acme.Example", "timestamp": int(AT.timestamp()), "sg_event_id": "sg-1",
               "sg_message_id": "msg.1", **event}
    return SOURCE.to_lead(RawSubmission(source="sendgrid:mail", partition=str(event.get("event")),
                                        source_record_id="sg-1", received_at=datetime.now(UTC), payload=payload))


@pytest.mark.parametrize(("event", "types", "consent", "invalid", "facts"), [
    ({"event": "open", "sg_machine_open": False}, ["email_open"], None, None, {"machine_open": False}),
    ({"event": "open", "sg_machine_open": True}, ["email_open"], None, None, {"machine_open": True}),
    ({"event": "open"}, ["email_open"], None, None, {"machine_open": False}),
    ({"event": "click", "url": "https://acme.example/blog"}, ["email_click"], None, None,
     {"url": "https://acme.example/blog"}),
    ({"event": "click", "url": "https://acme.example/pricing?utm=x"}, ["email_click", "pricing_page_visit"], None,
     None, {"url": "https://acme.example/pricing?utm=x"}),
    ({"event": "unsubscribe"}, ["unsubscribe"], False, None, {}),
    ({"event": "group_unsubscribe", "asm_group_id": 42}, ["unsubscribe"], False, None,
     {"asm_group_id": 42, "group_only": True}),
    ({"event": "spamreport"}, ["spam_report"], False, None, {}),
    ({"event": "bounce", "type": "bounce", "bounce_classification": "Invalid Address",
      "reason": "550 5.1.1 ann@acme.example unknown"}, ["bounce"], None, True,
     {"bounce_type": "bounce", "bounce_classification": "Invalid Address"}),
    ({"event": "bounce", "type": "blocked"}, ["bounce"], None, None, {"bounce_type": "blocked"}),
    ({"event": "delivered"}, [], None, None, {}),
    ({"event": "processed"}, [], None, None, {}),
    ({"event": "group_resubscribe"}, [], None, None, {}),
])
def test_events_map_to_the_rules_event_types(event: dict[str, Any], types: list[str], consent: bool | None,
                                             invalid: bool | None, facts: dict[str, Any]) -> None:
    lead = lead_of(**event)
    assert (lead.email, lead.events_only, lead.consent.email, lead.email_invalid) == (
        "ann@acme.example", True, consent, invalid)
    assert [e.type for e in lead.events] == types
    for e in lead.events:
        assert e.at == AT and facts.items() <= e.properties.items()
        assert "reason" not in e.properties and e.properties["message_id"] == "msg.1"
    assert [e.event_id for e in lead.events] == ["sg-1", "sg-1#pricing_page_visit"][:len(types)]


def test_an_invalid_address_is_rejected_naming_the_field() -> None:
    with pytest.raises(RecordRejectedError) as info:
        lead_of(event="open", email="no-at-sign")
    assert info.value.field == "email" and "no-at-sign" not in str(info.value)


def test_a_stored_event_without_timestamp_is_rejected() -> None:
    with pytest.raises(RecordRejectedError) as info:
        lead_of(event="open", timestamp="soon")
    assert info.value.field == "timestamp"


CONFIG = f"""\
rules: rules.yaml
sources:
  - type: sendgrid
    name: mail
    public_key: ${{SENDGRID_WEBHOOK_KEY}}
    events:
      links:
        pricing: pricing_page_visit
  - type: sendgrid
    name: raw
    public_key: {PUBLIC_B64}
    max_age_seconds: 5
"""


def test_config_errors_name_yaml_path_and_line() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(CONFIG, "leadsync.yaml")
    problems = "\n".join(info.value.problems)
    assert "leadsync.yaml:8: sources[0].events.links: pattern 'pricing' must start with" in problems
    assert "leadsync.yaml:11: sources[1].public_key: secrets are not written in the config" in problems
    assert "leadsync.yaml:12: sources[1].max_age_seconds:" in problems


def test_a_literal_key_that_is_not_p256_is_refused_by_the_model() -> None:
    with pytest.raises(ValueError, match="not an ECDSA P-256 public key"):
        SendGridConfig(name="x", public_key="MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE")


def test_a_referenced_key_that_is_not_p256_fails_when_the_runtime_is_built(monkeypatch: pytest.MonkeyPatch) -> None:
    from flows.pipeline.runtime import build_source

    config = parse_config(CONFIG.split("    events:")[0], "leadsync.yaml")
    monkeypatch.setenv("SENDGRID_WEBHOOK_KEY", "bm90IGEga2V5")
    with pytest.raises(ConfigError, match="sendgrid:mail: public_key is not an ECDSA P-256 public key"):
        build_source(config.sources[0], None, None)  # type: ignore[arg-type]
    monkeypatch.setenv("SENDGRID_WEBHOOK_KEY", PUBLIC_B64)
    assert isinstance(build_source(config.sources[0], None, None), SendGridSource)  # type: ignore[arg-type]
