"""One human paragraph per decision: what the CRM sinks write into the explanation field.

One function, `explain`, builds it for the compiled engine, the interpreted reference and anyone
who wants the same text from their own values (bench/rules.py's hand-written baseline): feed it a
Decision or a mapping of the Decision's fields. Deterministic: no clock, only dates the decision
holds (event dates, stage since), so a re-sync with the same decision writes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from connectors.records import Decision, SkippedRep

LOCATION_UNPLACED = "Location not placed (no city or postal code we could find): distance rules did not apply."


def line_text(rule_id: str, points: float, detail: str = "") -> str:
    """A score line's part of the paragraph: 'senior +15', 'pricing-page +20 (2 x 10, 2026-11-20 to 2026-11-28)'."""
    signed = _SIGNED.get(points) or _signed(points)  # f"{points:+g}", formatted once per value
    return f"{rule_id} {signed} ({detail})" if detail else f"{rule_id} {signed}"


def explain(decision: Decision | Mapping[str, Any], mql_threshold: float, notes: Sequence[str] = ()) -> str:
    """The paragraph: qualification; score = fit (rule points) + behaviour (per rule: count, points, dates;
    decay); grade; MQL; stage and since when (with the cause when it moved now); notes; routing; nurture;
    status and ruleset version. Made of the four sentences below, which the compiled engine calls itself
    (the summary before routing, the routing sentence once per route, the closing once per status)."""
    d = decision.__dict__ if isinstance(decision, Decision) else decision
    lines = d["score_lines"]
    return (summary_text(d["qualification"], d["disqualify_reasons"], d["failed_checks"], d["score"],
                         d["fit_score"], [line_text(x.rule_id, x.points, x.detail) for x in lines if x.kind == "fit"],
                         d["behaviour_score"],
                         [line_text(x.rule_id, x.points, x.detail) for x in lines if x.kind != "fit"], d["grade"],
                         _mql_sentence(d["mql"], mql_threshold), d["stage"], d["stage_since"], d["stage_cause"])
            + (notes_text(notes) if notes else "")
            + route_text(d["owner"], d["queue"], d["routing_rule_id"], d["routing_method"], d["routing_reason"],
                         d["skipped"])
            + closing_text(d["lists_add"], d["status"], d["ruleset_version"]))


def summary_text(qualification: str, reasons: Sequence[str], failed: Sequence[str], score: float, fit_score: float,
                 fit: Sequence[str], behaviour_score: float, behaviour: Sequence[str], grade: str, mql_sentence: str,
                 stage: str | None, since: datetime | None, cause: str | None) -> str:
    """'Qualified. Score 40 = fit 15 (mid-size +10, na +5) + behaviour 25 (webinar +25); grade C. MQL (threshold
    40). Stage mql since 2026-03-02 (crossed 40 ...).': `fit` and `behaviour` are the score lines' `line_text`,
    `mql_sentence` is `mql_text`'s."""
    if qualification == "disqualified":
        head = "Disqualified: " + "; ".join(reasons) + ". Score "
    elif qualification == "unqualified":
        head = "Unqualified: failed " + ", ".join(failed) + ". Score "
    else:
        head = "Qualified. Score "
    if stage is None:
        stage_text = ""
    else:
        # day_text's cache read inline, as the numbers' below
        day = "" if since is None else " since " + (_DAYS.get(since.toordinal()) or day_text(since))
        stage_text = f" Stage {stage}{day} ({cause})." if cause else f" Stage {stage}{day}."
    known = _FORMATTED.get  # _g's cache read inline: a number formatted before (never 0) is one dict read
    # One string built from its pieces in one step: concatenating ~20 pieces one by one copied the text each time.
    return (f"{head}{known(score) or _g(score)} = fit {known(fit_score) or _g(fit_score)}"
            f"{' (' + ', '.join(fit) + ')' if fit else ''}"
            f" + behaviour {known(behaviour_score) or _g(behaviour_score)}"
            f"{' (' + ', '.join(behaviour) + ')' if behaviour else ''}"
            f"; grade {grade}{mql_sentence}{stage_text}")


def notes_text(notes: Sequence[str]) -> str:
    return "".join([" " + note for note in notes])


def route_text(owner: str | None, queue: str | None, rule_id: str | None, method: str | None, reason: str | None,
               skipped: Sequence[SkippedRep]) -> str:
    """' Routed to ana@ourco.example by rule ent-na: team enterprise (round robin).' and who was skipped."""
    return (f" Routed to {owner or 'queue ' + str(queue)} by {'rule ' + rule_id if rule_id else method}: {reason}."
            f"{' Skipped ' + '; '.join([f'{s.owner} ({s.reason})' for s in skipped]) + '.' if skipped else ''}")


def closing_text(lists_add: Sequence[str], status: str | None, version: str) -> str:
    """' Nurture: Early. Status New. Ruleset 1 (sha256:...).'"""
    key = (status, version, *lists_add)  # a decision's lists and status are one of a few
    text = _CLOSINGS.get(key)
    if text is None:
        if len(_CLOSINGS) > _FORMAT_CACHE:
            _CLOSINGS.clear()
        text = _CLOSINGS[key] = (f"{' Nurture: ' + ', '.join(lists_add) + '.' if lists_add else ''} Status {status}."
                                 f" Ruleset {version}.")
    return text


_CLOSINGS: dict[tuple[str | None, ...], str] = {}


def mql_text(mql: bool, threshold: float) -> str:
    """'. MQL (threshold 40).' or '. Not an MQL (threshold 40).'"""
    return _mql_sentence(mql, threshold)


_MQL_SENTENCES: dict[tuple[bool, float], str] = {}


def _mql_sentence(mql: bool, threshold: float) -> str:
    known = _MQL_SENTENCES.get((mql, threshold))
    if known is None:
        if len(_MQL_SENTENCES) > _FORMAT_CACHE:
            _MQL_SENTENCES.clear()
        known = _MQL_SENTENCES[(mql, threshold)] = f". {'MQL' if mql else 'Not an MQL'} (threshold {threshold:g})."
    return known


_FORMATTED: dict[float, str] = {}
_FORMAT_CACHE = 10_000


def _format_once(cache: dict[float, str], spec: str, value: float) -> str:
    """format(value, spec), each value formatted once within a bound (scores are sums of the same few
    points, rule points repeat): formatting a float costs more than deciding a rule."""
    if not value:  # 0.0 and -0.0 are equal keys but print differently
        return format(value, spec)
    known = cache.get(value)
    if known is None:
        if len(cache) > _FORMAT_CACHE:
            cache.clear()
        known = cache[value] = format(value, spec)
    return known


def _g(value: float) -> str:
    """f'{value:g}', formatted once."""
    return _format_once(_FORMATTED, "g", value)


_SIGNED: dict[float, str] = {}


def _signed(value: float) -> str:
    """f'{value:+g}', formatted once."""
    return _format_once(_SIGNED, "+g", value)


_DAYS: dict[int, str] = {}


def day_text(moment: datetime | date) -> str:
    """moment.date().isoformat() (the moment's own calendar day), each day formatted once within a bound:
    formatting a date costs more than deciding a rule, and a batch's dates fall on a few hundred days."""
    day = moment.toordinal()
    text = _DAYS.get(day)
    if text is None:
        if len(_DAYS) > _FORMAT_CACHE:
            _DAYS.clear()
        text = _DAYS[day] = date.fromordinal(day).isoformat()
    return text
