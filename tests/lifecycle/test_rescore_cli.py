"""`leadsync rescore --all` applies a changed ruleset to every profile; `plan --all` shows it first."""

from __future__ import annotations

from pathlib import Path

from tests.cli.test_cli import leadsync


def test_rescore_all_applies_a_rule_change_that_plan_showed_first(demo_config: Path) -> None:
    assert leadsync("run", "--no-prefect", "--config", str(demo_config)).returncode == 0
    nothing_due = leadsync("rescore", "--config", str(demo_config))
    assert nothing_due.returncode == 0, nothing_due.stderr
    assert "re-scored 0 profile(s)" in nothing_due.stdout
    rules = demo_config.parent / "rules.yaml"
    rules.write_text(rules.read_text().replace("mql_threshold: 60", "mql_threshold: 50"))
    planned = leadsync("plan", "--all", "--config", str(demo_config))
    assert "totals: unchanged 11, update 1" in planned.stdout, planned.stdout  # Jane (55) crosses 50
    applied = leadsync("rescore", "--all", "--config", str(demo_config))
    assert applied.returncode == 0, applied.stderr
    assert "re-scored 12 profile(s)" in applied.stdout
    assert "1 CRM record(s) changed; 1 MQL(s) among the re-scored" in applied.stdout
    assert "totals: unchanged 12" in leadsync("plan", "--all", "--config", str(demo_config)).stdout
    again = leadsync("rescore", "--all", "--config", str(demo_config))
    assert "0 CRM record(s) changed" in again.stdout
