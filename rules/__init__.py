"""The rules engine: pure functions of leads and context, compiled once from YAML. No I/O beyond
`load_ruleset` reading its one file, no Prefect."""

from __future__ import annotations

from typing import Any

from rules.engine import BatchDecision, DecisionContext, RotationEntry, Ruleset
from rules.loader import load_ruleset, parse_ruleset
from rules.models import RulesFile
from rules.routing import RotationState
from rules.validate import ValidationReport, validate_file


def json_schema() -> dict[str, Any]:
    """JSON Schema of the rules YAML, for editors (yaml-language-server) to autocomplete and check."""
    schema = RulesFile.model_json_schema()
    schema["$schema"] = "http://json-schema.org/draft-07/schema#"
    schema["title"] = "leadsync rules"
    return schema


__all__ = ["BatchDecision", "DecisionContext", "RotationEntry", "RotationState", "Ruleset", "ValidationReport",
           "json_schema", "load_ruleset", "parse_ruleset", "validate_file"]
