"""End to end on the local CRM: a generated CSV of N leads through capture -> decide -> write, side by side.

For each size (default 100,000 and 1,000,000) a fresh child process runs `leadsync run --no-prefect`'s
code path (`run_sync`) on a config with one CSV source, the demo rules and the local SQLite CRM, and
reports seconds, leads/s and peak RSS; then fresh children run `export` and `plan --all` on the result
(peak RSS each) and the state store's size per lead is printed. A last section times one claim of a
500-row batch on an inbox of 10,000 rows and on one of the largest size (the claim must use an index,
so both cost the same). Wall and CPU seconds are both printed: on a shared machine the CPU time is the steadier
figure. Usage: python bench/e2e.py [--leads 100000 1000000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from csv_memory import write_csv

CONFIG = """\
rules: rules.yaml
state_store: {{url: "sqlite:///{dir}/state.db"}}
crm:
  type: local
  path: {dir}/crm.db
  users: [{{email: alice@ourco.example}}, {{email: bob@ourco.example}}, {{email: carol@ourco.example}},
          {{email: dan@ourco.example}}, {{email: erin@ourco.example}}]
  queues: [Unassigned Leads]
  accounts: [{{domain: company7.example, owner: erin@ourco.example}}]
sources:
  - {{type: csv, name: list, path: {dir}/leads.csv, default_region: US}}
processing: {{batch_size: 500}}
"""

PRELUDE = """
import json, resource, sys, time
def peak(): return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
"""
RUN = PRELUDE + """
from flows.pipeline.run import run_sync
from flows.pipeline.runtime import build_runtime
from flows.gc_tuning import tune_gc
runtime = build_runtime(sys.argv[1])
tune_gc()  # as `leadsync run` does after start-up
start, cpu = time.perf_counter(), time.process_time()
summary = run_sync(runtime)
elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
runtime.close()
print(json.dumps({"seconds": elapsed, "cpu_seconds": cpu, "claimed": summary.claimed,
                  "outcomes": dict(summary.outcomes),
                  "dead": len(summary.rejections), "peak_rss_mb": peak()}))
"""
EXPORT = PRELUDE + """
from flows.cli import app
start = time.perf_counter()
app(["export", sys.argv[2], "--config", sys.argv[1]], standalone_mode=False)
print(json.dumps({"seconds": time.perf_counter() - start, "peak_rss_mb": peak()}))
"""
PLAN = PRELUDE + """
from datetime import UTC, datetime
from flows.pipeline.plan_preview import preview
from flows.pipeline.runtime import build_runtime
runtime = build_runtime(sys.argv[1])
start = time.perf_counter()
totals = preview(runtime, datetime.now(UTC), include_done=True).totals()
print(json.dumps({"seconds": time.perf_counter() - start, "leads": sum(totals.values()), "peak_rss_mb": peak()}))
"""
CLAIM = PRELUDE + """
from datetime import UTC, datetime, timedelta
from sqlalchemy import insert
from connectors.records import RawSubmission
from flows.state import StateStore
from flows.state.schema import inbox
store = StateStore(sys.argv[1]); store.create_schema()
rows, now = int(sys.argv[2]), datetime.now(UTC)
payload = {"First Name": "A", "Email": "a@b.example"}
with store.engine.begin() as conn:  # settled rows of earlier runs, as a long-lived inbox has
    for start in range(0, rows, 50_000):
        conn.execute(insert(inbox), [{"source": "csv:old", "partition": "", "source_record_id": str(i),
                                      "received_at": now, "payload": payload, "status": "done", "attempts": 1,
                                      "updated_at": now} for i in range(start, min(rows, start + 50_000))])
store.inbox_add([RawSubmission(source="csv:new", source_record_id=str(i), received_at=now, payload=payload)
                 for i in range(500)])
times = []
for _ in range(30):
    start = time.perf_counter()
    claimed = store.claim_batch("bench", 500, timedelta(minutes=5), sources=["csv:new"])
    times.append(time.perf_counter() - start)
    store.release_claims("bench", [r.id for r in claimed], "bench", count_attempt=False)
times.sort()
print(json.dumps({"median_ms": times[len(times) // 2] * 1000, "claimed": len(claimed)}))
"""


def child(script: str, *args: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, cwd=ROOT)
    if out.returncode:
        raise SystemExit(f"child failed:\n{out.stderr[-3000:]}")
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def print_store_breakdown(database: Path, leads: int) -> None:
    """Bytes per lead of each table and index (SQLite's dbstat: pages in use, the free list apart)."""
    with sqlite3.connect(database) as conn:
        owners = dict(conn.execute("SELECT name, tbl_name FROM sqlite_master WHERE type IN ('table', 'index')"))
        sizes = conn.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC").fetchall()
        free = conn.execute("PRAGMA freelist_count").fetchone()[0] * conn.execute("PRAGMA page_size").fetchone()[0]
    per_table: dict[str, list[tuple[str, int]]] = {}
    for name, size in sizes:
        per_table.setdefault(owners.get(name, name), []).append((name, size))
    print(f"  state store per lead (free pages {free / leads:,.0f} B):")
    for table, parts in sorted(per_table.items(), key=lambda item: -sum(size for _, size in item[1])):
        detail = ", ".join(f"{name} {size / leads:,.0f}" for name, size in parts if name != table)
        total = sum(size for _, size in parts) / leads
        print(f"    {table:<22} {total:>7,.0f} B" + (f"  (with indexes: {detail})" if detail else ""))


def run_size(work: Path, leads: int) -> dict[str, float]:
    work.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "config" / "rules.yaml", work / "rules.yaml")
    (work / "leadsync.yaml").write_text(CONFIG.format(dir=work), encoding="utf-8")
    started = time.perf_counter()
    write_csv(work / "leads.csv", leads)
    print(f"generated {leads:,} leads in {time.perf_counter() - started:.1f} s", flush=True)
    config = str(work / "leadsync.yaml")
    run = child(RUN, config)
    print(f"  run: {run['seconds']:.1f} s ({run['cpu_seconds']:.1f} s CPU), outcomes {run['outcomes']}, "
          f"dead letters {run['dead']}", flush=True)
    state_bytes = sum(p.stat().st_size for p in work.glob("state.db*"))
    print_store_breakdown(work / "state.db", leads)
    export = child(EXPORT, config, str(work / "export.csv"))
    plan = child(PLAN, config)
    return {"run_s": run["seconds"], "run_cpu": run["cpu_seconds"], "run_rss": run["peak_rss_mb"],
            "claimed": run["claimed"],
            "state_b_per_lead": state_bytes / leads, "export_s": export["seconds"], "export_rss": export["peak_rss_mb"],
            "plan_s": plan["seconds"], "plan_rss": plan["peak_rss_mb"]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--keep", type=Path, help="keep the generated files and databases here")
    args = parser.parse_args()
    base = args.keep or Path(tempfile.mkdtemp(prefix="leadsync-e2e-"))
    results: dict[int, dict[str, float]] = {}
    try:
        for leads in args.leads:
            results[leads] = run_size(base / str(leads), leads)
        claim_sizes = sorted({10_000, max(args.leads)})
        claims = {n: child(CLAIM, f"sqlite:///{base}/claim-{n}.db", str(n))["median_ms"] for n in claim_sizes}
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    print(f"\n{'leads':>10} {'run s':>7} {'leads/s':>8} {'CPU s':>7} {'run RSS MB':>10} {'state B/lead':>12} "
          f"{'export s':>8} {'export RSS':>10} {'plan --all s':>12} {'plan RSS':>8}")
    for leads, r in results.items():
        print(f"{leads:>10,} {r['run_s']:>7.1f} {leads / r['run_s']:>8,.0f} {r['run_cpu']:>7.1f} {r['run_rss']:>10.0f} "
              f"{r['state_b_per_lead']:>12,.0f} {r['export_s']:>8.1f} {r['export_rss']:>10.0f} "
              f"{r['plan_s']:>12.1f} {r['plan_rss']:>8.0f}")
    if len(results) >= 2:
        small, large = min(results), max(results)
        print(f"\nrun time ratio {large:,} / {small:,} leads: {results[large]['run_s'] / results[small]['run_s']:.1f} "
              f"(size ratio {large / small:.0f}; equal = linear)")
    print("\nclaim of a 500-row batch (median of 30): " + ", ".join(
        f"{n:,} inbox rows {ms:.1f} ms" for n, ms in claims.items()))
    if len(claims) == 2:
        low, high = claims[min(claims)], claims[max(claims)]
        print(f"claim cost ratio {max(claims):,} / {min(claims):,} rows: {high / low:.2f} (1.00 = flat)")


if __name__ == "__main__":
    main()
