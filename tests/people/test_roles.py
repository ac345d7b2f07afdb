"""Role addresses: flagged on the lead, usable in rules, and linted when no rule looks at them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors.normalise import build_lead
from connectors.people.roles import is_role_address
from connectors.records import RawSubmission
from rules.engine import DecisionContext
from rules.loader import parse_ruleset
from rules.validate import validate_file

RAW = RawSubmission(source="t", source_record_id="1", received_at=datetime(2026, 3, 1, tzinfo=UTC), payload={})
NOW = datetime(2026, 3, 2, 10, tzinfo=UTC)


@pytest.mark.parametrize(("email", "role"), [
    ("info@globex.example", True), ("sales@x.example", True), ("office@x.example", True),
    ("admin@x.example", True), ("contact@x.example", True), ("hello@x.example", True),
    ("support@x.example", True), ("team@x.example", True), ("sales.uk@x.example", True),
    ("info-de@x.example", True), ("support-team@x.example", True), ("sales2@x.example", True),
    ("Info+web@x.example", True), ("kontakt@x.de", True), ("noreply@x.example", True), ("enquiries@x.co.uk", True),
    ("jane.doe@x.example", False), ("john.sales@x.example", False), ("mark@x.example", False),
    ("ap.jones@x.example", False), ("de@x.example", False), (None, False),
])
def test_is_role_address(email: str | None, role: bool) -> None:
    assert is_role_address(email) is role


def test_flag_on_the_lead() -> None:
    assert build_lead(RAW, {"email": "INFO@Globex.example"}).role_address is True
    assert build_lead(RAW, {"email": "jane@globex.example"}).role_address is False


@pytest.mark.parametrize(("email", "full_name", "first", "last"), [
    ("sales@globex.example", "Sales Team", None, None),
    ("support@globex.example", "Customer Service", None, None),
    ("info@globex.example", "Info", None, None),
    ("info@globex.example", "Jane Doe", "Jane", "Doe"),  # a person answering the shared mailbox
    ("jane@globex.example", "Sales Team", "Sales", "Team"),  # a person's own address: their name as given
])
def test_a_mailbox_name_is_not_a_person(email: str, full_name: str, first: str | None, last: str | None) -> None:
    lead = build_lead(RAW, {"email": email, "full_name": full_name})
    assert (lead.first_name, lead.last_name) == (first, last)


RULES = """\
version: 1
scoring:
  mql_threshold: 10
  rules:
    - {id: anyone, when: {email: {exists: true}}, points: 10}
%s
routing: {default: {queue: Q}}
statuses: {new: N, mql: M, unqualified: U}
"""
ROLE_RULE = "    - {id: role-address, when: {role_address: {equals: true}}, points: -10}"


def test_rules_can_score_role_addresses_down() -> None:
    ruleset = parse_ruleset(RULES % ROLE_RULE, "rules.yaml")
    leads = [build_lead(RAW, {"email": e}) for e in ("info@globex.example", "jane@globex.example")]
    for lead, key in zip(leads, ("a", "b"), strict=True):
        lead.lead_key = key
    decisions = ruleset.decide(leads, DecisionContext(now=NOW, crm={}, account_owners={})).decisions
    assert [(d.score, d.mql) for d in decisions] == [(0, False), (10, True)]


@pytest.mark.parametrize(("extra", "warned"), [("", True), (ROLE_RULE, False)])
def test_lint_suggests_negative_fit_points(tmp_path: Path, extra: str, warned: bool) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES % extra)
    warnings = validate_file(path).warnings
    assert any("no rule looks at role_address" in w and "points: -10" in w for w in warnings) is warned
