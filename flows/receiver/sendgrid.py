"""SendGrid's Event Webhook on the receiver: POST /sendgrid/<name> (registered in app.JSON_HANDLERS).

The signature is checked on the raw bytes before anything is parsed (401 when missing or wrong),
then every event of the array is checked (400 naming events[i] and the field, nothing stored),
then each is stored as one inbox row keyed by sg_event_id, partitioned by event kind.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping

from connectors.sources.sendgrid_events import SendGridConfig, sendgrid_events
from connectors.sources.webhook_auth import sendgrid_signature_ok
from flows.receiver.payloads import Capture, Rejected

SIGNATURE = "x-twilio-email-event-webhook-signature"
TIMESTAMP = "x-twilio-email-event-webhook-timestamp"


def sendgrid(config: SendGridConfig, body: bytes, headers: Mapping[str, str]) -> list[Capture]:
    if not sendgrid_signature_ok(config.public_key, body, headers.get(TIMESTAMP), headers.get(SIGNATURE),
                                 now=time.time(), max_age_seconds=config.max_age_seconds):
        raise Rejected(401, "missing, stale or invalid X-Twilio-Email-Event-Webhook-Signature / -Timestamp")
    try:
        events = sendgrid_events(json.loads(body))
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # RecursionError: absurdly nested JSON
        raise Rejected(400, f"not a SendGrid event batch: {exc}") from None
    return [Capture(str(e["sg_event_id"]), e, partition=str(e["event"])) for e in events]
