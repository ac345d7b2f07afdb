"""leadsync.yaml: every error at once, each with file, line and YAML path; secrets only by reference."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.errors import ConfigError
from connectors.redaction import redact
from flows.config import load_config, parse_config
from flows.config.secrets import resolve_secret

GOOD = """\
rules: rules.yaml
crm:
  type: local
sources:
  - type: form_files
    name: website
    path: forms.jsonl
"""


def problems_of(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "leadsync.yaml")
    return info.value.problems


def test_good_config_parses() -> None:
    config = parse_config(GOOD, "leadsync.yaml")
    assert config.sources[0].name == "website" and config.processing.batch_size == 500


def test_every_error_is_listed_with_line_and_path() -> None:
    text = """\
rules: rules.yaml
crm:
  type: local
  pathh: x.db
sources:
  - type: form_files
    name: website
  - type: carrier_pigeon
    name: x
processing:
  batch_size: 0
"""
    problems = problems_of(text)
    assert "leadsync.yaml:4: crm.pathh: unknown setting (check the spelling)" in problems
    assert any(p.startswith("leadsync.yaml:6: sources[0].path: Field required") for p in problems)
    assert any(p.startswith("leadsync.yaml:8: sources[1]") and "carrier_pigeon" in p for p in problems)
    assert any(p.startswith("leadsync.yaml:11: processing.batch_size: Input should be greater than or equal to 1")
               for p in problems)
    assert len(problems) == 4


def test_yaml_syntax_error_names_the_line() -> None:
    assert problems_of("rules: x\nsources: [\n")[0].startswith("leadsync.yaml:3: YAML syntax error")


def test_duplicate_source_names() -> None:
    text = GOOD + "  - type: form_files\n    name: website\n    path: b.jsonl\n"
    assert any("two sources are called form_files:website" in p for p in problems_of(text))


def test_schedule_needs_exactly_one_of_cron_or_interval() -> None:
    problems = problems_of(GOOD + "schedule: {cron: '* * * * *', interval_seconds: 60}\n")
    expected = "leadsync.yaml:8: schedule: give exactly one of cron or interval_seconds"
    assert any(p.startswith(expected) for p in problems)


def test_missing_file_and_missing_rules(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")
    (tmp_path / "leadsync.yaml").write_text(GOOD)
    with pytest.raises(ConfigError, match="rules file not found"):
        load_config(tmp_path / "leadsync.yaml")


def test_secrets_resolve_from_env_and_are_redacted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEADSYNC_TEST_TOKEN", "tok-very-secret-123")
    value = resolve_secret("${LEADSYNC_TEST_TOKEN}", "crm.token")
    assert value == "tok-very-secret-123"
    assert "tok-very-secret-123" not in redact(f"failed with {value}")
    with pytest.raises(ConfigError, match=r"crm\.token: environment variable LEADSYNC_UNSET_VAR is not set"):
        resolve_secret("${LEADSYNC_UNSET_VAR}", "crm.token")
