"""The rules YAML as pydantic models. Field descriptions double as the editor reference (JSON Schema)."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from rules.followup import FollowUp

Condition = dict[str, Any]
"""A condition: {field: {operator: value, ...}} or {all: [...]}, {any: [...]}, {not: {...}}."""


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DisqualifyRule(_Strict):
    id: str = Field(description="Unique id, shown in explanations.")
    when: Condition = Field(description="Condition that disqualifies the lead.")
    reason: str = Field(description="Reason written to the CRM, e.g. 'Competitor'.")


class CheckItem(_Strict):
    id: str = Field(description="Checklist item id; reported when it fails.")
    when: Condition = Field(description="Condition every qualified lead must meet.")


class Qualification(_Strict):
    disqualify: list[DisqualifyRule] = Field(default_factory=list)
    require: list[CheckItem] = Field(default_factory=list, description="Checklist: every item must hold.")


class ScoreRule(_Strict):
    id: str
    when: Condition
    points: float = Field(description="Points when the condition holds; negative to subtract.")
    kind: Literal["fit", "behaviour"] = Field(default="fit", description="fit (who they are) or behaviour.")


class EventPoints(_Strict):
    points: float = Field(description="Points per event of this type.")
    max: float | None = Field(default=None, description="Cap on this event type's total (absolute value).")
    window_days: int = Field(default=90, ge=1, description="Only events this recent count.")


class BehaviourRule(_Strict):
    id: str = Field(description="Unique id among behaviour rules, shown in explanations.")
    event: str | list[str] = Field(description="Event type(s) this rule counts, e.g. page_view or [email_open].")
    when: Condition = Field(default_factory=dict, description=(
        "Conditions on the event's properties, e.g. {path: {matches: '^/pricing'}}; a name reads "
        "Event.properties[name] ('detail' reads the event's detail). Empty: every event of the type counts."))
    points: float = Field(description="Points per matching event; negative to subtract (unsubscribe, careers page).")
    max: float | None = Field(default=None, ge=0, description="Cap on this rule's total (absolute value).")
    window_days: int = Field(default=90, ge=1, description="Only events younger than this many days count.")

    def event_types(self) -> list[str]:
        return [self.event] if isinstance(self.event, str) else list(self.event)


class Decay(_Strict):
    after_days: int = Field(ge=0, description="Inactivity (days since the last activity) before decay starts.")
    percent_per_month: float = Field(gt=0, le=100, description="Behaviour points lost per 30 days after that.")
    step_days: int = Field(default=1, ge=1, le=365, description=(
        "Decay moves in whole steps of this many days (1: daily; 30: monthly), so a re-score is due only "
        "when a step passes."))


class Grades(_Strict):
    A: float = Field(default=30, description="Minimum fit score for grade A.")
    B: float = Field(default=20)
    C: float = Field(default=10)

    @model_validator(mode="after")
    def _ordered(self) -> Grades:
        if not self.A >= self.B >= self.C:
            raise ValueError("grade thresholds must satisfy A >= B >= C")
        return self


class Scoring(_Strict):
    mql_threshold: float = Field(description="Score at or above which a qualified lead is an MQL.")
    rules: list[ScoreRule] = Field(default_factory=list)
    events: dict[str, EventPoints] = Field(default_factory=dict, description=(
        "Behaviour points per event type (short form; a rule 'event:<type>' each, counted before `behaviour`)."))
    behaviour: list[BehaviourRule] = Field(default_factory=list, description=(
        "Behaviour points per event with conditions on its properties; every rule an event matches counts it."))
    decay: Decay | None = None
    grades: Grades = Field(default_factory=Grades)


class Office(_Strict):
    latitude: float = Field(ge=-90, le=90, description="Decimal degrees, north positive.")
    longitude: float = Field(ge=-180, le=180, description="Decimal degrees, east positive.")
    label: str | None = Field(default=None, description="How explanations name it, e.g. 'Boston office'.")


class Lifecycle(_Strict):
    recycle_below: float | None = Field(default=None, description=(
        "An MQL whose score falls below this goes back to nurture (null: an MQL stays an MQL until worked)."))
    recycle_only_unworked: bool = Field(default=True, description=(
        "Recycle only MQLs no rep has worked; false recycles worked leads too."))
    recycle_to: Literal["nurture", "recycled"] = Field(default="nurture", description="The stage a recycled MQL gets.")
    leave_nurture_on_mql: bool = Field(default=True, description=(
        "An MQL (or worked lead) is taken off every nurture list, whatever the nurture rules say."))


class Availability(_Strict):
    timezone: str = Field(default="UTC", description="IANA time zone of the rep, e.g. Europe/Stockholm.")
    working_hours: str | None = Field(default=None, pattern=r"^\d{2}:\d{2}-\d{2}:\d{2}$",
                                      description="Local hours the rep takes leads, e.g. '09:00-17:30'.")
    working_days: list[Weekday] = Field(default_factory=lambda: list(WEEKDAYS),
                                        description="Days the rep takes leads.")
    out_of_office: list[tuple[date, date]] = Field(default_factory=list,
                                                    description="Inclusive [first, last] dates away.")
    capacity_per_day: int | None = Field(default=None, ge=0, description="Overrides the team's cap.")
    active: bool = True


class Team(_Strict):
    members: list[str] | dict[str, float] = Field(description="Rep e-mails, or e-mail -> weight for 'weighted'.")
    method: Literal["round_robin", "weighted", "load_balanced"] = "round_robin"
    capacity_per_day: int | None = Field(default=None, ge=0, description="Leads per rep per day.")

    @field_validator("members")
    @classmethod
    def _weights_positive(cls, value: list[str] | dict[str, float]) -> list[str] | dict[str, float]:
        if isinstance(value, dict) and any(w <= 0 for w in value.values()):
            raise ValueError("weights must be positive")
        return value

    def weights(self) -> dict[str, float]:
        if isinstance(self.members, dict):
            return {m.lower(): w for m, w in self.members.items()}
        return {m.lower(): 1.0 for m in self.members}


class Assign(_Strict):
    owner: str | None = None
    team: str | None = None
    queue: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Assign:
        if sum(v is not None for v in (self.owner, self.team, self.queue)) != 1:
            raise ValueError("assign exactly one of owner, team or queue")
        return self


class RouteRule(_Strict):
    id: str
    when: Condition = Field(default_factory=dict, description="Empty: matches every lead.")
    assign: Literal["account_owner"] | Assign = Field(description="account_owner, {owner}, {team} or {queue}.")


class Routing(_Strict):
    teams: dict[str, Team] = Field(default_factory=dict)
    reps: dict[str, Availability] = Field(default_factory=dict, description="Availability per rep e-mail.")
    rules: list[RouteRule] = Field(default_factory=list, description="First match wins.")
    default: Assign = Field(description="Where a lead goes when no rule (or no rep) can take it.")
    never_reassign_owned: bool = Field(default=True, description="Keep the owner a lead already has in the CRM.")


class NurtureRule(_Strict):
    id: str
    list: str = Field(description="CRM list / campaign name.")
    when: Condition
    requires_email_consent: bool = Field(default=True, description="Only leads that did not refuse e-mail.")


class Statuses(_Strict):
    new: str
    mql: str
    unqualified: str
    disqualified: str | None = Field(default=None, description="Defaults to the unqualified value.")
    nurture: str | None = None


class RuleTest(_Strict):
    name: str | None = None
    lead: dict[str, Any]
    context: dict[str, Any] = Field(default_factory=dict, description="account_owner, owner, now.")
    expect: dict[str, Any]


class RulesFile(_Strict):
    version: int | str = Field(description="Bump on every change; stamped on each decision.")
    lists: dict[str, list[str]] = Field(default_factory=dict, description="Named value lists for in_list.")
    offices: dict[str, Office] = Field(default_factory=dict, description=(
        "Named places for distance rules: {location: {within_miles: {of: <office>, miles: 100}}}."))
    qualification: Qualification = Field(default_factory=Qualification)
    scoring: Scoring
    routing: Routing
    nurture: list[NurtureRule] = Field(default_factory=list)
    statuses: Statuses
    followup: FollowUp | None = Field(default=None, description="Follow-up tasks, SLAs, escalation, nurture cadence.")
    lifecycle: Lifecycle = Field(default_factory=Lifecycle, description="Stage transitions over time.")
    tests: list[RuleTest] = Field(default_factory=list)
