"""What `leadsync` prints: progress (live on a terminal, plain lines otherwise), a summary that adds up,
rejects by code, JSON on request, long lines unwrapped in pipes, one-line errors with documented codes."""

from __future__ import annotations

import csv
import json
import os
import pty
import select
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

from connectors.records import RawSubmission
from flows.config import load_config
from flows.pipeline.runtime import resolve_state_url
from flows.state import StateStore
from tests.cli.test_cli import LEADSYNC, assert_one_clean_error, leadsync


def add_bad_rows(demo_config: Path, count: int) -> None:
    csv = demo_config.parent / "demo" / "tradeshow.csv"
    rows = "".join(f"Bad,Row{i},Co {i},,not-an-address-{i},,,,,,,,,,,,,,,\n" for i in range(count))
    csv.write_text(csv.read_text(encoding="utf-8-sig") + rows, encoding="utf-8")


def test_version_and_exit_codes_in_help() -> None:
    assert leadsync("--version").stdout.strip() == "leadsync 0.1.0"
    help_text = leadsync("--help").stdout
    for code in ("0 ok", "1 the run failed", "2 bad config, rules or arguments", "3 unexpected error"):
        assert code in " ".join(help_text.split()), help_text


def test_run_json_adds_up_and_shows_webhook_rows(demo_config: Path) -> None:
    hook = "sources:\n  - {type: web_form, name: contact}\n"
    demo_config.write_text(demo_config.read_text().replace("sources:\n", hook))
    store = StateStore(resolve_state_url(load_config(demo_config)))
    store.create_schema()
    store.inbox_add([RawSubmission(source="web_form:contact", partition="contact", source_record_id=f"wf{i}",
                                   received_at=datetime.now(UTC), payload={"fields": {
                                       "email": f"web{i}@hook.example", "company": "Hook Co"}, "form_id": "contact"})
                     for i in range(2)])
    store.dispose()
    proc = leadsync("run", "--no-prefect", "--json", "--config", str(demo_config))
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["claimed"] == 21 and summary["claimed_by_source"]["web_form:contact"] == 2
    assert summary["received_by_webhook"] == ["web_form:contact"]
    ended = summary["done_rows"] + summary["dead_letters"] + summary["spam"] + summary["test"] + summary["requeued"]
    assert ended == summary["claimed"]
    assert (summary["merged"], summary["spam"], summary["outcomes"]) == (3, 1, {"created": 14})
    assert summary["dead_letters_by_code"] == {"INVALID_EMAIL": 2, "MISSING_CONTACT": 1}
    listed = json.loads(leadsync("dead-letters", "list", "--json", "--config", str(demo_config)).stdout)
    assert sorted(row["code"] for row in listed) == ["INVALID_EMAIL", "INVALID_EMAIL", "MISSING_CONTACT"]
    again = leadsync("run", "--no-prefect", "--config", str(demo_config))
    assert "web_form:contact" not in again.stdout  # nothing new


def test_rejects_by_code_first_20_and_unwrapped_lines_in_a_pipe(demo_config: Path) -> None:
    add_bad_rows(demo_config, 30)
    proc = leadsync("run", "--no-prefect", "--config", str(demo_config), env={"COLUMNS": "80"})
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "Rejected (33, in the dead-letter store)" in out and "First 20 of 33" in out
    assert "the full list: leadsync dead-letters list --limit 0" in out
    assert out.count("field 'email'") == 20  # one per row of the first-20 table
    long_lines = [line for line in out.splitlines() if "field 'email': missing: a lead needs an e-mail address" in line]
    assert long_lines and len(long_lines[0]) > 120  # one row, not folded at 80 columns
    full = leadsync("dead-letters", "list", "--limit", "0", "--config", str(demo_config))
    assert "Dead letters (open, 33)" in full.stdout


def test_plain_progress_lines_when_not_a_terminal(demo_config: Path) -> None:
    proc = leadsync("run", "--no-prefect", "--config", str(demo_config), env={"LEADSYNC_PROGRESS_SECONDS": "0"})
    lines = [line for line in proc.stdout.splitlines() if line.startswith("progress ")]
    assert any("19 rows read" in line for line in lines), proc.stdout
    assert any("12 leads decided, 12 written" in line for line in lines), proc.stdout
    assert "\x1b[" not in proc.stdout


def test_live_progress_on_a_terminal(demo_config: Path) -> None:
    main, child = pty.openpty()
    env = {**os.environ, "LEADSYNC_PROGRESS_SECONDS": "0", "COLUMNS": "200", "TERM": "xterm"}
    process = subprocess.Popen([LEADSYNC, "run", "--no-prefect", "--config", str(demo_config)], stdin=child,
                               stdout=child, stderr=child, env=env, close_fds=True)
    os.close(child)
    output = b""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([main], [], [], 1)
        if ready:
            try:
                chunk = os.read(main, 65536)
            except OSError:
                break
            if not chunk:
                break
            output += chunk
        elif process.poll() is not None:
            break
    process.wait(timeout=30)
    os.close(main)
    text = output.decode("utf-8", "replace")
    assert process.returncode == 0, text
    assert "rows read" in text and "leads decided" in text and "\x1b[" in text  # redrawn in place
    assert "progress 0s:" not in text  # the plain lines are for pipes only
    assert "Decided and pushed" in text


def test_usage_and_unexpected_errors_are_one_line(demo_config: Path, tmp_path: Path) -> None:
    usage = leadsync("run", "--bogus")
    assert_one_clean_error(usage, 2, "error: No such option: --bogus")
    assert len(usage.stderr.strip().splitlines()) == 1
    assert leadsync("run", "--no-prefect", "--config", str(demo_config)).returncode == 0
    (demo_config.parent.parent / "var" / "crm.db").write_bytes(b"this is not a database" * 100)
    broken = leadsync("run", "--no-prefect", "--config", str(demo_config))
    assert_one_clean_error(broken, 3, "error: unexpected DatabaseError")
    assert "a bug: please report it" in broken.stderr


def test_schema_next_to_the_config_and_export_into_a_new_folder(demo_config: Path, tmp_path: Path) -> None:
    (demo_config.parent / "rules.schema.json").unlink()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    proc = subprocess.run([LEADSYNC, "schema", "--config", str(demo_config)], capture_output=True, text=True,
                          cwd=elsewhere, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert json.loads((demo_config.parent / "rules.schema.json").read_text())["title"]
    assert not list(elsewhere.iterdir())
    assert leadsync("run", "--no-prefect", "--config", str(demo_config)).returncode == 0
    out = tmp_path / "new" / "folder" / "leads.csv"
    exported = leadsync("export", str(out), "--config", str(demo_config))
    assert exported.returncode == 0, exported.stderr
    rows = list(csv.DictReader(out.open(newline="", encoding="utf-8")))  # inquiries keep their line breaks
    assert len(rows) == 12 and all(row["email"] or row["phone"] for row in rows)
    into_dir = leadsync("export", str(tmp_path), "--config", str(demo_config))
    assert_one_clean_error(into_dir, 2, f"error: {tmp_path} is a folder: give a file name")
