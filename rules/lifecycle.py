"""Stage transitions: where a lead stands in its lifecycle after a decision, and why it moved.

Pure: takes the person's past (a ProfileState, None for someone never decided before), what the
rules decided now and `now`. `is_mql` (called before routing and nurture: an MQL that slipped under
the threshold may still be one) and `in_sales_hands` (nurture lists to leave) come first; `next_stage`
then names the stage, the transition (None when the stage did not move) and since when. Both the
compiled engine and the interpreted reference call these same functions.

The rules, in order:
- disqualified stays out: a lead the rules disqualify is `disqualified`, whatever its score or past
  (it never becomes an MQL nor enters nurture; the rules decide it afresh each time, so a corrected
  record or a changed rule can let it back in);
- worked stays worked: a lead a rep has worked is `worked` (unless `recycle_only_unworked: false`
  and its score fell below `recycle_below`, then it is recycled like any MQL);
- a lead failing the qualification checklist is `unqualified`;
- at or above the MQL threshold: `mql` (the transition names the event that tipped it);
- an MQL under the threshold stays an MQL until its score falls below `lifecycle.recycle_below`
  (then it goes to `recycle_to`, nurture by default); without `recycle_below` it stays an MQL;
- otherwise nurture (once nurtured, a lead does not go back to `new`), or `new`.
"""

from __future__ import annotations

from datetime import datetime
from typing import get_args

from connectors.records import ProfileState, Stage, StageTransition
from rules.behaviour import Tip
from rules.explain import day_text
from rules.models import Lifecycle
from rules.trusted import _check_plain, trusted

STAGES: tuple[Stage, ...] = get_args(Stage)
_NURTURED = ("nurture", "recycled")
_TRANSITION_FIELDS = _check_plain(StageTransition)


def crossing_cause(threshold: float, score: float, tip: Tip | None, now: datetime) -> str:
    """'crossed 60 on 2026-11-28: pricing-page (page_view /pricing)', or the score when no event tipped it."""
    if tip is None:
        return f"crossed {threshold:g} on {day_text(now)}: score {round(score, 2):g}"
    rule_id, event = tip
    where = event.properties.get("path") or event.properties.get("url") or event.detail
    what = event.type + (f" {str(where)[:80]}" if where else "")
    return f"crossed {threshold:g} on {day_text(event.at)}: {rule_id} ({what})"


def _recycles(score: float, life: Lifecycle) -> bool:
    return life.recycle_below is not None and score < life.recycle_below


def is_mql(past: ProfileState | None, qualification: str, score: float, threshold: float,
           life: Lifecycle) -> bool:
    """A qualified lead at or above the threshold; or one that was an MQL (or worked) and has not fallen
    below the recycle threshold."""
    if qualification != "qualified":
        return False
    if score >= threshold:
        return True
    return past is not None and past.stage in ("mql", "worked") and not _recycles(score, life)


def _stays_worked(past: ProfileState | None, score: float, life: Lifecycle) -> bool:
    return past is not None and past.worked and not (_recycles(score, life) and not life.recycle_only_unworked)


def in_sales_hands(past: ProfileState | None, qualification: str, score: float, mql: bool,
                   life: Lifecycle) -> bool:
    """An MQL or a worked lead (not disqualified): taken off nurture lists when `leave_nurture_on_mql`."""
    return life.leave_nurture_on_mql and qualification != "disqualified" and (
        mql or _stays_worked(past, score, life))


def next_stage(past: ProfileState | None, qualification: str, reasons: list[str], failed: list[str],
               score: float, mql: bool, nurtured: bool, tip: Tip | None, now: datetime, threshold: float,
               life: Lifecycle) -> tuple[Stage, StageTransition | None, datetime, str | None]:
    """(stage, transition or None, stage since, why it is in that stage). `mql` is `is_mql`'s verdict;
    `nurtured` whether a nurture list takes the lead."""
    before = past.stage if past is not None else None
    worked = past is not None and past.worked
    stage: Stage
    if qualification == "disqualified":
        stage, cause = "disqualified", "disqualified: " + "; ".join(reasons)
    elif worked and _stays_worked(past, score, life):
        owner = past.owner if past is not None and past.owner else "a rep"
        stage, cause = "worked", f"worked by {owner}"
    elif qualification == "unqualified":
        stage, cause = "unqualified", "failed " + ", ".join(failed)
    elif mql:
        stage, cause = "mql", crossing_cause(threshold, score, tip, now)
    elif before in ("mql", "worked") and _recycles(score, life):
        stage = life.recycle_to
        cause = f"recycled on {now.date()}: score {round(score, 2):g} fell below {life.recycle_below:g}" + (
            ", never worked" if not worked else "")
    elif before in _NURTURED:
        stage, cause = before, ""
    elif nurtured:
        stage, cause = "nurture", "entered nurture"
    else:
        stage, cause = "new", "first seen"
    if stage == before:
        since = past.stage_since if past is not None and past.stage_since is not None else now
        return stage, None, since, past.stage_cause if past is not None else None
    return stage, _move(before, stage, now, cause), now, cause


_moves: tuple[datetime | None, dict[tuple[Stage | None, Stage, str], StageTransition]] = (None, {})
_MOVES_KEPT = 10_000


def _move(before: Stage | None, stage: Stage, now: datetime, cause: str) -> StageTransition:
    """The transition, made once per (from, to, cause) while `now` is the same object: a batch's leads mostly
    move alike ('first seen'), and a transition is a value, shared as score lines are (do not mutate it).
    (The cache is one tuple, read and replaced whole, so a thread never mixes one moment with another's.)"""
    global _moves
    at, known = _moves
    if at is not now:
        known = {}
        _moves = (now, known)
    key = (before, stage, cause)
    moved = known.get(key)
    if moved is None:
        if len(known) >= _MOVES_KEPT:
            known.clear()
        # Each value has its declared type already (a Stage, a datetime, a str): fill the model directly.
        moved = known[key] = trusted(StageTransition, {"from_stage": before, "to_stage": stage, "at": now,
                                                       "cause": cause}, set(_TRANSITION_FIELDS))
    return moved
