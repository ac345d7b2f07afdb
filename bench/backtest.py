"""Backtest memory and speed at 100k and 1M captured leads, side by side in one run (target: flat RSS).

Each size runs in a fresh child process: a SQLite state store is filled with that many settled
web-form submissions (one person each, as the process stage leaves them), then `leadsync
backtest`'s own code replays them through the demo ruleset and a candidate with a lower MQL
threshold. Filling the store is not timed; the replay is. Peak RSS is the child's.
Usage: python bench/backtest.py [--leads 100000 1000000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHILD = r"""
import json, resource, sys, time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from sqlalchemy import insert
from connectors.sources.form_files import FormFilesConfig, FormFilesSource
from connectors.normalise import lead_key_for
from flows.insights.backtest import BacktestResult, history, run_backtest
from flows.state import StateStore
from flows.state.schema import inbox
from rules import load_ruleset, parse_ruleset

leads, workdir = int(sys.argv[1]), Path(sys.argv[2])
store = StateStore(f"sqlite:///{workdir / 'state.db'}")
store.create_schema()
now = datetime.now(UTC)
titles = ["VP Sales", "Director of Marketing", "Engineer", "Head of Growth", "Analyst"]
countries = ["US", "CA", "GB", "SE", "DE"]
with store.engine.begin() as conn:
    chunk = []
    for i in range(leads):
        email = f"person{i}@company{i % 997}.example"
        chunk.append({"source": "form_files:web", "partition": "f.jsonl", "source_record_id": f"r{i}",
                      "received_at": now - timedelta(minutes=i % 80000), "payload": {"id": f"r{i}", "fields": {
                          "email": email, "first_name": f"First{i}", "last_name": f"Last{i}",
                          "company": f"Company {i % 997}", "job_title": titles[i % 5], "country": countries[i % 5],
                          "employees": str(50 + i % 3000), "utm_campaign": f"c{i % 7}"}},
                      "status": "done", "attempts": 1, "lead_key": lead_key_for(email, "", ""), "updated_at": now})
        if len(chunk) == 5000:
            conn.execute(insert(inbox), chunk); chunk = []
    if chunk:
        conn.execute(insert(inbox), chunk)
current = load_ruleset(Path("config/rules.yaml"))
text = Path("config/rules.yaml").read_text().replace("mql_threshold: 60", "mql_threshold: 25").replace(
    "recycle_below: 40", "recycle_below: 20")
candidate = parse_ruleset(text, "candidate.yaml")
sources = {"form_files:web": FormFilesSource(FormFilesConfig(name="web", path=str(workdir / "none.jsonl")))}
start = time.perf_counter()
result = BacktestResult(since=now - timedelta(days=90))
run_backtest(history(store.engine, sources, result.since, result), current, candidate, result.since, result)
elapsed = time.perf_counter() - start
print(json.dumps({"leads": result.leads, "seconds": elapsed, "changed": dict(result.changed),
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def measure(leads: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="leadsync-backtest-") as workdir:
        out = subprocess.run([sys.executable, "-c", CHILD, str(leads), workdir], capture_output=True, text=True,
                             check=True, cwd=REPO)
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, nargs="+", default=[100_000, 1_000_000])
    args = parser.parse_args()
    results = [measure(n) for n in args.leads]
    print(f"{'leads':>10} {'replay s':>9} {'leads/s':>9} {'peak RSS MB':>12}  changed (candidate: MQL at 25)")
    for r in results:
        print(f"{r['leads']:>10,} {r['seconds']:>9.1f} {r['leads'] / r['seconds']:>9,.0f} {r['peak_rss_mb']:>12.1f}  "
              f"{r['changed']}")
    if len(results) > 1:
        first, last = results[0], results[-1]
        rss = last["peak_rss_mb"] / first["peak_rss_mb"]
        print(f"RSS ratio {last['leads']:,} / {first['leads']:,} leads: {rss:.2f}x"
              f"; time ratio {last['seconds'] / first['seconds']:.1f}x for {last['leads'] / first['leads']:.0f}x leads")


if __name__ == "__main__":
    main()
