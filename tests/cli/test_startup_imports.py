"""An untracked `leadsync run` imports only what its config uses: start-up time is mostly imports.

Each library below costs tens of milliseconds to import and is needed only by a feature the demo
config does not use (Prefect for tracked runs, httpx for HTTP sources and Slack, the PostgreSQL
dialect for a PostgreSQL store, ...). Each run happens in a fresh interpreter: the first creates the
store (Alembic is imported only then), the second decides a new lead, the third is the empty run
`bench/startup.py` times.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

NOT_FOR_THE_DEMO_CONFIG = (
    "prefect",                          # tracking: only `run --prefect`
    "httpx", "tenacity",                # HTTP sources and Slack, built only when configured
    "cryptography",                     # SendGrid's signature key, checked only when configured
    "sqlalchemy.orm",                   # leadsync uses SQLAlchemy Core only
    "sqlalchemy.dialects.postgresql",   # a PostgreSQL state store
    "simple_salesforce", "hubspot",     # vendor CRMs
    "plotly", "fastapi", "uvicorn",     # reports and the receiver
)
ONLY_WITH_LEADS = ("email_validator", "phonenumbers", "nameparser")  # normalising: not for an empty run

PROBE = """
import atexit, json, sys
watched = json.loads(sys.argv[1])
atexit.register(lambda: print("IMPORTED " + json.dumps(sorted(m for m in watched if m in sys.modules))))
sys.argv = ["leadsync", "run", "--no-prefect", "--config", sys.argv[2]]
from flows.cli import main
main()
"""


def _imported_by_a_run(config: Path, watched: tuple[str, ...] = NOT_FOR_THE_DEMO_CONFIG, **env: str) -> list[str]:
    proc = subprocess.run([sys.executable, "-c", PROBE, json.dumps(watched), str(config)],
                          capture_output=True, text=True, check=False, env={**_env(), **env})
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    line = next(x for x in proc.stdout.splitlines() if x.startswith("IMPORTED "))
    return list(json.loads(line.removeprefix("IMPORTED ")))


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}


def test_an_untracked_run_imports_no_library_its_config_does_not_use(demo_config: Path) -> None:
    _imported_by_a_run(demo_config)  # creates the store: Alembic (and its dialect modules) only then
    with (demo_config.parent / "demo" / "tradeshow.csv").open("a", encoding="utf-8") as rows:
        rows.write("Ada,Quinn,Quinn Labs,CTO,ada@quinn-labs.example,(415) 555-0199,,,Boston,MA,02110,USA,"
                   "SHOW26-000999,2026-03-11 09:00,tom@ourco.example,Hot,Routing,Yes,,\n")
    assert _imported_by_a_run(demo_config) == []  # a run with a new lead to decide and hand off
    # the empty run `bench/startup.py` times: not even the normalising libraries
    assert _imported_by_a_run(demo_config, NOT_FOR_THE_DEMO_CONFIG + ONLY_WITH_LEADS) == []


def test_the_probe_sees_a_library_the_config_does_use(demo_config: Path) -> None:
    # The same probe on a config with a Slack channel must report httpx: the check above can fail.
    text = demo_config.read_text()
    assert "\nnotify:" not in text
    demo_config.write_text(text + '\nnotify:\n  slack:\n    webhooks:\n      sales: "${LEADSYNC_TEST_SLACK_URL}"\n')
    imported = _imported_by_a_run(demo_config, NOT_FOR_THE_DEMO_CONFIG + ONLY_WITH_LEADS,
                                  LEADSYNC_TEST_SLACK_URL="https://hooks.slack.example/T0/B0/x")
    assert "httpx" in imported and "email_validator" in imported  # the first run normalises the demo's leads
