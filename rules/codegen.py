"""Turn validated conditions into Python expression text, for the compiled evaluator.

Safety: only text this module writes itself goes into the source: operators from the closed
vocabulary, local names it numbers (`f0`, `k3`) and Lead attribute names from a fixed set.
Every value from the YAML (strings, numbers, lists, regexes) is a constant passed in the
function's namespace, never written into the source. Conditions reach this module only after
`compile_condition` accepted them, so their shape is already checked.

The expressions mirror `rules.conditions` operator by operator (including case folding and
which values count as numbers), so compiled and interpreted decisions are identical;
`tests/rules/test_compiled.py` checks that on generated leads.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from operator import attrgetter
from typing import Any

from rules.conditions import _fold, miles_between, within_miles_target
from rules.facts import _EVENT_FIELD, ATTRIBUTION_FIELDS, CONSENT_FIELDS, LEAD_FIELDS, location_of
from rules.models import Office

# Facts the engine computes while deciding; before their stage they read as None, as in Facts.
STAGE_FACTS = ("qualification", "score", "fit_score", "behaviour_score", "grade", "mql")
_EMPTY: tuple[Any, ...] = (None, "", [])


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class MatchMemo(dict[str, bool]):
    """What one `matches` regex answered for the text values it saw. Titles, sources, page paths repeat from
    lead to lead, and a dict read costs a fraction of a regex search. Bounded: cleared when full; once filled
    three times (values that hardly repeat, such as e-mail addresses) it keeps what it has and stores no more."""

    size = 4096
    clears = 0


def remember_match(memo: MatchMemo, pattern: re.Pattern[str], value: Any) -> bool:
    """pattern.search(str(value)) is not None, remembered for a text value."""
    if value.__class__ is not str:
        return pattern.search(str(value)) is not None
    found = pattern.search(value) is not None
    if len(memo) >= memo.size:
        if memo.clears >= 2:  # filled three times over: the values hardly repeat, keep what it has
            return found
        memo.clear()
        memo.clears += 1
    memo[value] = found
    return found


RUNTIME: dict[str, Any] = {"_fold": _fold, "_EMPTY": _EMPTY, "_is_number": _is_number,
                           "_event_type": attrgetter("type"),
                           "miles_between": miles_between, "location_of": location_of,
                           "remember_match": remember_match}


class SourceBuilder:
    """Collects the constants and fact variables that emitted expressions refer to."""

    def __init__(self, lists: Mapping[str, list[str]], offices: Mapping[str, Office] | None = None) -> None:
        self.lists = lists
        self.offices = offices or {}
        self.constants: dict[str, Any] = {}
        self.fact_vars: dict[str, str] = {}
        self.views: dict[str, str] = {}  # per-lead derived values of a fact, e.g. f0_cf -> its case-folded form
        self.prelude: dict[str, str] = {}  # per-lead values facts are read from, e.g. the lead's event types
        self.counts: set[str] = set()  # the variables of event counts

    def const(self, value: Any) -> str:
        name = f"k{len(self.constants)}"
        self.constants[name] = value
        return name

    def fact(self, name: str) -> str:
        if name in STAGE_FACTS:
            return name
        if name not in self.fact_vars:
            self.fact_vars[name] = f"f{len(self.fact_vars)}"
            if _EVENT_FIELD.match(name):  # an event count: always an int (see _load)
                self.counts.add(self.fact_vars[name])
        return self.fact_vars[name]

    def fact_loads(self) -> list[str]:
        """One assignment per fact the conditions read, computed once per lead."""
        loads = [f"{var} = {self._load(name)}" for name, var in self.fact_vars.items()]
        prelude = [f"{name} = {expression}" for name, expression in self.prelude.items()]
        return prelude + loads + [f"{view} = {expression}" for view, expression in self.views.items()]

    def _load(self, name: str) -> str:
        # `fields` is the lead's __dict__: a pydantic model's attribute read costs twice a dict read
        if name in LEAD_FIELDS and name.isidentifier():
            return f"fields[{name!r}]"
        if name == "email_domain":
            return "domain"  # the engine works it out once per lead and passes it in
        if name in CONSENT_FIELDS or name in ATTRIBUTION_FIELDS:
            group, attribute = name.split(".", 1)  # names from a fixed set, each a field of Consent/Attribution
            return f"fields[{group!r}].{attribute}"
        if name.startswith("custom."):
            return f"fields['custom'].get({self.const(name.split('.', 1)[1])})"
        if name == "days_since_last_activity":
            return "days_idle(events, now, profile)"
        if name == "location":
            return "location_of(lead)"
        if name in {"account_owner", "owner"}:
            return name
        match = _EVENT_FIELD.match(name)
        if match:
            kind = self.const(match.group(1))
            if match.group(2):
                return f"count_events(events, {kind}, {self.const(int(match.group(2)) * 86400)}, now, profile)"
            # count_events(events, kind, None, now, profile) inline, the types listed once for every such fact
            self.prelude["event_types"] = "list(map(_event_type, events)) if events else ()"  # no frame per lead
            return (f"(event_types.count({kind}) + (0 if profile is None else "
                    f"profile.compacted_event_counts.get({kind}, 0)))")
        return "None"

    # conditions ----------------------------------------------------------------------------------
    def condition(self, cond: Any) -> str:
        if cond is None or cond == {}:
            return "True"
        (key, body), = cond.items()
        if key in {"all", "any"}:
            joiner = " and " if key == "all" else " or "
            return "(" + joiner.join(self.condition(c) for c in body) + ")"
        if key == "not":
            return f"(not {self.condition(body)})"
        var = self.fact(key)
        cs = bool(body.get("case_sensitive", False))
        checks = [self._operator(op, arg, var, cs) for op, arg in body.items() if op != "case_sensitive"]
        return "(" + " and ".join(checks) + ")" if checks else "True"  # no operator: holds, as all([]) does

    def _folded(self, var: str, cs: bool) -> str:
        # _fold leaves a str alone when case matters and case-folds it otherwise; others go through _fold.
        exact = var if cs else f"{var}.casefold()"
        folded = f"({exact} if {var}.__class__ is str else None if {var} is None else _fold({var}, {cs}))"
        return self._view(var, "cf", folded, not cs)

    def _view(self, var: str, suffix: str, expression: str, wanted: bool = True) -> str:
        """`expression` of a fact, worked out once per lead when the fact is read from the lead (it cannot
        raise), else inline (stage facts such as score change while deciding)."""
        if not wanted or var in STAGE_FACTS:
            return expression
        self.views[f"{var}_{suffix}"] = expression
        return f"{var}_{suffix}"

    def _operator(self, op: str, arg: Any, var: str, cs: bool) -> str:
        if op == "within_miles":
            place, miles = within_miles_target(arg, [], self.offices)
            return f"({var} is not None and miles_between({var}, {self.const(place)}) <= {self.const(miles)})"
        if op == "exists":
            return f"({var} not in _EMPTY)" if arg else f"({var} in _EMPTY)"
        if op in {"equals", "not_equals"}:
            target = _fold(arg, cs)
            if isinstance(target, str):
                same = f"({self._folded(var, cs)} == {self.const(target)})"
            elif target is None or isinstance(target, bool | int | float):
                # A scalar target never equals a folded str or list, nor the unfolded one.
                same = f"({var} == {self.const(target)})"
            else:
                same = f"(_fold({var}, {cs}) == {self.const(target)})"
            return same if op == "equals" else f"(not {same})"
        if op in {"in", "not_in", "in_list"}:
            values = self.lists[arg] if op == "in_list" else arg
            members = self.const(frozenset(_fold(values, cs)))
            inside = f"({var} is not None and {self._folded(var, cs)} in {members})"
            return f"(not {inside})" if op == "not_in" else inside
        if op == "matches":
            pattern = self.const(re.compile(str(arg), 0 if cs else re.IGNORECASE))
            if var in STAGE_FACTS:
                text = f"({var} if {var}.__class__ is str else str({var}))"
                return f"({var} is not None and {pattern}.search({text}) is not None)"
            memo = self.const(MatchMemo())
            known = self._view(var, memo, f"({memo}.get({var}) if {var}.__class__ is str else None)")
            searched = f"remember_match({memo}, {pattern}, {var})"
            return f"({var} is not None and ({known} if {known} is not None else {searched}))"
        if op in {"gt", "gte", "lt", "lte"}:
            symbol = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}[op]
            return f"({self._numeric(var)} and {var} {symbol} {self.const(float(arg))})"
        if op == "between":
            low, high = self.const(float(arg[0])), self.const(float(arg[1]))
            return f"({self._numeric(var)} and {low} <= {var} <= {high})"
        needle = self.const(_fold(str(arg), cs))
        if op == "contains":
            return (f"({var} is not None and ({needle} in _fold({var}, {cs}) if isinstance({var}, list) "
                    f"else {needle} in _fold(str({var}), {cs})))")
        if op in {"starts_with", "ends_with"}:
            text = f"str({var})" if cs else f"str({var}).casefold()"
            method = "startswith" if op == "starts_with" else "endswith"
            return f"({var} is not None and {text}.{method}({needle}))"
        raise ValueError(f"operator {op!r} was not validated")  # compile_condition rejects it first

    def _numeric(self, var: str) -> str:
        if var in self.counts:
            return "True"
        # The common int/float cases by class; anything else (subclasses, bool) as rules.conditions decides.
        return self._view(var, "num", f"({var}.__class__ is int or {var}.__class__ is float or _is_number({var}))")
