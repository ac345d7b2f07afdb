"""Website tracking in Segment's shape: the receiver speaks Segment's HTTP Tracking API.

A website (analytics.js pointed at leadsync) or a backend (Segment's own libraries with their host
set to `<receiver>/segment/<name>`) sends `track`, `page`, `identify`, `screen`, `group`, `alias`
calls, one by one or as a `batch`. The receiver checks each message as Segment does (an id, an
event name for track...) and stores it as one inbox row keyed by its messageId. `to_lead` maps a
stored message to an events-only Lead: the mapped events, the anonymous id, and the person's
e-mail, names and company when an identify call gives them. Such a lead never creates a CRM lead
by itself; the profile store credits its events to the person.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from connectors.errors import RecordRejectedError
from connectors.field_targets import LEAD_TARGETS
from connectors.normalise import (
    build_lead,
    clean_text,
    normalise_country,
    normalise_email,
    normalise_name,
    parse_int,
    split_full_name,
)
from connectors.records import Attribution, Event, Lead, RawSubmission
from connectors.sources.event_mapping import EventMapping
from connectors.sources.webhook_forms import WebhookConfigBase
from connectors.sources.webhooks import WebhookSource

CALLS = ("track", "page", "identify", "screen", "group", "alias")
MAX_MESSAGE_BYTES = 32 * 1024  # Segment: 32 KB per call or per message of a batch, 400 above
MAX_BATCH_BYTES = 500 * 1024  # Segment: 500 KB per batch request, 400 above
MAX_ID_CHARS = 200
IDENTIFY_TRAITS = {"email": "email", "firstName": "first_name", "first_name": "first_name",
                   "lastName": "last_name", "last_name": "last_name", "name": "full_name", "phone": "phone",
                   "company": "company", "title": "title", "website": "website", "industry": "industry",
                   "employees": "employees", "address.country": "country", "address.city": "city",
                   "address.state": "state", "address.postalCode": "postal_code", "address.street": "street"}
GROUP_TRAITS = {"name": "company", "industry": "industry", "employees": "employees", "website": "website"}
CAMPAIGN_KEYS = {"name": "campaign", "source": "source", "medium": "medium", "term": "term", "content": "content"}


class SegmentConfig(WebhookConfigBase):
    type: Literal["segment"] = "segment"
    write_key: str = Field(description="The write key senders use (HTTP Basic user, or writeKey in the body): "
                           "${ENV_VAR} or prefect-secret.")
    events: EventMapping = Field(default_factory=EventMapping, description="Page paths and track names -> the "
                                 "rules' event types.")
    field_map: dict[str, str] = Field(default_factory=dict, description="Extra identify trait (dotted path) -> "
                                      "lead field, beside the standard traits (email, firstName, company...).")
    max_per_anonymous_id_per_hour: int = Field(
        default=1000, ge=1, description="Messages accepted from one anonymousId per clock hour; more get 429.")

    @field_validator("field_map")
    @classmethod
    def _lead_fields(cls, value: dict[str, str]) -> dict[str, str]:
        for trait, target in value.items():
            if target not in LEAD_TARGETS:
                raise ValueError(f"trait '{trait}' maps to unknown lead field '{target}'")
        return value


def tracking_messages(call: str, data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The messages of one request to /v1/<call>, checked as Segment checks them.

    ValueError names the message (batch[i]) and the field; nothing of a request is stored when
    one message is bad, so a sender's retry after fixing it stores each message once.
    """
    if call == "batch":
        batch = data.get("batch")
        if not isinstance(batch, list) or not batch:
            raise ValueError("batch: expected a non-empty list of messages")
        messages: list[tuple[str, Any, str | None]] = [(f"batch[{i}]", m, None) for i, m in enumerate(batch)]
    else:
        messages = [("message", dict(data), call)]
    checked = []
    for where, message, implied in messages:
        if not isinstance(message, dict):
            raise ValueError(f"{where}: expected an object")
        # the write key is a credential: never stored with the message (analytics.js puts it in each one)
        message = {k: v for k, v in message.items() if k != "writeKey"}
        if implied:
            message["type"] = implied
        _check_message(where, message)
        checked.append(message)
    return checked


def _check_message(where: str, message: Mapping[str, Any]) -> None:
    kind = message.get("type")
    if kind not in CALLS:
        raise ValueError(f"{where}.type: must be one of {', '.join(CALLS)}")
    if len(json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode()) > MAX_MESSAGE_BYTES:
        raise ValueError(f"{where}: larger than {MAX_MESSAGE_BYTES // 1024} KB")
    if not (_is_id(message.get("userId")) or _is_id(message.get("anonymousId"))):
        raise ValueError(f"{where}: userId or anonymousId is required")
    required = {"track": ["event"], "alias": ["previousId", "userId"], "group": ["groupId"]}.get(str(kind), [])
    for name in required:
        if not _is_id(message.get(name)):
            raise ValueError(f"{where}.{name}: required for {kind}")
    for name in ("properties", "traits", "context", "integrations"):
        if message.get(name) is not None and not isinstance(message[name], dict):
            raise ValueError(f"{where}.{name}: expected an object")
    if message.get("messageId") is not None and not _is_id(message["messageId"]):
        raise ValueError(f"{where}.messageId: expected a string of at most {MAX_ID_CHARS} characters")
    if message.get("timestamp") is not None and _timestamp(message.get("timestamp")) is None:
        raise ValueError(f"{where}.timestamp: expected an ISO 8601 date-time")


def message_id(message: Mapping[str, Any]) -> str:
    """The dedupe key: messageId, or (a hand-written sender without one) the content hash."""
    if _is_id(message.get("messageId")):
        return str(message["messageId"])
    canonical = json.dumps(message, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()[:40]


def _is_id(value: object) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, str):
        return bool(value.strip()) and len(value) <= MAX_ID_CHARS
    return isinstance(value, int)


def _timestamp(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


class SegmentSource(WebhookSource):
    """Stored tracking calls -> events-only leads (see the module docstring)."""

    config: SegmentConfig

    def __init__(self, config: SegmentConfig) -> None:
        super().__init__(config)
        self.config = config

    def to_lead(self, raw: RawSubmission) -> Lead:
        message = raw.payload
        record = f"{raw.source}/{raw.source_record_id}"
        at = _timestamp(message.get("timestamp")) or raw.received_at
        context = message.get("context") or {}
        anonymous = [str(message["anonymousId"])] if _is_id(message.get("anonymousId")) else []
        if message.get("type") == "alias" and _is_id(message.get("previousId")):
            anonymous.append(str(message["previousId"]))  # the id the person had before (usually anonymous)
        fields = self._person_fields(message, record)
        fields["attribution"] = _attribution(context)
        fields["submitted_at"] = at.isoformat()
        events = self._events(message, raw.source_record_id, at, fields["attribution"].get("campaign"))
        user_id = str(message["userId"]) if _is_id(message.get("userId")) else None
        if fields.get("email") or fields.get("phone"):
            lead = build_lead(raw, fields, self.config.default_region)
        else:  # known only by tracking ids: keep what the call says of the person or company, no contact
            lead = Lead(lead_key=_anonymous_key(raw.source, user_id, anonymous, raw.source_record_id),
                        source=raw.source, source_record_id=raw.source_record_id, received_at=at,
                        attribution=Attribution(**fields["attribution"]), **_facts(fields, record))
        return lead.model_copy(update={"events": events, "anonymous_ids": list(dict.fromkeys(anonymous)),
                                       "tracking_user_id": user_id, "events_only": True})

    def _person_fields(self, message: Mapping[str, Any], record: str) -> dict[str, Any]:
        kind = message.get("type")
        traits = message.get("traits") or {}
        mapping = {**IDENTIFY_TRAITS, **self.config.field_map} if kind == "identify" else (
            GROUP_TRAITS if kind == "group" else {})
        fields: dict[str, Any] = {"custom": {}}
        for path, target in mapping.items():
            value = _dig(traits, path)
            if isinstance(value, dict) and target == "company":
                value = value.get("name")
            if value not in (None, "") and not fields.get(target):
                fields[target] = value
        if fields.get("email"):
            try:
                normalise_email(fields["email"], record)
            except RecordRejectedError as exc:
                raise RecordRejectedError(record, "traits.email", exc.reason, code="INVALID_EMAIL") from None
        return fields

    def _events(self, message: Mapping[str, Any], event_id: str, at: datetime, campaign: str | None) -> list[Event]:
        kind = message.get("type")
        props = message.get("properties") or {}
        context = message.get("context") or {}
        page: Mapping[str, Any] = context["page"] if isinstance(context.get("page"), dict) else {}
        extra = {"campaign": campaign} if campaign else {}
        if kind in ("page", "screen"):
            url = _text(props.get("url")) or _text(page.get("url"))
            path = _text(props.get("path")) or _text(page.get("path")) or (urlsplit(url).path if url else None)
            name = _text(message.get("name")) or _text(props.get("name"))
            fallback = "page_view" if kind == "page" else "screen_view"
            event_type = self.config.events.page_type(path or (None if url else name), url, fallback)
            title = _text(props.get("title")) or _text(page.get("title"))
            facts = {"path": path, "url": url, "title": title, "name": name,
                     "referrer": _text(props.get("referrer")) or _text(page.get("referrer")), **extra}
            detail = title or name or path
        elif kind == "track":
            name = str(message["event"])
            event_type = self.config.events.track_type(name)
            facts = {**props, "event_name": name, **extra}
            detail = name
        else:
            return []  # identify, group and alias say who someone is, not what they did
        if event_type is None:
            return []
        return [Event(type=event_type, at=at, detail=detail, event_id=event_id,
                      properties={k: v for k, v in facts.items() if v is not None})]


def _attribution(context: Mapping[str, Any]) -> dict[str, Any]:
    campaign: Mapping[str, Any] = context["campaign"] if isinstance(context.get("campaign"), dict) else {}
    page: Mapping[str, Any] = context["page"] if isinstance(context.get("page"), dict) else {}
    found = {target: _text(campaign.get(key)) for key, target in CAMPAIGN_KEYS.items()}
    found.update(landing_page=_text(page.get("url")), referrer=_text(page.get("referrer")))
    return {k: v for k, v in found.items() if v}


def _facts(fields: Mapping[str, Any], record: str) -> dict[str, Any]:
    """Lead fields other than contact details, cleaned as build_lead cleans them."""
    first, last = fields.get("first_name"), fields.get("last_name")
    if not first and not last and fields.get("full_name"):
        first, last = split_full_name(fields["full_name"])
    facts = {name: clean_text(fields.get(name)) for name in ("company", "title", "website", "industry", "city",
                                                             "state", "postal_code", "street")}
    return {**facts, "first_name": normalise_name(first), "last_name": normalise_name(last),
            "employees": parse_int(fields.get("employees"), "employees", record),
            "country": normalise_country(fields.get("country"), record)}


def _anonymous_key(source: str, user_id: str | None, anonymous: list[str], record_id: str) -> str:
    """Deterministic key of a person known only by tracking ids: the same visitor, the same key."""
    identity = f"u\x1f{user_id}" if user_id else f"a\x1f{anonymous[0]}" if anonymous else f"r\x1f{record_id}"
    return "t-" + hashlib.sha256(f"{source}\x1f{identity}".encode()).hexdigest()[:24]


def _dig(data: Mapping[str, Any], path: str) -> Any:
    node: Any = data
    for part in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def _text(value: object) -> str | None:
    return value.strip() or None if isinstance(value, str) else None
