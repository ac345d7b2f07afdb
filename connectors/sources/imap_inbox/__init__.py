"""E-mail inboxes over IMAP: each inquiry captured once, non-leads recorded with the reason."""

from connectors.sources.imap_inbox.config import ImapInboxConfig
from connectors.sources.imap_inbox.source import ImapInboxSource

__all__ = ["ImapInboxConfig", "ImapInboxSource"]
