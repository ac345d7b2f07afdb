"""Runs a parsed SOQL query against the org: field paths (with relationships), filters, ordering, rendering."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tests.emulators.salesforce.ids import normalise_id, sobject_of
from tests.emulators.salesforce.schema import NAME_FIELDS, TEXT_TYPES, FieldSpec, SObjectSpec
from tests.emulators.salesforce.soql import BoolOp, Compare, Literal, Query, SoqlError, malformed, parse_datetime
from tests.emulators.salesforce.state import Org, Table

Row = dict[str, Any]


@dataclass
class Path:
    """A resolved field path: the relationship hops and the final field's spec, with canonical names."""

    hops: list[FieldSpec]     # reference fields followed, in order
    field: FieldSpec
    polymorphic: bool = False

    def names(self) -> list[str]:
        return [h.relationship_name or "" for h in self.hops] + [self.field.name]


def _invalid_field(name: str, sobject: str) -> SoqlError:
    return SoqlError("INVALID_FIELD", f"No such column '{name}' on entity '{sobject}'. If you are attempting to use "
                     "a custom field, be sure to append the '__c' after the custom field name. Please reference your "
                     "WSDL or the describe call for the appropriate names.")


class Executor:
    def __init__(self, org: Org, api_version: str) -> None:
        self.org = org
        self.api_version = api_version

    def url(self, sobject: str, record_id: str) -> str:
        return f"/services/data/v{self.api_version}/sobjects/{sobject}/{record_id}"

    def resolve(self, spec: SObjectSpec, path: str) -> Path:
        parts = path.split(".")
        if len(parts) > 1 and parts[0].lower() == spec.name.lower():  # "Lead.Email" FROM Lead
            parts = parts[1:]
        hops: list[FieldSpec] = []
        current = spec
        while len(parts) > 1:
            rel = current.relationship(parts[0])
            if rel is None:
                raise SoqlError("INVALID_FIELD", f"Didn't understand relationship '{parts[0]}' in field path. If you "
                                "are attempting to use a custom relationship, be sure to append the '__r' after the "
                                "custom relationship name.")
            hops.append(rel)
            if len(rel.reference_to) > 1:  # polymorphic: only the Name pseudo-object's fields
                canonical = NAME_FIELDS.get(parts[1].lower())
                if canonical is None or len(parts) > 2:
                    raise _invalid_field(parts[1], "Name")
                kinds = {"Id": "id", "Email": "email", "IsActive": "boolean", "Type": "picklist"}
                kind = kinds.get(canonical, "string")
                return Path(hops, FieldSpec(canonical, kind), polymorphic=True)
            current = self.org.schema[rel.reference_to[0]]
            parts = parts[1:]
        field = current.get(parts[0])
        if field is None:
            raise _invalid_field(parts[0], current.name)
        return Path(hops, field)

    def value(self, row: Row, path: Path) -> Any:
        current: Row | None = row
        for hop in path.hops:
            current = self._follow(current, hop)
        if current is None:
            return None
        return current.get(path.field.name)

    def _follow(self, row: Row | None, hop: FieldSpec) -> Row | None:
        target_id = row.get(hop.name) if row else None
        target = sobject_of(target_id) if isinstance(target_id, str) else None
        if target is None or target_id is None:
            return None
        found = self.org.records[target].get(target_id)
        if found is not None and len(hop.reference_to) > 1:  # the Name pseudo-object says User or Queue
            return {**found, "Type": "Queue" if target == "Group" else target}
        return found

    # filtering ---------------------------------------------------------------------------------------------------
    def predicate(self, spec: SObjectSpec, cond: Compare | BoolOp) -> Callable[[Row], bool]:
        if isinstance(cond, BoolOp):
            parts = [self.predicate(spec, p) for p in cond.parts]
            if cond.op == "not":
                return lambda row: not parts[0](row)
            if cond.op == "and":
                return lambda row: all(p(row) for p in parts)
            return lambda row: any(p(row) for p in parts)
        path = self.resolve(spec, cond.path)
        kind = path.field.type
        literals = cond.value if isinstance(cond.value, list) else [cond.value]
        wanted = [_literal_for(path.field, lit) for lit in literals]
        wanted_set = set(wanted)
        if cond.op == "like":
            if kind not in TEXT_TYPES:
                raise SoqlError("INVALID_QUERY_FILTER_OPERATOR", f"invalid operator on field: {path.field.name}")
            assert cond.like is not None
            regex = re.compile("".join((".*" if c == "%" else ".") if wild else re.escape(c) for c, wild in cond.like),
                               re.IGNORECASE | re.DOTALL)
            def like(row: Row) -> bool:
                have = self.value(row, path)
                return have is not None and regex.fullmatch(str(have)) is not None

            return like
        op = cond.op

        def test(row: Row) -> bool:
            have = _comparable(path.field, self.value(row, path))
            if op in ("in", "notin"):
                return (have in wanted_set) == (op == "in")
            target = wanted[0]
            if op == "=":
                return bool(have == target)
            if op == "!=":
                return bool(have != target)
            if have is None or target is None:
                return False
            return bool({"<": have < target, "<=": have <= target, ">": have > target, ">=": have >= target}[op])

        return test

    def candidates(self, spec: SObjectSpec, cond: Compare | BoolOp) -> set[str] | None:
        """Ids that can match, from the org's indexes, or None when the filter needs a scan.

        Equality and IN on a text or id field use the index; AND takes its most selective indexed part
        (counted in the index before any id is listed: `CampaignId = X AND LeadId IN (...)` must not list
        every member of the campaign), OR needs every part indexed. The full filter still runs on the
        candidates, so this only narrows.
        """
        if isinstance(cond, BoolOp):
            if cond.op == "and":
                sized = [(size, p) for p in cond.parts if (size := self.estimate(spec, p)) is not None]
                return self.candidates(spec, min(sized, key=lambda pair: pair[0])[1]) if sized else None
            parts = [self.candidates(spec, p) for p in cond.parts] if cond.op == "or" else [None]
            return None if any(p is None for p in parts) else set().union(*[p for p in parts if p is not None])
        indexed = self._indexed(spec, cond)
        if indexed is None:
            return None
        table, field, values = indexed
        return {record_id for v in values for record_id in table.ids(field, v)}

    def estimate(self, spec: SObjectSpec, cond: Compare | BoolOp) -> int | None:
        """How many ids `candidates` would give (None: a scan), from the index sizes alone."""
        if isinstance(cond, BoolOp):
            sizes = [self.estimate(spec, p) for p in cond.parts] if cond.op != "not" else [None]
            known = [s for s in sizes if s is not None]
            if cond.op == "and":
                return min(known) if known else None
            return None if len(known) < len(sizes) else sum(known)
        indexed = self._indexed(spec, cond)
        if indexed is None:
            return None
        table, field, values = indexed
        return sum(table.count(field, v) for v in values)

    def _indexed(self, spec: SObjectSpec, cond: Compare) -> tuple[Table, str, list[Any]] | None:
        if cond.op not in ("=", "in") or cond.like is not None:
            return None
        path = self.resolve(spec, cond.path)
        if path.hops or path.field.type not in (*TEXT_TYPES, "id", "reference"):
            return None
        literals = cond.value if isinstance(cond.value, list) else [cond.value]
        values = [_literal_for(path.field, lit) for lit in literals]
        if any(v is None for v in values):
            return None
        return self.org.records[spec.name], path.field.name, values

    def run(self, query: Query, include_deleted: bool = False) -> tuple[int, list[Row]]:
        spec = self.org.sobject(query.sobject)
        if spec is None:
            raise SoqlError("INVALID_TYPE", f"sObject type '{query.sobject}' is not supported. If you are attempting "
                            "to use a custom object, be sure to append the '__c' after the entity name.")
        selected = [self.resolve(spec, f) for f in query.fields]
        table = self.org.records[spec.name]
        wanted = None if query.where is None or include_deleted else self.candidates(spec, query.where)
        rows = list(table.values()) if wanted is None else table.rows_in_order(wanted)
        if include_deleted:
            rows += list(self.org.deleted[spec.name].values())
        if query.where is not None:
            keep = self.predicate(spec, query.where)
            rows = [r for r in rows if keep(r)]
        for order_path, descending, nulls_last in reversed(query.order):
            path = self.resolve(spec, order_path)
            keyed = [(_comparable(path.field, self.value(r, path)), r) for r in rows]
            nulls = [r for key, r in keyed if key is None]
            ordered = [r for _key, r in sorted(((k, r) for k, r in keyed if k is not None),
                                               key=lambda pair: pair[0], reverse=descending)]
            rows = ordered + nulls if nulls_last else nulls + ordered
        rows = rows[query.offset:]
        if query.limit is not None:
            rows = rows[:query.limit]
        if query.count_only:
            return len(rows), []
        return len(rows), [self.render(spec.name, r, selected) for r in rows]

    def render(self, sobject: str, row: Row, selected: list[Path]) -> Row:
        out: Row = {"attributes": {"type": sobject, "url": self.url(sobject, row["Id"])}}
        for path in selected:
            if not path.hops:
                out[path.field.name] = row.get(path.field.name)
                continue
            container, current = out, row
            for hop in path.hops:
                rel = hop.relationship_name or ""
                target = self._follow(current, hop)
                if target is None:
                    container.setdefault(rel, None)
                    break
                if not isinstance(container.get(rel), dict):
                    kind = "Name" if len(hop.reference_to) > 1 else hop.reference_to[0]
                    real = sobject_of(target["Id"]) or kind
                    container[rel] = {"attributes": {"type": kind, "url": self.url(real, target["Id"])}}
                container, current = container[rel], target
            else:
                container[path.field.name] = current.get(path.field.name)
        return out


def _literal_for(field: FieldSpec, literal: Literal) -> Any:
    kind = field.type
    if literal.kind == "null":
        return None
    if kind in ("id", "reference"):
        if literal.kind != "string":
            raise malformed(f"value of filter criterion for field '{field.name}' must be of type id and should be "
                            "enclosed in quotes")
        normalised = normalise_id(literal.value)
        if normalised is None:
            raise SoqlError("INVALID_QUERY_FILTER_OPERATOR", f"invalid ID field: {literal.value}")
        return normalised
    expected = {"double": "number", "boolean": "boolean", "datetime": "datetime"}.get(kind, "string")
    if literal.kind != expected:
        quoted = "should be enclosed in quotes" if expected == "string" else "should not be enclosed in quotes"
        raise malformed(f"value of filter criterion for field '{field.name}' must be of type "
                        f"{'dateTime' if kind == 'datetime' else kind} and {quoted}")
    return _comparable(field, literal.value)


def _comparable(field: FieldSpec, value: Any) -> Any:
    if value is None:
        return None
    if field.type in ("id", "reference"):
        return normalise_id(value) or value
    if field.type == "datetime":
        return value if isinstance(value, datetime) else parse_datetime(str(value))
    if field.type == "double":
        return float(value)
    if field.type == "boolean":
        return bool(value)
    return str(value).lower()  # Salesforce compares text case-insensitively
