"""E-mail engagement from SendGrid's Event Webhook: opens, clicks, unsubscribes, bounces, spam reports.

SendGrid POSTs a JSON array of events, signed (ECDSA P-256 over timestamp + raw body, checked by the
receiver with the configured verification key). Each event is one inbox row keyed by its
`sg_event_id` (SendGrid delivers at least once). `to_lead` maps a stored event to an events-only
Lead for its e-mail address:

  open -> email_open (`machine_open` = SendGrid's `sg_machine_open`, Apple Mail Privacy Protection:
          kept, and scored only if the rules say so), click -> email_click (with the url; a link
          mapped under `events.links` adds that event type too), unsubscribe / group_unsubscribe ->
          unsubscribe (e-mail consent withdrawn), bounce -> bounce (`type: bounce` is a hard bounce:
          the address is marked invalid; `blocked` is not), spamreport -> spam_report (consent
          withdrawn). Delivery events (processed, delivered, deferred, dropped) and resubscribes are
          stored but carry no event.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import Field, field_validator

from connectors.errors import RecordRejectedError
from connectors.normalise import build_lead
from connectors.records import Event, Lead, RawSubmission
from connectors.sources.event_mapping import EventMapping
from connectors.sources.webhook_auth import sendgrid_key_ok
from connectors.sources.webhook_forms import WebhookConfigBase
from connectors.sources.webhooks import WebhookSource

EVENT_TYPES = {"open": "email_open", "click": "email_click", "unsubscribe": "unsubscribe",
               "group_unsubscribe": "unsubscribe", "bounce": "bounce", "spamreport": "spam_report",
               "spam_report": "spam_report"}
WITHDRAWS_CONSENT = {"unsubscribe", "group_unsubscribe", "spamreport", "spam_report"}
# SendGrid facts kept on the event for rules; `reason` is left out: bounce reasons quote addresses.
KEPT = {"sg_message_id": "message_id", "category": "category", "marketing_campaign_name": "campaign",
        "marketing_campaign_id": "campaign_id", "asm_group_id": "asm_group_id", "url": "url",
        "bounce_classification": "bounce_classification", "useragent": "user_agent"}
MAX_EVENT_ID_CHARS = 200


class SendGridConfig(WebhookConfigBase):
    type: Literal["sendgrid"] = "sendgrid"
    public_key: str = Field(description="Verification key of the signed Event Webhook, as SendGrid shows it "
                            "(base64, no PEM header): ${ENV_VAR} or prefect-secret.")
    max_age_seconds: int | None = Field(
        default=None, ge=60, description="Refuse signatures whose timestamp is further from now than this. "
        "Off by default: SendGrid documents no window, and a replayed event is stored once anyway.")
    events: EventMapping = Field(default_factory=EventMapping, description="`links`: clicked URL globs -> an "
                                 "extra event type (e.g. '*/pricing*': pricing_page_visit).")

    @field_validator("public_key")
    @classmethod
    def _p256(cls, value: str) -> str:
        if not value.startswith(("${", "prefect-secret:")) and not sendgrid_key_ok(value):
            raise ValueError("not an ECDSA P-256 public key in base64 DER (copy it from SendGrid's "
                             "Signed Event Webhook settings)")
        return value


def sendgrid_events(data: object) -> list[dict[str, Any]]:
    """The events of one POST; ValueError names the event (events[i]) and field."""
    if not isinstance(data, list) or not data:
        raise ValueError("expected a non-empty JSON array of events")
    for i, event in enumerate(data):
        if not isinstance(event, dict):
            raise ValueError(f"events[{i}]: expected an object")
        event_id = event.get("sg_event_id")
        if not isinstance(event_id, str) or not event_id.strip() or len(event_id) > MAX_EVENT_ID_CHARS:
            raise ValueError(f"events[{i}].sg_event_id: missing or not a string")
        if not isinstance(event.get("event"), str) or not event["event"]:
            raise ValueError(f"events[{i}].event: missing")
        if not isinstance(event.get("email"), str) or not event["email"]:
            raise ValueError(f"events[{i}].email: missing")
        timestamp = event.get("timestamp")
        if not isinstance(timestamp, int | float) or isinstance(timestamp, bool) or timestamp < 0:
            raise ValueError(f"events[{i}].timestamp: expected unix seconds")
    return data


class SendGridSource(WebhookSource):
    """Stored SendGrid events -> events-only leads (see the module docstring)."""

    config: SendGridConfig

    def __init__(self, config: SendGridConfig) -> None:
        super().__init__(config)
        self.config = config

    def to_lead(self, raw: RawSubmission) -> Lead:
        event = raw.payload
        record = f"{raw.source}/{raw.source_record_id}"
        try:
            kind = str(event["event"])
            at = datetime.fromtimestamp(float(event["timestamp"]), UTC)
        except (KeyError, TypeError, ValueError, OverflowError):
            raise RecordRejectedError(record, "timestamp", "missing or not unix seconds", code="MALFORMED") from None
        fields: dict[str, Any] = {"email": event.get("email"), "submitted_at": at.isoformat(),
                                  "consent": {"email": False} if kind in WITHDRAWS_CONSENT else {}}
        lead = build_lead(raw, fields, self.config.default_region)
        hard_bounce = kind == "bounce" and event.get("type", "bounce") == "bounce"
        return lead.model_copy(update={"events": self._events(kind, event, raw.source_record_id, at),
                                       "events_only": True, "email_invalid": True if hard_bounce else None})

    def _events(self, kind: str, event: Mapping[str, Any], event_id: str, at: datetime) -> list[Event]:
        event_type = EVENT_TYPES.get(kind)
        if event_type is None:
            return []
        facts = {target: event[key] for key, target in KEPT.items() if event.get(key) not in (None, "")}
        if kind == "open":
            facts["machine_open"] = event.get("sg_machine_open") is True
        if kind == "bounce":
            facts["bounce_type"] = event.get("type", "bounce")
        if kind == "group_unsubscribe":
            facts["group_only"] = True
        detail = facts.get("url") if kind == "click" else facts.get("campaign")
        events = [Event(type=event_type, at=at, detail=detail, properties=facts, event_id=event_id)]
        link_type = self.config.events.link_type(facts.get("url")) if kind == "click" else None
        if link_type is not None:
            events.append(Event(type=link_type, at=at, detail=facts["url"], event_id=f"{event_id}#{link_type}",
                                properties={**facts, "via": "email_click"}))
        return events
