"""Speed to lead: p50 / p95 seconds from a form POST to its routed lead in the local CRM.

Runs the real receiver (uvicorn on 127.0.0.1) with the debounced process trigger and the demo
rules, sends N submissions (default 200, 20 ms apart) and reads each lead's creation time from
the local CRM. Target: p95 <= 5 s on loopback. Usage: python bench/speed_to_lead.py [--n 200]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.receiver.speed import measure, percentile


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--spacing", type=float, default=0.02)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        config_dir = Path(tmp) / "config"
        shutil.copytree(Path(__file__).resolve().parents[1] / "config", config_dir)
        latencies = measure(config_dir / "leadsync.yaml", args.n, args.spacing)
    print(f"{args.n} submissions, {args.spacing * 1000:.0f} ms apart: receipt -> routed lead in the CRM")
    print(f"p50 {percentile(latencies, 50):.2f} s   p95 {percentile(latencies, 95):.2f} s   "
          f"max {max(latencies):.2f} s   (target p95 <= 5 s)")


if __name__ == "__main__":
    main()
