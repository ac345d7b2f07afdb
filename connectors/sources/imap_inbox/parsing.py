"""Read an inquiry e-mail: who the lead is, what they asked, and whether it is a lead at all.

Pure functions over the raw RFC 822 bytes (stdlib `email` with policy.default, which decodes
RFC 2047 words and charsets). The order of checks matters: a form notification is a lead even
when the form service stamps it Auto-Submitted, so it is recognised before the auto-reply test.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import getaddresses
from html.parser import HTMLParser

_OOO_SUBJECT = re.compile(r"^\s*(automatic reply|auto[- ]?reply|out of (the )?office|abwesenheit|autosvar|"
                          r"r[ée]ponse automatique|absence|vacation)\b", re.I)
_BOUNCE_FROM = re.compile(r"^(mailer-daemon|postmaster)@", re.I)
_LABEL = re.compile(r"^\s*(name|full name|e-?mail|email address|phone|telephone|company|organi[sz]ation|"
                    r"message|comments?)\s*:\s*(.*)$", re.I)
_FORWARD_MARK = re.compile(r"^-{2,}\s*(forwarded message|original message)\s*-{2,}|^begin forwarded message:", re.I)
_FROM_LINE = re.compile(r"^\s*(?:\*?from\*?|von|de)\s*:\s*(.+)$", re.I)
_QUOTE_HEADER = re.compile(r"^on .{5,200} wrote:$", re.I)
_SIGNATURE = re.compile(r"^(--\s*|best( regards)?,?|kind regards,?|regards,?|thanks,?|cheers,?|"
                        r"med venlig hilsen.*|mit freundlichen grüßen,?)$", re.I)
_PHONE_IN_SIGNATURE = re.compile(r"^\s*(?:t|tel|phone|m|mobile|p)\s*[:.]\s*(\+?[\d][\d ()./-]{6,})", re.I)


@dataclass
class ParsedMail:
    kind: str  # "lead" | "activity" | "skip"
    reason: str = ""
    message_id: str | None = None
    subject: str = ""
    fields: dict[str, object] = field(default_factory=dict)


class _TextFromHtml(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"script", "style"}:
            self._skip += 1
        if tag in {"br", "p", "div", "tr", "li", "h1", "h2", "h3", "table"}:
            self.parts.append("\n")
        if tag == "td":
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in {"script", "style"} and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    parser = _TextFromHtml()
    parser.feed(html)
    text = "".join(parser.parts)
    return "\n".join(line.strip() for line in text.splitlines() if line.strip())


def parse_message(raw: bytes) -> EmailMessage:
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def body_text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    content = part.get_content()
    text = content if isinstance(content, str) else content.decode("utf-8", "replace")
    return html_to_text(text) if part.get_content_type() == "text/html" else text


def _address(value: str | None) -> tuple[str, str] | None:
    if not value:
        return None
    pairs = [(name, addr) for name, addr in getaddresses([value]) if "@" in addr]
    return pairs[0] if pairs else None


def classify(message: EmailMessage, own_domains: frozenset[str]) -> tuple[str, str]:
    """('lead' | 'activity' | 'skip', reason)."""
    sender = _address(str(message.get("From", "")))
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
    if sender_domain in own_domains and original is None:
        return "skip", "from our own domain"
    if (message.get("In-Reply-To") or message.get("References")) and re.match(r"^\s*re\s*:", subject, re.I):
        return "activity", "reply in an existing thread"
    return "lead", "inquiry" if original is None else "forwarded inquiry"


def _is_form_notification(message: EmailMessage) -> bool:
    if not message.get("Reply-To"):
        return False
    labels = {m.group(1).lower() for line in body_text(message).splitlines() if (m := _LABEL.match(line))}
    return bool(labels & {"email", "e-mail", "email address"})


def forwarded_sender(message: EmailMessage) -> tuple[str, str] | None:
    """The original sender of a forwarded inquiry: an attached message/rfc822, or an inline block."""
    for part in message.walk():
        if part.get_content_type() == "message/rfc822":
            inner = part.get_payload(0) if part.is_multipart() else None
            if isinstance(inner, EmailMessage):
                return _address(str(inner.get("From", "")))
    lines = body_text(message).splitlines()
    for index, line in enumerate(lines):
        if _FORWARD_MARK.match(line.strip()):
            for following in lines[index + 1:index + 8]:
                match = _FROM_LINE.match(following)
                if match:
                    return _address(match.group(1).replace("[mailto:", "<").replace("]", ">"))
    return None


def inquiry_text(text: str) -> str:
    """The new part of the mail: quoted history and the signature trimmed where recognisable."""
    kept: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith(">") or _QUOTE_HEADER.match(stripped) or _FORWARD_MARK.match(stripped):
            break
        if _SIGNATURE.match(stripped):
            break
        kept.append(line.rstrip())
    return "\n".join(kept).strip()


_MULTILINE = {"message", "comments", "comment"}
_ANY_LABEL = re.compile(r"^\s*[A-Za-z][\w ()/-]{0,40}:\s")


def form_labels(text: str) -> dict[str, str]:
    """'Label: value' lines of a form notification; a value may continue on the following lines."""
    labels: dict[str, str] = {}
    current: str | None = None
    for line in text.splitlines():
        match = _LABEL.match(line)
        if match:
            current = match.group(1).lower()
            labels[current] = match.group(2).strip()
        elif current in _MULTILINE and line.strip() and not line.startswith("--") and not _ANY_LABEL.match(line):
            labels[current] = f"{labels[current]} {line.strip()}".strip()
        else:
            current = None
    return labels


def extract(raw: bytes, own_domains: frozenset[str]) -> ParsedMail:
    """Classify the message and, for leads and activities, the lead's fields."""
    message = parse_message(raw)
    kind, reason = classify(message, own_domains)
    message_id = str(message.get("Message-ID", "")).strip() or None
    subject = str(message.get("Subject", ""))
    parsed = ParsedMail(kind=kind, reason=reason, message_id=message_id, subject=subject)
    if kind == "skip":
        return parsed
    text = body_text(message)
    fields: dict[str, object] = {"attribution": {"source": "email"}, "custom": {"subject": subject}}
    if reason == "form notification":
        labels = form_labels(text)
        reply_to = _address(str(message.get("Reply-To", "")))
        fields["email"] = labels.get("email") or labels.get("e-mail") or labels.get("email address") or (
            reply_to[1] if reply_to else None)
        fields["full_name"] = labels.get("name") or labels.get("full name") or (reply_to[0] if reply_to else None)
        fields["phone"] = labels.get("phone") or labels.get("telephone")
        fields["company"] = labels.get("company") or labels.get("organisation") or labels.get("organization")
        fields["inquiry"] = labels.get("message") or labels.get("comments") or labels.get("comment")
    else:
        person = forwarded_sender(message) or _address(str(message.get("Reply-To", ""))) or \
            _address(str(message.get("From", "")))
        if person:
            fields["full_name"], fields["email"] = person[0] or None, person[1]
        fields["inquiry"] = inquiry_text(text)
        phones = [m.group(1) for line in text.splitlines() if (m := _PHONE_IN_SIGNATURE.match(line))]
        fields["phone"] = phones[0].strip() if phones else None
    parsed.fields = fields
    return parsed
