"""Team methods (round robin, weighted, load-balanced), capacity caps and availability.

Rotation state is plain data passed in and out, so the state store can read, decide and write
it in one locked transaction. Round robin hands the turn to the rep whose last lead is oldest
("least recently assigned"): a rep back from leave gets one turn, not a flood, and a new rep
joins at the back of the line instead of getting a burst.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from connectors.records import SkippedRep
from rules.models import WEEKDAYS as _WEEKDAYS
from rules.models import Availability, Team


class TeamRotation(BaseModel):
    seq: int = 0
    last: dict[str, int] = Field(default_factory=dict, description="Rep -> turn number of their last lead.")
    current_weight: dict[str, float] = Field(default_factory=dict, description="Smooth weighted round robin.")


class RotationState(BaseModel):
    teams: dict[str, TeamRotation] = Field(default_factory=dict)
    day: str | None = Field(default=None, description="UTC date the daily counts belong to.")
    assigned_today: dict[str, int] = Field(default_factory=dict)

    def roll_day(self, now: datetime) -> None:
        today = now.date().isoformat()
        if self.day != today:
            self.day = today
            self.assigned_today = {}

    def count(self, rep: str) -> None:
        self.assigned_today[rep] = self.assigned_today.get(rep, 0) + 1


def unavailable_reason(rep: str, availability: Availability | None, now: datetime, cap: int | None,
                       state: RotationState) -> str | None:
    """Why `rep` cannot take a lead now, or None when they can."""
    if cap is not None and state.assigned_today.get(rep, 0) >= cap:
        return f"daily cap of {cap} reached"
    if availability is None:
        return None
    if not availability.active:
        return "inactive"
    local = now.astimezone(ZoneInfo(availability.timezone))
    for first, last in availability.out_of_office:
        if first <= local.date() <= last:
            return f"out of office until {last.isoformat()}"
    if _WEEKDAYS[local.weekday()] not in availability.working_days:
        return f"not a working day ({_WEEKDAYS[local.weekday()]} in {availability.timezone})"
    if availability.working_hours:
        start, end = availability.working_hours.split("-")
        clock = local.strftime("%H:%M")
        inside = start <= clock < end if start <= end else (clock >= start or clock < end)
        if not inside:
            return f"outside working hours ({clock} in {availability.timezone})"
    return None


def pick_from_team(name: str, team: Team, reps: dict[str, Availability], now: datetime, state: RotationState,
                   weights: dict[str, float] | None = None) -> tuple[str | None, list[SkippedRep]]:
    """Choose a rep of `team` and record the turn; None (with who was skipped and why) if nobody can.

    `weights` is `team.weights()`, passed in by callers that worked it out once."""
    rotation = state.teams.get(name)
    if rotation is None:  # not setdefault: that would build a TeamRotation on every call
        rotation = state.teams[name] = TeamRotation()
    weights = team.weights() if weights is None else weights
    skipped: list[SkippedRep] = []
    eligible: list[str] = []
    for rep in weights:
        rotation.last.setdefault(rep, rotation.seq)  # a new rep joins at the back of the line
        availability = reps.get(rep)
        cap = team.capacity_per_day
        if availability is not None and availability.capacity_per_day is not None:
            cap = availability.capacity_per_day
        if cap is None and availability is None:
            reason = None  # what unavailable_reason answers, without the call
        else:
            reason = unavailable_reason(rep, availability, now, cap, state)
        if reason:
            skipped.append(SkippedRep(owner=rep, reason=reason))
        else:
            eligible.append(rep)
    if not eligible:
        return None, skipped
    # Ties go to member order: min and max keep the first of equal keys, and `eligible` is in member order.
    if team.method == "weighted":
        total = sum(weights[r] for r in eligible)
        for rep in eligible:
            rotation.current_weight[rep] = rotation.current_weight.get(rep, 0.0) + weights[rep]
        chosen = max(eligible, key=rotation.current_weight.__getitem__)
        rotation.current_weight[chosen] -= total
    elif team.method == "load_balanced":
        chosen = min(eligible, key=lambda r: (state.assigned_today.get(r, 0), rotation.last[r]))
    else:
        chosen = min(eligible, key=rotation.last.__getitem__)
    rotation.seq += 1
    rotation.last[chosen] = rotation.seq
    return chosen, skipped



def round_robin_turn(name: str, members: Sequence[str], state: RotationState) -> str:
    """`pick_from_team` for a round-robin team with no daily cap whose members have no availability set:
    everyone is eligible, so the turn goes to the least recently assigned (ties: member order)."""
    rotation = state.teams.get(name)
    if rotation is None:
        rotation = state.teams[name] = TeamRotation()
    last, seq = rotation.last, rotation.seq
    for rep in members:
        if rep not in last:  # a new rep joins at the back of the line
            last[rep] = seq
    chosen = min(members, key=last.__getitem__)
    rotation.seq = seq = seq + 1
    last[chosen] = seq
    return chosen
