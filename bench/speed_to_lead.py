"""Speed to lead and speed to MQL: p50 / p95 seconds on loopback, each with the same receiver.

Runs the real receiver (uvicorn on 127.0.0.1) with the debounced process trigger and the demo
rules. Speed to lead: N new submissions (default 200, 20 ms apart), each lead's creation time read
from the local CRM. Speed to MQL: N known people with 50 points of fit and history each fill a
form that takes them to 60; the time until MQL status and owner are in the CRM. Target for both:
p95 <= 5 s. Usage: python bench/speed_to_lead.py [--n 200]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.receiver.speed import measure, measure_mql, percentile


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--spacing", type=float, default=0.02)
    args = parser.parse_args()
    for label, measure_fn in (("receipt -> routed lead in the CRM", measure),
                              ("form fill over the threshold -> MQL status and owner in the CRM", measure_mql)):
        with tempfile.TemporaryDirectory() as tmp:
            config_dir = Path(tmp) / "config"
            shutil.copytree(Path(__file__).resolve().parents[1] / "config", config_dir)
            latencies = measure_fn(config_dir / "leadsync.yaml", args.n, args.spacing)
        print(f"{args.n} submissions, {args.spacing * 1000:.0f} ms apart: {label}")
        print(f"  p50 {percentile(latencies, 50):.2f} s   p95 {percentile(latencies, 95):.2f} s   "
              f"max {max(latencies):.2f} s   (target p95 <= 5 s)")


if __name__ == "__main__":
    main()
