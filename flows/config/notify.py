"""The `notify:` section of leadsync.yaml: channels, secrets (references only), digest, quiet hours, retries."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from flows.config.secrets import SecretRef


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SmtpEntry(_Strict):
    host: str
    port: int = Field(default=587, ge=1, le=65535)
    starttls: bool = Field(default=True, description="Upgrade with STARTTLS before logging in (port 587).")
    username: str | None = None
    password: SecretRef | None = Field(default=None, description="${ENV_VAR} or prefect-secret:<block-name>.")
    from_address: str = Field(description="Sender address of owner notifications.")
    ca_file: str | None = Field(default=None, description="CA bundle for a private SMTP server's certificate.")
    timeout_seconds: float = Field(default=30.0, gt=0)


class SlackEntry(_Strict):
    webhooks: dict[str, SecretRef] = Field(default_factory=dict,
                                           description="Channel name -> incoming webhook URL reference "
                                                       "(the URL is a secret: ${ENV_VAR} or prefect-secret).")
    teams: dict[str, str] = Field(default_factory=dict, description="Routing team -> channel name for its hand-offs.")
    owners: dict[str, str] = Field(default_factory=dict, description="Owner e-mail -> channel name (personal).")

    @model_validator(mode="after")
    def _known_channels(self) -> SlackEntry:
        unknown = sorted({c for c in [*self.teams.values(), *self.owners.values()] if c not in self.webhooks})
        if unknown:
            raise ValueError(f"channels without a webhook: {', '.join(unknown)}")
        return self


class DigestEntry(_Strict):
    owners: list[str] | Literal["all"] = Field(default="all", description="Owners who get one digest e-mail "
                                                                          "instead of one e-mail per hand-off.")
    every_minutes: int = Field(default=60, ge=5, description="How often a digest goes out.")


class NotifyConfig(_Strict):
    email: SmtpEntry | None = None
    slack: SlackEntry | None = None
    owner_channels: list[Literal["email", "slack"]] = Field(default_factory=lambda: ["email"],  # type: ignore[arg-type]
                                                            description="How owners are told.")
    digest: DigestEntry | None = None
    quiet_hours: bool = Field(default=True, description="Hold owner messages outside the owner's working hours "
                                                        "(routing.reps in the rules).")
    record_url: str | None = Field(default=None, description="Link to a CRM record, with {crm_id}, e.g. "
                                   "https://acme.lightning.force.com/lightning/r/{crm_id}/view.")
    templates: str = Field(default="templates", description="Folder of the Jinja2 templates, relative to this file.")
    max_attempts: int = Field(default=8, ge=1, description="Deliveries tried before a message is dead-lettered.")
    retry_base_seconds: float = Field(default=60.0, gt=0, description="First retry delay; doubles per attempt.")
    retry_max_seconds: float = Field(default=3600.0, gt=0)
    batch_size: int = Field(default=200, ge=1, le=1000, description="Outbox rows per delivery batch.")
