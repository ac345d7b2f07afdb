"""`leadsync validate` catches what `run` would hit: reps and queues the CRM lacks, missing source files and
secrets that do not resolve, each with file, line and YAML path; staff addresses shown, secret values never."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_cli import assert_one_clean_error, leadsync


def _break(demo_config: Path) -> None:
    text = demo_config.read_text()
    text = text.replace("{email: alice@ourco.example, name: Alice Andersen}",
                        "{email: alicia@ourco.example, name: Alicia Andersen}")  # alice is still in the rules
    text = text.replace("demo/tradeshow.csv", "demo/no-such-file.csv")
    text = text.replace("sources:\n", "sources:\n  - {type: typeform, name: tf, secret: \"${LEADSYNC_TEST_UNSET}\"}\n")
    demo_config.write_text(text)
    rules = demo_config.parent / "rules.yaml"
    rules.write_text(rules.read_text().replace("default: {queue: Unassigned Leads}", "default: {queue: Nobody}"))


def test_validate_lists_every_problem_a_run_would_hit(demo_config: Path) -> None:
    _break(demo_config)
    rules = demo_config.parent / "rules.yaml"
    proc = leadsync("validate", "--config", str(demo_config), env={"LEADSYNC_TEST_UNSET": ""})
    assert_one_clean_error(proc, 2, f"error: {demo_config}: 4 problem(s) a run would hit")
    expected = [
        f"{demo_config}:22: sources[0].secret: environment variable LEADSYNC_TEST_UNSET is not set",
        f"{demo_config}:25: sources[1].path: no file matches {demo_config.parent / 'demo/no-such-file.csv'}",
        f"{rules}:{_line_of(rules, 'enterprise:') + 1}: routing.teams.enterprise.members[0]: owner "
        "alice@ourco.example is not a user of the local CRM",
        f"{rules}:{_line_of(rules, 'default: {queue: Nobody}')}: routing.default.queue: queue 'Nobody' is not in "
        "crm.queues",
    ]
    for line in expected:
        assert line in proc.stderr, proc.stderr
    assert "*** variable" not in proc.stderr


def test_validate_json_and_a_good_config(demo_config: Path) -> None:
    good = leadsync("validate", "--json", "--config", str(demo_config))
    assert good.returncode == 0, good.stderr
    assert json.loads(good.stdout)["ok"] is True
    _break(demo_config)
    bad = leadsync("validate", "--json", "--config", str(demo_config))
    assert bad.returncode == 2
    report = json.loads(bad.stdout)
    assert report["ok"] is False and len(report["problems"]) >= 4


def test_the_run_fails_on_the_same_rep_and_names_it(demo_config: Path) -> None:
    text = demo_config.read_text().replace("{email: alice@ourco.example, name: Alice Andersen}",
                                           "{email: alicia@ourco.example, name: Alicia Andersen}")
    demo_config.write_text(text)
    proc = leadsync("run", "--no-prefect", "--config", str(demo_config))
    assert_one_clean_error(proc, 2, "error: routing names owners or queues the CRM does not have")
    assert "alice@ourco.example" in proc.stderr and "<email>" not in proc.stderr


def test_a_prefect_secret_without_a_server_is_reported_not_a_temporary_server(demo_config: Path) -> None:
    text = demo_config.read_text().replace("sources:\n", "sources:\n  - {type: typeform, name: tf, "
                                           "secret: \"prefect-secret:tf-secret\"}\n")
    demo_config.write_text(text)
    proc = leadsync("validate", "--config", str(demo_config), env={"PREFECT_API_URL": ""})
    assert_one_clean_error(proc, 2, f"error: {demo_config}: 1 problem(s)")
    assert f"{demo_config}:22: sources[0].secret: " in proc.stderr
    assert "needs a Prefect server: set PREFECT_API_URL" in proc.stderr


def _line_of(path: Path, text: str) -> int:
    """1-based line of the first line containing `text` (the demo rules move as they grow)."""
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line)
