"""The floor of the end-to-end run: what the irreducible work per lead costs on this machine, beside a full run.

`bench/e2e.py` times `leadsync run` as a whole. This bench times, in one child process on the same
generated CSV and config, each piece of work no implementation of the promises can skip, alone,
with nothing else around it:

  read        the CSV parsed into RawSubmissions (capture's reading, without storing)
  normalise   RawSubmission -> Lead (e-mail validation, phone parsing, names...), one process
  decide      the rules (score, grade, route, explanation) on batches of 500
  plan        the CRM changes of each decision
  crm write   the local CRM's batched INSERT of the leads
  store rows  the rows the promises need, in batches of 500: the inbox row stored before processing
              (packed payload), its claim, the decision with its explanation, the row marked done

Their sum is the floor of a run on one core (everything else a run does is lifecycle and hand-off
work: profiles, identities, rotation ledger, transitions, outbox). Then the full run's CPU per lead
on the same input, and normalising split over two processes (the most a second core can take off
the main process's wall time, IPC included). CPU seconds (process time) are the steady figure on a
shared machine; each piece is the best of `--repeat` passes.
Usage: python bench/e2e_floor.py [--leads 20000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from csv_memory import write_csv
from e2e import CONFIG, RUN, child

FLOOR = """
import json, sys, time, multiprocessing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from connectors.crm.plan import PlanItem, plan_changes
from connectors.errors import RecordRejectedError
from flows.pipeline.runtime import build_runtime
from flows.gc_tuning import tune_gc
from flows.state import StateStore
from rules import DecisionContext, RotationState

work, repeat = Path(sys.argv[1]), int(sys.argv[2])
runtime = build_runtime(str(work / "leadsync.yaml"))
tune_gc()
source = next(iter(runtime.sources.values()))
BATCH = 500

def cpu(fn):
    start = time.process_time(); result = fn(); return result, time.process_time() - start

def read():
    return [raw for page in source.read({}) for raw in page.records]

def normalise(raws):
    leads = []
    for raw in raws:
        try:
            leads.append(source.to_lead(raw))
        except RecordRejectedError:
            pass
    return leads

def batches(items):
    return [items[start:start + BATCH] for start in range(0, len(items), BATCH)]

def decide(leads):
    state, out = RotationState(), []
    for part in batches(leads):
        batch = runtime.ruleset.decide(part, DecisionContext(now=datetime.now(UTC), rotation=state))
        state = batch.rotation
        out += batch.decisions
    return out

def plan(leads, decisions):
    return [plan_changes([PlanItem(lead, decision, None) for lead, decision in zip(l, d)], [],
                         runtime.sink.mapped_fields())
            for l, d in zip(batches(leads), batches(decisions))]

def store_rows(store, raws, leads, decisions):
    by_record = {(lead.source, lead.source_record_id): (lead, decision) for lead, decision in zip(leads, decisions)}
    run_id = store.start_run("floor")
    for part in batches(raws):
        store.inbox_add(part)
        rows = store.claim_batch(run_id, BATCH, timedelta(minutes=5))
        done, ledger = {}, []
        for row in rows:
            found = by_record.get((row.raw.source, row.raw.source_record_id))
            if found is None:
                continue
            lead, decision = found
            done[row.id] = lead.lead_key
            ledger.append({"lead_key": lead.lead_key, "ruleset_version": decision.ruleset_version,
                           "outcome": "created", "crm_id": "1", "decision": decision.model_dump(mode="json"),
                           "source": lead.source, "campaign": None, "received_at": row.raw.received_at})
        store.record_decisions(run_id, ledger)
        store.set_inbox_status(list(done), "done", lead_keys=done)

def best(fn):
    times = []
    for n in range(repeat):
        result, seconds = fn(n)
        times.append(seconds)
    return result, min(times)

raws, t_read = best(lambda n: cpu(read))
leads, t_norm = best(lambda n: cpu(lambda: normalise(raws)))
decisions, t_decide = best(lambda n: cpu(lambda: decide(leads)))
changes, t_plan = best(lambda n: cpu(lambda: plan(leads, decisions)))

def crm_pass(n):
    from connectors.crm.local import LocalCrmSink
    sink = LocalCrmSink(runtime.sink.config.model_copy(update={"path": str(work / f"floor-crm-{n}.db")}))
    sink.resolve_owners(runtime.ruleset.owners(), runtime.ruleset.queues(), runtime.ruleset.lists())
    return cpu(lambda: [sink.apply(part) for part in changes])

def store_pass(n):
    store = StateStore(f"sqlite:///{work}/floor-state-{n}.db")
    store.create_schema()
    return cpu(lambda: store_rows(store, raws, leads, decisions))

_, t_crm = best(crm_pass)
_, t_store = best(store_pass)

def normalise_half(part):
    return normalise(part)

half = len(raws) // 2
ctx = multiprocessing.get_context("fork")
walls = []
with ctx.Pool(1) as pool:
    pool.apply(normalise_half, ([],))  # started and warm
    for _ in range(repeat):
        start = time.perf_counter()
        pending = pool.apply_async(normalise_half, (raws[half:],))
        mine = normalise(raws[:half])
        theirs = pending.get()
        walls.append(time.perf_counter() - start)
        assert len(mine) + len(theirs) == len(leads)
single_walls = []
for _ in range(repeat):
    start = time.perf_counter(); normalise(raws); single_walls.append(time.perf_counter() - start)
print(json.dumps({"raws": len(raws), "leads": len(leads), "read": t_read, "normalise": t_norm, "decide": t_decide,
                  "plan": t_plan, "crm": t_crm, "store": t_store,
                  "normalise_wall_1": min(single_walls), "normalise_wall_2": min(walls)}))
"""


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="leadsync-floor-"))
    try:
        shutil.copy(ROOT / "config" / "rules.yaml", work / "rules.yaml")
        (work / "leadsync.yaml").write_text(CONFIG.format(dir=work), encoding="utf-8")
        write_csv(work / "leads.csv", args.leads)
        print(f"load average before: {load_average()}", flush=True)
        floor = child(FLOOR, str(work), str(args.repeat))
        runs = []
        for _ in range(args.repeat):  # each run from scratch: capture, decide, write
            for stale in [*work.glob("state.db*"), *work.glob("crm.db*")]:
                stale.unlink()
            runs.append(child(RUN, str(work / "leadsync.yaml")))
        print(f"load average after: {load_average()}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    per = 1e6 / args.leads
    pieces = ["read", "normalise", "decide", "plan", "crm", "store"]
    names = {"read": "read CSV", "normalise": "normalise", "decide": "decide (rules)", "plan": "plan CRM changes",
             "crm": "CRM write", "store": "store rows (inbox, claim, decision, done)"}
    print(f"\n{args.leads:,} leads ({int(floor['leads']):,} valid), CPU per lead, best of {args.repeat}:")
    for piece in pieces:
        print(f"  {names[piece]:<44} {floor[piece] * per:>7.0f} us")
    total = sum(floor[piece] for piece in pieces)
    run_cpu = min(r["cpu_seconds"] for r in runs)
    run_wall = min(r["seconds"] for r in runs)
    print(f"  {'floor (sum)':<44} {total * per:>7.0f} us  -> 100,000 leads in {total * 100_000 / args.leads:.1f} s CPU")
    print(f"  {'leadsync run (run_sync, whole)':<44} {run_cpu * per:>7.0f} us  -> 100,000 leads in "
          f"{run_cpu * 100_000 / args.leads:.1f} s CPU ({run_wall * 100_000 / args.leads:.1f} s wall); "
          f"{run_cpu / total:.2f}x the floor")
    one, two = floor["normalise_wall_1"], floor["normalise_wall_2"]
    print(f"\nnormalising {args.leads:,} leads, wall: one process {one:.2f} s, split over two {two:.2f} s "
          f"({one / two:.2f}x; 2.00 = a free second core)")


if __name__ == "__main__":
    main()
