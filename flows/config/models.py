"""The one YAML config file: sources, CRM, state store, rules, processing and schedule."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from connectors.crm.hubspot import HubSpotConfig
from connectors.crm.local import LocalCrmConfig
from connectors.crm.salesforce import SalesforceConfig
from connectors.crm.salesforce.config import LOGIN_METHODS, login_method
from connectors.sources.crm_unrouted import CrmUnroutedConfig
from connectors.sources.csv_import import CsvImportConfig
from connectors.sources.form_files import FormFilesConfig
from connectors.sources.imap_inbox import ImapInboxConfig
from connectors.sources.linkedin_lead_gen import LinkedInLeadGenConfig
from connectors.sources.meta_lead_ads import MetaLeadAdsConfig
from connectors.sources.meta_webhook import MetaWebhookConfig
from connectors.sources.segment import SegmentConfig
from connectors.sources.sendgrid_events import SendGridConfig
from connectors.sources.webhook_forms import JsonHookConfig, WebflowConfig
from connectors.sources.webhooks import GoogleAdsConfig, TypeformConfig, WebFormConfig
from flows.config.notify import NotifyConfig
from flows.config.secrets import SecretRef


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CsvSourceEntry(CsvImportConfig):
    model_config = ConfigDict(extra="forbid")
    type: Literal["csv"] = "csv"


class ImapSourceEntry(ImapInboxConfig):
    secret: SecretRef = Field(description="Password or OAuth2 token: ${ENV_VAR} or prefect-secret:<block-name>.")


class TypeformEntry(TypeformConfig):
    secret: SecretRef = Field(description="Webhook secret: ${ENV_VAR} or prefect-secret:<block-name>.")


class GoogleAdsEntry(GoogleAdsConfig):
    google_key: SecretRef = Field(description="Lead form key: ${ENV_VAR} or prefect-secret:<block-name>.")


class MetaLeadAdsEntry(MetaLeadAdsConfig):
    access_token: SecretRef = Field(description="Page access token: ${ENV_VAR} or prefect-secret:<block-name>.")


class MetaWebhookEntry(MetaWebhookConfig):
    verify_token: SecretRef = Field(description="App Dashboard Verify Token: ${ENV_VAR} or prefect-secret:<name>.")
    app_secret: SecretRef = Field(description="App secret (signs X-Hub-Signature-256): ${ENV_VAR} or prefect-secret.")
    access_token: SecretRef = Field(description="Page access token: ${ENV_VAR} or prefect-secret:<block-name>.")


class WebflowEntry(WebflowConfig):
    secret: SecretRef = Field(description="Client or webhook secret: ${ENV_VAR} or prefect-secret:<block-name>.")


class JsonHookEntry(JsonHookConfig):
    secret: SecretRef | None = Field(default=None, description="Shared secret: ${ENV_VAR} or prefect-secret:<name>.")


class SegmentEntry(SegmentConfig):
    write_key: SecretRef = Field(description="Write key senders use: ${ENV_VAR} or prefect-secret:<block-name>.")


class SendGridEntry(SendGridConfig):
    public_key: SecretRef = Field(description="Signed Event Webhook verification key: ${ENV_VAR} or "
                                  "prefect-secret:<block-name>.")


class LinkedInLeadGenEntry(LinkedInLeadGenConfig):
    access_token: SecretRef = Field(description="OAuth access token: ${ENV_VAR} or prefect-secret:<block-name>.")


SourceEntry = Annotated[CsvSourceEntry | FormFilesConfig | CrmUnroutedConfig | ImapSourceEntry | WebFormConfig
                        | TypeformEntry | GoogleAdsEntry | MetaLeadAdsEntry | MetaWebhookEntry | WebflowEntry
                        | JsonHookEntry | LinkedInLeadGenEntry | SegmentEntry | SendGridEntry,
                        Field(discriminator="type")]


class ReceiverConfig(_Strict):
    host: str = Field(default="127.0.0.1", description="Interface to bind; put a TLS proxy in front for the internet.")
    port: int = Field(default=8787, ge=1, le=65535, description="Port to listen on (`receive --port` overrides).")
    max_body_bytes: int = Field(default=1 << 20, ge=1024, description="Larger bodies get 413.")
    header_timeout_seconds: float = Field(default=10, gt=0, le=300, description=(
        "A client that has not sent its request line and headers this long after connecting (or after its "
        "previous request) is disconnected."))
    body_timeout_seconds: float = Field(default=30, gt=0, le=600, description=(
        "A request whose body has not arrived in full this long after its headers gets 408."))
class HubSpotEntry(HubSpotConfig):
    access_token: SecretRef = Field(description="Private app token: ${ENV_VAR} or prefect-secret:<block-name>.")
    host: str | None = Field(default=None, description="API base URL; default https://api.hubapi.com.")


class SalesforceEntry(SalesforceConfig):
    """Log in with username + password (+ security_token), username + consumer_key + private_key (JWT
    bearer flow of a connected app), or session_id + instance_url. Secrets are references only."""

    username: str | None = Field(default=None, description="Integration user's username.")
    password: SecretRef | None = Field(default=None, description="${ENV_VAR} or prefect-secret:<block-name>.")
    security_token: SecretRef | None = Field(default=None, description="${ENV_VAR} or prefect-secret:<block-name>.")
    consumer_key: str | None = Field(default=None, description="Connected app consumer key (JWT bearer flow).")
    private_key: SecretRef | None = Field(default=None, description="PEM key: ${ENV_VAR} or prefect-secret:<name>.")
    session_id: SecretRef | None = Field(default=None, description="An existing session (no refresh possible).")
    instance_url: str | None = Field(default=None, description="With session_id: https://<org>.my.salesforce.com")

    @model_validator(mode="after")
    def _one_login_method(self) -> SalesforceEntry:
        if login_method(username=self.username, password=self.password, consumer_key=self.consumer_key,
                        private_key=self.private_key, session_id=self.session_id,
                        instance_url=self.instance_url) is None:
            raise ValueError(LOGIN_METHODS)
        return self


CrmEntry = Annotated[LocalCrmConfig | HubSpotEntry | SalesforceEntry, Field(discriminator="type")]


class StateStoreConfig(_Strict):
    url: str = Field(default="sqlite:///var/state.db",
                     description="SQLAlchemy URL: sqlite:///path (embedded) or "
                     "postgresql://user:${PGPASSWORD}@host/db; "
                     "${VAR} references are read from the environment.")


class ProcessingConfig(_Strict):
    batch_size: int = Field(default=500, ge=1, le=10_000, description="Leads per Prefect task / CRM batch.")
    lease_minutes: float = Field(default=15, gt=0, description="How long a claimed batch stays claimed.")
    max_attempts: int = Field(default=5, ge=1, description="Transient failures before a lead is dead-lettered.")
    push_test_leads: bool = Field(default=False, description="Push leads the source marks as test leads.")
    default_region: str = Field(default="US", min_length=2, max_length=2,
                                description="Region for phone numbers written without a country code.")


class ScheduleConfig(_Strict):
    cron: str | None = Field(default=None, description="Cron expression, e.g. '*/15 * * * *'.")
    interval_seconds: int | None = Field(default=None, ge=10, description="Run every N seconds.")

    @model_validator(mode="after")
    def _one_of(self) -> ScheduleConfig:
        if (self.cron is None) == (self.interval_seconds is None):
            raise ValueError("give exactly one of cron or interval_seconds")
        return self


class AppConfig(_Strict):
    """Root of leadsync.yaml."""

    rules: str = Field(description="Path of the rules YAML, relative to this file.")
    state_store: StateStoreConfig = Field(default_factory=StateStoreConfig,
                                          description="Where the inbox, cursors, dead letters and ledgers live.")
    crm: CrmEntry = Field(default_factory=LocalCrmConfig, description="The CRM leads are pushed to, by `type`: "
                          "local (default), hubspot or salesforce.")
    sources: list[SourceEntry] = Field(default_factory=list, description="Where leads come from, each with a "
                                       "`type` and a `name` unique per type.")
    processing: ProcessingConfig = Field(default_factory=ProcessingConfig, description="Batching, leases, retries.")
    schedule: ScheduleConfig | None = Field(default=None, description="When `leadsync deploy` / `serve` run the "
                                            "sync.")
    receiver: ReceiverConfig = Field(default_factory=ReceiverConfig, description="`leadsync receive` defaults.")
    notify: NotifyConfig | None = Field(default=None, description="Owner and team notifications (hand-offs, SLA).")

    @model_validator(mode="after")
    def _unique_source_names(self) -> AppConfig:
        seen: set[str] = set()
        for entry in self.sources:
            key = f"{entry.type}:{entry.name}"
            if key in seen:
                raise ValueError(f"two sources are called {key}")
            seen.add(key)
        return self
