"""`leadsync validate`: errors, lint warnings and the YAML's own `tests:` examples, in one report."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from connectors.errors import ConfigError
from connectors.records import CrmRecord, Decision, Event, Lead
from rules.engine import DecisionContext, Ruleset
from rules.loader import load_ruleset
from rules.models import Assign, RuleTest

# A Monday mid-morning UTC, so examples do not depend on when validate runs.
DEFAULT_TEST_NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@dataclass
class ValidationReport:
    path: str
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    test_failures: list[str] = field(default_factory=list)
    tests_run: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors and not self.test_failures

    def render(self) -> str:
        lines = [f"rules {self.path}:"]
        lines += [f"  error: {e}" for e in self.errors]
        lines += [f"  warning: {w}" for w in self.warnings]
        lines += [f"  test failed: {t}" for t in self.test_failures]
        if not self.errors:
            passed = self.tests_run - len(self.test_failures)
            lines.append(f"  {passed} of {self.tests_run} rule tests passed, {len(self.warnings)} warning(s)")
        return "\n".join(lines)


def validate_file(path: str | Path) -> ValidationReport:
    report = ValidationReport(path=str(path))
    try:
        ruleset = load_ruleset(path)
    except ConfigError as exc:
        report.errors = exc.problems or [str(exc)]
        return report
    report.warnings = lint(ruleset)
    for index, test in enumerate(ruleset.spec.tests):
        report.tests_run += 1
        failure = run_test(ruleset, test, index)
        if failure:
            report.test_failures.append(failure)
    return report


def lint(ruleset: Ruleset) -> list[str]:
    spec = ruleset.spec
    warnings: list[str] = []
    rules = spec.routing.rules
    for i, earlier in enumerate(rules):
        for later in rules[i + 1:]:
            if not earlier.when or earlier.when == later.when:
                warnings.append(f"routing rule '{later.id}' can never match: '{earlier.id}' before it "
                                f"matches {'every lead' if not earlier.when else 'the same leads'}")
    used = {r.assign.team for r in rules if isinstance(r.assign, Assign) and r.assign.team}
    if spec.routing.default.team:
        used.add(spec.routing.default.team)
    for name, team in spec.routing.teams.items():
        active = [m for m in team.weights() if m not in spec.routing.reps or spec.routing.reps[m].active]
        if not active:
            warnings.append(f"team '{name}' has no active member: its leads go to the default")
        if name not in used:
            warnings.append(f"team '{name}' is not used by any routing rule")
    if rules and not rules[-1].when and spec.routing.default.queue:
        warnings.append(f"the default is reached only when rule '{rules[-1].id}' cannot place a lead")
    if "role_address" not in ruleset.referenced_fields():
        warnings.append("no rule looks at role_address: leads from info@, sales@ or office@ score like a person; "
                        "consider a fit rule such as {id: role-address, when: {role_address: {equals: true}}, "
                        "points: -10}")
    warnings += _location_lint(ruleset)
    return warnings


def _location_lint(ruleset: Ruleset) -> list[str]:
    """Distance rules only see leads normalisation could place: say which, and flag examples it cannot."""
    if not ruleset.uses_location:
        return []
    from connectors.geo import place

    warnings: list[str] = []
    for index, test in enumerate(ruleset.spec.tests):
        lead = test.lead
        if "latitude" in lead or not (lead.get("city") or lead.get("postal_code")):
            continue
        where = place(lead.get("city"), lead.get("state"), lead.get("postal_code"), lead.get("country"))
        if not where.placed:
            warnings.append(f"{test.name or f'tests[{index}]'}: the example lead cannot be placed ({where.how}): "
                            "rules on location never match it (distance needs a US ZIP code or a city + country "
                            "of the cities of 15,000 people or more)")
    return warnings


def test_lead(data: dict[str, Any], key: str, now: datetime) -> Lead:
    """An example lead of the YAML's `tests:`; placed on the map from its city or postal code as
    normalisation places real leads (validate is the rules' command-line side: it may read package data)."""
    data = dict(data)
    events = [Event(type=e["type"], at=now - timedelta(days=float(e.get("days_ago", 0))),
                    properties=e.get("properties") or {}) for e in data.pop("events", [])]
    lead = Lead(lead_key=key, source="test", source_record_id=key, received_at=now, events=events, **data)
    if lead.latitude is None and (lead.city or lead.postal_code):
        from connectors.geo import place

        where = place(lead.city, lead.state, lead.postal_code, lead.country)
        lead.latitude, lead.longitude = where.latitude, where.longitude
    return lead


def run_test(ruleset: Ruleset, test: RuleTest, index: int) -> str | None:
    name = test.name or f"tests[{index}]"
    now = datetime.fromisoformat(test.context["now"]) if "now" in test.context else DEFAULT_TEST_NOW
    try:
        lead = test_lead(test.lead, f"test-{index}", now)
    except ValidationError as exc:
        return f"{name}: the example lead is invalid: {exc.errors()[0]['msg']}"
    crm = {}
    if test.context.get("owner"):
        crm[lead.lead_key] = CrmRecord(crm_id="test", owner=str(test.context["owner"]).lower())
    owners = {lead.email_domain: str(test.context["account_owner"]).lower()} \
        if test.context.get("account_owner") and lead.email_domain else {}
    decision = ruleset.decide([lead], DecisionContext(now=now, crm=crm, account_owners=owners)).decisions[0]
    diffs = [d for key, want in test.expect.items() if (d := _diff(key, want, decision))]
    return f"{name}: " + "; ".join(diffs) + f"\n    ({decision.explanation})" if diffs else None


def _diff(key: str, want: Any, d: Decision) -> str | None:
    got: Any = {
        "qualification": d.qualification, "mql": d.mql, "owner": d.owner, "owner_team": d.team, "queue": d.queue,
        "status": d.status, "grade": d.grade, "score": d.score, "failed_checks": d.failed_checks,
        "disqualify_reasons": d.disqualify_reasons, "routing_rule": d.routing_rule_id, "lists": d.lists_add,
        "score_at_least": d.score, "score_below": d.score, "stage": d.stage,
    }[key]
    if key == "score_at_least":
        return None if got >= want else f"score: expected at least {want}, got {got:g}"
    if key == "score_below":
        return None if got < want else f"score: expected below {want}, got {got:g}"
    if key == "lists" and isinstance(want, list):
        return None if sorted(want) == got else f"lists: expected {sorted(want)}, got {got}"
    if isinstance(want, str) and isinstance(got, str):
        return None if want.lower() == got.lower() else f"{key}: expected {want!r}, got {got!r}"
    return None if want == got else f"{key}: expected {want!r}, got {got!r}"
