"""HubSpot sink configuration (data) and credentials (resolved by flows, never read here)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from connectors.crm.mapping import FieldMapping


class HubSpotConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["hubspot"] = "hubspot"
    mapping: FieldMapping = Field(default_factory=FieldMapping)
    queue_owners: dict[str, str] = Field(
        default_factory=dict, description="HubSpot has no lead queues: queue name -> owner e-mail holding it. "
        "A queue not listed here leaves the contact unassigned.")
    allow_lifecycle_backwards: bool = Field(default=False, description="Let leadsync move lifecyclestage back.")
    requests_per_10s: int = Field(default=190, ge=1, description="Your app's burst limit; leadsync paces under it.")
    pace_margin: int = Field(default=10, ge=0, description="Requests kept free in each 10 s window for others.")
    searches_per_second: int = Field(default=4, ge=1, description="Search calls per second (HubSpot allows 5).")
    request_timeout_seconds: float = Field(default=30.0, gt=0, description="Give up on one HTTP call after this "
                                           "long; the call is then retried like a 5xx.")
    unrouted_settle_seconds: float = Field(
        default=60.0, ge=0, description="crm_unrouted source: contacts modified more recently than this are left "
        "for the next run, because HubSpot's search index lags writes and would otherwise skip them.")
    task_key_property: str = Field(
        default="leadsync_handoff_key", description="Custom task property holding the hand-off key; before a "
        "retry leadsync searches tasks by it, so a lost reply never makes a second task.")


class HubSpotCredentials(BaseModel):
    access_token: SecretStr = Field(description="Private app access token.")
