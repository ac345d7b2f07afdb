"""Runtime settings from the environment (prefix LEADSYNC_), read once by the CLI."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class LeadsyncSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LEADSYNC_", extra="ignore")

    config: str = Field(default="config/leadsync.yaml", description="Path of the leadsync YAML config.")
    log_level: str = Field(default="WARNING", description="Log level of leadsync and Prefect on the console.")
    progress_seconds: float = Field(default=5.0, ge=0, description="Live progress appears after this many "
                                    "seconds of a run (terminal), or a plain progress line is printed this often.")
    debug: bool = Field(default=False, description="Show the traceback of an unexpected error (for bug reports).")
