"""Salesforce end to end: N generated leads through `leadsync run`'s code path into the Salesforce emulator.

The emulator runs in a child process (its CPU apart from leadsync's, as a real org would be) with a real
per-request latency (default 50 ms); leadsync runs here with its default settings: a CSV source, the demo
rules, the Salesforce CRM through the real simple-salesforce client (only the login step is replaced:
simple-salesforce cannot log in to a loopback org). Prints wall seconds, leads/s, calls (and per 1,000
leads), leadsync's CPU seconds (all threads, and the main thread's), the emulator's CPU seconds, the
time spent in latency (calls x latency), the wall and CPU seconds the main thread spends in the
Salesforce connector per entry point (wall - CPU = waiting for Salesforce) and the load average.
Target: 100,000 leads at 50 ms in <= 120 s.
Usage: python bench/salesforce_e2e.py [--leads 100000] [--latency 50]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]  # the project first: bench/rules.py is not the rules package

from csv_memory import write_csv

OWNERS = ["alice@ourco.example", "bob@ourco.example", "carol@ourco.example", "dan@ourco.example",
          "erin@ourco.example"]
CONFIG = """\
rules: rules.yaml
state_store: {{url: "sqlite:///{dir}/state.db"}}
crm: {{type: salesforce, username: integration@ourco.example, password: "${{LEADSYNC_BENCH_SF_PASSWORD}}"}}
sources:
  - {{type: csv, name: list, path: {dir}/leads.csv, default_region: US}}
"""
EMULATOR = """
import json, sys, time
from tests.emulators.salesforce import SalesforceEmulator
emu = SalesforceEmulator().start()
for owner in json.loads(sys.argv[1]):
    emu.org.add_user(owner)
emu.org.add_queue("Unassigned Leads")
emu.org.picklists[("Lead", "Status")].append("Nurturing")  # the demo rules' nurture status
emu.org.add_campaign("Nurture - Early stage")
for name, kind in (("Leadsync_Score__c", "double"), ("Leadsync_Grade__c", "string"), ("Leadsync_MQL__c", "boolean"),
                   ("Leadsync_Explanation__c", "textarea"), ("Leadsync_Ruleset__c", "string")):
    emu.org.add_custom_field("Lead", name, type=kind)
emu.org.add_custom_field("Lead", "Leadsync_Key__c", external_id=True, unique=True)
emu.org.add_custom_field("Task", "Leadsync_Handoff_Key__c", external_id=True, unique=True)
emu.faults.daily_max = 10**9
emu.faults.latency = float(sys.argv[2])
print(json.dumps({"url": emu.url, "port": emu.port, "version": emu.api_version, "session": emu.issue_session()}),
      flush=True)
sys.stdin.readline()  # the run is over
print(json.dumps({"calls": dict(emu.calls), "subrequests": dict(emu.subrequests), "cpu_emulator": time.process_time(),
                  "leads": len(emu.org.records.get("Lead", {})), "tasks": len(emu.org.records.get("Task", {}))}),
      flush=True)
"""


class _Timed:
    """Wall and CPU seconds leadsync's main thread spends inside the Salesforce connector's entry points.

    Wall minus CPU there is time spent waiting for Salesforce (latency, the emulator's work, and with a
    busy machine, the scheduler); the CPU is the connector's own share of leadsync's CPU (JSON, CSV,
    SOQL, mapping). Worker threads' CPU (concurrent calls) counts in the process CPU, not here.
    """

    def __init__(self) -> None:
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}

    def wrap(self, owner: type, name: str) -> None:
        inner = getattr(owner, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            wall, cpu = time.perf_counter(), time.thread_time()
            try:
                return inner(*args, **kwargs)
            finally:
                self.wall[name] = self.wall.get(name, 0.0) + time.perf_counter() - wall
                self.cpu[name] = self.cpu.get(name, 0.0) + time.thread_time() - cpu

        setattr(owner, name, timed)


class _Org:
    """What the test client helper needs of an emulator: where it listens."""

    def __init__(self, info: dict[str, Any]) -> None:
        self.url, self.port, self.api_version = info["url"], info["port"], info["version"]


def run(leads: int, latency_ms: float, work: Path) -> dict[str, Any]:
    shutil.copy(ROOT / "config" / "rules.yaml", work / "rules.yaml")
    (work / "leadsync.yaml").write_text(CONFIG.format(dir=work), encoding="utf-8")
    write_csv(work / "leads.csv", leads)
    emulator = subprocess.Popen([sys.executable, "-c", EMULATOR, json.dumps(OWNERS), str(latency_ms / 1000)],
                                cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert emulator.stdin is not None
    assert emulator.stdout is not None
    try:
        info = json.loads(emulator.stdout.readline())
        os.environ["LEADSYNC_BENCH_SF_PASSWORD"] = "unused"  # the login seam below replaces the login

        from simple_salesforce.api import Salesforce

        import flows.pipeline.runtime as runtime_module
        from connectors.crm.salesforce import SalesforceSink
        from connectors.crm.salesforce.tasks import SalesforceTasks
        from flows.gc_tuning import tune_gc
        from flows.pipeline.run import run_sync
        from tests.emulators.salesforce.client import loopback_session

        connector = _Timed()
        for owner, names in ((SalesforceSink, ("lookup", "account_owners", "apply")),
                             (SalesforceTasks, ("create_tasks", "touch_states"))):
            for name in names:
                connector.wrap(owner, name)
        org = _Org(info)
        runtime_module.login_factory = lambda _credentials, _config: lambda: Salesforce(  # type: ignore[assignment]
            instance_url=org.url, session_id=info["session"], session=loopback_session(org),  # type: ignore[arg-type]
            version=org.api_version)
        runtime = runtime_module.build_runtime(work / "leadsync.yaml")
        tune_gc()  # as `leadsync run` does after start-up
        load_before = os.getloadavg()
        started, cpu, main_cpu = time.perf_counter(), time.process_time(), time.thread_time()
        summary = run_sync(runtime)
        seconds, cpu, main_cpu = time.perf_counter() - started, time.process_time() - cpu, time.thread_time() - main_cpu
        load_after = os.getloadavg()
        runtime.close()
        emulator.stdin.write("done\n")
        emulator.stdin.flush()
        stats = json.loads(emulator.stdout.readline())
    finally:
        emulator.kill()
        emulator.wait()
    return {"seconds": seconds, "cpu": cpu, "main_cpu": main_cpu, "connector_wall": connector.wall,
            "connector_cpu": connector.cpu,
            "outcomes": dict(summary.outcomes), "dead": len(summary.rejections),
            "load": (load_before, load_after), **stats}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--latency", type=float, default=50, help="milliseconds the emulator adds to every request")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="leadsync-sf-e2e-"))
    try:
        r = run(args.leads, args.latency, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    calls = sum(r["calls"].values())
    waiting = calls * args.latency / 1000
    print(f"{args.leads:,} leads -> Salesforce emulator, {args.latency:.0f} ms per request, default settings")
    print(f"  outcomes {r['outcomes']}, dead letters {r['dead']}; the org holds {r['leads']:,} leads, "
          f"{r['tasks']:,} tasks")
    print(f"  wall {r['seconds']:.1f} s, {args.leads / r['seconds']:,.0f} leads/s (target: 100,000 in <= 120 s)")
    print(f"  calls {calls:,} ({calls * 1000 / args.leads:.1f} per 1,000 leads): "
          + ", ".join(f"{k} {v}" for k, v in sorted(r["calls"].items(), key=lambda kv: -kv[1]) if v))
    print(f"  where the time goes: leadsync CPU {r['cpu']:.1f} s ({r['main_cpu']:.1f} s on the main thread, the rest "
          f"in concurrent Salesforce calls), emulator CPU {r['cpu_emulator']:.1f} s, "
          f"latency x calls {waiting:.1f} s")
    wall, cpu = sum(r["connector_wall"].values()), sum(r["connector_cpu"].values())
    print(f"  in the Salesforce connector (leadsync's main thread): {wall:.1f} s wall, {cpu:.1f} s of it CPU, "
          f"{wall - cpu:.1f} s waiting for Salesforce (calls side by side count once): "
          + ", ".join(f"{name} {seconds:.1f}/{r['connector_cpu'][name]:.1f}"
                      for name, seconds in sorted(r["connector_wall"].items(), key=lambda kv: -kv[1])))
    print(f"  load average (1 min) {r['load'][0][0]:.2f} before, {r['load'][1][0]:.2f} after "
          "(2 cores: above ~2, other work shares the CPU and wall time is noisy)")


if __name__ == "__main__":
    main()
