"""Behaviour over a person's whole history: which events each behaviour rule counts, decay for
inactivity, and when time alone next changes the score. Pure; shared by the compiled engine and the
interpreted reference wherever one obvious formula serves both (decay, expiry, detail text).

Semantics, in one place:
- a rule counts an event of one of its types whose properties meet its `when`, while the event is
  younger than `window_days` (it leaves the window at `at + window_days`); every rule an event
  matches counts it (a visit to /pricing is a website visit and a pricing page visit);
- a rule's total is count x points, capped at `max` in absolute value;
- decay takes `percent_per_month` of the positive behaviour total per 30 days of inactivity past
  `after_days`, in whole steps of `step_days`, never below zero.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from connectors.records import Event, ScoreLine
from rules.explain import day_text
from rules.models import BehaviourRule, Decay, Scoring

Tip = tuple[str, Event]
"""The behaviour rule id and the latest event it counted: what tipped a lead over the threshold."""
_ONE_MICROSECOND = timedelta(microseconds=1)


def behaviour_rules(scoring: Scoring) -> list[BehaviourRule]:
    """The short `events:` form as rules 'event:<type>' (first, as they always were), then `behaviour:`."""
    # model_construct: the short form was validated as EventPoints already (with its own rules for max).
    short = [BehaviourRule.model_construct(id=f"event:{kind}", event=kind, when={}, points=cfg.points, max=cfg.max,
                                           window_days=cfg.window_days) for kind, cfg in scoring.events.items()]
    return short + list(scoring.behaviour)


def rule_total(rule: BehaviourRule, count: int) -> float:
    points = count * rule.points
    if rule.max is not None and abs(points) > rule.max:
        points = rule.max if points > 0 else -rule.max
    return points


def count_text(rule: BehaviourRule, count: int, total: float) -> str:
    """'3 x 10, capped at 25': the count and the cap if it bit."""
    return f"{count} x {rule.points:g}" + (f", capped at {rule.max:g}" if total != count * rule.points else "")


def rule_detail(counted: str, first: datetime, last: datetime) -> str:
    """'3 x 10, capped at 25, 2026-11-02 to 2026-11-28': `count_text` and the dates of the first and last
    event counted."""
    first_day, last_day = day_text(first), day_text(last)
    if first_day == last_day:
        return counted + ", " + first_day
    return counted + ", " + first_day + " to " + last_day


def tipping_event(candidates: Iterable[tuple[str, float, Event]]) -> Tip | None:
    """The latest event counted by a rule that adds points (rule id, points, its latest event); of rules
    whose latest events tie, the one adding the most points (a /pricing visit: the pricing rule, not the
    plain visit), then the first."""
    best: tuple[str, float, Event] | None = None
    for rule_id, points, event in candidates:
        if best is None or event.at > best[2].at or (event.at == best[2].at and points > best[1]):
            best = (rule_id, points, event)
    return (best[0], best[2]) if best is not None else None


def decay_step(behaviour: float, last: datetime | None, now: datetime,
               decay: Decay | None) -> tuple[float, float | None, datetime | None]:
    """(points lost, idle days, when the next step takes more): nothing lost without decay, activity or
    positive behaviour; no next step once everything is lost."""
    if decay is None or last is None:
        return 0.0, None, None
    idle = (now - last).total_seconds() / 86400
    if behaviour <= 0:
        return 0.0, idle, None
    steps = math.floor((idle - decay.after_days) / decay.step_days) if idle > decay.after_days else 0
    fraction = decay.percent_per_month / 100 * (steps * decay.step_days / 30)
    lost = behaviour if fraction >= 1 else behaviour * fraction
    following = None if fraction >= 1 else last + timedelta(days=decay.after_days + (steps + 1) * decay.step_days)
    return lost, idle, following


def decay_detail(idle: float, last: datetime) -> str:
    return f"{idle:.0f} days inactive since {last.date()}"


def fact_expiry(events: Sequence[Event], now: datetime, windows: Sequence[tuple[str, int]],
                idle_referenced: bool, last: datetime | None) -> datetime | None:
    """When a time-dependent fact a condition reads next changes: an event leaving `events.<type>.within_Nd`
    (N in seconds in `windows`), or `days_since_last_activity` passing its next whole day."""
    soonest: datetime | None = None
    for kind, seconds in windows:
        for event in events:
            if event.type == kind and (now - event.at).total_seconds() <= seconds:
                leaves = event.at + timedelta(seconds=seconds) + _ONE_MICROSECOND
                soonest = leaves if soonest is None or leaves < soonest else soonest
    if idle_referenced and last is not None:
        idle_days = (now - last).total_seconds() / 86400
        following = last + timedelta(days=math.floor(idle_days) + 1)
        soonest = following if soonest is None or following < soonest else soonest
    return soonest


def earliest(*times: datetime | None) -> datetime | None:
    known = [t for t in times if t is not None]
    return min(known) if known else None


class EventFacts(dict[str, Any]):
    """An event's properties as condition facts: `detail` is the event's detail, a missing name reads None."""

    def __init__(self, event: Event) -> None:
        super().__init__(event.properties)
        self["detail"] = event.detail

    def __missing__(self, name: str) -> Any:
        return None


def score_line(rule_id: str, points: float, detail: str) -> ScoreLine:
    return ScoreLine(rule_id=rule_id, points=points, kind="behaviour", detail=detail)
