"""The CLI's contract: errors are one clear line and an exit code, never a traceback; secrets never printed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

LEADSYNC = str(Path(sys.executable).with_name("leadsync"))


def leadsync(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run([LEADSYNC, *args], capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, **(env or {})})


def assert_one_clean_error(proc: subprocess.CompletedProcess[str], code: int, starts: str) -> None:
    assert proc.returncode == code, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    first = proc.stderr.strip().splitlines()[0]
    assert first.startswith(starts), proc.stderr


def test_missing_config_file(tmp_path: Path) -> None:
    proc = leadsync("run", "--no-prefect", "--config", str(tmp_path / "nope.yaml"))
    assert_one_clean_error(proc, 2, f"error: config file not found: {tmp_path / 'nope.yaml'}")


def test_bad_config_lists_every_error_with_line(demo_config: Path) -> None:
    text = demo_config.read_text().replace("batch_size: 500", "batch_size: -1").replace("name: website",
                                                                                     "nmae: website")
    demo_config.write_text(text)
    proc = leadsync("validate", "--config", str(demo_config))
    assert_one_clean_error(proc, 2, f"error: {demo_config} has 3 error(s)")
    assert f"{demo_config}:26: sources[1].name: Field required" in proc.stderr
    assert f"{demo_config}:27: sources[1].nmae: unknown setting" in proc.stderr
    assert f"{demo_config}:33: processing.batch_size: Input should be greater than or equal to 1" in proc.stderr


def test_unreachable_database_and_its_password_is_never_printed(demo_config: Path) -> None:
    text = demo_config.read_text().replace("sqlite:///../var/state.db",
                                           "postgresql://leadsync:${LEADSYNC_DB_PASSWORD}@127.0.0.1:1/leadsync")
    demo_config.write_text(text)
    proc = leadsync("run", "--no-prefect", "--config", str(demo_config),
                    env={"LEADSYNC_DB_PASSWORD": "pw-Zx81-very-secret"})
    assert_one_clean_error(proc, 1, "error: cannot reach the state store at postgresql://leadsync:***@127.0.0.1:1/")
    assert "pw-Zx81-very-secret" not in proc.stdout + proc.stderr


def test_run_validate_export_and_dead_letters(demo_config: Path, tmp_path: Path) -> None:
    assert leadsync("validate", "--config", str(demo_config)).returncode == 0
    run = leadsync("run", "--no-prefect", "--config", str(demo_config))
    assert run.returncode == 0, run.stderr
    for heading in ("Captured", "Decided and pushed", "Per owner", "Rejected"):
        assert heading in run.stdout
    out = tmp_path / "leads.csv"
    exported = leadsync("export", str(out), "--config", str(demo_config))
    assert exported.returncode == 0 and out.read_text().count("\n") >= 9
    listed = leadsync("dead-letters", "list", "--config", str(demo_config))
    assert "INVALID_EMAIL" in listed.stdout and "lars.holm" not in listed.stdout
    replay = leadsync("dead-letters", "replay", "999", "--config", str(demo_config))
    assert_one_clean_error(replay, 2, "error: no open dead letter with id 999")
    refused = leadsync("dead-letters", "discard", "--config", str(demo_config))
    assert_one_clean_error(refused, 2, "error: dead-letters discard: give the ids to discard")
    discard = leadsync("dead-letters", "discard", "--all", "--config", str(demo_config))
    assert discard.returncode == 0 and "discarded" in discard.stdout


def test_serve_without_server_is_a_clear_error(demo_config: Path) -> None:
    proc = leadsync("serve", "--config", str(demo_config), env={"PREFECT_API_URL": ""})
    assert_one_clean_error(proc, 2, "error: leadsync serve needs a Prefect server")


def test_demo_on_postgresql_with_a_secret_in_the_url(demo_config: Path, postgres_url: str) -> None:
    # The test server trusts local connections, so the password is accepted and must still never show.
    url = postgres_url.replace("postgresql+psycopg://leadsync@", "postgresql://leadsync:${LEADSYNC_DB_PASSWORD}@")
    demo_config.write_text(demo_config.read_text().replace("sqlite:///../var/state.db", url))
    secret = "pw-Qq93-never-printed"
    first = leadsync("run", "--no-prefect", "--config", str(demo_config), env={"LEADSYNC_DB_PASSWORD": secret})
    assert first.returncode == 0, first.stderr
    assert "CRM created" in first.stdout
    again = leadsync("run", "--no-prefect", "--config", str(demo_config), env={"LEADSYNC_DB_PASSWORD": secret})
    assert again.returncode == 0 and "CRM created" not in again.stdout
    listed = leadsync("dead-letters", "list", "--config", str(demo_config), env={"LEADSYNC_DB_PASSWORD": secret})
    for proc in (first, again, listed):
        assert secret not in proc.stdout + proc.stderr


def test_plan_shows_changes_and_writes_nothing(demo_config: Path) -> None:
    before = leadsync("plan", "--config", str(demo_config))
    assert before.returncode == 0, before.stderr
    assert "totals: create 12" in before.stdout  # 19 submissions: 3 invalid, 1 spam, 3 duplicates merged
    assert "3 submission(s) would be rejected" in before.stdout
    still = leadsync("plan", "--config", str(demo_config))
    assert "totals: create 12" in still.stdout  # the first plan stored nothing and moved no cursor
    assert leadsync("run", "--no-prefect", "--config", str(demo_config)).returncode == 0
    assert "totals: none" in leadsync("plan", "--config", str(demo_config)).stdout
    rules = demo_config.parent / "rules.yaml"
    rules.write_text(rules.read_text().replace("mql_threshold: 60", "mql_threshold: 45"))
    changed = leadsync("plan", "--all", "--config", str(demo_config))
    assert "totals: unchanged 9, update 3" in changed.stdout  # the three demo leads at 45 become MQLs
    assert "fields updated: status 3, mql 3" in changed.stdout



def test_validate_warns_about_mapped_event_types_no_rule_counts(demo_config: Path) -> None:
    text = demo_config.read_text().replace("sources:\n", """sources:
  - type: segment
    name: site
    write_key: ${SEGMENT_WRITE_KEY}
    events:
      pages: {/pricing*: pricing_page_visit, /docs*: docs_visit}
      tracks: {Whitepaper Downloaded: whitepaper_downlaod}
  - type: csv
    name: webinar
    path: webinar.csv
    events: {type: event_attended, at_column: Joined At}
""", 1)
    demo_config.write_text(text)
    (demo_config.parent / "webinar.csv").write_text("Email,Joined At\nann@example.com,2026-11-02 10:00\n")
    proc = leadsync("validate", "--config", str(demo_config), env={"SEGMENT_WRITE_KEY": "wk-test"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = " ".join(proc.stdout.split())
    assert "sources[0].events.tracks['Whitepaper Downloaded'] maps to 'whitepaper_downlaod', which no " \
           "behaviour rule of the rules counts" in out
    assert "sources[0].events.pages['/docs*'] maps to 'docs_visit'" in out
    # Counted by the demo rules' behaviour list: no warning. (They score page views by path, so a page mapped
    # to a type of its own, pricing_page_visit, is warned about.)
    assert "event_attended'," not in out and "pricing_page_visit', which no behaviour rule" in out
