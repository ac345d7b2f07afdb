"""E-mail inboxes over IMAP: each inquiry captured once, non-leads recorded with the reason.

The source (imapclient and the mail parser) is imported on first use: every command needs the
config model, only a configured inbox needs the client.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from connectors.sources.imap_inbox.config import ImapInboxConfig

if TYPE_CHECKING:
    from connectors.sources.imap_inbox.source import ImapInboxSource

__all__ = ["ImapInboxConfig", "ImapInboxSource"]


def __getattr__(name: str) -> Any:
    if name == "ImapInboxSource":
        from connectors.sources.imap_inbox.source import ImapInboxSource

        return ImapInboxSource
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
