"""`leadsync validate` for rules: every error with line and path, lint, and the YAML's own tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from connectors.errors import ConfigError
from rules import json_schema, parse_ruleset, validate_file

REPO = Path(__file__).resolve().parents[2]

BROKEN = """\
version: 2
scoring:
  mql_threshold: sixty
  rules:
    - {id: a, when: {titel: {matches: vp}}, points: 5}
    - {id: a, when: {employees: {between: [100, 10]}}, points: 5}
routing:
  teams:
    t: {members: [], method: round_robin}
  rules:
    - {id: r, when: {country: {equals: US}}, assign: {team: nope}}
  default: {queue: Q}
statuses: {new: N, mql: M, unqualified: U}
"""


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_ruleset(text, "rules.yaml")
    return info.value.problems


def test_schema_errors_come_with_lines() -> None:
    assert problems(BROKEN) == ["rules.yaml:3: scoring.mql_threshold: Input should be a valid number, "
                                "unable to parse string as a number"]


def test_every_semantic_error_is_listed_with_line_and_path() -> None:
    found = problems(BROKEN.replace("sixty", "60"))
    assert found == [
        "rules.yaml:5: scoring.rules[0].when.titel: unknown field 'titel'",
        "rules.yaml:6: scoring.rules[1].id: duplicate id 'a'",
        "rules.yaml:6: scoring.rules[1].when.employees.between: impossible range: 100 is above 10",
        "rules.yaml:11: routing.rules[0].assign.team: unknown team 'nope' (teams: t)",
        "rules.yaml:9: routing.teams.t.members: team 't' has no members",
    ]


def test_yaml_syntax_error() -> None:
    assert problems("version: 1\nscoring: {mql_threshold: 60\n")[0].startswith("rules.yaml:3: YAML syntax error")


def test_default_is_required() -> None:
    text = "version: 1\nscoring: {mql_threshold: 1}\nrouting: {rules: []}\nstatuses: {new: N, mql: M, unqualified: U}\n"
    assert problems(text) == ["rules.yaml:3: routing.default: Field required"]


LINTED = """\
version: 1
scoring: {mql_threshold: 60}
routing:
  teams:
    ghosts: {members: [g@ourco.example]}
    unused: {members: [u@ourco.example]}
  reps:
    g@ourco.example: {active: false}
  rules:
    - {id: everyone, when: {}, assign: {team: ghosts}}
    - {id: us, when: {country: {equals: US}}, assign: {queue: US}}
  default: {queue: Q}
statuses: {new: N, mql: M, unqualified: U}
tests:
  - name: breaks on purpose
    lead: {email: a@b.example, country: US}
    expect: {queue: US, mql: false}
"""


def test_lint_and_failing_tests_with_a_diff(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(LINTED)
    report = validate_file(path)
    assert not report.ok and report.errors == []
    assert "routing rule 'us' can never match: 'everyone' before it matches every lead" in report.warnings
    assert "team 'ghosts' has no active member: its leads go to the default" in report.warnings
    assert "team 'unused' is not used by any routing rule" in report.warnings
    [failure] = report.test_failures
    assert failure.startswith("breaks on purpose: queue: expected 'US', got 'Q'")
    assert "0 of 1 rule tests passed" in report.render()


def test_demo_rules_pass_their_own_tests() -> None:
    report = validate_file(REPO / "config" / "rules.yaml")
    assert report.ok, report.render()
    assert report.tests_run >= 7


def test_version_is_file_version_plus_content_hash() -> None:
    text = (REPO / "config" / "rules.yaml").read_text()
    one = parse_ruleset(text, "r.yaml").version
    two = parse_ruleset(text + "\n# a comment changes the content\n", "r.yaml").version
    assert one.startswith("1 (sha256:") and one != two


def test_json_schema_describes_the_yaml() -> None:
    schema = json_schema()
    assert schema["title"] == "leadsync rules"
    assert {"version", "scoring", "routing", "statuses"} <= set(schema["required"])
    committed = json.loads((REPO / "config" / "rules.schema.json").read_text())
    assert committed == schema, "config/rules.schema.json is stale: run `leadsync schema`"


DISTANCE = """\
version: 1
offices: {hq: {latitude: 42.3601, longitude: -71.0589}}
scoring:
  mql_threshold: 60
  rules:
    - {id: near, when: {location: {within_miles: {of: hq, miles: 100}}}, points: 10}
routing: {default: {queue: Q}}
statuses: {new: N, mql: M, unqualified: U}
tests:
  - name: placed by ZIP
    lead: {email: a@b.example, postal_code: "02139", country: US}
    expect: {score: 10, stage: new}
  - name: a village
    lead: {email: a@b.example, city: Tinytown, country: US}
    expect: {score: 0}
  - name: no address at all
    lead: {email: a@b.example}
    expect: {score: 0}
"""


def test_lint_names_example_leads_that_cannot_be_placed(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(DISTANCE)
    report = validate_file(path)
    assert report.ok, report.render()
    assert [w for w in report.warnings if "role_address" not in w] == [
        "a village: the example lead cannot be placed (city 'Tinytown' in US is not among the cities of 15,000 "
        "people or more): rules on location never match it (distance needs a US ZIP code or a city + country "
        "of the cities of 15,000 people or more)"]
