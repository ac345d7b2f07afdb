"""Start-up cost of `leadsync run` on an empty inbox, side by side with Prefect's own floor.

Measures whole processes (wall time, median of --reps):
  1. a trivial @flow against a running `prefect server` (Prefect's floor: import + heartbeat join at exit);
  2. `leadsync run --prefect` on an empty inbox against the same server (target: <= floor + 0.5 s);
  3. `leadsync run --no-prefect` on an empty inbox (target: < 1 s).
The demo config is copied to a temp folder and run once first, so the measured runs find nothing new.
leadsync's sources are byte-compiled first, as `pip install` does for an installed package: without that,
a shell with PYTHONDONTWRITEBYTECODE set (CI images often set it) recompiles ~120 modules on every run.
Uses the server at PREFECT_API_URL if set, else starts one (not timed) and stops it at the end.
Usage: python bench/startup.py [--reps 5]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.prefect_server import prefect_server

BIN = Path(sys.executable).parent
TRIVIAL_FLOW = "from prefect import flow\n@flow\ndef trivial():\n    return 1\ntrivial()\n"


def wall(args: list[str], env: dict[str, str], reps: int) -> tuple[list[float], list[float]]:
    """Wall and CPU (user + system) seconds of each run: CPU is the steadier figure on a busy machine."""
    times, cpu = [], []
    for _ in range(reps):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        proc = subprocess.run(args, env=env, capture_output=True, text=True, check=False, cwd=ROOT)
        times.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        if proc.returncode != 0:
            output = proc.stdout[-2000:] + proc.stderr[-2000:]
            raise SystemExit(f"{' '.join(args)} failed ({proc.returncode}):\n{output}")
    return times, cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
        if not env.get("PREFECT_API_URL"):
            print("starting a prefect server for the bench (not timed) ...", flush=True)
            env = stack.enter_context(prefect_server(tmp))
        shutil.copytree(ROOT / "config", tmp / "config", ignore=shutil.ignore_patterns("*.db"))
        config = str(tmp / "config" / "leadsync.yaml")
        leadsync = str(BIN / "leadsync")
        subprocess.run([sys.executable, "-m", "compileall", "-q", "connectors", "flows", "rules"], cwd=ROOT,
                       check=True, stdout=subprocess.DEVNULL)
        wall([leadsync, "run", "--no-prefect", "--config", config], env, 1)  # fill the CRM: later runs are empty
        untracked_env = {k: v for k, v in env.items() if k != "PREFECT_API_URL"}
        rows: list[tuple[str, tuple[list[float], list[float]]]] = [
            ("trivial @flow against the running server (Prefect's floor)",
             wall([sys.executable, "-c", TRIVIAL_FLOW], env, args.reps)),
            ("leadsync run --prefect, empty inbox (tracked)",
             wall([leadsync, "run", "--prefect", "--config", config], env, args.reps)),
            ("leadsync run --no-prefect, empty inbox (untracked)",
             wall([leadsync, "run", "--no-prefect", "--config", config], untracked_env, args.reps)),
            ("python -c pass (interpreter start)", wall([sys.executable, "-c", "pass"], env, args.reps)),
        ]
    load = os.getloadavg()[0]
    print(f"\nwhole process, median of {args.reps} (min-max); {os.cpu_count()} CPUs, load average {load:.1f}")
    print(f"  {'':<62} {'wall':>8}  {'':13} {'cpu':>6}")
    for name, (times, cpu) in rows:
        print(f"  {name:<62} {statistics.median(times):6.2f} s  ({min(times):.2f}-{max(times):.2f})"
              f"  {statistics.median(cpu):5.2f} s")
    for label, index in (("wall", 0), ("cpu", 1)):
        floor, tracked, untracked = (statistics.median(r[1][index]) for r in rows[:3])
        print(f"\n  {label}: tracked run - floor = {tracked - floor:+.2f} s   (target <= +0.50 s)")
        print(f"  {label}: untracked run       = {untracked:.2f} s    (target < 1.00 s)")
        print(f"  {label}: tracking costs        {tracked - untracked:+.2f} s over an untracked run")


if __name__ == "__main__":
    main()
