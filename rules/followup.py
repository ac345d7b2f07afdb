"""The `followup:` section of the rules YAML: follow-up tasks, SLAs, escalation and nurture cadence.

Pure models (no I/O). A hand-off is a lead newly in a rep's hands: `routed` (a new owner),
`mql` (became an MQL), `rerouted` (moved by the SLA escalation) or `nurture_followup` (the
nurture cadence). Channels and secrets live in leadsync.yaml `notify:`, not here.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

HandoffKindName = Literal["routed", "mql", "rerouted", "nurture_followup"]
HANDOFF_KINDS: tuple[HandoffKindName, ...] = ("routed", "mql", "rerouted", "nurture_followup")


def _person_kinds() -> list[HandoffKindName]:
    return ["routed", "mql", "rerouted"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TaskSpec(_Strict):
    enabled: bool = Field(default=True, description="Create a follow-up task in the CRM for this hand-off kind.")
    subject: str = Field(default="Follow up with {name}", max_length=255,
                         description="Task subject; {name}, {company} and {kind} are filled in.")
    priority: Literal["low", "normal", "high"] = "normal"


class SlaRule(_Strict):
    id: str = Field(description="Shown in reminders, the ledger and `leadsync sla`.")
    kinds: list[HandoffKindName] = Field(default_factory=_person_kinds,
                                         description="Hand-off kinds (stages) this SLA applies to.")
    sources: list[str] = Field(default_factory=list,
                               description="Lead sources (e.g. forms:demo-request); empty: every source. "
                                           "A trailing * matches a prefix.")
    within_minutes: int = Field(gt=0, description="First touch expected within this many minutes.")
    working_hours: bool = Field(default=False, description="Count only the owner's working hours "
                                                           "(routing.reps: timezone, working_hours, working_days).")

    def matches(self, kind: str, source: str) -> bool:
        if kind not in self.kinds:
            return False
        if not self.sources:
            return True
        return any(source == s or (s.endswith("*") and source.startswith(s[:-1])) for s in self.sources)

    def label(self) -> str:
        hours, minutes = divmod(self.within_minutes, 60)
        unit = f"{hours}h" if hours and not minutes else f"{self.within_minutes} min"
        return unit + (" working time" if self.working_hours else "")


class Escalation(_Strict):
    remind: bool = Field(default=True, description="Remind the owner when the SLA is breached.")
    escalate_after_minutes: int | None = Field(default=30, ge=0,
                                               description="After the breach, tell the team lead; null: never.")
    reroute_after_minutes: int | None = Field(default=60, ge=0,
                                              description="After the breach, re-route to the next available rep "
                                                          "of the team; null: never.")
    max_reroutes: int = Field(default=1, ge=0, description="Re-routes per lead at most.")
    team_leads: dict[str, str] = Field(default_factory=dict, description="Team name -> team lead e-mail.")

    @model_validator(mode="after")
    def _ordered(self) -> Escalation:
        if (self.escalate_after_minutes is not None and self.reroute_after_minutes is not None
                and self.reroute_after_minutes < self.escalate_after_minutes):
            raise ValueError("reroute_after_minutes must not be before escalate_after_minutes")
        return self


class Nurture(_Strict):
    every_days: int = Field(gt=0, description="Owned leads in nurture get a follow-up task every N days.")


def _default_tasks() -> dict[HandoffKindName, TaskSpec]:
    return {"routed": TaskSpec(), "mql": TaskSpec(subject="MQL: follow up with {name}"),
            "rerouted": TaskSpec(subject="Re-routed to you: follow up with {name}"),
            "nurture_followup": TaskSpec(subject="Nurture check-in with {name}", priority="low")}


class FollowUp(_Strict):
    tasks: dict[HandoffKindName, TaskSpec] = Field(default_factory=_default_tasks,
                                                   description="Follow-up task per hand-off kind; a kind "
                                                               "left out gets no task.")
    notify: list[HandoffKindName] = Field(default_factory=_person_kinds,
                                          description="Hand-off kinds the owner is told about.")
    sla: list[SlaRule] = Field(default_factory=list, description="First match wins.")
    escalation: Escalation = Field(default_factory=Escalation)
    nurture: Nurture | None = None
    warn_before_minutes: int = Field(default=30, ge=0,
                                     description="`leadsync sla` lists leads this close to their deadline.")

    @model_validator(mode="after")
    def _unique_ids(self) -> FollowUp:
        ids = [rule.id for rule in self.sla]
        if len(ids) != len(set(ids)):
            raise ValueError("sla ids must be unique")
        return self

    def sla_for(self, kind: str, source: str) -> SlaRule | None:
        return next((rule for rule in self.sla if rule.matches(kind, source)), None)
