"""Peak memory of a CSV import at 100k and 1M rows, side by side in one run (target: flat).

Each size runs in a fresh child process that streams every page of the file and maps every
row to a Lead (results discarded, as the capture + normalise stages do page by page), and
reports its peak RSS. Usage: python bench/csv_memory.py [--rows 100000 1000000]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEADER = "First Name,Last Name,Company,Job Title,Email,Phone,Country,Employees,Notes\n"
CHILD = """
import json, resource, sys, time
from connectors.errors import RecordRejectedError
from connectors.sources.csv_import import CsvImportConfig, CsvImportSource
src = CsvImportSource(CsvImportConfig(name="bench", path=sys.argv[1]))
start = time.perf_counter(); rows = leads = 0
for page in src.read({}):
    for raw in page.records:
        rows += 1
        try:
            src.to_lead(raw); leads += 1
        except RecordRejectedError:
            pass
elapsed = time.perf_counter() - start
print(json.dumps({"rows": rows, "leads": leads, "seconds": elapsed,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def write_csv(path: Path, rows: int) -> None:
    rng = random.Random(42)
    countries = ["US", "USA", "United Kingdom", "SE", "Germany", "CA"]
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write(HEADER)
        for i in range(rows):
            note = '"multi\nline note"' if i % 50 == 0 else "plain note"
            email = f"person{i}@company{i % 997}.example" if i % 20 else ""
            handle.write(f"First{i},Last{i},Company {i % 997},VP Sales,{email},+1 415 555 {i % 10000:04d},"
                         f"{rng.choice(countries)},{rng.randint(1, 5000)},{note}\n")


def measure(path: Path) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1])
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    sizes = parser.parse_args().rows
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for rows in sizes:
            path = Path(tmp) / f"list-{rows}.csv"
            started = time.perf_counter()
            write_csv(path, rows)
            size_mb = path.stat().st_size / 1e6
            print(f"generated {rows:,} rows ({size_mb:.0f} MB) in {time.perf_counter() - started:.1f} s", flush=True)
            results[rows] = measure(path)
            path.unlink()
    print(f"\n{'rows':>10} {'leads':>10} {'seconds':>8} {'rows/s':>9} {'peak RSS MB':>12}")
    for rows, r in results.items():
        print(f"{rows:>10,} {int(r['leads']):>10,} {r['seconds']:>8.1f} {r['rows'] / r['seconds']:>9,.0f} "
              f"{r['peak_rss_mb']:>12.1f}")
    if len(sizes) >= 2:
        small, large = results[sizes[0]], results[sizes[-1]]
        print(f"\npeak RSS ratio {sizes[-1]:,} / {sizes[0]:,} rows: {large['peak_rss_mb'] / small['peak_rss_mb']:.2f} "
              "(1.00 = flat memory)")


if __name__ == "__main__":
    main()
