"""Salesforce sink configuration (data) and credentials (resolved by flows, never read here)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from connectors.crm.mapping import FieldMapping


class SalesforceConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["salesforce"] = "salesforce"
    mapping: FieldMapping = Field(default_factory=FieldMapping)
    domain: str = Field(default="login", description="'login' (production), 'test' (sandbox) or your My Domain "
                        "prefix, e.g. 'acme.my' for acme.my.salesforce.com. Only used to log in.")
    api_version: str = Field(default="59.0", pattern=r"^\d{2,3}\.\d$")
    upsert_on_lead_key: bool = Field(
        default=True, description="Create leads by upsert on the lead key field (mapping.fields.lead_key), which "
        "must be an External ID field in the org; makes a re-run after a crash unable to create a twin.")
    use_assignment_rules: bool = Field(
        default=False, description="Let the org's active lead assignment rule pick the owner (sends "
        "Sforce-Auto-Assign: TRUE). Default FALSE: leadsync's routing decides.")
    bulk_threshold: int = Field(default=2000, ge=201, description="From this many lead creates (or lead updates) in "
                                "one batch on, they go as one Bulk API 2.0 job instead of sObject Collections (200 "
                                "per call); fewer go as Collections, beside the job.")
    bulk_batch_size: int = Field(default=10_000, ge=201, le=10_000, description="When the inbox holds at least "
                                 "bulk_threshold leads at the start of a run, process batches of this many, so each "
                                 "batch's writes go through Bulk API 2.0 (a backlog, not only a big batch).")
    # 0 by default: a fixed first wait of 5 s cost 5 s per job (95 s of 100k leads) even when the job was done.
    bulk_poll_seconds: int = Field(default=0, ge=0, description="First wait before polling a Bulk 2.0 job; 0 polls "
                                   "at once, then backs off to one poll every ~3 s.")
    max_quota_share: float = Field(default=0.8, gt=0, le=1, description="Stop the run cleanly once the org's "
                                   "rolling 24 h API use reaches this share of its allocation (leads stay queued).")
    concurrent_calls: int = Field(default=4, ge=1, le=10, description="Independent requests (bundled look-ups, "
                                  "Collections writes, Bulk result files) in flight at once. Salesforce limits "
                                  "only long-running (> 20 s) concurrent requests, to 25 per org; 1 sends one "
                                  "after another.")
    request_timeout: float = Field(default=60.0, gt=0, description="Seconds before one HTTP call counts as failed.")
    campaign_member_status: str | None = Field(
        default=None, description="CampaignMember Status for nurture adds; empty: the campaign's default status.")
    contact_fields: list[str] = Field(
        default_factory=list, description="Logical fields leadsync may write onto an existing Contact (e.g. score, "
        "grade, explanation, when those custom fields exist on Contact). Empty: contacts only get nurture "
        "campaigns; their owner and data are sales' own.")
    placeholders: dict[str, str] = Field(
        default_factory=lambda: {"last_name": "[not provided]", "company": "[not provided]"},
        description="Values for fields Salesforce requires on a Lead (LastName, Company) when the lead has none.")
    task_key_field: str = Field(
        default="Leadsync_Handoff_Key__c", pattern=r"^[A-Za-z][A-Za-z0-9_]*$",
        description="External ID text field on Task holding the hand-off key: follow-up tasks are upserted on it, "
        "so a retried batch or a lost reply never makes a second task.")


LoginMethod = Literal["password", "jwt", "session"]
LOGIN_METHODS = ("Salesforce needs username + password (+ security_token), username + consumer_key + private_key "
                 "(JWT), or session_id + instance_url")


def login_method(*, username: object, password: object, consumer_key: object, private_key: object,
                 session_id: object, instance_url: object) -> LoginMethod | None:
    """Which complete set of login settings is given; the config and the credentials both ask this."""
    if session_id and instance_url:
        return "session"
    if username and consumer_key and private_key:
        return "jwt"
    if username and password:
        return "password"
    return None


class SalesforceCredentials(BaseModel):
    """One of: username + password (+ security token); username + consumer key + private key (JWT bearer);
    or an existing session id + instance URL."""

    username: str | None = None
    password: SecretStr | None = None
    security_token: SecretStr | None = None
    consumer_key: str | None = None
    private_key: SecretStr | None = Field(default=None, description="PEM text of the connected app's key.")
    session_id: SecretStr | None = None
    instance_url: str | None = None

    @model_validator(mode="after")
    def _one_complete_method(self) -> SalesforceCredentials:
        if self.mode() is None:
            raise ValueError(LOGIN_METHODS)
        return self

    def mode(self) -> LoginMethod | None:
        return login_method(username=self.username, password=self.password, consumer_key=self.consumer_key,
                            private_key=self.private_key, session_id=self.session_id, instance_url=self.instance_url)

    def secret_values(self) -> list[str]:
        return [s.get_secret_value() for s in (self.password, self.security_token, self.private_key,
                                               self.session_id) if s is not None]
