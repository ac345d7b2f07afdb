"""Lifecycle at scale: profiles, events appended in batches, the daily re-score pass, store size, memory.

One run, figures printed next to their targets (issue 11, item 7):
  1. N profiles created from submissions (default 1,000,000), peak RSS printed at 100k and at N;
  2. M events (default 10,000,000) appended through `StateStore.attach`, the process stage's path
     (identity look-ups, dedupe, last activity), in batches: events/s (target >= 20,000);
  3. a first decision of every profile (rules over fit facts + kept history; saves score, stage,
     next_rescore_at), then the next day's re-score pass: only the due profiles, found by the
     next_rescore_at index (target <= 60 s over 1M profiles; how many were due is printed);
  4. bytes per profile (profiles + identities, indexes included; target <= 1 KB) and per kept
     event (target <= 200 B).
The CRM is left out: the pass decides and saves in the store; what changed goes to the CRM in the
sink's batches, measured by bench/crm_leads.py. Usage:
  python bench/lifecycle.py                      # full scale (a quiet machine: ~1 h on SQLite)
  python bench/lifecycle.py --scale 0.01         # 10k profiles, 100k events: a quick check
  python bench/lifecycle.py --url postgresql://user@host/db   # on PostgreSQL (an empty database)
"""

from __future__ import annotations

import argparse
import gc
import itertools
import os
import random
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, select, text

from connectors.normalise import lead_key_for
from connectors.records import Event, Lead
from flows.pipeline.lifecycle import keep_days, profile_outcome
from flows.state import StateStore
from flows.state.profiles import RETENTION
from flows.state.schema import profile_events, profiles
from rules import DecisionContext, Ruleset, load_ruleset
from rules.trusted import trusted

REPO = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 12, 1, 6, tzinfo=UTC)
SPAN_DAYS = 120  # events spread over the last four months: some compacted, some leaving their windows
EVENT_MIX = [("email_open", 40), ("email_click", 15), ("website_visit", 25), ("pricing_page_visit", 8),
             ("whitepaper_download", 6), ("event_attended", 2), ("careers_page_visit", 3), ("unsubscribe", 1)]
INDUSTRIES = ["Software", "Logistics", "Retail", "Robotics", "Financial Services", "Healthcare"]


def rss_mb() -> float:
    """Peak RSS so far (the kernel's high-water mark can lag the current figure by a few pages)."""
    return max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, current_rss_mb())


def current_rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20


class Clock:
    """Wall and CPU seconds of a phase, with the load average: the machine may be shared."""

    def __init__(self) -> None:
        self.wall = self.cpu = 0.0

    def __enter__(self) -> Clock:
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *_: object) -> None:
        self.wall += time.perf_counter() - self._wall
        self.cpu += time.process_time() - self._cpu

    def __str__(self) -> str:
        return f"{self.wall:.1f} s wall, {self.cpu:.1f} s CPU, load {os.getloadavg()[0]:.1f}"


def email(i: int) -> str:
    return f"person{i}@company{i % 50_000}.example"


def submissions(start: int, stop: int, rng: random.Random) -> list[Lead]:
    at = NOW - timedelta(days=SPAN_DAYS + 1)
    # Validated as a source's records are (pydantic's model_construct is ~50x slower here: it inspects
    # the signature of every default factory on every call).
    return [Lead.model_validate({
        "lead_key": lead_key_for(email(i), "", ""), "source": "forms:web", "source_record_id": f"s{i}",
        "received_at": at, "email": email(i), "first_name": f"First{i}", "last_name": f"Last{i}",
        "company": f"Company {i % 50_000}", "title": rng.choice(["VP Sales", "Engineer", "Head of Growth", "Analyst"]),
        "industry": rng.choice(INDUSTRIES), "employees": rng.choice([12, 80, 250, 900]),
        "country": rng.choice(["US", "DE", "SE", "BR"])}) for i in range(start, stop)]


def event_batches(n_profiles: int, n_events: int, batch: int, rng: random.Random) -> Iterator[list[Lead]]:
    """Batches of engagement events of random known people, as a tracking source delivers them.

    Ten million events are input, not the store's work: each event (and each person's lead) is filled
    with `rules.trusted` from one validated model's values with its own, ~5x cheaper than validating.
    """
    kinds, weights = zip(*EVENT_MIX, strict=True)
    cumulative = list(itertools.accumulate(weights))
    event = Event.model_validate({"type": kinds[0], "at": NOW, "event_id": "ev"})
    person = Lead.model_validate({"lead_key": lead_key_for(email(0), "", ""), "source": "tracking:web",
                                  "source_record_id": "t", "received_at": NOW, "email": email(0),
                                  "events": [event], "events_only": True})
    set_event = event.model_fields_set | {"type", "at", "event_id"}
    set_person = person.model_fields_set
    for start in range(0, n_events, batch):
        size = min(batch, n_events - start)
        people: dict[int, list[Event]] = {}
        for n in range(start, start + size):
            values = {**event.__dict__, "type": rng.choices(kinds, cum_weights=cumulative)[0], "event_id": f"ev{n}",
                      "at": NOW - timedelta(seconds=rng.randrange(SPAN_DAYS * 86400))}
            people.setdefault(rng.randrange(n_profiles), []).append(trusted(Event, values, set_event))
        yield [trusted(Lead, {**person.__dict__, "lead_key": lead_key_for(email(i), "", ""), "email": email(i),
                              "source_record_id": f"t{start}-{i}", "events": events}, set_person)
               for i, events in people.items()]


def table_bytes(store: StateStore, names: list[str]) -> int:
    with store.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            return sum(int(conn.execute(text("SELECT pg_total_relation_size(:t)"), {"t": n}).scalar_one())
                       for n in names)
        master = conn.execute(text("SELECT name, tbl_name FROM sqlite_master")).fetchall()
        objects = {r.name for r in master if r.tbl_name in names}  # the tables and their indexes
        sizes = conn.execute(text("SELECT name, SUM(pgsize) AS bytes FROM dbstat GROUP BY name")).fetchall()
        return sum(int(r.bytes) for r in sizes if r.name in objects)


def decide_pass(store: StateStore, ruleset: Ruleset, ids_or_due: str, now: datetime, batch: int) -> tuple[int, Clock]:
    """Decide profiles in batches and save score, stage and next_rescore_at (no CRM): the re-score
    flow's store side (flows/pipeline/rescore.py) without the CRM plan; returns (count, clock)."""
    days, count, after, clock = keep_days(ruleset), 0, 0, Clock()
    with clock:
        while True:
            if ids_or_due == "all":
                found = store.profiles_after(after, batch, now, days)
            else:
                found = store.claim_due_profiles(now, batch, timedelta(minutes=15), days, RETENTION)
            if not found:
                break
            leads = [p.as_lead() for p in found]
            decided = ruleset.decide(leads, DecisionContext(now=now, profiles={p.lead_key: p.state for p in found}))
            outcomes = [profile_outcome(p, lead, d, None, ruleset, now)
                        for p, lead, d in zip(found, leads, decided.decisions, strict=True)]
            store.record_decisions("bench", [], profiles=outcomes)
            count += len(found)
            after = found[-1].id
    return count, clock


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of 1M profiles / 10M events")
    parser.add_argument("--batch", type=int, default=20_000, help="events per attach call")
    parser.add_argument("--url", default=None, help="state store URL (default: a temporary SQLite file)")
    parser.add_argument("--dir", default=None, help="directory for the SQLite file (default: a temporary one)")
    args = parser.parse_args()
    n_profiles, n_events = int(1_000_000 * args.scale), int(10_000_000 * args.scale)
    tmp = tempfile.TemporaryDirectory(dir=args.dir)
    url = args.url or f"sqlite:///{tmp.name}/state.db"
    store = StateStore(url)
    store.create_schema()
    ruleset = load_ruleset(REPO / "config" / "rules.yaml")
    rng = random.Random(11)
    print(f"lifecycle bench on {store!r}: {n_profiles:,} profiles, {n_events:,} events, keep "
          f"{keep_days(ruleset)} days of history; {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}", flush=True)

    # Profiles are created the way an import of N people creates them: submissions through
    # StateStore.attach (identity look-ups, resolution, merges, facts) in the process stage's batches.
    clock, marks = Clock(), {100_000, n_profiles}
    for start in range(0, n_profiles, 5_000):
        stop = min(start + 5_000, n_profiles)
        batch = submissions(start, stop, rng)
        with clock:
            store.attach(batch, NOW - timedelta(days=SPAN_DAYS), keep_days(ruleset), load=False)
        if stop in marks:
            print(f"  {stop:>9,} profiles: RSS {current_rss_mb():5.0f} MB, peak {rss_mb():5.0f} MB", flush=True)
    print(f"profiles created: {n_profiles / clock.wall:,.0f} profiles/s ({clock})", flush=True)

    appended, clock = 0, Clock()
    for leads in event_batches(n_profiles, n_events, args.batch, rng):
        # The generated batch is input, not the store's work: keep its objects out of the cyclic
        # collector's scans (they would cost several times the append itself in full collections).
        gc.freeze()
        with clock:
            store.attach(leads, NOW, keep_days(ruleset), load=False)
        appended += sum(len(lead.events) for lead in leads)
        gc.unfreeze()
    print(f"events appended: {appended / clock.wall:,.0f} events/s in batches of {args.batch:,} "
          f"({clock})   target >= 20,000 events/s", flush=True)
    print(f"  RSS {current_rss_mb():.0f} MB, peak {rss_mb():.0f} MB", flush=True)

    count, clock = decide_pass(store, ruleset, "all", NOW, 5_000)
    print(f"first decision of every profile (rescore --all): {count:,} at {count / clock.wall:,.0f} profiles/s "
          f"({clock})", flush=True)
    with store.engine.connect() as conn:
        tomorrow = NOW + timedelta(days=1)
        due = int(conn.execute(select(func.count()).select_from(profiles).where(
            profiles.c.next_rescore_at <= tomorrow)).scalar_one())
        kept = int(conn.execute(select(func.count()).select_from(profile_events)).scalar_one())
    count, clock = decide_pass(store, ruleset, "due", tomorrow, 5_000)
    print(f"daily re-score pass: {count:,} due of {n_profiles:,} profiles (index said {due:,}) at "
          f"{count / max(clock.wall, 1e-9):,.0f} profiles/s ({clock})   target <= 60 s for 1M profiles", flush=True)
    if n_profiles < 1_000_000 and count:  # the same share due, at the same rate per due profile
        scaled = 1_000_000 / n_profiles
        print(f"  at 1M profiles that would be ~{count * scaled:,.0f} due: ~{clock.wall * scaled:.0f} s wall, "
              f"~{clock.cpu * scaled:.0f} s CPU", flush=True)
    profile_bytes = table_bytes(store, ["profiles", "profile_identities"])
    event_bytes = table_bytes(store, ["profile_events"])
    print(f"store: {profile_bytes / n_profiles:,.0f} B per profile (target <= 1,024)   "
          f"{event_bytes / max(kept, 1):,.0f} B per kept event over {kept:,} kept (target <= 200)")
    print(f"RSS at the end: {current_rss_mb():.0f} MB, peak {rss_mb():.0f} MB")
    store.dispose()
    tmp.cleanup()


if __name__ == "__main__":
    main()
