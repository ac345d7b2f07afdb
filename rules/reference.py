"""The interpreted reference: decide a lead by walking the condition closures over lazily derived facts.

This is the plain reading of the rules, kept to check the compiled engine against (same batch,
same decisions, field for field) and to read when in doubt about what a rule means. It builds
its Decision through pydantic validation and `explain`, as external code would.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from connectors.records import Decision, Lead, ScoreLine
from rules.assign import Route
from rules.engine import BatchDecision, DecisionContext, Ruleset
from rules.explain import explain
from rules.facts import Facts
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
    facts = Facts(lead, ctx.now, account_owner, existing.owner if existing else None)
    reasons = [r.reason for r in spec.qualification.disqualify if when[f"disqualify.{r.id}"](facts)]
    failed = [c.id for c in spec.qualification.require if not when[f"require.{c.id}"](facts)]
    qualification = "disqualified" if reasons else "unqualified" if failed else "qualified"
    facts["qualification"] = qualification
    lines, fit, behaviour = _score(ruleset, facts, lead, ctx.now)
    score = fit + behaviour
    grades = spec.scoring.grades
    grade = "A" if fit >= grades.A else "B" if fit >= grades.B else "C" if fit >= grades.C else "D"
    mql = qualification == "qualified" and score >= spec.scoring.mql_threshold
    facts.update(score=score, fit_score=fit, behaviour_score=behaviour, grade=grade, mql=mql)
    router = ruleset.router
    route = router.keep(facts["owner"], lead.lead_key, ctx.pinned_owners)
    if route is None:
        first = next((i for i, r in enumerate(spec.routing.rules) if when[f"route.{r.id}"](facts)), -1)
        route = router.place(first, facts["account_owner"], facts["email_domain"], ctx.now, state)
    lists_add, lists_remove = _nurture(ruleset, facts, lead)
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
    decision = Decision(
        lead_key=lead.lead_key, qualification=qualification, disqualify_reasons=reasons, failed_checks=failed,
        score=round(score, 2), fit_score=round(fit, 2), behaviour_score=round(behaviour, 2), score_lines=lines,
        grade=grade, mql=mql, owner=route.owner, queue=route.queue, team=route.team,
        routing_rule_id=route.rule_id, routing_method=route.method, routing_reason=route.reason,
        skipped=route.skipped, status_key=status_key, status=status, lists_add=lists_add,
        lists_remove=lists_remove, ruleset_version=ruleset.version, stage=None, transition=None,
        next_rescore_at=None)
    decision.explanation = explain(decision, spec.scoring.mql_threshold)
    return decision, route


def _score(ruleset: Ruleset, facts: Facts, lead: Lead, now: datetime) -> tuple[list[ScoreLine], float, float]:
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
    ages: dict[str, list[int]] = {}
    for event in lead.events:
        ages.setdefault(event.type, []).append((now - event.at).days)
    for kind, cfg in scoring.events.items():
        count = sum(1 for age in ages.get(kind, ()) if age < cfg.window_days)
        if not count:
            continue
        points = count * cfg.points
        if cfg.max is not None and abs(points) > cfg.max:
            points = cfg.max if points > 0 else -cfg.max
        behaviour += points
        lines.append(ScoreLine(rule_id=f"event:{kind}", points=points, kind="behaviour",
                               detail=f"{count} x {cfg.points:g}" + (" (capped)" if points != count * cfg.points
                                                                  else "")))
    decay = scoring.decay
    idle = facts["days_since_last_activity"]
    if decay and behaviour > 0 and idle is not None and idle > decay.after_days:
        months = (idle - decay.after_days) / 30
        lost = min(behaviour, behaviour * decay.percent_per_month / 100 * months)
        behaviour -= lost
        lines.append(ScoreLine(rule_id="decay", points=-round(lost, 2), kind="decay",
                               detail=f"{idle:.0f} days inactive"))
    return lines, fit, behaviour


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
