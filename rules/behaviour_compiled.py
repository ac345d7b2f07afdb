"""The compiled engine's behaviour scoring: one pass over a lead's events, the property conditions of
each event type generated as one Python function (rules.codegen), the rest table-driven.

rules.reference scores the same history rule by rule with the condition closures; the tests hold
the two to the same decisions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from connectors.records import Event, ScoreLine
from rules.behaviour import Tip, count_text, rule_detail, rule_total
from rules.codegen import RUNTIME, SourceBuilder
from rules.explain import line_text
from rules.models import BehaviourRule, RulesFile
from rules.trusted import SCORE_LINE_FIELDS, trusted

Classifier = Callable[[Event], list[int]]
_MEMO_LINES = 10_000  # score lines kept for reuse (a lead's line is often another's: same rule, count and days)
_LINE_FIELDS = frozenset(SCORE_LINE_FIELDS)


class EventSourceBuilder(SourceBuilder):
    """Conditions over one event's properties: a name reads `properties[name]`, `detail` the event's detail."""

    def fact(self, name: str) -> str:
        if name not in self.fact_vars:
            self.fact_vars[name] = f"f{len(self.fact_vars)}"
        return self.fact_vars[name]

    def _load(self, name: str) -> str:
        return "event.detail" if name == "detail" else f"props.get({self.const(name)})"


def _classifier(spec: RulesFile, rules: Sequence[tuple[int, BehaviourRule]]) -> Classifier:
    """One function for the conditional rules of one event type: the indices of those the event meets."""
    src = EventSourceBuilder(spec.lists, spec.offices)
    body = ["hits = []"]
    for index, rule in rules:
        body.append(f"if {src.condition(rule.when)}: hits.append({index})")
    head = ["props = event.properties", *src.fact_loads()]
    constants = ", ".join(src.constants)
    source = (f"def factory({constants}):\n    def classify(event):\n"
              + "".join(f"        {line}\n" for line in head + body) + "        return hits\n    return classify\n")
    namespace: dict[str, Any] = dict(RUNTIME)
    exec(compile(source, "<leadsync behaviour>", "exec"), namespace)  # noqa: S102 - source built by rules.codegen
    classify: Classifier = namespace["factory"](**src.constants)
    return classify


class BehaviourScorer:
    """Behaviour points of a lead's events, windowed, capped, with counts, dates and what tipped it."""

    def __init__(self, spec: RulesFile, rules: Sequence[BehaviourRule]) -> None:
        self.rules = list(rules)
        # (rule, count, first day, last day) -> points, score line, its part of the explanation
        self._lines: dict[tuple[int, int, int, int], tuple[float, ScoreLine, str]] = {}
        self._counts: dict[tuple[int, int], tuple[float, str]] = {}  # (rule, count) -> points, count_text
        # One fields set for every line made here: it holds every field already (as the Decisions' one does)
        self._fields_set = set(_LINE_FIELDS)
        self.windows = [timedelta(days=rule.window_days) for rule in rules]
        self.points = [rule.points for rule in rules]  # read per lead: a list read, not a pydantic attribute
        self.ids = [rule.id for rule in rules]
        self._cutoffs_at: tuple[datetime | None, list[datetime] | None] = (None, None)
        by_type: dict[str, tuple[list[int], list[tuple[int, BehaviourRule]]]] = {}
        for index, rule in enumerate(rules):
            for kind in rule.event_types():
                always, conditional = by_type.setdefault(kind, ([], []))
                if rule.when:
                    conditional.append((index, rule))
                else:
                    always.append(index)
        self.by_type: dict[str, tuple[tuple[int, ...], Classifier | None]] = {
            kind: (tuple(always), _classifier(spec, conditional) if conditional else None)
            for kind, (always, conditional) in by_type.items()}

    def _cutoffs(self, now: datetime) -> list[datetime] | None:
        """Per rule, the moment an event must be later than to count (`now - window`), worked out once per
        `now` (`add` reuses them while `now` is the same object); None when `now`'s zone has daylight saving
        time (then `now - window` is wall-clock arithmetic and the age `now - event.at` must be computed per
        event)."""
        zone = now.tzinfo
        cutoffs = [now - window for window in self.windows] if zone is None or zone.__class__ is timezone else None
        self._cutoffs_at = (now, cutoffs)
        return cutoffs

    def add(self, behaviour: float, events: Sequence[Event], now: datetime, score_lines: list[ScoreLine],
            parts: list[str]) -> tuple[float, datetime | None, Tip | None]:
        """(`behaviour` plus each rule's points, added in rule order; when the first counted event leaves
        its window; the tipping event). Appends one line and explanation part per rule that counted."""
        if not events:
            return behaviour, None, None
        by_type, windows = self.by_type, self.windows
        known = self._cutoffs_at
        cutoffs = known[1] if known[0] is now else self._cutoffs(now)
        # rule index -> [count, first counted event, its time, last counted event, its time]
        counted: dict[int, list[Any]] = {}
        for event in events:
            fields = event.__dict__  # a pydantic model's attribute read costs twice a dict read
            found = by_type.get(fields["type"])
            if found is None:
                continue
            always, classify = found
            at = fields["at"]
            for index in (always if classify is None else (*always, *classify(event))):
                # at > now - window, i.e. now - at < window (the age check, without a timedelta per event)
                if at > cutoffs[index] if cutoffs is not None else now - at < windows[index]:
                    tally = counted.get(index)
                    if tally is None:
                        counted[index] = [1, event, at, event, at]
                    else:
                        tally[0] += 1
                        if at < tally[2]:
                            tally[1], tally[2] = event, at
                        if at > tally[4]:
                            tally[3], tally[4] = event, at
        if not counted:
            return behaviour, None, None
        expiry: datetime | None = None
        tip: Tip | None = None
        tip_at: datetime | None = None
        tip_points = 0.0
        made_lines, points_of, ids = self._lines, self.points, self.ids
        add_line, add_part = score_lines.append, parts.append
        for index, (count, _, first_at, last, last_at) in (sorted(counted.items()) if len(counted) > 1
                                                            else counted.items()):
            # A line is its rule, count and the days of its first and last event: leads share them (ScoreLine
            # objects are values, shared as the fit lines are) and each is made, text and all, once.
            key = (index, count, first_at.toordinal(), last_at.toordinal())
            made = made_lines.get(key)
            if made is None:
                made = self._make_line(key, first_at, last_at)
            points, line, text = made
            behaviour += points
            add_line(line)
            add_part(text)
            leaves = first_at + windows[index]
            if expiry is None or leaves < expiry:
                expiry = leaves
            each = points_of[index]
            if each > 0 and (tip_at is None or last_at > tip_at or (last_at == tip_at and each > tip_points)):
                tip, tip_at, tip_points = (ids[index], last), last_at, each
        return behaviour, expiry, tip

    def _make_line(self, key: tuple[int, int, int, int], first_at: datetime,
                   last_at: datetime) -> tuple[float, ScoreLine, str]:
        """The points, score line and explanation part of rule `key[0]` counting `key[1]` events, remembered."""
        index, count = key[0], key[1]
        rule = self.rules[index]
        counted_as = self._counts.get((index, count))
        if counted_as is None:  # the points and '3 x 10, capped at 25' of a count: formatting is dear
            total = rule_total(rule, count)
            if len(self._counts) >= _MEMO_LINES:
                self._counts.clear()
            counted_as = self._counts[(index, count)] = (total, count_text(rule, count, total))
        points = counted_as[0]
        detail = rule_detail(counted_as[1], first_at, last_at)
        line = trusted(ScoreLine, {"rule_id": rule.id, "points": points, "kind": "behaviour", "detail": detail},
                       self._fields_set)
        if len(self._lines) >= _MEMO_LINES:
            self._lines.clear()
        made = self._lines[key] = (points, line, line_text(rule.id, points, detail))
        return made
