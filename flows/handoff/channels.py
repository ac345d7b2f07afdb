"""Build what the follow-through needs from the config: the CRM's task writer and the notification channels.

Secrets (SMTP password, webhook URLs) are resolved here, in flows/, and passed to connectors as values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from connectors.crm.base import CrmSink
from connectors.crm.followup import FollowUpCrm
from connectors.crm.local import LocalCrmSink
from connectors.crm.local_tasks import LocalTasks
from connectors.errors import ConfigError
from connectors.notify.templates import Templates
from flows.config.notify import NotifyConfig
from flows.config.secrets import resolve_secret

if TYPE_CHECKING:
    from connectors.notify.slack import SlackWebhook
    from connectors.notify.smtp import SmtpSender

DEFAULT_TEMPLATES = Path(__file__).resolve().parents[2] / "config" / "templates"


def task_crm_for(sink: CrmSink) -> FollowUpCrm:
    # The vendor packages are imported only for their own CRM: importing both costs ~0.5 s on every run.
    if isinstance(sink, LocalCrmSink):
        return LocalTasks(sink.engine)
    if sink.name == "salesforce":
        from connectors.crm.salesforce import SalesforceSink
        from connectors.crm.salesforce.tasks import SalesforceTasks

        if isinstance(sink, SalesforceSink):
            return SalesforceTasks(sink.client, sink.directory, sink.config)
    if sink.name == "hubspot":
        from connectors.crm.hubspot import HubSpotSink
        from connectors.crm.hubspot.tasks import HubSpotTasks

        if isinstance(sink, HubSpotSink):
            return HubSpotTasks(sink.client, sink.config)
    raise ConfigError(f"the {sink.name} CRM cannot take follow-up tasks")


@dataclass
class Channels:
    config: NotifyConfig
    templates: Templates
    email: SmtpSender | None = None
    slack: dict[str, SlackWebhook] = field(default_factory=dict)  # channel name -> webhook

    def close(self) -> None:
        for hook in self.slack.values():
            hook.close()


def build_channels(config: NotifyConfig | None, base_dir: Path) -> Channels:
    """Channels from `notify:`; no section: no channel (notifications are recorded as skipped)."""
    config = config or NotifyConfig()
    folder = base_dir / config.templates
    templates = Templates(folder if folder.is_dir() else DEFAULT_TEMPLATES)
    problems = templates.check()
    if problems:
        raise ConfigError("notification templates are incomplete", problems)
    channels = Channels(config=config, templates=templates)
    # Each channel's client is imported only when configured (httpx and the retry layer cost ~0.15 s).
    if config.email is not None:
        from connectors.notify.smtp import SmtpSender, SmtpSettings

        e = config.email
        password = resolve_secret(e.password, "notify.email.password") if e.password else None
        ca_file = str(base_dir / e.ca_file) if e.ca_file else None
        channels.email = SmtpSender(SmtpSettings(host=e.host, port=e.port, from_address=e.from_address,
                                                 username=e.username, password=password, starttls=e.starttls,
                                                 ca_file=ca_file, timeout_seconds=e.timeout_seconds))
    if config.slack is not None:
        from connectors.notify.slack import SlackWebhook

        for name, ref in config.slack.webhooks.items():
            channels.slack[name] = SlackWebhook(resolve_secret(ref, f"notify.slack.webhooks.{name}"))
    return channels
