"""Record types shared by sources, rules, CRM sinks and flows.

RawSubmission is what a source captured, untouched. Lead is the normalised person a rule
can look at. Decision is what the rules decided, with its explanation. CrmRecord is what
a sink found in the CRM, CrmChange what it should write, RecordOutcome what happened.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class RawSubmission(BaseModel):
    """One submission exactly as a source delivered it; stored in the inbox before anything else."""

    model_config = ConfigDict(frozen=True)

    source: str = Field(description="Source kind and name, e.g. 'csv:tradeshow' or 'forms:demo-request'.")
    partition: str = Field(default="", description="Form id, mailbox folder or file the record came from.")
    source_record_id: str = Field(description="The vendor's id of the record; unique within source.")
    received_at: datetime
    cursor_value: str | None = Field(default=None, description="Cursor position this record advances to.")
    payload: dict[str, Any] = Field(description="The untouched payload (JSON-compatible).")


class Consent(BaseModel):
    email: bool | None = None
    phone: bool | None = None
    sms: bool | None = None


class Attribution(BaseModel):
    source: str | None = None
    medium: str | None = None
    campaign: str | None = None
    term: str | None = None
    content: str | None = None
    gclid: str | None = None
    gbraid: str | None = None
    wbraid: str | None = None
    fbclid: str | None = None
    landing_page: str | None = None
    referrer: str | None = None
    form_id: str | None = None
    ad_id: str | None = None


class Event(BaseModel):
    """A behavioural event (e-mail open, page visit...) counted by the scoring rules."""

    type: str = Field(description="The rules' event type, e.g. pricing_page_visit, email_open, unsubscribe.")
    at: datetime = Field(description="When it happened (the vendor's timestamp, not the capture time).")
    detail: str | None = None
    properties: dict[str, Any] = Field(default_factory=dict,
                                       description="Vendor facts rules may test: path, url, campaign, machine_open...")
    event_id: str | None = Field(default=None, description="The vendor's id (sg_event_id, messageId): dedupe key.")


class Lead(BaseModel):
    """A normalised lead. `lead_key` is deterministic: the same person always gets the same key."""

    lead_key: str
    source: str
    source_record_id: str
    received_at: datetime
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    salutation: str | None = Field(default=None, description="Honorific or title taken out of the name (Dr., Ms., "
                                   "Prof.): never part of first_name.")
    name_suffix: str | None = Field(default=None, description="Suffix taken out of the name (Jr., III, PhD, MBA).")
    phone: str | None = Field(default=None, description="Main number in E.164, without its extension.")
    phone_extension: str | None = Field(default=None, description="Extension of the main number (x123, ext. 123).")
    mobile_phone: str | None = Field(default=None, description="Second number in E.164: the mobile given beside a "
                                     "work phone (Mobile / Cell / M: columns or labels).")
    phone_flags: list[str] = Field(default_factory=list, description="What reading the numbers found, as "
                                   "'<field>:<flag>': spreadsheet_mangled, unreadable, not_possible (the value is then "
                                   "in custom.<field>_as_written), from_spreadsheet.")
    company: str | None = None
    title: str | None = None
    website: str | None = None
    industry: str | None = None
    employees: int | None = None
    annual_revenue: float | None = None
    street: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = Field(default=None, description="ISO 3166-1 alpha-2 code.")
    latitude: float | None = Field(default=None, description="Where the lead is, placed from postal code or city "
                                                             "(connectors.geo); None when it could not be placed.")
    longitude: float | None = None
    inquiry: str | None = None
    product_interest: list[str] = Field(default_factory=list)
    consent: Consent = Field(default_factory=Consent)
    attribution: Attribution = Field(default_factory=Attribution)
    events: list[Event] = Field(default_factory=list)
    custom: dict[str, Any] = Field(default_factory=dict)
    is_test: bool = False
    is_spam: bool = False
    submission_ids: list[str] = Field(default_factory=list, description="Inbox ids merged into this lead.")
    crm_id: str | None = Field(default=None, description="The CRM record this lead was read from (CRM as a source).")
    anonymous_ids: list[str] = Field(default_factory=list,
                                     description="Tracking ids (Segment anonymousId) known to belong to this person.")
    role_address: bool = Field(default=False, description="The e-mail is a function or group mailbox (info@, "
                               "sales@, office@), not a person's: rules can lower the fit score.")
    email_invalid: bool | None = Field(default=None, description="The address hard-bounced (e-mail engagement).")
    tracking_user_id: str | None = Field(default=None, description="The sender's own id of the person in "
                                         "tracking calls (Segment userId): an identity within that source.")
    events_only: bool = Field(default=False, description="Carries behaviour, no lead data: never creates a CRM "
                                                          "lead by itself (tracking calls, e-mail engagement).")

    @property
    def email_domain(self) -> str | None:
        return self.email.rsplit("@", 1)[1] if self.email and "@" in self.email else None

    @property
    def display_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p) or "(no name)"


Stage = Literal["new", "nurture", "mql", "worked", "recycled", "unqualified", "disqualified"]


class StageTransition(BaseModel):
    """A lifecycle move with its time and cause, e.g. nurture -> mql "crossed 60 on 2026-11-28: pricing page visit"."""

    from_stage: Stage | None
    to_stage: Stage
    at: datetime
    cause: str


class ProfileState(BaseModel):
    """What the rules need to know of a person's past to decide the stage now (read from the profile store)."""

    stage: Stage | None = Field(default=None, description="None: never decided before.")
    stage_since: datetime | None = None
    stage_cause: str | None = Field(default=None, description="The cause of the transition into `stage` "
                                                              "(StageTransition.cause), for explanations.")
    mql_at: datetime | None = None
    owner: str | None = None
    worked: bool = Field(default=False, description="A rep touched the lead (CRM status moved off the initial value).")
    last_activity_at: datetime | None = Field(default=None, description=(
        "The latest event (or submission) of the person; inactivity decay counts from here when it is later "
        "than the kept events."))
    compacted_event_counts: dict[str, int] = Field(
        default_factory=dict, description="Events older than the kept history, counted per type.")


class ScoreLine(BaseModel):
    rule_id: str
    points: float
    kind: Literal["fit", "behaviour", "decay"] = "fit"
    detail: str = ""


class SkippedRep(BaseModel):
    owner: str
    reason: str


class Decision(BaseModel):
    """What the rules decided for one lead, with everything needed to explain it."""

    lead_key: str
    qualification: Literal["qualified", "unqualified", "disqualified"]
    disqualify_reasons: list[str] = Field(default_factory=list)
    failed_checks: list[str] = Field(default_factory=list)
    score: float = 0
    fit_score: float = 0
    behaviour_score: float = 0
    score_lines: list[ScoreLine] = Field(default_factory=list)
    grade: Literal["A", "B", "C", "D"] = "D"
    mql: bool = False
    owner: str | None = Field(default=None, description="Owner e-mail, when routed to a person.")
    queue: str | None = Field(default=None, description="Queue name, when routed to a queue.")
    team: str | None = None
    routing_rule_id: str | None = None
    routing_method: str = "default"
    routing_reason: str = ""
    skipped: list[SkippedRep] = Field(default_factory=list)
    status_key: str = "new"
    status: str = "new"
    lists_add: list[str] = Field(default_factory=list)
    lists_remove: list[str] = Field(default_factory=list)
    ruleset_version: str = ""
    explanation: str = ""
    stage: Stage | None = Field(default=None, description="Lifecycle stage after this decision.")
    stage_since: datetime | None = Field(default=None, description="When the lead entered `stage`.")
    stage_cause: str | None = Field(default=None, description="Why it is in `stage` (the transition's cause).")
    transition: StageTransition | None = Field(default=None, description="Set when this decision moves the stage.")
    next_rescore_at: datetime | None = Field(
        default=None, description="When time alone next changes the score (a window expiring, a decay step).")


class CrmRecord(BaseModel):
    """A person found in the CRM by a batched lookup."""

    crm_id: str
    object_type: str = "lead"
    email: str | None = None
    lead_key: str | None = None
    owner: str | None = Field(default=None, description="Owner e-mail (or queue name) as resolved by the sink.")
    account_owner: str | None = None
    converted: bool = False
    fields: dict[str, Any] = Field(default_factory=dict, description="Current values of the mapped fields.")
    lists: list[str] = Field(default_factory=list)


class ChangeKind(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"


class CrmChange(BaseModel):
    """What a sink must write for one lead: only the fields that differ."""

    lead_key: str
    kind: ChangeKind
    crm_id: str | None = None
    object_type: str = "lead"
    email: str | None = None
    fields: dict[str, Any] = Field(default_factory=dict)
    lists_add: list[str] = Field(default_factory=list)
    lists_remove: list[str] = Field(default_factory=list)


class OutcomeStatus(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    REJECTED = "rejected"


class RecordOutcome(BaseModel):
    """Per-lead result of a sink write. A rejection is a value, not an exception."""

    lead_key: str
    status: OutcomeStatus
    crm_id: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    retriable: bool = False


HandoffKind = Literal["routed", "mql", "rerouted", "nurture_followup"]


class Handoff(BaseModel):
    """A lead put in a rep's hands: the cause of a follow-up task, a notification and an SLA clock.

    Made by the process stage in the same transaction as the decision that causes it; `key` is the
    idempotency key (lead, kind, owner, hand-off time) every follow-up write is deduplicated on.
    """

    key: str
    lead_key: str
    kind: HandoffKind
    owner: str = Field(description="Owner e-mail.")
    team: str | None = None
    crm_id: str | None = None
    at: datetime
    name: str = ""
    company: str | None = None
    score: float = 0
    source: str = ""
    explanation: str = ""
