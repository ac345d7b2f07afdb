"""Read a rules YAML into a compiled Ruleset, reporting every error with file, line and YAML path."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from pydantic import ValidationError

from connectors.errors import ConfigError
from connectors.yaml_lines import YamlDocument, YamlSyntaxError, parse_yaml
from rules.conditions import ConditionError, Predicate, compile_condition
from rules.engine import Ruleset
from rules.facts import is_event_property
from rules.models import Assign, RulesFile


def parse_ruleset(text: str, filename: str = "<rules>") -> Ruleset:
    """Validate and compile; raise ConfigError listing every problem as 'file:line: path: message'."""
    try:
        doc = parse_yaml(text, filename)
    except YamlSyntaxError as exc:
        raise ConfigError(f"{filename} is not valid YAML", [str(exc)]) from None
    if not isinstance(doc.data, dict):
        raise ConfigError(f"{filename} is invalid", [f"{filename}:1: (top level): expected a mapping"])
    try:
        spec = RulesFile.model_validate(doc.data)
    except ValidationError as exc:
        problems = [f"{doc.where(list(e['loc']))}: {e['msg'].removeprefix('Value error, ')}" for e in exc.errors()]
        raise ConfigError(f"{filename} has {len(problems)} error(s)", problems) from None
    predicates, problems = _compile(spec, doc)
    problems += _cross_references(spec, doc)
    if problems:
        raise ConfigError(f"{filename} has {len(problems)} error(s)", problems)
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    return Ruleset(spec, f"{spec.version} (sha256:{digest})", predicates)


def load_ruleset(path: str | Path) -> Ruleset:
    """The only I/O of the rules package: read the file, then parse it."""
    rules_path = Path(path)
    try:
        text = rules_path.read_text(encoding="utf-8")
    except (FileNotFoundError, IsADirectoryError, PermissionError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read rules file {rules_path}: {type(exc).__name__}") from None
    return parse_ruleset(text, str(rules_path))


class _Conditional(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def when(self) -> dict[str, Any]: ...


def _compile(spec: RulesFile, doc: YamlDocument) -> tuple[dict[str, Predicate], list[str]]:
    predicates: dict[str, Predicate] = {}
    problems: list[str] = []
    sections: list[tuple[str, list[str | int], Sequence[_Conditional]]] = [
        ("disqualify", ["qualification", "disqualify"], spec.qualification.disqualify),
        ("require", ["qualification", "require"], spec.qualification.require),
        ("score", ["scoring", "rules"], spec.scoring.rules),
        ("route", ["routing", "rules"], spec.routing.rules),
        ("nurture", ["nurture"], spec.nurture),
    ]
    for prefix, path, items in sections:
        seen: set[str] = set()
        for index, item in enumerate(items):
            here: list[str | int] = [*path, index]
            if item.id in seen:
                problems.append(f"{doc.where([*here, 'id'])}: duplicate id '{item.id}'")
            seen.add(item.id)
            try:
                predicates[f"{prefix}.{item.id}"] = compile_condition(item.when, [*here, "when"], spec.lists,
                                                                      spec.offices)
            except ConditionError as exc:
                problems.append(f"{doc.where(exc.path)}: {exc}")
    seen = {f"event:{kind}" for kind in spec.scoring.events}
    for kind in spec.scoring.events:
        predicates[f"behaviour.event:{kind}"] = compile_condition({}, [], spec.lists)
    for index, rule in enumerate(spec.scoring.behaviour):
        here = ["scoring", "behaviour", index]
        if rule.id in seen:
            problems.append(f"{doc.where([*here, 'id'])}: duplicate id '{rule.id}' (the events: form names its "
                            "rules event:<type>)")
        seen.add(rule.id)
        try:
            predicates[f"behaviour.{rule.id}"] = compile_condition(rule.when, [*here, "when"], spec.lists,
                                                                   spec.offices, known=is_event_property)
        except ConditionError as exc:
            problems.append(f"{doc.where(exc.path)}: {exc}")
    return predicates, problems


def _cross_references(spec: RulesFile, doc: YamlDocument) -> list[str]:
    problems: list[str] = []
    routing = spec.routing
    targets: list[tuple[list[str | int], Assign]] = [
        (["routing", "rules", i, "assign"], r.assign)
        for i, r in enumerate(routing.rules) if isinstance(r.assign, Assign)
    ]
    targets.append((["routing", "default"], routing.default))
    for path, assign in targets:
        if assign.team and assign.team not in routing.teams:
            problems.append(f"{doc.where([*path, 'team'])}: unknown team '{assign.team}' "
                            f"(teams: {', '.join(routing.teams) or 'none'})")
    for name, team in routing.teams.items():
        if not team.weights():
            problems.append(f"{doc.where(['routing', 'teams', name, 'members'])}: team '{name}' has no members")
        if team.method != "weighted" and isinstance(team.members, dict) and len(set(team.members.values())) > 1:
            problems.append(f"{doc.where(['routing', 'teams', name, 'method'])}: weights need method: weighted")
    recycle_below = spec.lifecycle.recycle_below
    if recycle_below is not None and recycle_below >= spec.scoring.mql_threshold:
        problems.append(f"{doc.where(['lifecycle', 'recycle_below'])}: recycle_below ({recycle_below:g}) must be "
                        f"below scoring.mql_threshold ({spec.scoring.mql_threshold:g})")
    for rep in routing.reps:
        if rep != rep.lower():
            problems.append(f"{doc.where(['routing', 'reps', rep])}: write rep e-mails in lower case")
    if spec.followup is not None:
        for team_name in spec.followup.escalation.team_leads:
            if team_name not in routing.teams:
                problems.append(f"{doc.where(['followup', 'escalation', 'team_leads', team_name])}: unknown team "
                                f"'{team_name}' (teams: {', '.join(routing.teams) or 'none'})")
    for index, test in enumerate(spec.tests):
        unknown = set(test.expect) - EXPECT_KEYS
        if unknown:
            problems.append(f"{doc.where(['tests', index, 'expect'])}: unknown expectation(s) {sorted(unknown)}; "
                            f"known: {', '.join(sorted(EXPECT_KEYS))}")
    return problems


EXPECT_KEYS = frozenset({"qualification", "mql", "owner", "owner_team", "queue", "status", "grade", "score",
                         "score_at_least", "score_below", "lists", "failed_checks", "disqualify_reasons",
                         "routing_rule", "stage"})
