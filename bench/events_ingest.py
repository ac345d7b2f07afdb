"""Tracking ingest: events per second stored durably through HTTP by one receiver process on SQLite.

Starts the real receiver (uvicorn, one process, a `segment` source, SQLite state store in a temp
dir), pre-encodes N Segment-shaped messages (page and track calls, ~350 bytes each, many
anonymous visitors so the flood cap never triggers) into `batch` requests of B messages, posts
them from C client threads with HTTP Basic write keys, then counts the inbox rows to check every
message was stored once. A second pass re-sends everything: duplicates are acknowledged and
stored once. Target: >= 2,000 events/s. The lifecycle bench prints its own figure beside it.

Usage: python bench/events_ingest.py [--events 40000] [--batch 100] [--clients 4]
"""

from __future__ import annotations

import argparse
import base64
import json
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET = 2000
WRITE_KEY = "bench-write-key"


def serve(db: str, port: int) -> None:
    """The receiver process: what `leadsync receive` runs, with one segment source."""
    import uvicorn

    from connectors.sources.segment import SegmentConfig, SegmentSource
    from flows.receiver import create_app
    from flows.state import StateStore

    store = StateStore(f"sqlite:///{db}")
    store.create_schema()
    source = SegmentSource(SegmentConfig(name="site", write_key=WRITE_KEY))
    uvicorn.run(create_app(store, {source.name: source}), host="127.0.0.1", port=port, log_level="warning")


def messages(n: int) -> list[dict[str, object]]:
    made: list[dict[str, object]] = []
    for i in range(n):
        visitor = f"anon-{i // 4:07d}"
        common = {"anonymousId": visitor, "messageId": str(uuid.uuid4()), "timestamp": "2026-11-30T10:00:00.000Z",
                  "context": {"userAgent": "Mozilla/5.0 (bench)", "campaign": {"name": "spring", "source": "google"}}}
        if i % 2:
            made.append({**common, "type": "page", "properties": {"path": f"/pricing/{i % 7}", "title": "Pricing",
                                                                  "url": f"https://acme.example/pricing/{i % 7}"}})
        else:
            made.append({**common, "type": "track", "event": "Whitepaper Downloaded",
                         "properties": {"asset": f"wp-{i % 11}"}})
    return made


def post_all(url: str, bodies: list[bytes], clients: int) -> tuple[float, int]:
    headers = {"Content-Type": "application/json",
               "Authorization": "Basic " + base64.b64encode(f"{WRITE_KEY}:".encode()).decode()}
    local = [httpx.Client(timeout=60) for _ in range(clients)]

    def send(index: int) -> int:
        response = local[index % clients].post(f"{url}/segment/site/v1/batch", content=bodies[index],
                                               headers=headers)
        response.raise_for_status()
        return int(response.json()["duplicates"])

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        duplicates = sum(pool.map(send, range(len(bodies))))
    elapsed = time.perf_counter() - started
    for client in local:
        client.close()
    return elapsed, duplicates


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=40_000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--serve", nargs=2, metavar=("DB", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[0], int(args.serve[1]))
        return
    from tests.support.postgres import free_port

    made = messages(args.events)
    bodies = [json.dumps({"batch": made[i:i + args.batch]}).encode() for i in range(0, len(made), args.batch)]
    largest = max(len(b) for b in bodies)
    with tempfile.TemporaryDirectory() as tmp:
        db, port = str(Path(tmp) / "state.db"), free_port()
        server = subprocess.Popen([sys.executable, __file__, "--serve", db, str(port)])
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    httpx.get(f"{url}/health").raise_for_status()
                    break
                except httpx.HTTPError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise
                    time.sleep(0.1)
            elapsed, _ = post_all(url, bodies, args.clients)
            again, duplicates = post_all(url, bodies, args.clients)
        finally:
            server.terminate()
            server.wait(10)
        from flows.state import StateStore

        store = StateStore(f"sqlite:///{db}")
        stored = store.inbox_count("segment:site")
        store.dispose()
    rate = args.events / elapsed
    print(f"{args.events} events in {len(bodies)} batches of {args.batch} (largest {largest / 1024:.0f} KB), "
          f"{args.clients} client threads, one receiver process, SQLite")
    print(f"events ingest: {rate:,.0f} events/s stored ({elapsed:.2f} s)   target >= {TARGET:,}   "
          f"ratio {rate / TARGET:.1f}x")
    print(f"re-delivery of all: {args.events / again:,.0f} events/s acknowledged, {duplicates} duplicates, "
          f"{stored} rows stored (expected {args.events})")
    if stored != args.events or duplicates != args.events:
        raise SystemExit("FAILED: not every event was stored exactly once")


if __name__ == "__main__":
    main()
