"""CRM search (POST /crm/v3/objects/{type}/search) as HubSpot documents it.

filterGroups are ORed, the filters inside a group ANDed; one sort; at most 200 results a page,
paging by `after`, and no paging past 10,000 results. Results come from the account's search
index, which lags writes by `faults.search_lag_seconds` (HubSpot's search is eventually consistent).
Search has its own per-second limit and its responses carry no X-HubSpot-RateLimit headers (server.py).
"""

from __future__ import annotations

import fnmatch
import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

from tests.emulators.hubspot.server import Request, error

if TYPE_CHECKING:
    from tests.emulators.hubspot.server import HubSpotEmulator

PAGE_MAX = 200
PAGE_DEFAULT = 10
RESULT_CAP = 10_000
MAX_GROUPS, MAX_FILTERS_PER_GROUP, MAX_FILTERS = 5, 6, 18
DEFAULT_PROPERTIES = {
    "contacts": ["createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname"],
    "companies": ["createdate", "domain", "hs_lastmodifieddate", "hs_object_id", "name"],
}
DATETIME_PROPERTIES = {"createdate", "lastmodifieddate", "hs_lastmodifieddate"}
OPERATORS = {"EQ", "NEQ", "LT", "LTE", "GT", "GTE", "BETWEEN", "IN", "NOT_IN", "HAS_PROPERTY", "NOT_HAS_PROPERTY",
             "CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"}


class SearchError(ValueError):
    """A request HubSpot answers with 400 VALIDATION_ERROR."""


def register(emu: HubSpotEmulator) -> None:
    acct = emu.account

    @emu.route("POST", "/crm/v3/objects/contacts/search", "contacts.search", search=True)
    def contacts(req: Request) -> tuple[int, Any]:
        return run(req.body or {}, acct.searchable(), "contacts")

    @emu.route("POST", "/crm/v3/objects/companies/search", "companies.search", search=True)
    def companies(req: Request) -> tuple[int, Any]:
        objects = {cid: {"properties": {**props, "hs_object_id": cid}, "createdAt": "2026-01-01T00:00:00Z",
                         "updatedAt": "2026-01-01T00:00:00Z"} for cid, props in acct.companies.items()}
        return run(req.body or {}, objects, "companies")


def run(body: dict[str, Any], objects: dict[str, dict[str, Any]], object_type: str) -> tuple[int, Any]:
    try:
        return 200, search(body, objects, object_type)
    except SearchError as exc:
        return 400, error(str(exc))


def search(body: dict[str, Any], objects: dict[str, dict[str, Any]], object_type: str) -> dict[str, Any]:
    groups = body.get("filterGroups") or []
    _check_limits(groups)
    limit = int(body.get("limit") or PAGE_DEFAULT)
    if not 0 < limit <= PAGE_MAX:
        raise SearchError(f"limit must be between 1 and {PAGE_MAX}, was {limit}")
    after = int(body.get("after") or 0)
    if after >= RESULT_CAP:
        raise SearchError(f"Paging past {RESULT_CAP} results is not supported; narrow the filters")
    query = str(body.get("query") or "").lower()
    matched = [(oid, obj) for oid, obj in objects.items()
               if (not groups or any(_group_matches(g, obj["properties"]) for g in groups))
               and (not query or _query_matches(query, obj["properties"]))]
    matched.sort(key=lambda item: int(item[0]))
    for sort in reversed(_sorts(body.get("sorts") or [])):  # stable sorts: the id order breaks ties
        name, descending = sort
        matched.sort(key=lambda item, n=name: _sort_key(n, item[1]["properties"].get(n)),  # type: ignore[misc]
                      reverse=descending)
    end = min(after + limit, RESULT_CAP, len(matched))
    wanted = body.get("properties") or DEFAULT_PROPERTIES[object_type]
    results = [_json(oid, obj, wanted) for oid, obj in matched[after:end]]
    page: dict[str, Any] = {"total": len(matched), "results": results}
    if end < min(len(matched), RESULT_CAP):
        page["paging"] = {"next": {"after": str(end), "link": "?after=" + str(end)}}
    return page


def _check_limits(groups: list[dict[str, Any]]) -> None:
    if len(groups) > MAX_GROUPS:
        raise SearchError(f"Too many filter groups ({len(groups)}); the limit is {MAX_GROUPS}")
    total = 0
    for group in groups:
        filters = group.get("filters") or []
        total += len(filters)
        if len(filters) > MAX_FILTERS_PER_GROUP:
            raise SearchError(f"Too many filters in a group ({len(filters)}); the limit is {MAX_FILTERS_PER_GROUP}")
        for flt in filters:
            if flt.get("operator") not in OPERATORS:
                raise SearchError(f"Unknown filter operator {flt.get('operator')!r}")
    if total > MAX_FILTERS:
        raise SearchError(f"Too many filters ({total}); the limit is {MAX_FILTERS}")


def _sorts(raw: list[Any]) -> list[tuple[str, bool]]:
    if len(raw) > 1:
        raise SearchError("Only one sort is supported")
    sorts = []
    for sort in raw:
        if isinstance(sort, str):
            sorts.append((sort.lstrip("-"), sort.startswith("-")))
        else:
            sorts.append((str(sort.get("propertyName")), str(sort.get("direction", "ASCENDING")) == "DESCENDING"))
    return sorts


def _sort_key(name: str, value: Any) -> tuple[int, Any]:
    if value in (None, ""):
        return (1, 0)  # missing values sort last
    parsed = _parse(name, value)
    return (0, parsed if not isinstance(parsed, str) else parsed.lower())


def _parse(name: str, value: Any) -> Any:
    """Datetimes compare as epoch milliseconds (HubSpot accepts either form), numbers as numbers."""
    text = str(value)
    if name in DATETIME_PROPERTIES:
        if text.lstrip("-").isdigit():
            return int(text)
        try:
            return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)
        except ValueError as exc:
            raise SearchError(f"{text!r} is not a valid date for {name}") from exc
    try:
        return float(text)
    except ValueError:
        return text.lower()


def _comparable(name: str, current: Any, wanted: Any) -> tuple[Any, Any]:
    left, right = _parse(name, current), _parse(name, wanted)
    if isinstance(left, str) != isinstance(right, str):
        return str(current).lower(), str(wanted).lower()
    return left, right


def _group_matches(group: dict[str, Any], props: dict[str, Any]) -> bool:
    return all(_filter_matches(flt, props) for flt in group.get("filters") or [])


def _filter_matches(flt: dict[str, Any], props: dict[str, Any]) -> bool:
    name, operator = str(flt.get("propertyName")), str(flt.get("operator"))
    current = props.get(name)
    has = current not in (None, "")
    if operator in ("HAS_PROPERTY", "NOT_HAS_PROPERTY"):
        return has == (operator == "HAS_PROPERTY")
    if operator in ("IN", "NOT_IN"):
        values = flt.get("values") or []
        inside = has and any(a == b for a, b in (_comparable(name, current, v) for v in values))
        return inside == (operator == "IN")
    if operator in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        return _has_token(str(current or ""), str(flt.get("value", ""))) == (operator == "CONTAINS_TOKEN")
    if operator == "NEQ":
        return not has or _ne(name, current, flt.get("value"))
    if not has:
        return False
    left, right = _comparable(name, current, flt.get("value"))
    if operator == "BETWEEN":
        _, high = _comparable(name, current, flt.get("highValue"))
        return bool(right <= left <= high)
    return bool({"EQ": left == right, "LT": left < right, "LTE": left <= right, "GT": left > right,
                 "GTE": left >= right}[operator])


def _ne(name: str, current: Any, wanted: Any) -> bool:
    left, right = _comparable(name, current, wanted)
    return bool(left != right)


def _has_token(text: str, token: str) -> bool:
    tokens = [t for t in re.split(r"[\s,;:@()]+", text.lower()) if t] + [text.lower()]
    return any(fnmatch.fnmatchcase(t, token.lower()) for t in tokens)


def _query_matches(query: str, props: dict[str, Any]) -> bool:
    return any(query in str(props.get(n) or "").lower() for n in ("email", "firstname", "lastname", "phone",
                                                                  "company", "domain", "name"))


def _json(object_id: str, obj: dict[str, Any], wanted: list[str]) -> dict[str, Any]:
    props = {k: obj["properties"].get(k) for k in wanted}
    props["hs_object_id"] = object_id
    return {"id": object_id, "properties": props, "createdAt": obj.get("createdAt"),
            "updatedAt": obj.get("updatedAt"), "archived": False}
