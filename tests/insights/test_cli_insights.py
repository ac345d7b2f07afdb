"""report, backtest and explain from the command line: HTML that renders in Chromium, JSON, nothing written."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from sqlalchemy import func, select

from flows.state.schema import decisions, inbox, rotation_ledger
from tests.cli.test_cli import assert_one_clean_error, leadsync
from tests.insights.conftest import CONVERTED_EMAIL, DemoStore

CHARTS = 8  # sections with a chart in a report without SLA data (see flows/insights/html.py)


def _browser() -> webdriver.Chrome:
    options = Options()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1200,3000"):
        options.add_argument(arg)
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"),
                            options=options)


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_report_renders_offline_in_chromium(demo_store: DemoStore, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    proc = leadsync("report", "--config", str(demo_store.config), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "| captured |" in proc.stdout and f"wrote {out}" in proc.stdout
    browser = _browser()
    try:
        browser.get(out.as_uri())
        rendered = browser.execute_script("return document.querySelectorAll('.js-plotly-plot .main-svg').length")
        plots = browser.execute_script("return document.querySelectorAll('.js-plotly-plot').length")
        # Self-contained: nothing loaded from anywhere (this machine has no internet either).
        external = browser.execute_script("return document.querySelectorAll('script[src], link[href]').length")
        errors = [entry for entry in browser.get_log("browser") if entry["level"] in ("SEVERE", "ERROR")]
        shot = tmp_path / "report.png"
        assert browser.save_screenshot(str(shot))
    finally:
        browser.quit()
    assert plots == CHARTS and rendered >= CHARTS and external == 0, (plots, rendered, external)
    assert errors == []
    assert shot.stat().st_size > 20_000  # a page with charts, not a blank one


def test_report_json_and_bad_input(demo_store: DemoStore, tmp_path: Path) -> None:
    proc = leadsync("report", "--config", str(demo_store.config), "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["funnel"]["converted"] == 1 and data["funnel"]["qualified"] > 0
    assert_one_clean_error(leadsync("report", "--config", str(demo_store.config), "--since", "soon"), 2,
                           "error: --since 'soon'")
    assert_one_clean_error(leadsync("report", "--config", str(demo_store.config), "--out",
                                    str(tmp_path / "missing" / "r.html")), 2, "error: folder")


def _counts(demo: DemoStore) -> tuple[int, ...]:
    with demo.store.engine.connect() as conn:
        return tuple(int(conn.execute(select(func.count()).select_from(t)).scalar_one())
                     for t in (inbox, decisions, rotation_ledger))


def test_backtest_compares_without_writing(demo_store: DemoStore, tmp_path: Path) -> None:
    rules = (demo_store.config.parent / "rules.yaml").read_text()
    assert "mql_threshold: 60" in rules
    candidate = tmp_path / "candidate.yaml"
    candidate.write_text(rules.replace("mql_threshold: 60", "mql_threshold: 30").replace("recycle_below: 40",
                                                                                        "recycle_below: 20"))
    before, crm_before = _counts(demo_store), demo_store.crm_path.read_bytes()
    proc = leadsync("backtest", str(candidate), "--config", str(demo_store.config), "--json", "--since", "400d")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert _counts(demo_store) == before and demo_store.crm_path.read_bytes() == crm_before
    current, lower = sum(result["current"]["mql_per_week"].values()), sum(result["candidate"]["mql_per_week"].values())
    assert result["leads"] >= 10 and lower > current
    assert result["changed"]["stage"] == lower - current
    assert any("stage" in " ".join(c["what"]) and "@" in c["person"] for c in result["examples"])
    text = leadsync("backtest", str(candidate), "--config", str(demo_store.config))
    assert text.returncode == 0 and "MQLs per week" in text.stdout and "Leads per owner" in text.stdout
    html = tmp_path / "r.html"
    assert leadsync("report", "--config", str(demo_store.config), "--out", str(html), "--backtest",
                    str(candidate)).returncode == 0
    assert "Backtest:" in html.read_text()
    assert_one_clean_error(leadsync("backtest", str(tmp_path / "nope.yaml"), "--config", str(demo_store.config)),
                           2, "error: candidate rules file")


def test_explain_tells_the_story(demo_store: DemoStore) -> None:
    proc = leadsync("explain", CONVERTED_EMAIL, "--config", str(demo_store.config), "--json")
    assert proc.returncode == 0, proc.stderr
    story = json.loads(proc.stdout)["story"]
    kinds = [entry["kind"] for entry in story]
    assert kinds[0] == "submission" and "decision" in kinds and "crm" in kinds
    owner = next(e for e in story if e["kind"] == "owner" and "to" in e["data"])
    assert owner["data"]["to"] == "erin@ourco.example" and "account" in owner["text"]
    decision = next(e for e in story if e["kind"] == "decision")
    assert "Ruleset" in decision["text"] and decision["data"]["decision"]["ruleset_version"]
    text = leadsync("explain", CONVERTED_EMAIL.upper(), "--config", str(demo_store.config))
    assert text.returncode == 0 and "CRM created" in text.stdout
    assert_one_clean_error(leadsync("explain", "nobody@nowhere.example", "--config", str(demo_store.config)), 2,
                           "error: no lead")
