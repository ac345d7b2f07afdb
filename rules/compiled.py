"""The per-lead evaluator, generated once per ruleset as one straight-line Python function.

It does everything about a lead that does not depend on rotation state: facts, qualification,
score lines, grade, MQL, the index of the first routing rule that matches, and nurture lists.
Routing state (teams, caps, availability) stays in plain Python in the engine.

Why generate source: walking ~25 closures per lead costs a call and a dict lookup per fact per
rule; one generated function reads each fact once into a local and inlines every operator,
which is several times faster (see bench/rules.py). Only `rules.codegen` writes source text.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from connectors.records import Event, Lead, ScoreLine
from rules.codegen import RUNTIME, SourceBuilder
from rules.facts import count_events, days_idle
from rules.models import EventPoints, RulesFile
from rules.trusted import DECISION_FIELDS, SCORE_LINE_FIELDS, trusted

Line = tuple[ScoreLine, str]
"""A score line and its part of the explanation ('senior +15', 'event:demo +10 (1 x 10)')."""

_LINE_FIELDS = frozenset(SCORE_LINE_FIELDS)


def make_line(rule_id: str, points: float, kind: str, detail: str = "") -> Line:
    """Field for field what ScoreLine(rule_id=..., points=..., kind=...[, detail=...]) validates to."""
    fields_set = set(_LINE_FIELDS) if detail else set(_LINE_FIELDS - {"detail"})
    line = trusted(ScoreLine, {"rule_id": rule_id, "points": points, "kind": kind, "detail": detail}, fields_set)
    return line, f"{rule_id} {points:+g}" + (f" ({detail})" if detail else "")


def add_decay_line(score_lines: list[ScoreLine], parts: list[str], lost: float, idle: float) -> None:
    line, part = make_line("decay", -round(lost, 2), "decay", f"{idle:.0f} days inactive")
    score_lines.append(line)
    parts.append(part)


Evaluation = tuple[dict[str, Any], list[str], list[str], int]
"""The Decision's fields (routing and explanation still to fill), the explanation parts of its fit and
of its other score lines, and the first matching routing rule's index (-1: none, or routing not asked for)."""
Evaluator = Callable[[Lead, datetime, "str | None", "str | None", "str | None", bool], Evaluation]
"""evaluate(lead, now, email domain, account owner, current CRM owner, whether to find a route)."""
ROUTE_FIELDS = ("owner", "queue", "team", "routing_rule_id", "routing_method", "routing_reason", "skipped")


class EventScorer:
    """Behaviour points of events: per type, windowed, capped, in the order the rules file lists them."""

    def __init__(self, events: Mapping[str, EventPoints]) -> None:
        self.windows = {kind: cfg.window_days for kind, cfg in events.items()}
        self.kinds = list(events.items())
        self._lines: dict[tuple[str, int], tuple[float, ScoreLine, str]] = {}

    def add(self, behaviour: float, events: Sequence[Event], now: datetime, score_lines: list[ScoreLine],
            parts: list[str]) -> float:
        """`behaviour` plus each counted type's points, added one type at a time (the reference's float
        rounding); appends one line (and its explanation part) per type that counted."""
        if not events:
            return behaviour
        counts: dict[str, int] = {}
        windows = self.windows
        for event in events:
            age = (now - event.at).days
            window = windows.get(event.type)
            if window is not None and age < window:
                counts[event.type] = counts.get(event.type, 0) + 1
        if not counts:
            return behaviour
        for kind, cfg in self.kinds:
            count = counts.get(kind)
            if count:
                points, line, part = self._line(kind, cfg, count)
                behaviour += points
                score_lines.append(line)
                parts.append(part)
        return behaviour

    def _line(self, kind: str, cfg: EventPoints, count: int) -> tuple[float, ScoreLine, str]:
        # The same few (type, count) pairs recur on every lead: format their line once.
        known = self._lines.get((kind, count))
        if known is not None:
            return known
        points = count * cfg.points
        if cfg.max is not None and abs(points) > cfg.max:
            points = cfg.max if points > 0 else -cfg.max
        detail = f"{count} x {cfg.points:g}" + (" (capped)" if points != count * cfg.points else "")
        made = (points, *make_line(f"event:{kind}", points, "behaviour", detail))
        if count <= _MEMO_COUNTS:
            self._lines[(kind, count)] = made
        return made


_MEMO_COUNTS = 1000


def _round2(var: str) -> str:
    # round(x, 2) is slow (correctly rounded via decimal digits) and returns a whole x unchanged.
    return f"({var} if {var}.is_integer() else round({var}, 2))"


def build_evaluator(spec: RulesFile, version: str) -> tuple[Evaluator, str]:
    """Generate, compile and return the evaluator for `spec` (already validated) and its source."""
    src = SourceBuilder(spec.lists)
    scoring = spec.scoring
    body: list[str] = ["reasons = []"]
    for disqualify in spec.qualification.disqualify:
        body.append(f"if {src.condition(disqualify.when)}: reasons.append({src.const(disqualify.reason)})")
    body.append("failed = []")
    for item in spec.qualification.require:
        body.append(f"if not {src.condition(item.when)}: failed.append({src.const(item.id)})")
    body.append("qualification = 'disqualified' if reasons else 'unqualified' if failed else 'qualified'")
    body += ["score_lines = []", "fit_parts = []", "behaviour_parts = []", "fit = 0.0", "behaviour = 0.0"]
    for rule in scoring.rules:
        total = "fit" if rule.kind == "fit" else "behaviour"
        line, part = make_line(rule.id, rule.points, rule.kind)
        body += [f"if {src.condition(rule.when)}:", f"    score_lines.append({src.const(line)})",
                 f"    {total}_parts.append({src.const(part)})", f"    {total} += {src.const(rule.points)}"]
    body.append(f"behaviour = {src.const(EventScorer(scoring.events))}.add(behaviour, lead.events, now, score_lines, "
                "behaviour_parts)")
    if scoring.decay:
        idle = src.fact("days_since_last_activity")
        after, rate = src.const(scoring.decay.after_days), src.const(scoring.decay.percent_per_month)
        body += [f"if behaviour > 0 and {idle} is not None and {idle} > {after}:",
                 f"    lost = min(behaviour, behaviour * {rate} / 100 * (({idle} - {after}) / 30))",
                 "    behaviour -= lost",
                 f"    add_decay_line(score_lines, behaviour_parts, lost, {idle})"]
    grades = scoring.grades
    a, b, c = src.const(grades.A), src.const(grades.B), src.const(grades.C)
    body += ["score = fit + behaviour", "fit_score = fit", "behaviour_score = behaviour",
             f"grade = 'A' if fit >= {a} else 'B' if fit >= {b} else 'C' if fit >= {c} else 'D'",
             f"mql = qualification == 'qualified' and score >= {src.const(scoring.mql_threshold)}",
             "route_index = -1", "if route:"]
    for index, route in enumerate(spec.routing.rules):
        body.append(f"    {'if' if index == 0 else 'elif'} {src.condition(route.when)}: route_index = {index}")
    body.append("    pass")
    body += ["lists_add = []", "lists_remove = []"]
    for nurture in spec.nurture:
        target = src.const(nurture.list)
        allowed = "lead.consent.email is not False and " if nurture.requires_email_consent else ""
        body += [f"if {allowed}{src.condition(nurture.when)}: lists_add.append({target})",
                 f"else: lists_remove.append({target})"]
    if len({n.list for n in spec.nurture}) < len(spec.nurture):  # a list named twice: set semantics
        body += ["lists_add = sorted(set(lists_add))", "lists_remove = sorted(set(lists_remove) - set(lists_add))"]
    elif len(spec.nurture) > 1:  # each list lands in exactly one of the two: sorting is enough
        body += ["lists_add.sort()", "lists_remove.sort()"]
    statuses = spec.statuses
    status = {"disqualified": statuses.disqualified or statuses.unqualified, "unqualified": statuses.unqualified,
              "mql": statuses.mql, "nurture": statuses.nurture, "new": statuses.new}
    nurture_status = "lists_add and " if statuses.nurture else "False and "
    body.append("status_key = qualification if qualification != 'qualified' else 'mql' if mql else "
                f"'nurture' if {nurture_status}lists_add else 'new'")
    values = {
        "lead_key": "lead.lead_key", "qualification": "qualification", "disqualify_reasons": "reasons",
        "failed_checks": "failed", "score": _round2("score"), "fit_score": _round2("fit"),
        "behaviour_score": _round2("behaviour"), "score_lines": "score_lines", "grade": "grade",
        "mql": "mql", "status_key": "status_key", "status": f"{src.const(status)}[status_key]",
        "lists_add": "lists_add", "lists_remove": "lists_remove", "ruleset_version": src.const(version),
        "explanation": "''", **{name: "None" for name in ROUTE_FIELDS},
        # Lifecycle fields: set after deciding, from the profile's past (none without a profile store).
        "stage": "None", "transition": "None", "next_rescore_at": "None"}
    if set(values) != set(DECISION_FIELDS):  # Decision gained or lost a field: this must be taught about it
        raise TypeError(f"compiled evaluator does not know Decision fields {set(values) ^ set(DECISION_FIELDS)}")
    # Field names come from the Decision model itself (identifiers), so they may be literal keys.
    items = ", ".join(f"{name!r}: {values[name]}" for name in DECISION_FIELDS if name.isidentifier())
    body.append(f"return {{{items}}}, fit_parts, behaviour_parts, route_index")
    head = [f"{name} = None" for name in ("qualification", "score", "fit_score", "behaviour_score", "grade", "mql")]
    head += src.fact_loads()
    # A factory taking the constants, so the evaluator reads them as closure cells, not globals.
    constants = ", ".join(src.constants)
    source = (f"def factory({constants}):\n    def evaluate(lead, now, domain, account_owner, owner, route):\n"
              + "".join(f"        {line}\n" for line in head + body) + "    return evaluate\n")
    namespace: dict[str, Any] = {**RUNTIME, "count_events": count_events, "days_idle": days_idle,
                                 "add_decay_line": add_decay_line}
    exec(compile(source, "<leadsync ruleset>", "exec"), namespace)  # noqa: S102 - source built by rules.codegen
    evaluator: Evaluator = namespace["factory"](**src.constants)
    return evaluator, source
