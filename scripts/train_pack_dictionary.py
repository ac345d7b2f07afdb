"""Build a PackedJSON dictionary from stores that hold typical rows (run once per new dictionary version).

DEFLATE primed with a dictionary finds each value's keys, phrases and explanation sentences in it, so a
dictionary made of real rows of every packed column stores a decision in ~60 bytes instead of ~400.
For each packed column this takes a few rows of distinct shapes (their top-level keys, and for decisions
the qualification, routing method and status) from the given SQLite stores, and writes them one per
line, the most frequent columns last (nearest the data, cheapest to reference); the DEFLATE window is
32 KB, so the whole stays under 30 KB. The output is frozen once released: stored rows name the version
of the dictionary they were packed with.

Usage: python scripts/train_pack_dictionary.py OUT.txt STORE.db [STORE.db ...]
(version 2 was made from a `leadsync run` of config/leadsync.yaml and a 10,000-lead run of bench/e2e.py)
"""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flows.state.packing import unpack

# (table, column, bytes budget): rarer columns first, the ones every lead has last.
COLUMNS = [("nurture_cadence", "payload", 1000), ("rotation_ledger", "skipped", 800),
           ("outbox", "payload", 4000), ("handoffs", "payload", 2500), ("profiles", "lists", 300),
           ("profiles", "fit", 6000), ("inbox", "payload", 6500), ("decisions", "decision", 8500)]
DECISION_SHAPE = ("qualification", "routing_method", "status_key", "mql", "stage")


def _shape(column: str, value: object) -> str:
    if isinstance(value, dict):
        keys = sorted(value)
        if column == "decision":
            return json.dumps([value.get(k) for k in DECISION_SHAPE] + keys)
        inner = value.get("row") or value.get("fields") or value.get("handoff")
        return json.dumps([keys, sorted(inner) if isinstance(inner, dict) else None, value.get("kind")])
    return json.dumps(type(value).__name__ if not isinstance(value, list) else len(value) > 0)


def samples(stores: list[Path], table: str, column: str, budget: int) -> list[str]:
    """Rows of distinct shapes first, then more rows while the budget lasts (values vary within a shape)."""
    rows: list[object] = []
    for store in stores:
        with sqlite3.connect(store) as conn:
            try:
                rows += [unpack(stored) for (stored,) in conn.execute(
                    f"SELECT {column} FROM {table} ORDER BY random() LIMIT 2000")]
            except sqlite3.OperationalError:  # a store without this table
                continue
    seen: set[str] = set()
    chosen: list[str] = []
    used = 0
    for distinct_only in (True, False):
        for value in rows:
            shape = _shape(column, value)
            text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
            if value in (None, [], {}) or text in chosen or used + len(text) > budget or (
                    distinct_only and shape in seen):
                continue
            seen.add(shape)
            chosen.append(text)
            used += len(text) + 1
    return chosen


def main() -> None:
    out, stores = Path(sys.argv[1]), [Path(p) for p in sys.argv[2:]]
    lines = [line for table, column, budget in COLUMNS for line in samples(stores, table, column, budget)]
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{out}: {len(lines)} samples, {len(out.read_bytes()):,} bytes")


if __name__ == "__main__":
    main()
