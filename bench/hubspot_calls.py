"""HubSpot API calls: leadsync's batched sink vs a per-record client, side by side on the same emulator.

Prints calls per 1,000 new leads, calls and writes for a no-change re-sync (both measured: each client
runs the same leads twice), and the time to push
10,000 leads under a 190 requests / 10 s burst limit (measured for leadsync; for the per-record
client computed from its call count at the same limit, since running it would take ~17 minutes).
Usage: python bench/hubspot_calls.py [--leads 1000] [--big 10000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crm_leads import OWNERS, leads_and_decisions
from hubspot import HubSpot
from hubspot.crm.contacts import (
    BatchInputSimplePublicObjectBatchInputUpsert,
    BatchReadInputSimplePublicObjectId,
    SimplePublicObjectBatchInputUpsert,
    SimplePublicObjectId,
)
from pydantic import SecretStr

from connectors.crm.base import LOGICAL_FIELDS
from connectors.crm.hubspot import HubSpotConfig, HubSpotCredentials, HubSpotSink
from connectors.crm.plan import PlanItem, plan_changes
from connectors.records import Decision, Lead
from tests.emulators.hubspot import HubSpotEmulator


def emulator() -> HubSpotEmulator:
    emu = HubSpotEmulator().start()
    for owner in OWNERS:
        emu.account.add_owner(owner)
    for name in ("leadsync_score", "leadsync_grade", "leadsync_mql", "leadsync_explanation", "leadsync_key",
                 "leadsync_ruleset", "leadsync_source"):
        emu.account.properties[name] = "string"
    emu.faults.window_max = 10**9
    return emu


def run_sink(emu: HubSpotEmulator, leads: list[Lead], decisions: list[Decision], batch: int = 1000) -> None:
    sink = HubSpotSink(HubSpotConfig(), HubSpotCredentials(access_token=SecretStr("pat-bench")), host=emu.url)
    sink.resolve_owners(OWNERS, [], ["Nurture"])
    for start in range(0, len(leads), batch):  # one process-stage batch at a time
        chunk, chosen = leads[start:start + batch], decisions[start:start + batch]
        existing = sink.lookup(chunk)
        changes = plan_changes([PlanItem(lead, d, existing.get(lead.lead_key)) for lead, d in zip(chunk, chosen,
                                                                                               strict=True)],
                               ["NEW"], LOGICAL_FIELDS)
        sink.apply(changes)


def run_per_record(emu: HubSpotEmulator, leads: list[Lead]) -> None:
    """What a Zapier-style zap does: look the person up, then write, once per lead."""
    contacts = HubSpot(access_token="pat-bench", host=emu.url).crm.contacts.batch_api
    for lead in leads:
        contacts.read(BatchReadInputSimplePublicObjectId(id_property="email", properties=["email"],
                                                         inputs=[SimplePublicObjectId(id=lead.email)]))
        contacts.upsert(BatchInputSimplePublicObjectBatchInputUpsert(inputs=[SimplePublicObjectBatchInputUpsert(
            id_property="email", id=lead.email, properties={"firstname": lead.first_name or ""})]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=1000)
    parser.add_argument("--big", type=int, default=10_000)
    args = parser.parse_args()
    leads, decisions = leads_and_decisions(args.leads, "NEW", "NEW")

    ours = emulator()
    run_sink(ours, leads, decisions)
    new_calls = sum(ours.calls.values())
    where = ", ".join(f"{name} {n}" for name, n in sorted(ours.calls.items(), key=lambda kv: -kv[1]) if n)
    writes_before, calls_before = ours.write_calls(), sum(ours.calls.values())
    run_sink(ours, leads, decisions)
    resync_calls, resync_writes = sum(ours.calls.values()) - calls_before, ours.write_calls() - writes_before
    ours.stop()

    theirs = emulator()
    run_per_record(theirs, leads)
    per_record_calls = sum(theirs.calls.values())
    their_writes_before, their_calls_before = theirs.write_calls(), sum(theirs.calls.values())
    run_per_record(theirs, leads)  # the same leads again: a zap re-runs its steps, changed or not
    their_resync_calls = sum(theirs.calls.values()) - their_calls_before
    their_resync_writes = theirs.write_calls() - their_writes_before
    theirs.stop()

    big_leads, big_decisions = leads_and_decisions(args.big, "NEW", "NEW")
    limited = emulator()
    limited.faults.window_max, limited.faults.window_seconds = 190, 10.0
    started = time.perf_counter()
    run_sink(limited, big_leads, big_decisions)
    big_seconds, big_calls = time.perf_counter() - started, sum(limited.calls.values())
    rate_limited = limited.throttled
    limited.stop()

    per_1000 = 1000 / args.leads
    print(f"{'':34}{'leadsync':>12}{'per-record':>12}")
    print(f"{'calls per 1,000 new leads':34}{new_calls * per_1000:>12.0f}{per_record_calls * per_1000:>12.0f}")
    print(f"{'no-change re-sync: calls / writes':34}{f'{resync_calls} / {resync_writes}':>12}"
          f"{f'{their_resync_calls} / {their_resync_writes}':>12}")
    print(f"{'ratio (per-record / leadsync)':34}{per_record_calls / new_calls:>12.0f}x")
    print(f"{args.big:,} leads at 190 req/10 s: leadsync {big_seconds:.1f} s measured ({big_calls} calls, "
          f"{rate_limited} answered 429); per-record needs {2 * args.big} calls = "
          f">= {2 * args.big / 190 * 10:.0f} s at the same limit (computed)")
    print(f"where leadsync's calls for {args.leads:,} new leads go: {where}")
    print("targets: <= 25 calls per 1,000 new leads, 0 writes on no-change, >= 50x fewer calls than per-record")


if __name__ == "__main__":
    main()
