"""Owner and team notifications: e-mail over SMTP and Slack incoming webhooks, rendered from Jinja2 templates.

The channels are imported on first use (PEP 562): every run builds the follow-through, but only a config with
Slack needs httpx and the retry layer, and importing them costs ~0.15 s of each run's start-up.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from connectors.notify.message import Notice, Rendered

if TYPE_CHECKING:
    from connectors.notify.slack import SlackWebhook
    from connectors.notify.smtp import SmtpSender, SmtpSettings
    from connectors.notify.templates import Templates

__all__ = ["Notice", "Rendered", "SlackWebhook", "SmtpSender", "SmtpSettings", "Templates"]

_HOMES = {"SlackWebhook": "slack", "SmtpSender": "smtp", "SmtpSettings": "smtp", "Templates": "templates"}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{home}"), name)
