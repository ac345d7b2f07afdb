"""Garbage-collector settings for long runs: start-up objects frozen, young collections less often.

A sync holds a few hundred thousand long-lived objects after start-up (Prefect, SQLAlchemy,
pydantic schemas, the compiled ruleset) and allocates many short-lived ones per lead (leads,
decisions, rows). CPython's defaults (a young collection every 700 allocations, full ones
re-scanning everything alive) spent a measurable share of deciding in the collector: see
bench/rules.py, which decides with the same settings.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 50_000  # CPython's default is 700; memory cost: at most this many objects awaiting a scan


def tune_gc() -> None:
    """Call once after start-up: what exists now is never garbage, so no collection scans it again.

    No gc.collect() first: on a tracked run's heap (Prefect loaded) it took 0.1-0.2 s to find ~600 garbage
    objects, which freezing now keeps for the life of the process (a few kilobytes).
    """
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, older, oldest)
