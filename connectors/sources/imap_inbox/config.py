"""Configuration of an IMAP inbox source."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class ImapInboxConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["imap"] = "imap"
    name: str = Field(description="Source name; messages are stored as imap:<name>.")
    host: str
    port: int | None = Field(default=None, description="Default 993 for imaps, 143 otherwise.")
    security: Literal["imaps", "starttls", "none"] = Field(
        default="imaps", description="'none' is only allowed for a server on this machine (tests).")
    username: str
    secret: str = Field(description="Password or OAuth2 token: ${ENV_VAR} or prefect-secret:<name>.")
    auth: Literal["password", "xoauth2"] = "password"
    folders: list[str] = Field(default_factory=lambda: ["INBOX"])
    after_capture: Literal["flag", "move", "none"] = Field(
        default="flag", description="What to do with a message once it is stored: flag it, move it, or nothing.")
    flag: str = Field(default="$LeadsyncCaptured", description="Keyword set by after_capture: flag.")
    processed_folder: str = Field(default="Processed", description="Target of after_capture: move.")
    own_domains: list[str] = Field(default_factory=list, description="Our reps' domains: their mail is skipped.")
    default_region: str = "US"
    batch_size: int = Field(default=100, ge=1, le=1000)
    timeout_seconds: float = Field(default=30, gt=0)
    ca_file: str | None = Field(default=None, description="CA bundle for a server with a private certificate.")

    @model_validator(mode="after")
    def _plain_only_on_loopback(self) -> ImapInboxConfig:
        if self.security == "none" and self.host not in {"127.0.0.1", "localhost", "::1"}:
            raise ValueError("security: none is only allowed for a server on 127.0.0.1 (use imaps or starttls)")
        return self

    @property
    def effective_port(self) -> int:
        return self.port or (993 if self.security == "imaps" else 143)
