"""The per-lead evaluator, generated once per ruleset as one straight-line Python function.

It does everything about a lead that does not depend on rotation state: facts, qualification,
score lines (behaviour over the history through rules.behaviour_compiled, decay), grade, MQL and
stage (rules.lifecycle, from the profile's past), next_rescore_at, the index of the first routing
rule that matches, and nurture lists.
Routing state (teams, caps, availability) stays in plain Python in the engine.

Why generate source: walking ~25 closures per lead costs a call and a dict lookup per fact per
rule; one generated function reads each fact once into a local and inlines every operator,
which is several times faster (see bench/rules.py). Only `rules.codegen` writes source text.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from connectors.records import Lead, ProfileState, ScoreLine
from rules.behaviour import behaviour_rules, decay_detail, decay_step, earliest, fact_expiry
from rules.behaviour_compiled import BehaviourScorer
from rules.codegen import RUNTIME, STAGE_FACTS, SourceBuilder
from rules.conditions import referenced_fields
from rules.explain import closing_text, line_text, mql_text, summary_text
from rules.facts import _EVENT_FIELD, count_events, days_idle, last_activity, location_of
from rules.lifecycle import in_sales_hands, is_mql, next_stage
from rules.models import RulesFile
from rules.trusted import DECISION_FIELDS, SCORE_LINE_FIELDS, trusted

Line = tuple[ScoreLine, str]
"""A score line and its part of the explanation ('senior +15', 'event:demo +10 (1 x 10, 2026-03-01)')."""

_LINE_FIELDS = frozenset(SCORE_LINE_FIELDS)


def make_line(rule_id: str, points: float, kind: str, detail: str = "") -> Line:
    """Field for field what ScoreLine(rule_id=..., points=..., kind=...[, detail=...]) validates to."""
    fields_set = set(_LINE_FIELDS) if detail else set(_LINE_FIELDS - {"detail"})
    line = trusted(ScoreLine, {"rule_id": rule_id, "points": points, "kind": kind, "detail": detail}, fields_set)
    return line, line_text(rule_id, points, detail)


def add_decay_line(score_lines: list[ScoreLine], parts: list[str], lost: float, idle: float,
                   last: datetime) -> None:
    line, part = make_line("decay", -round(lost, 2), "decay", decay_detail(idle, last))
    score_lines.append(line)
    parts.append(part)


Evaluation = tuple[dict[str, Any], str, str, int]
"""The Decision's fields (routing and explanation still to fill), the explanation's sentences before and after
the routing one (`summary_text`, `closing_text`), and the first matching routing rule's index (-1: none, or
routing not asked for)."""
Evaluator = Callable[[Lead, datetime, "str | None", "str | None", "str | None", bool, "ProfileState | None"],
                     Evaluation]
"""evaluate(lead, now, email domain, account owner, current CRM owner, whether to find a route, profile)."""
ROUTE_FIELDS = ("owner", "queue", "team", "routing_rule_id", "routing_method", "routing_reason", "skipped")


def lead_conditions(spec: RulesFile) -> list[Any]:
    """Every condition over lead facts, in every section."""
    return ([r.when for r in spec.qualification.disqualify] + [c.when for c in spec.qualification.require]
            + [r.when for r in spec.scoring.rules] + [r.when for r in spec.routing.rules]
            + [n.when for n in spec.nurture])


def time_facts(spec: RulesFile) -> tuple[list[tuple[str, int]], bool]:
    """The windowed event counts (type, seconds) and whether days_since_last_activity are read anywhere:
    facts that change with time alone."""
    fields: set[str] = set()
    for condition in lead_conditions(spec):
        fields |= referenced_fields(condition)
    windows = sorted({(m.group(1), int(m.group(2)) * 86400) for f in fields
                      if (m := _EVENT_FIELD.match(f)) and m.group(2)})
    return windows, "days_since_last_activity" in fields


def _round2(var: str) -> str:
    # round(x, 2) is slow (correctly rounded via decimal digits) and returns a whole x unchanged.
    return f"({var} if {var}.is_integer() else round({var}, 2))"


def build_evaluator(spec: RulesFile, version: str) -> tuple[Evaluator, str]:
    """Generate, compile and return the evaluator for `spec` (already validated) and its source."""
    src = SourceBuilder(spec.lists, spec.offices)
    scoring = spec.scoring
    stage_read = set().union(*(referenced_fields(c) for c in lead_conditions(spec))) & set(STAGE_FACTS)
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
    scorer = BehaviourScorer(spec, behaviour_rules(scoring))
    body.append(f"behaviour, expiry, tip = {src.const(scorer)}.add(behaviour, events, now, score_lines, "
                "behaviour_parts)")
    windows, idle_read = time_facts(spec)
    needs_last = scoring.decay is not None or idle_read
    body.append("last = last_activity(events, profile)" if needs_last else "last = None")
    if scoring.decay:
        body += [f"lost, idle, decay_next = decay_step(behaviour, last, now, {src.const(scoring.decay)})",
                 "if lost > 0:", "    behaviour -= lost",
                 "    add_decay_line(score_lines, behaviour_parts, lost, idle, last)"]
    else:
        body.append("decay_next = None")
    if windows or idle_read:
        body.append(f"rescore_at = earliest(expiry, decay_next, fact_expiry(events, now, "
                    f"{src.const(windows)}, {idle_read}, last))")
    else:
        body.append("rescore_at = decay_next if expiry is None else expiry if decay_next is None "
                    "or expiry < decay_next else decay_next")  # earliest(expiry, decay_next), inline
    grades = scoring.grades
    threshold, life = src.const(scoring.mql_threshold), src.const(spec.lifecycle)
    a, b, c = src.const(grades.A), src.const(grades.B), src.const(grades.C)
    body += ["score = fit + behaviour", *[f"{name} = {total}" for name, total in (("fit_score", "fit"),
                                          ("behaviour_score", "behaviour")) if name in stage_read],
             f"grade = 'A' if fit >= {a} else 'B' if fit >= {b} else 'C' if fit >= {c} else 'D'",
             # is_mql(...), with the common case (no past) inline
             f"mql = qualification == 'qualified' and (score >= {threshold} or (profile is not None and "
             f"is_mql(profile, qualification, score, {threshold}, {life})))",
             "route_index = -1", "if route:"]
    for index, route in enumerate(spec.routing.rules):
        body.append(f"    {'if' if index == 0 else 'elif'} {src.condition(route.when)}: route_index = {index}")
    body.append("    pass")
    body += ["lists_add = []", "lists_remove = []"]
    for nurture in spec.nurture:
        target = src.const(nurture.list)
        allowed = "fields['consent'].email is not False and " if nurture.requires_email_consent else ""
        body += [f"if {allowed}{src.condition(nurture.when)}: lists_add.append({target})",
                 f"else: lists_remove.append({target})"]
    if len({n.list for n in spec.nurture}) < len(spec.nurture):  # a list named twice: set semantics
        body += ["lists_add = sorted(set(lists_add))", "lists_remove = sorted(set(lists_remove) - set(lists_add))"]
    elif len(spec.nurture) > 1:  # each list lands in exactly one of the two: sorting is enough
        body += ["lists_add.sort()", "lists_remove.sort()"]
    if spec.nurture:
        every_list = src.const(sorted({n.list for n in spec.nurture}))
        body += [f"if (mql and {spec.lifecycle.leave_nurture_on_mql}) or (profile is not None and "
                 f"in_sales_hands(profile, qualification, score, mql, {life})):",
                 "    lists_add = []", f"    lists_remove = list({every_list})"]
    statuses = spec.statuses
    status = {"disqualified": statuses.disqualified or statuses.unqualified, "unqualified": statuses.unqualified,
              "mql": statuses.mql, "nurture": statuses.nurture, "new": statuses.new}
    nurture_status = "lists_add and " if statuses.nurture else "False and "
    body.append("status_key = qualification if qualification != 'qualified' else 'mql' if mql else "
                f"'nurture' if {nurture_status}lists_add else 'new'")
    # positional arguments: binding keywords costs more
    body.append(f"stage, transition, stage_since, stage_cause = next_stage(profile, qualification, reasons, failed, "
                f"score, mql, bool(lists_add), tip, now, {threshold}, {life})")
    # The explanation's sentences that do not depend on routing, from the product's one paragraph builder.
    mql_yes, mql_no = (src.const(mql_text(mql, scoring.mql_threshold)) for mql in (True, False))
    body += [f"score_r = {_round2('score')}", f"fit_r = {_round2('fit')}", f"behaviour_r = {_round2('behaviour')}",
             f"status = {src.const(status)}[status_key]",
             "summary = summary_text(qualification, reasons, failed, score_r, fit_r, fit_parts, behaviour_r, "
             f"behaviour_parts, grade, {mql_yes} if mql else {mql_no}, stage, stage_since, stage_cause)",
             f"closing = closing_text(lists_add, status, {src.const(version)})"]
    values = {
        "lead_key": "fields['lead_key']", "qualification": "qualification", "disqualify_reasons": "reasons",
        "failed_checks": "failed", "score": "score_r", "fit_score": "fit_r",
        "behaviour_score": "behaviour_r", "score_lines": "score_lines", "grade": "grade",
        "mql": "mql", "status_key": "status_key", "status": "status",
        "lists_add": "lists_add", "lists_remove": "lists_remove", "ruleset_version": src.const(version),
        "explanation": "''", **{name: "None" for name in ROUTE_FIELDS},
        "stage": "stage", "stage_since": "stage_since", "stage_cause": "stage_cause",
        "transition": "transition", "next_rescore_at": "rescore_at"}
    if set(values) != set(DECISION_FIELDS):  # Decision gained or lost a field: this must be taught about it
        raise TypeError(f"compiled evaluator does not know Decision fields {set(values) ^ set(DECISION_FIELDS)}")
    # Field names come from the Decision model itself (identifiers), so they may be literal keys.
    items = ", ".join(f"{name!r}: {values[name]}" for name in DECISION_FIELDS if name.isidentifier())
    body.append(f"return {{{items}}}, summary, closing, route_index")
    # A stage fact a condition reads before its stage reads None (only those read are set).
    head = [f"{name} = None" for name in STAGE_FACTS if name in stage_read]
    head += ["fields = lead.__dict__", "events = fields['events']", *src.fact_loads()]
    # A factory taking the constants, so the evaluator reads them as closure cells, not globals.
    constants = ", ".join(src.constants)
    source = (f"def factory({constants}):\n    def evaluate(lead, now, domain, account_owner, owner, route, profile):\n"
              + "".join(f"        {line}\n" for line in head + body) + "    return evaluate\n")
    namespace: dict[str, Any] = {**RUNTIME, "count_events": count_events, "days_idle": days_idle,
                                 "add_decay_line": add_decay_line, "last_activity": last_activity,
                                 "decay_step": decay_step, "earliest": earliest, "fact_expiry": fact_expiry,
                                 "is_mql": is_mql, "in_sales_hands": in_sales_hands, "next_stage": next_stage,
                                 "location_of": location_of, "summary_text": summary_text,
                                 "closing_text": closing_text}
    exec(compile(source, "<leadsync ruleset>", "exec"), namespace)  # noqa: S102 - source built by rules.codegen
    evaluator: Evaluator = namespace["factory"](**src.constants)
    return evaluator, source
