"""Read an inquiry e-mail: who the lead is, what they asked, and whether it is a lead at all.

Pure functions over the raw RFC 822 bytes (stdlib `email` with policy.default, which decodes
RFC 2047 words and charsets). The order of checks matters: a form notification is a lead even
when the form service stamps it Auto-Submitted, so it is recognised before the auto-reply test.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage

from connectors.normalise import region_of_domain
from connectors.sources.imap_inbox.bodies import (
    Original,
    address,
    attached_original,
    body_text,
    inline_original,
    sent_at,
    split_reply,
)
from connectors.sources.imap_inbox.form_mail import form_fields, has_email_label
from connectors.sources.imap_inbox.signature import read_signature, trailing_signature

_OOO_SUBJECT = re.compile(r"^\s*(automatic reply|auto[- ]?reply|out of (the )?office|abwesenheit|autosvar|"
                          r"r[ée]ponse automatique|absence|vacation)\b", re.I)
_BOUNCE_FROM = re.compile(r"^(mailer-daemon|postmaster)@", re.I)


@dataclass
class ParsedMail:
    kind: str  # "lead" | "activity" | "skip"
    reason: str = ""
    message_id: str | None = None
    subject: str = ""
    fields: dict[str, object] = field(default_factory=dict)
    sent_at: datetime | None = None  # the Date header: when the person wrote, not when we fetched


def parse_message(raw: bytes) -> EmailMessage:
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def classify(message: EmailMessage, own_domains: frozenset[str]) -> tuple[str, str]:
    """('lead' | 'activity' | 'skip', reason)."""
    sender = address(str(message.get("From", "")))
    sender_domain = sender[1].rsplit("@", 1)[1].lower() if sender else ""
    subject = str(message.get("Subject", ""))
    content_type = message.get_content_type()
    if content_type == "multipart/report" or (sender and _BOUNCE_FROM.match(sender[1])):
        return "skip", "bounce or delivery report"
    if _is_form_notification(message):
        return "lead", "form notification"
    auto = str(message.get("Auto-Submitted", "no")).strip().lower()
    if auto and auto != "no":
        return "skip", f"auto-submitted ({auto.split(';')[0]})"
    if message.get("X-Autoreply") or message.get("X-Autorespond") or _OOO_SUBJECT.match(subject):
        return "skip", "auto-reply or out of office"
    if message.get("List-Id") or message.get("List-Unsubscribe") or \
            str(message.get("Precedence", "")).lower() in {"bulk", "list", "junk"}:
        return "skip", "newsletter or bulk mail"
    original = forwarded_sender(message)
    if original is not None and original[1].rsplit("@", 1)[1].lower() in own_domains:
        original = None  # a colleague's mail passed on is not an inquiry
    if sender_domain in own_domains and original is None:
        return "skip", "from our own domain"
    if (message.get("In-Reply-To") or message.get("References")) and re.match(r"^\s*re\s*:", subject, re.I):
        return "activity", "reply in an existing thread"
    return "lead", "inquiry" if original is None else "forwarded inquiry"


def _is_form_notification(message: EmailMessage) -> bool:
    if not message.get("Reply-To"):
        return False
    return has_email_label(body_text(message))


def forwarded_sender(message: EmailMessage) -> tuple[str, str] | None:
    """The original sender of a forwarded inquiry: an attached message/rfc822, or an inline block."""
    original = forwarded_original(message)
    return original.sender if original else None


def forwarded_original(message: EmailMessage) -> Original | None:
    """The forwarded message: an attached message/rfc822 (itself unwrapped if it forwards), or an inline block."""
    inner = attached_original(message)
    if inner is not None:
        sender = address(str(inner.get("Reply-To", "") or "")) or address(str(inner.get("From", "")))
        if sender is not None:
            text = body_text(inner)
            return inline_original(text) or Original(sender=sender, text=text, sent=str(inner.get("Date", "")))
    return inline_original(body_text(message))


def inquiry_text(text: str) -> str:
    """The new part of the mail: quoted history and the signature trimmed, line breaks kept."""
    reply = split_reply(text)
    body = reply.body if reply.signature else trailing_signature(reply.body)[0]
    return body


def extract(raw: bytes, own_domains: frozenset[str]) -> ParsedMail:
    """Classify the message and, for leads and activities, the lead's fields."""
    message = parse_message(raw)
    kind, reason = classify(message, own_domains)
    message_id = str(message.get("Message-ID", "")).strip() or None
    subject = str(message.get("Subject", ""))
    parsed = ParsedMail(kind=kind, reason=reason, message_id=message_id, subject=subject,
                        sent_at=sent_at(str(message.get("Date", "") or "")))
    if kind == "skip":
        return parsed
    text = body_text(message)
    fields: dict[str, object] = {"attribution": {"source": "email"}}
    custom: dict[str, object] = {"subject": subject}
    original = forwarded_original(message) if reason == "forwarded inquiry" else None
    if reason == "form notification" or (original and has_email_label(original.text)):
        reply_to = None if original else address(str(message.get("Reply-To", "")))
        fields, extra = form_fields(original.text if original else text, reply_to)
        custom = {**extra, **custom}
    else:
        person = (original.sender if original else None) or address(str(message.get("Reply-To", ""))) or \
            address(str(message.get("From", "")))
        if person:
            fields["full_name"], fields["email"] = person[0] or None, person[1]
        fields.update(_written_fields(original.text if original else text, person))
    forwarder = address(str(message.get("From", ""))) if original is not None else None
    if forwarder is not None:
        custom["forwarded_by"] = forwarder[1]
    parsed.fields = {**fields, "custom": custom}
    return parsed


def _written_fields(text: str, person: tuple[str, str] | None) -> dict[str, object]:
    """A person's own mail: their words as the inquiry, their signature's company, title and numbers."""
    reply = split_reply(text)
    body, signature = reply.body, reply.signature
    if not signature:
        body, signature = trailing_signature(body)
    region = region_of_domain(person[1]) if person else None
    facts = read_signature(signature, person[0] if person else None, region)
    fields: dict[str, object] = {"inquiry": body or None, "company": facts.company, "title": facts.title,
                                 "phone": facts.phone, "mobile": facts.mobile}
    if person is not None and not person[0] and facts.name:
        fields["full_name"] = facts.name  # "From: jane.doe@x.example" with no display name: the signature's
    return fields
