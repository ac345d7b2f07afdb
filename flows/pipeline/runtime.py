"""Build everything a run needs from the config, and check it all before any source is touched."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from pydantic import BaseModel, SecretStr

from connectors.crm.base import CrmSink
from connectors.crm.local import LocalCrmConfig, LocalCrmSink
from connectors.crm.salesforce import SalesforceCredentials
from connectors.errors import ConfigError
from connectors.redaction import register_staff_addresses
from connectors.sources.base import Source
from connectors.sources.crm_unrouted import CrmUnroutedConfig, CrmUnroutedSource, UnroutedFeed
from connectors.sources.csv_import import CsvImportSource
from connectors.sources.form_files import FormFilesConfig, FormFilesSource
from connectors.sources.linkedin_lead_gen import LinkedInLeadGenSource
from connectors.sources.meta_lead_ads import MetaLeadAdsSource
from connectors.sources.meta_webhook import MetaWebhookSource
from connectors.sources.segment import SegmentSource
from connectors.sources.sendgrid_events import SendGridSource
from connectors.sources.webhook_auth import sendgrid_key_ok
from connectors.sources.webhooks import WebFormConfig, WebhookSource
from flows.config import LoadedConfig, load_config
from flows.config.models import (
    CsvSourceEntry,
    GoogleAdsEntry,
    HubSpotEntry,
    ImapSourceEntry,
    JsonHookEntry,
    LinkedInLeadGenEntry,
    MetaLeadAdsEntry,
    MetaWebhookEntry,
    SalesforceEntry,
    SegmentEntry,
    SendGridEntry,
    SourceEntry,
    TypeformEntry,
    WebflowEntry,
)
from flows.config.secrets import expand_env_refs, resolve_secret
from flows.state import StateStore
from rules import Ruleset, load_ruleset

if TYPE_CHECKING:
    from connectors.crm.salesforce import ClientFactory

EntryT = TypeVar("EntryT", bound=BaseModel)


@dataclass
class Runtime:
    loaded: LoadedConfig
    store: StateStore
    sink: CrmSink
    ruleset: Ruleset
    sources: dict[str, Source]
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    """The clock decisions, re-scoring and SLA checks read (`leadsync run --as-of` replays history with it)."""

    def close(self) -> None:
        for source in self.sources.values():
            close = getattr(source, "close", None)  # sources holding connections (IMAP) release them
            if callable(close):
                close()
        self.sink.close()
        self.store.dispose()


def resolve_state_url(loaded: LoadedConfig) -> str:
    """sqlite:///relative/path is relative to the config file, like every other path in it."""
    url = expand_env_refs(loaded.config.state_store.url, "state_store.url")
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
        return prefix + str(loaded.resolve(url[len(prefix):]))
    return url


def _with_secrets(entry: EntryT, *fields: str) -> EntryT:
    """A copy of a source entry with each named secret reference resolved to its value (unset stays unset)."""
    name = getattr(entry, "name", "")
    return entry.model_copy(update={field: resolve_secret(getattr(entry, field), f"{name} {field}")
                                    for field in fields if getattr(entry, field) is not None})


def build_source(entry: SourceEntry, loaded: LoadedConfig, sink: CrmSink) -> Source:
    if isinstance(entry, CsvSourceEntry):
        return CsvImportSource(entry.model_copy(update={"path": str(loaded.resolve(entry.path))}))
    if isinstance(entry, FormFilesConfig):
        return FormFilesSource(entry.model_copy(update={"path": str(loaded.resolve(entry.path))}))
    if isinstance(entry, TypeformEntry | WebflowEntry | JsonHookEntry):
        return WebhookSource(_with_secrets(entry, "secret"))
    if isinstance(entry, GoogleAdsEntry):
        return WebhookSource(_with_secrets(entry, "google_key"))
    if isinstance(entry, MetaLeadAdsEntry):
        return MetaLeadAdsSource(_with_secrets(entry, "access_token"))
    if isinstance(entry, MetaWebhookEntry):
        return MetaWebhookSource(_with_secrets(entry, "verify_token", "app_secret", "access_token"))
    if isinstance(entry, SegmentEntry):
        return SegmentSource(_with_secrets(entry, "write_key"))
    if isinstance(entry, SendGridEntry):
        resolved = _with_secrets(entry, "public_key")
        if not sendgrid_key_ok(resolved.public_key):
            raise ConfigError(f"source sendgrid:{entry.name}: public_key is not an ECDSA P-256 public key in "
                              "base64 DER (copy it from SendGrid's Signed Event Webhook settings)")
        return SendGridSource(resolved)
    if isinstance(entry, LinkedInLeadGenEntry):
        return LinkedInLeadGenSource(_with_secrets(entry, "access_token"))
    if isinstance(entry, WebFormConfig):
        return WebhookSource(entry)
    if isinstance(entry, ImapSourceEntry):
        from connectors.sources.imap_inbox import ImapInboxSource  # imapclient only when an inbox is configured

        return ImapInboxSource(entry, resolve_secret(entry.secret, f"source imap:{entry.name} secret"))
    if isinstance(entry, CrmUnroutedConfig):
        if not isinstance(sink, UnroutedFeed):
            raise ConfigError(f"source crm_unrouted:{entry.name}: the {sink.name} CRM cannot list unrouted leads")
        return CrmUnroutedSource(entry, sink)
    raise ConfigError(f"source type {type(entry).__name__} has no builder")


def _salesforce_credentials(crm: SalesforceEntry) -> SalesforceCredentials:
    def secret(ref: str | None, name: str) -> SecretStr | None:
        return SecretStr(resolve_secret(ref, f"crm.{name}")) if ref else None

    return SalesforceCredentials(username=crm.username, password=secret(crm.password, "password"),
                                 security_token=secret(crm.security_token, "security_token"),
                                 consumer_key=crm.consumer_key, private_key=secret(crm.private_key, "private_key"),
                                 session_id=secret(crm.session_id, "session_id"), instance_url=crm.instance_url)


def login_factory(credentials: SalesforceCredentials, config: SalesforceEntry) -> ClientFactory:
    """Salesforce's login, imported on first use (simple-salesforce costs ~0.3 s); tests replace this seam."""
    from connectors.crm.salesforce import login_factory as salesforce_login

    return salesforce_login(credentials, config)


def build_sink(loaded: LoadedConfig, statuses: Sequence[str] = ()) -> CrmSink:
    crm = loaded.config.crm
    if isinstance(crm, LocalCrmConfig):
        return LocalCrmSink(crm.model_copy(update={"path": str(loaded.resolve(crm.path))}))
    # The vendor clients are imported only for the CRM in use (each costs 0.25-0.3 s at start-up).
    if isinstance(crm, HubSpotEntry):
        from connectors.crm.hubspot import HubSpotCredentials, HubSpotSink

        token = resolve_secret(crm.access_token, "crm.access_token")
        return HubSpotSink(crm, HubSpotCredentials(access_token=SecretStr(token)), host=crm.host)
    if isinstance(crm, SalesforceEntry):
        from connectors.crm.salesforce import SalesforceSink

        return SalesforceSink(crm, login_factory(_salesforce_credentials(crm), crm), statuses=statuses)
    raise ConfigError(f"CRM type {crm.type} has no builder")


def build_runtime(config_path: str | Path, *, check_owners: bool = True) -> Runtime:
    """Load and check config, rules, state store and CRM; raise ConfigError/FatalError before any capture."""
    loaded = load_config(config_path)
    ruleset = load_ruleset(loaded.rules_path)
    register_staff_addresses(ruleset.owners())  # errors may name reps: staff, not lead data
    store = StateStore(resolve_state_url(loaded))
    store.create_schema()
    sink = build_sink(loaded, ruleset.status_values())
    sources = {}
    for entry in loaded.config.sources:
        source = build_source(entry, loaded, sink)
        sources[source.name] = source
    if check_owners:
        sink.resolve_owners(ruleset.owners(), ruleset.queues(), ruleset.lists())
    return Runtime(loaded=loaded, store=store, sink=sink, ruleset=ruleset, sources=sources)
