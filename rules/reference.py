"""The interpreted reference: decide a lead by walking the condition closures over lazily derived facts.

This is the plain reading of the rules, kept to check the compiled engine against (same batch,
same decisions, field for field) and to read when in doubt about what a rule means. It builds
its Decision through pydantic validation and `explain`, as external code would.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from connectors.records import Decision, Event, Lead, ProfileState, ScoreLine
from rules.assign import Route
from rules.behaviour import (
    EventFacts,
    Tip,
    behaviour_rules,
    count_text,
    decay_detail,
    decay_step,
    earliest,
    fact_expiry,
    rule_detail,
    rule_total,
    tipping_event,
)
from rules.compiled import time_facts
from rules.engine import BatchDecision, DecisionContext, Ruleset
from rules.facts import Facts, last_activity
from rules.lifecycle import in_sales_hands, is_mql, next_stage
from rules.routing import RotationState


def decide_interpreted(ruleset: Ruleset, leads: Sequence[Lead], ctx: DecisionContext) -> BatchDecision:
    """What `ruleset.decide(leads, ctx)` returns, computed the slow, obvious way."""

    def decide_one(lead: Lead, ctx: DecisionContext, state: RotationState) -> tuple[Decision, Route]:
        return _decide_one(ruleset, lead, ctx, state)

    return ruleset.decide_with(decide_one, leads, ctx)


def _decide_one(ruleset: Ruleset, lead: Lead, ctx: DecisionContext, state: RotationState) -> tuple[Decision, Route]:
    when = ruleset.predicates
    spec = ruleset.spec
    existing = ctx.crm.get(lead.lead_key)
    domain = lead.email_domain
    account_owner = (existing.account_owner if existing else None) or (ctx.account_owners.get(domain)
                                                                        if domain else None)
    profile = ctx.profiles.get(lead.lead_key)
    facts = Facts(lead, ctx.now, account_owner, existing.owner if existing else None, profile)
    reasons = [r.reason for r in spec.qualification.disqualify if when[f"disqualify.{r.id}"](facts)]
    failed = [c.id for c in spec.qualification.require if not when[f"require.{c.id}"](facts)]
    qualification = "disqualified" if reasons else "unqualified" if failed else "qualified"
    facts["qualification"] = qualification
    lines, fit, behaviour, tip, rescore_at = _score(ruleset, facts, lead, ctx.now, profile)
    score = fit + behaviour
    grades = spec.scoring.grades
    grade = "A" if fit >= grades.A else "B" if fit >= grades.B else "C" if fit >= grades.C else "D"
    threshold, life = spec.scoring.mql_threshold, spec.lifecycle
    mql = is_mql(profile, qualification, score, threshold, life)
    facts.update(score=score, fit_score=fit, behaviour_score=behaviour, grade=grade, mql=mql)
    router = ruleset.router
    route = router.keep(facts["owner"], lead.lead_key, ctx.pinned_owners)
    if route is None:
        first = next((i for i, r in enumerate(spec.routing.rules) if when[f"route.{r.id}"](facts)), -1)
        route = router.place(first, facts["account_owner"], facts["email_domain"], ctx.now, state)
    lists_add, lists_remove = _nurture(ruleset, facts, lead)
    if spec.nurture and in_sales_hands(profile, qualification, score, mql, life):
        lists_add, lists_remove = [], sorted({n.list for n in spec.nurture})
    statuses = spec.statuses
    if qualification == "disqualified":
        status_key, status = "disqualified", statuses.disqualified or statuses.unqualified
    elif qualification == "unqualified":
        status_key, status = "unqualified", statuses.unqualified
    elif mql:
        status_key, status = "mql", statuses.mql
    elif lists_add and statuses.nurture:
        status_key, status = "nurture", statuses.nurture
    else:
        status_key, status = "new", statuses.new
    stage, transition, since, cause = next_stage(
        profile, qualification=qualification, reasons=reasons, failed=failed, score=score, mql=mql,
        nurtured=bool(lists_add), tip=tip, now=ctx.now, threshold=threshold, life=life)
    decision = Decision(
        lead_key=lead.lead_key, qualification=qualification, disqualify_reasons=reasons, failed_checks=failed,
        score=round(score, 2), fit_score=round(fit, 2), behaviour_score=round(behaviour, 2), score_lines=lines,
        grade=grade, mql=mql, owner=route.owner, queue=route.queue, team=route.team,
        routing_rule_id=route.rule_id, routing_method=route.method, routing_reason=route.reason,
        skipped=route.skipped, status_key=status_key, status=status, lists_add=lists_add,
        lists_remove=lists_remove, ruleset_version=ruleset.version, stage=stage, stage_since=since,
        stage_cause=cause, transition=transition, next_rescore_at=rescore_at)
    decision.explanation = ruleset.explain(decision, lead)
    return decision, route


def _score(ruleset: Ruleset, facts: Facts, lead: Lead, now: datetime, profile: ProfileState | None) -> tuple[
        list[ScoreLine], float, float, Tip | None, datetime | None]:
    """Score lines, fit, behaviour, the event that tipped the score, and when time alone next changes it."""
    scoring = ruleset.spec.scoring
    lines: list[ScoreLine] = []
    fit = behaviour = 0.0
    for rule in scoring.rules:
        if ruleset.predicates[f"score.{rule.id}"](facts):
            lines.append(ScoreLine(rule_id=rule.id, points=rule.points, kind=rule.kind))
            if rule.kind == "fit":
                fit += rule.points
            else:
                behaviour += rule.points
    expiries: list[datetime] = []
    tips: list[tuple[str, float, Event]] = []
    for habit in behaviour_rules(scoring):
        meets = ruleset.predicates[f"behaviour.{habit.id}"]
        window = timedelta(days=habit.window_days)
        counted = [e for e in lead.events if e.type in habit.event_types() and now - e.at < window
                   and meets(EventFacts(e))]
        if not counted:
            continue
        first, last = min(counted, key=lambda e: e.at), max(counted, key=lambda e: e.at)
        points = rule_total(habit, len(counted))
        behaviour += points
        lines.append(ScoreLine(rule_id=habit.id, points=points, kind="behaviour",
                               detail=rule_detail(count_text(habit, len(counted), points), first.at, last.at)))
        expiries.append(first.at + window)
        if habit.points > 0:
            tips.append((habit.id, habit.points, last))
    windows, idle_read = time_facts(ruleset.spec)
    latest = last_activity(lead.events, profile)
    lost, idle, decay_next = decay_step(behaviour, latest, now, scoring.decay)
    if lost > 0 and idle is not None and latest is not None:
        behaviour -= lost
        lines.append(ScoreLine(rule_id="decay", points=-round(lost, 2), kind="decay",
                               detail=decay_detail(idle, latest)))
    facts_change = fact_expiry(lead.events, now, windows, idle_read, latest) if windows or idle_read else None
    return lines, fit, behaviour, tipping_event(tips), earliest(min(expiries, default=None), decay_next, facts_change)


def _nurture(ruleset: Ruleset, facts: Facts, lead: Lead) -> tuple[list[str], list[str]]:
    add: list[str] = []
    remove: list[str] = []
    for rule in ruleset.spec.nurture:
        allowed = not rule.requires_email_consent or lead.consent.email is not False
        if allowed and ruleset.predicates[f"nurture.{rule.id}"](facts):
            add.append(rule.list)
        else:
            remove.append(rule.list)
    return sorted(set(add)), sorted(set(remove) - set(add))
