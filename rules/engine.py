"""The compiled ruleset: qualify -> score -> route -> nurture -> status, with an explanation.

Pure: no I/O, no clock (the caller passes `now`), no Prefect. Conditions are compiled once
when the ruleset is built; deciding a batch walks plain Python callables.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from connectors.records import CrmRecord, Decision, Lead, ScoreLine, SkippedRep
from rules.conditions import Predicate, referenced_fields
from rules.explain import explain
from rules.facts import Facts
from rules.models import Assign, RulesFile
from rules.routing import RotationState, pick_from_team, unavailable_reason


@dataclass(frozen=True)
class DecisionContext:
    now: datetime
    crm: Mapping[str, CrmRecord] = field(default_factory=dict)
    account_owners: Mapping[str, str] = field(default_factory=dict)
    rotation: RotationState = field(default_factory=RotationState)
    pinned_owners: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RotationEntry:
    lead_key: str
    team: str | None
    owner: str | None
    method: str
    skipped: list[SkippedRep]
    at: datetime


@dataclass
class BatchDecision:
    decisions: list[Decision]
    rotation: RotationState
    assignments: list[RotationEntry]


@dataclass
class _Route:
    owner: str | None = None
    queue: str | None = None
    team: str | None = None
    rule_id: str | None = None
    method: str = "default"
    reason: str = ""
    skipped: list[SkippedRep] = field(default_factory=list)


class Ruleset:
    """A rules file compiled once; `decide` is called per batch."""

    def __init__(self, spec: RulesFile, version: str, predicates: Mapping[str, Predicate]) -> None:
        self.spec = spec
        self.version = version
        self._when = predicates
        self._queue_names = frozenset(self.queues())

    # what the sinks must check before any write ------------------------------------------------
    def owners(self) -> list[str]:
        named = {m for team in self.spec.routing.teams.values() for m in team.weights()}
        named |= {r.assign.owner.lower() for r in self.spec.routing.rules
                  if isinstance(r.assign, Assign) and r.assign.owner}
        if self.spec.routing.default.owner:
            named.add(self.spec.routing.default.owner.lower())
        return sorted(named)

    def queues(self) -> list[str]:
        named = {r.assign.queue for r in self.spec.routing.rules if isinstance(r.assign, Assign) and r.assign.queue}
        if self.spec.routing.default.queue:
            named.add(self.spec.routing.default.queue)
        return sorted(named)

    def needs_account_owners(self) -> bool:
        """Whether any rule looks at account owners (if none does, the sink is not asked for them)."""
        spec = self.spec
        conditions = [r.when for r in spec.qualification.disqualify] + [c.when for c in spec.qualification.require]
        conditions += [r.when for r in spec.scoring.rules] + [r.when for r in spec.routing.rules]
        conditions += [n.when for n in spec.nurture]
        return any(r.assign == "account_owner" for r in spec.routing.rules) or any(
            "account_owner" in referenced_fields(c) for c in conditions)

    def lists(self) -> list[str]:
        return sorted({n.list for n in self.spec.nurture})

    def status_values(self) -> list[str]:
        s = self.spec.statuses
        return sorted({v for v in (s.new, s.mql, s.unqualified, s.disqualified, s.nurture) if v})

    # deciding ------------------------------------------------------------------------------------
    def decide(self, leads: Sequence[Lead], ctx: DecisionContext) -> BatchDecision:
        state = ctx.rotation.model_copy(deep=True)
        state.roll_day(ctx.now)
        decisions: list[Decision] = []
        entries: list[RotationEntry] = []
        for lead in leads:
            decision, route = self._decide_one(lead, ctx, state)
            decisions.append(decision)
            if route.method not in {"kept_existing_owner", "kept_previous_assignment"}:
                entries.append(RotationEntry(lead.lead_key, route.team, route.owner or route.queue, route.method,
                                             route.skipped, ctx.now))
        return BatchDecision(decisions=decisions, rotation=state, assignments=entries)

    def _decide_one(self, lead: Lead, ctx: DecisionContext, state: RotationState) -> tuple[Decision, _Route]:
        existing = ctx.crm.get(lead.lead_key)
        domain = lead.email_domain
        account_owner = (existing.account_owner if existing else None) or (ctx.account_owners.get(domain)
                                                                            if domain else None)
        facts = Facts(lead, ctx.now, account_owner, existing.owner if existing else None)
        spec = self.spec
        reasons = [r.reason for r in spec.qualification.disqualify if self._when[f"disqualify.{r.id}"](facts)]
        failed = [c.id for c in spec.qualification.require if not self._when[f"require.{c.id}"](facts)]
        qualification = "disqualified" if reasons else "unqualified" if failed else "qualified"
        facts["qualification"] = qualification
        lines, fit, behaviour = self._score(facts, lead, ctx.now)
        score = fit + behaviour
        grades = spec.scoring.grades
        grade = "A" if fit >= grades.A else "B" if fit >= grades.B else "C" if fit >= grades.C else "D"
        mql = qualification == "qualified" and score >= spec.scoring.mql_threshold
        facts.update(score=score, fit_score=fit, behaviour_score=behaviour, grade=grade, mql=mql)
        route = self._route(lead, facts, ctx, state)
        lists_add, lists_remove = self._nurture(facts, lead)
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
            lists_remove=lists_remove, ruleset_version=self.version)
        decision.explanation = explain(decision, spec.scoring.mql_threshold)
        return decision, route

    def _score(self, facts: Facts, lead: Lead, now: datetime) -> tuple[list[ScoreLine], float, float]:
        lines: list[ScoreLine] = []
        fit = behaviour = 0.0
        for rule in self.spec.scoring.rules:
            if self._when[f"score.{rule.id}"](facts):
                lines.append(ScoreLine(rule_id=rule.id, points=rule.points, kind=rule.kind))
                if rule.kind == "fit":
                    fit += rule.points
                else:
                    behaviour += rule.points
        ages: dict[str, list[int]] = {}
        for event in lead.events:
            ages.setdefault(event.type, []).append((now - event.at).days)
        for kind, cfg in self.spec.scoring.events.items():
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
        decay = self.spec.scoring.decay
        idle = facts["days_since_last_activity"]
        if decay and behaviour > 0 and idle is not None and idle > decay.after_days:
            months = (idle - decay.after_days) / 30
            lost = min(behaviour, behaviour * decay.percent_per_month / 100 * months)
            behaviour -= lost
            lines.append(ScoreLine(rule_id="decay", points=-round(lost, 2), kind="decay",
                                   detail=f"{idle:.0f} days inactive"))
        return lines, fit, behaviour

    def _route(self, lead: Lead, facts: Facts, ctx: DecisionContext, state: RotationState) -> _Route:
        routing = self.spec.routing
        current = facts["owner"]
        # A lead parked in one of our queues is not owned: it is waiting to be routed.
        if routing.never_reassign_owned and current and current not in self._queue_names:
            return _Route(owner=current, method="kept_existing_owner", reason="already owned in the CRM")
        pinned = ctx.pinned_owners.get(lead.lead_key)
        if pinned:
            return _Route(owner=pinned, method="kept_previous_assignment",
                          reason="assigned by an earlier attempt of this run")
        skipped: list[SkippedRep] = []
        for rule in routing.rules:
            if not self._when[f"route.{rule.id}"](facts):
                continue
            route = self._assign(rule.assign, rule.id, facts, ctx, state, skipped)
            if route is not None:
                if route.owner:
                    state.count(route.owner)
                return route
            break  # the matching rule could not place the lead: first match wins, so go to the default
        route = self._assign(routing.default, None, facts, ctx, state, skipped) or _Route(
            queue=routing.default.queue, method="default", reason="default route", skipped=skipped)
        route.method = "default" if route.method in {"owner", "queue"} else route.method
        route.reason = ("no routing rule matched; " if not skipped else "nobody could take it; ") + route.reason
        if route.owner:
            state.count(route.owner)
        return route

    def _assign(self, assign: Assign | str, rule_id: str | None, facts: Facts, ctx: DecisionContext,
                state: RotationState, skipped: list[SkippedRep]) -> _Route | None:
        routing = self.spec.routing
        if assign == "account_owner":
            owner = facts["account_owner"]
            if not owner:
                return None
            return _Route(owner=owner, rule_id=rule_id, method="account_owner", skipped=skipped,
                          reason=f"owner of the existing account {facts['email_domain']}")
        assert isinstance(assign, Assign)
        if assign.queue:
            return _Route(queue=assign.queue, rule_id=rule_id, method="queue", skipped=skipped,
                          reason=f"queue {assign.queue}")
        if assign.owner:
            owner = assign.owner.lower()
            why = unavailable_reason(owner, routing.reps.get(owner), ctx.now, None, state)
            if why:
                skipped.append(SkippedRep(owner=owner, reason=why))
                return None
            return _Route(owner=owner, rule_id=rule_id, method="owner", skipped=skipped, reason=f"named owner {owner}")
        team_name = assign.team or ""
        team = routing.teams[team_name]
        owner, team_skipped = pick_from_team(team_name, team, routing.reps, ctx.now, state)
        skipped.extend(team_skipped)
        if owner is None:
            return None
        return _Route(owner=owner, team=team_name, rule_id=rule_id, method=team.method, skipped=skipped,
                      reason=f"team {team_name} ({team.method.replace('_', ' ')})")

    def _nurture(self, facts: Facts, lead: Lead) -> tuple[list[str], list[str]]:
        add: list[str] = []
        remove: list[str] = []
        for rule in self.spec.nurture:
            allowed = not rule.requires_email_consent or lead.consent.email is not False
            if allowed and self._when[f"nurture.{rule.id}"](facts):
                add.append(rule.list)
            else:
                remove.append(rule.list)
        return sorted(set(add)), sorted(set(remove) - set(add))
