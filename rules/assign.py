"""Placing a lead once its first matching routing rule is known: keep, assign, or fall to the default.

Shared by the compiled engine and the interpreted reference, so both route identically; the
only difference between them is how they find the first matching rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from connectors.records import SkippedRep
from rules.explain import route_text
from rules.models import Assign, Routing
from rules.routing import RotationState, pick_from_team, round_robin_turn, unavailable_reason

KEPT_METHODS = frozenset({"kept_existing_owner", "kept_previous_assignment"})
EARLIER_ATTEMPT = "assigned by an earlier attempt of this run"


@dataclass(frozen=True, slots=True)
class PinnedRoute:
    """The route an earlier, interrupted attempt gave a lead: its turn is taken, so it is reused as it was.

    Only the owner is needed to keep the lead in place; the rest lets the explanation still name
    the routing rule and reason that placed it (rows written before these were kept have only the owner).
    """

    owner: str
    team: str | None = None
    rule_id: str | None = None
    method: str = "kept_previous_assignment"
    reason: str = EARLIER_ATTEMPT
    skipped: tuple[SkippedRep, ...] = ()


@dataclass(slots=True)
class Route:
    owner: str | None = None
    queue: str | None = None
    team: str | None = None
    rule_id: str | None = None
    method: str = "default"
    reason: str = ""
    skipped: list[SkippedRep] = field(default_factory=list)
    kept: bool = False  # the lead stays where it is (CRM owner or an earlier attempt): no new turn taken


@dataclass(frozen=True, slots=True)
class FixedRoute:
    """An assignment that cannot fail (see `Router._sure_route`), made ready when the ruleset is built: per owner
    it can give, the Decision's routing fields, the explanation's routing sentence and the rotation entry's fields
    (all but the lead key, the time and the skipped list, which are the lead's own)."""

    turn: tuple[str, tuple[str, ...]] | None  # a plain round-robin team and its members: the owner is its next turn
    owner: str | None  # the owner it always gives when `turn` is None (None: a queue)
    made: dict[str | None, tuple[dict[str, Any], str, dict[str, Any]]]


class Router:
    """The routing section of one ruleset, with what can be worked out once."""

    def __init__(self, routing: Routing, queue_names: frozenset[str]) -> None:
        self.routing = routing
        self.queue_names = queue_names
        self.weights = {name: team.weights() for name, team in routing.teams.items()}
        # Round-robin teams without a cap whose members have no availability: every member always eligible.
        self.plain_teams = {name: tuple(weights) for name, weights in self.weights.items()
                            if routing.teams[name].method == "round_robin" and routing.teams[name].capacity_per_day
                            is None and not any(rep in routing.reps for rep in weights)}
        self._rules = [self._plan(rule.assign, rule.id) for rule in routing.rules]
        self._default = self._plan(routing.default, None)
        self._sure = [self._sure_route(plan) for plan in self._rules]
        # Per routing rule, then the default last (so that index -1, no rule matched, reads it): the ready-made
        # route, or None where `place` must decide.
        self.fixed: list[FixedRoute | None] = [None if sure is None else self._fixed(sure, False)
                                               for sure in self._sure]
        default_sure = self._sure_route(self._default)
        self.fixed.append(None if default_sure is None else self._fixed(default_sure, True))

    def _fixed(self, sure: tuple[str, str | None, str, str, tuple[str, ...] | None], default: bool) -> FixedRoute:
        """The fields `place` gives for a sure assignment (as the rule's, or as the default route)."""
        kind, rule_id, target, reason, members = sure
        method = {"queue": "queue", "owner": "owner"}.get(kind, "round_robin")
        if default:  # what `place` makes of the default's route
            method = "default" if method in {"owner", "queue"} else method
            reason = "no routing rule matched; " + reason
        queue = target if kind == "queue" else None
        team = target if kind == "team" else None
        made: dict[str | None, tuple[dict[str, Any], str, dict[str, Any]]] = {}
        for owner in members or [None if kind == "queue" else target]:
            fields = {"owner": owner, "queue": queue, "team": team, "routing_rule_id": rule_id,
                      "routing_method": method, "routing_reason": reason}
            entry = {"team": team, "owner": owner or queue, "method": method, "rule_id": rule_id, "reason": reason}
            made[owner] = (fields, route_text(owner, queue, rule_id, method, reason, ()), entry)
        return FixedRoute(None if members is None else (target, members), None if kind == "queue" else target, made)

    def _sure_route(self, plan: _Plan) -> tuple[str, str | None, str, str, tuple[str, ...] | None] | None:
        """(kind, rule id, target, reason, members) for a rule whose assignment always succeeds: a queue, an owner
        without availability settings, a plain round-robin team; None for the others (`_assign` decides)."""
        kind, rule_id, target, reason = plan
        if kind == "queue" or (kind == "owner" and target not in self.routing.reps):
            return kind, rule_id, target, reason, None
        if kind == "team" and target in self.plain_teams:
            return kind, rule_id, target, reason, self.plain_teams[target]
        return None

    def _plan(self, assign: Assign | str, rule_id: str | None) -> _Plan:
        """What an assignment needs per lead, with its owner lower-cased and its reason written once."""
        if not isinstance(assign, Assign):
            return _Plan(assign, rule_id, "", "")
        if assign.queue:
            return _Plan("queue", rule_id, assign.queue, f"queue {assign.queue}")
        if assign.owner:
            owner = assign.owner.lower()
            return _Plan("owner", rule_id, owner, f"named owner {owner}")
        team = assign.team or ""
        return _Plan("team", rule_id, team, f"team {team} ({self.routing.teams[team].method.replace('_', ' ')})")

    def keep(self, current: str | None, lead_key: str,
             pinned_owners: Mapping[str, str | PinnedRoute]) -> Route | None:
        """The route that leaves the lead where it is, or None when it must be routed."""
        pinned = pinned_owners.get(lead_key)
        if isinstance(pinned, str):
            pinned = PinnedRoute(owner=pinned) if pinned else None
        # A lead parked in one of our queues is not owned: it is waiting to be routed.
        owned = self.routing.never_reassign_owned and current and current not in self.queue_names
        # Owned by the very owner an earlier attempt gave it (a crash after the CRM write): that attempt's
        # rule and reason still explain the route better than "already owned".
        if owned and (pinned is None or pinned.owner.lower() != str(current).lower()):
            return Route(owner=current, method="kept_existing_owner", reason="already owned in the CRM", kept=True)
        if pinned is None:
            return None
        # The ledger holds a queue route's queue in its owner column.
        owner, queue = (None, pinned.owner) if pinned.owner in self.queue_names else (pinned.owner, None)
        return Route(owner=owner, queue=queue, team=pinned.team, rule_id=pinned.rule_id, method=pinned.method,
                     reason=pinned.reason, skipped=list(pinned.skipped), kept=True)

    def place(self, first_match: int, account_owner: str | None, domain: str | None, now: datetime,
              state: RotationState) -> Route:
        """Assign by the first matching rule (index, or -1 for none); first match wins, then the default."""
        if first_match >= 0 and (sure := self._sure[first_match]) is not None:
            # What _assign and the count below do for an assignment that cannot fail, without their calls.
            kind, rule_id, target, reason, members = sure
            if kind == "queue":
                return Route(None, target, None, rule_id, "queue", reason, [])
            if members is None:
                owner, team, method = target, None, "owner"
            else:
                owner, team, method = round_robin_turn(target, members, state), target, "round_robin"
            if owner:
                today = state.assigned_today
                today[owner] = today.get(owner, 0) + 1
            return Route(owner, None, team, rule_id, method, reason, [])
        routing = self.routing
        skipped: list[SkippedRep] = []
        if first_match >= 0:
            route = self._assign(self._rules[first_match], account_owner, domain, now, state, skipped)
            if route is not None:
                if route.owner:
                    state.count(route.owner)
                return route
        route = self._assign(self._default, account_owner, domain, now, state, skipped) or Route(
            queue=routing.default.queue, method="default", reason="default route", skipped=skipped)
        route.method = "default" if route.method in {"owner", "queue"} else route.method
        route.reason = ("no routing rule matched; " if not skipped else "nobody could take it; ") + route.reason
        if route.owner:
            state.count(route.owner)
        return route

    def _assign(self, plan: _Plan, account_owner: str | None, domain: str | None, now: datetime,
                state: RotationState, skipped: list[SkippedRep]) -> Route | None:
        kind, rule_id, target, reason = plan
        if kind == "queue":
            return Route(queue=target, rule_id=rule_id, method="queue", skipped=skipped, reason=reason)
        if kind == "account_owner":
            if not account_owner:
                return None
            return Route(owner=account_owner, rule_id=rule_id, method="account_owner", skipped=skipped,
                         reason=f"owner of the existing account {domain}")
        if kind == "team":
            members = self.plain_teams.get(target)
            if members is not None:
                return Route(round_robin_turn(target, members, state), None, target, rule_id, "round_robin", reason,
                             skipped)
        routing = self.routing
        if kind == "owner":
            availability = routing.reps.get(target)  # none and no cap: available, as unavailable_reason says
            why = unavailable_reason(target, availability, now, None, state) if availability is not None else None
            if why:
                skipped.append(SkippedRep(owner=target, reason=why))
                return None
            return Route(owner=target, rule_id=rule_id, method="owner", skipped=skipped, reason=reason)
        team = routing.teams[target]
        chosen, team_skipped = pick_from_team(target, team, routing.reps, now, state, self.weights[target])
        skipped.extend(team_skipped)
        if chosen is None:
            return None
        return Route(owner=chosen, team=target, rule_id=rule_id, method=team.method, skipped=skipped, reason=reason)


class _Plan(NamedTuple):
    kind: str  # account_owner, queue, owner or team
    rule_id: str | None
    target: str  # the queue, the lower-cased owner or the team name
    reason: str
