"""The compiled ruleset: qualify -> score -> route -> nurture -> status, with an explanation.

Pure: no I/O, no clock (the caller passes `now`), no Prefect. The ruleset is compiled once, when
it is built, into one generated function per ruleset (rules.compiled); deciding a lead calls it,
then routes with the rotation state and fills the Decision. rules.reference decides the same
batch by interpreting the conditions, as the yardstick the tests hold the compiled path to.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from connectors.records import CrmRecord, Decision, Lead, ProfileState, SkippedRep
from rules.assign import KEPT_METHODS, PinnedRoute, Route, Router
from rules.behaviour import behaviour_rules
from rules.compiled import Evaluator, build_evaluator, lead_conditions, time_facts
from rules.conditions import Predicate, referenced_fields
from rules.explain import LOCATION_UNPLACED, explain, notes_text, route_text
from rules.facts import location_of
from rules.models import Assign, RulesFile
from rules.routing import RotationState, round_robin_turn
from rules.trusted import DECISION_FIELDS, set_extra, set_fields_set, set_private


@dataclass(frozen=True)
class DecisionContext:
    now: datetime
    crm: Mapping[str, CrmRecord] = field(default_factory=dict)
    account_owners: Mapping[str, str] = field(default_factory=dict)
    rotation: RotationState = field(default_factory=RotationState)
    pinned_owners: Mapping[str, str | PinnedRoute] = field(default_factory=dict)
    """Routes earlier, interrupted attempts gave leads (by lead key): reused, no new turn taken."""
    profiles: Mapping[str, ProfileState] = field(default_factory=dict)
    """Each lead's past (stage, mql_at, owner, worked) by lead key, for stage transitions."""


@dataclass(frozen=True)
class RotationEntry:
    lead_key: str
    team: str | None
    owner: str | None
    method: str
    skipped: list[SkippedRep]
    at: datetime
    rule_id: str | None = None
    reason: str = ""


DecideOne = Callable[[Lead, "DecisionContext", RotationState], tuple[Decision, Route]]


@dataclass
class BatchDecision:
    decisions: list[Decision]
    rotation: RotationState
    assignments: list[RotationEntry]


class Ruleset:
    """A rules file compiled once; `decide` is called per batch."""

    def __init__(self, spec: RulesFile, version: str, predicates: Mapping[str, Predicate]) -> None:
        self.spec = spec
        self.version = version
        self.predicates = predicates
        """The conditions as closures (`disqualify.<id>`, `score.<id>`...), for the interpreted reference."""
        self.router = Router(spec.routing, frozenset(self.queues()))
        self._evaluate: Evaluator | None = None
        self.source: str | None = None
        """The generated evaluator's Python source (None when the ruleset is interpreted, see below)."""
        # Conditions nested deeper (~200 levels) than Python's parser takes as one expression are
        # still valid rules: the interpreted reference decides them instead.
        with contextlib.suppress(SyntaxError, RecursionError):
            self._evaluate, self.source = build_evaluator(spec, version)
        self.uses_location = any("location" in referenced_fields(c) for c in lead_conditions(spec))
        """Whether a rule looks at the lead's coordinates (then an unplaced lead gets a note)."""
        # Decision(...) then `.explanation = ...` sets every field. One set for every decision: it holds every
        # field already, so pydantic's add on assignment changes nothing, and copies get their own (a 28-name
        # set per decision cost more memory than the rest of it, and a garbage-collector pass each).
        self._fields_set = set(DECISION_FIELDS)

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

    def referenced_fields(self) -> set[str]:
        """Every field any rule's condition looks at."""
        return set().union(*(referenced_fields(c) for c in lead_conditions(self.spec)))

    def needs_account_owners(self) -> bool:
        """Whether any rule looks at account owners (if none does, the sink is not asked for them)."""
        return any(r.assign == "account_owner" for r in self.spec.routing.rules) or \
            "account_owner" in self.referenced_fields()

    def history_days(self) -> int:
        """How many days of a person's events the rules read: events older than `now - history_days()` may
        be compacted into counts per type (ProfileState.compacted_event_counts, which the unwindowed
        `events.<type>` facts add in) without changing any decision. 0: the rules read no event history."""
        days = [rule.window_days for rule in behaviour_rules(self.spec.scoring)]
        windows, _ = time_facts(self.spec)
        days += [seconds // 86400 + 1 for _, seconds in windows]  # `within_Nd` counts an event N days old
        return max(days, default=0)

    def explain(self, decision: Decision, lead: Lead) -> str:
        """The decision's paragraph (what `decide` wrote into `decision.explanation`)."""
        notes = (LOCATION_UNPLACED,) if self.uses_location and location_of(lead) is None else ()
        return explain(decision, self.spec.scoring.mql_threshold, notes)

    def lists(self) -> list[str]:
        return sorted({n.list for n in self.spec.nurture})

    def status_values(self) -> list[str]:
        s = self.spec.statuses
        return sorted({v for v in (s.new, s.mql, s.unqualified, s.disqualified, s.nurture) if v})

    # deciding ------------------------------------------------------------------------------------
    def decide(self, leads: Sequence[Lead], ctx: DecisionContext) -> BatchDecision:
        """Decide a batch with the compiled evaluator; the rotation state in `ctx` is not modified.

        Each Decision and its lists are new; the ScoreLine objects in `score_lines` and the `transition` are
        shared between decisions with the same line or move (they are values made once: do not mutate them)."""
        evaluate = self._evaluate
        if evaluate is None:
            from rules.reference import decide_interpreted  # a local import: rules.reference imports this module

            return decide_interpreted(self, leads, ctx)
        state = ctx.rotation.model_copy(deep=True)
        state.roll_day(ctx.now)
        now, crm, account_owners, pinned = ctx.now, ctx.crm, ctx.account_owners, ctx.pinned_owners
        keep, place, fixed_routes = self.router.keep, self.router.place, self.router.fixed
        today = state.assigned_today  # the daily counts (roll_day above replaced them, nothing does below)
        uses_location, profiles = self.uses_location, ctx.profiles
        fields_set = self._fields_set
        new_decision, new_entry, set_slot = Decision.__new__, RotationEntry.__new__, object.__setattr__
        decisions: list[Decision] = []
        entries: list[RotationEntry] = []
        for lead in leads:
            fields = lead.__dict__  # a pydantic model's attribute read costs twice a dict read
            key = fields["lead_key"]
            existing = crm.get(key) if crm else None
            email = fields["email"]
            domain = email[email.rfind("@") + 1:] if email and "@" in email else None  # lead.email_domain
            account_owner = (existing.account_owner if existing else None) or (account_owners.get(domain)
                                                                                if domain and account_owners else None)
            current = existing.owner if existing else None
            kept = keep(current, key, pinned) if current or pinned else None  # neither: nothing to keep
            values, summary, closing, first_match = evaluate(lead, now, domain, account_owner, current, kept is None,
                                                             profiles.get(key) if profiles else None)
            if uses_location and location_of(lead) is None:
                summary += notes_text((LOCATION_UNPLACED,))
            fixed = fixed_routes[first_match] if kept is None else None
            if fixed is not None:
                # An assignment that cannot fail: what `place` gives, its fields and sentence made in advance.
                turn = fixed.turn
                owner = fixed.owner if turn is None else round_robin_turn(turn[0], turn[1], state)
                if owner:
                    today[owner] = today.get(owner, 0) + 1
                route_fields, sentence, entry_fields = fixed.made[owner]
                values.update(route_fields)
                skipped: list[SkippedRep] = []
                values["skipped"] = skipped
                values["explanation"] = f"{summary}{sentence}{closing}"  # one copy of the text, not two
                entry: dict[str, Any] | None = {"lead_key": key, "skipped": skipped, "at": now, **entry_fields}
            else:
                route = kept or place(first_match, account_owner, domain, now, state)
                values["owner"] = route.owner
                values["queue"] = route.queue
                values["team"] = route.team
                values["routing_rule_id"] = route.rule_id
                values["routing_method"] = route.method
                values["routing_reason"] = route.reason
                values["skipped"] = route.skipped
                values["explanation"] = summary + route_text(route.owner, route.queue, route.rule_id, route.method,
                                                             route.reason, route.skipped) + closing
                entry = None if route.kept or route.method in KEPT_METHODS else _entry_fields(key, route, now)
            # trusted(Decision, values, fields_set), inline: the four slots pydantic reads, filled directly
            decision = new_decision(Decision)
            set_slot(decision, "__dict__", values)
            set_fields_set(decision, fields_set)
            set_extra(decision, None)
            set_private(decision, None)
            decisions.append(decision)
            if entry is not None:
                # A frozen dataclass's __init__ sets each field through object.__setattr__, slower than deciding
                # the lead's routing; its instance dict is filled in one step instead.
                rotation_entry = new_entry(RotationEntry)
                set_slot(rotation_entry, "__dict__", entry)
                entries.append(rotation_entry)
        return BatchDecision(decisions=decisions, rotation=state, assignments=entries)

    def decide_with(self, decide_one: DecideOne, leads: Sequence[Lead], ctx: DecisionContext) -> BatchDecision:
        """`decide` with another per-lead strategy (the interpreted one in rules.reference)."""
        state = ctx.rotation.model_copy(deep=True)
        state.roll_day(ctx.now)
        decisions: list[Decision] = []
        entries: list[RotationEntry] = []
        for lead in leads:
            decision, route = decide_one(lead, ctx, state)
            decisions.append(decision)
            if not route.kept and route.method not in KEPT_METHODS:
                entries.append(RotationEntry(lead.lead_key, route.team, route.owner or route.queue, route.method,
                                             route.skipped, ctx.now, route.rule_id, route.reason))
        return BatchDecision(decisions=decisions, rotation=state, assignments=entries)


def _entry_fields(lead_key: str, route: Route, now: datetime) -> dict[str, Any]:
    """A RotationEntry's fields for `route` (what the reference path compares to)."""
    return {"lead_key": lead_key, "team": route.team, "owner": route.owner or route.queue, "method": route.method,
            "skipped": route.skipped, "at": now, "rule_id": route.rule_id, "reason": route.reason}
