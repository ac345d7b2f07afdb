"""Compile conditions from the closed operator vocabulary into plain Python callables, once.

No eval, no templates: each operator is a small function chosen here; values are checked and
prepared (lower-cased, regexes compiled, lists turned into sets) at compile time.
String comparisons ignore case unless `case_sensitive: true` sits beside the operator.
These closures validate conditions (with YAML paths) and drive the interpreted reference
(rules.reference); the engine itself runs the same operators as generated code (rules.codegen).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from rules.facts import is_known_field
from rules.models import Office

Predicate = Callable[[Mapping[str, Any]], bool]
OPERATORS = ("equals", "not_equals", "in", "not_in", "in_list", "matches", "exists", "gt", "gte", "lt", "lte",
             "between", "contains", "starts_with", "ends_with", "within_miles")
COMBINATORS = ("all", "any", "not")
EARTH_RADIUS_MILES = 3958.7613  # mean radius (IUGG)


def miles_between(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance (haversine): a few lines of math, exact enough for 'within 100 miles'."""
    lat1, lon1, lat2, lon2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_MILES * math.asin(min(1.0, math.sqrt(h)))


def within_miles_target(arg: Any, path: Sequence[str | int], offices: Mapping[str, Office]) -> tuple[
        tuple[float, float], float]:
    """The office's coordinates and the distance of `within_miles: {of: <office>, miles: <n>}`, checked."""
    if not isinstance(arg, dict) or set(arg) != {"of", "miles"}:
        raise ConditionError(path, "within_miles takes {of: <office name>, miles: <number>}")
    office = offices.get(str(arg["of"]))
    if office is None:
        raise ConditionError(path, f"unknown office '{arg['of']}' (define it under offices:, "
                                   f"known: {', '.join(offices) or 'none'})")
    miles = _number(arg["miles"], path)
    if miles < 0:
        raise ConditionError(path, "miles cannot be negative")
    return (office.latitude, office.longitude), miles


class ConditionError(ValueError):
    def __init__(self, path: Sequence[str | int], message: str) -> None:
        super().__init__(message)
        self.path = list(path)


def _fold(value: Any, case_sensitive: bool) -> Any:
    if isinstance(value, str) and not case_sensitive:
        return value.casefold()
    if isinstance(value, list | tuple | set):
        return [_fold(v, case_sensitive) for v in value]
    return value


def _number(value: Any, path: Sequence[str | int]) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConditionError(path, "expects a number")
    return float(value)


def _compare(op: str, arg: Any, path: list[str | int], cs: bool, lists: Mapping[str, list[str]],
             offices: Mapping[str, Office]) -> Callable[[Any], bool]:
    if op == "within_miles":
        if path[-2] != "location":
            raise ConditionError(path, "within_miles applies to the field location (the lead's coordinates)")
        place, miles = within_miles_target(arg, path, offices)
        return lambda v: v is not None and miles_between(v, place) <= miles
    if op == "exists":
        if not isinstance(arg, bool):
            raise ConditionError(path, "exists takes true or false")
        return (lambda v: v not in (None, "", [])) if arg else (lambda v: v in (None, "", []))
    if op in {"equals", "not_equals"}:
        target = _fold(arg, cs)
        same: Callable[[Any], bool] = lambda v: _fold(v, cs) == target  # noqa: E731
        return same if op == "equals" else (lambda v: not same(v))
    if op in {"in", "not_in", "in_list"}:
        if op == "in_list":
            if arg not in lists:
                raise ConditionError(path, f"unknown list '{arg}' (define it under lists:)")
            arg = lists[arg]
        if not isinstance(arg, list):
            raise ConditionError(path, f"{op} takes a list")
        members = frozenset(_fold(arg, cs))
        inside: Callable[[Any], bool] = lambda v: v is not None and _fold(v, cs) in members  # noqa: E731
        return (lambda v: not inside(v)) if op == "not_in" else inside
    if op == "matches":
        try:
            pattern = re.compile(str(arg), 0 if cs else re.IGNORECASE)
        except re.error as exc:
            raise ConditionError(path, f"invalid regular expression: {exc}") from None
        return lambda v: v is not None and pattern.search(str(v)) is not None
    if op in {"gt", "gte", "lt", "lte"}:
        bound = _number(arg, path)
        check: Callable[[Any], bool] = {
            "gt": lambda v: v > bound, "gte": lambda v: v >= bound,
            "lt": lambda v: v < bound, "lte": lambda v: v <= bound}[op]
        return lambda v: isinstance(v, int | float) and not isinstance(v, bool) and check(v)
    if op == "between":
        if not isinstance(arg, list) or len(arg) != 2:
            raise ConditionError(path, "between takes [low, high]")
        low, high = _number(arg[0], path), _number(arg[1], path)
        if low > high:
            raise ConditionError(path, f"impossible range: {arg[0]} is above {arg[1]}")
        return lambda v: isinstance(v, int | float) and not isinstance(v, bool) and low <= v <= high
    if op in {"contains", "starts_with", "ends_with"}:
        needle = _fold(str(arg), cs)
        if op == "contains":
            return lambda v: v is not None and (needle in _fold(v, cs) if isinstance(v, list) else
                                                needle in _fold(str(v), cs))
        if op == "starts_with":
            return lambda v: v is not None and _fold(str(v), cs).startswith(needle)
        return lambda v: v is not None and _fold(str(v), cs).endswith(needle)
    raise ConditionError(path, f"unknown operator '{op}' (allowed: {', '.join(OPERATORS)})")


def compile_condition(cond: Any, path: list[str | int], lists: Mapping[str, list[str]],
                      offices: Mapping[str, Office] | None = None,
                      known: Callable[[str], bool] = is_known_field) -> Predicate:
    """Compile one condition; raise ConditionError with the YAML path of the first problem.

    `known` tells which field names exist (lead facts by default; event properties for behaviour rules)."""
    offices = offices or {}
    if cond is None or cond == {}:
        return lambda facts: True
    if not isinstance(cond, dict) or len(cond) != 1:
        raise ConditionError(path, "a condition has exactly one key: a field name, all, any or not")
    (key, body), = cond.items()
    here = [*path, key]
    if key in {"all", "any"}:
        if not isinstance(body, list) or not body:
            raise ConditionError(here, f"{key} takes a non-empty list of conditions")
        parts = [compile_condition(c, [*here, i], lists, offices, known) for i, c in enumerate(body)]
        if key == "all":
            return lambda facts: all(p(facts) for p in parts)
        return lambda facts: any(p(facts) for p in parts)
    if key == "not":
        inner = compile_condition(body, here, lists, offices, known)
        return lambda facts: not inner(facts)
    if not known(key):
        raise ConditionError(here, f"unknown field '{key}'")
    if not isinstance(body, dict) or not body:
        raise ConditionError(here, "give operators, e.g. {equals: value}")
    case_sensitive = bool(body.get("case_sensitive", False))
    checks = [_compare(op, arg, [*here, op], case_sensitive, lists, offices) for op, arg in body.items()
              if op != "case_sensitive"]
    _check_range(body, here)
    field = key
    if len(checks) == 1:
        only = checks[0]
        return lambda facts: only(facts[field])
    return lambda facts: all(c(facts[field]) for c in checks)


def _check_range(body: Mapping[str, Any], path: list[str | int]) -> None:
    low = body.get("gte", body.get("gt"))
    high = body.get("lte", body.get("lt"))
    if isinstance(low, int | float) and isinstance(high, int | float) and low > high:
        raise ConditionError(path, f"impossible range: nothing is >= {low} and <= {high}")


def referenced_fields(cond: Any) -> set[str]:
    if not isinstance(cond, dict):
        return set()
    fields: set[str] = set()
    for key, body in cond.items():
        if key in {"all", "any"} and isinstance(body, list):
            for c in body:
                fields |= referenced_fields(c)
        elif key == "not":
            fields |= referenced_fields(body)
        else:
            fields.add(key)
    return fields
