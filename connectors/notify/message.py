"""What a notification says: only what the owner needs to act (no e-mail address or phone of the lead)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Notice:
    """One thing to tell someone: a hand-off, a reminder, an escalation, or a digest of hand-offs."""

    key: str                     # idempotency key: becomes the e-mail's Message-ID
    purpose: str                 # handoff | reminder | escalation | digest
    recipient: str               # e-mail of the owner / team lead, or a Slack channel name
    items: list[dict[str, Any]] = field(default_factory=list)  # template context per lead


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str                    # plain-text e-mail body
    slack_text: str              # mrkdwn (escaped) for Slack
    links: list[str] = field(default_factory=list)
