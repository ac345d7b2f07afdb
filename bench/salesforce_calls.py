"""Salesforce API calls: leadsync's batched sink vs a per-record client, side by side on the same emulator.

Both use the real simple-salesforce client. The per-record client does what a Zapier-style zap does
for each lead: one SOQL lookup by e-mail, one create or update, one CampaignMember insert.
Prints calls per 1,000 new leads, calls and writes for a no-change re-sync, and wall time for both
with a per-request latency (default 20 ms, a typical round trip to a Salesforce pod) on loopback.
Usage: python bench/salesforce_calls.py [--leads 1000] [--latency 0.02] [--per-record-leads 1000]
(the 100k target: --leads 100000 --latency 0.05)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crm_leads import OWNERS, leads_and_decisions
from simple_salesforce.format import format_soql

from connectors.crm.plan import PlanItem, plan_changes
from connectors.crm.salesforce import SalesforceConfig, SalesforceSink
from connectors.records import Decision, Lead
from flows.config.models import ProcessingConfig
from tests.emulators.salesforce import SalesforceEmulator, salesforce_client

STATUSES = ["Open - Not Contacted", "Working - Contacted"]
WRITES = ("composite", "bulk", "sobject_create", "sobject_update", "sobject_upsert", "sobject_delete")


def emulator() -> SalesforceEmulator:
    emu = SalesforceEmulator().start()
    for owner in OWNERS:
        emu.org.add_user(owner)
    emu.org.add_campaign("Nurture")
    for name, kind in (("Leadsync_Score__c", "double"), ("Leadsync_Grade__c", "string"),
                       ("Leadsync_MQL__c", "boolean"), ("Leadsync_Explanation__c", "textarea"),
                       ("Leadsync_Ruleset__c", "string")):
        emu.org.add_custom_field("Lead", name, type=kind)
    emu.org.add_custom_field("Lead", "Leadsync_Key__c", external_id=True, unique=True)
    emu.faults.daily_max = 10**9
    return emu


def writes(emu: SalesforceEmulator) -> int:
    return sum(n for name, n in emu.calls.items() if name.startswith(WRITES))


def run_sink(emu: SalesforceEmulator, leads: list[Lead], decisions: list[Decision]) -> None:
    sink = SalesforceSink(SalesforceConfig(), lambda: salesforce_client(emu), statuses=STATUSES)
    sink.resolve_owners(OWNERS, [], ["Nurture"])
    # As `leadsync run` sizes its batches: the default, or Bulk-sized when the backlog is large.
    batch = sink.batch_size_for(len(leads), ProcessingConfig().batch_size)
    for start in range(0, len(leads), batch):  # one process-stage batch at a time
        chunk, chosen = leads[start:start + batch], decisions[start:start + batch]
        existing = sink.lookup(chunk)
        items = [PlanItem(lead, d, existing.get(lead.lead_key)) for lead, d in zip(chunk, chosen, strict=True)]
        sink.apply(plan_changes(items, STATUSES, sink.mapped_fields()))


def run_per_record(emu: SalesforceEmulator, leads: list[Lead], decisions: list[Decision]) -> None:
    sf = salesforce_client(emu)
    users = {r["Email"]: r["Id"] for r in sf.query("SELECT Id, Email FROM User")["records"]}
    campaign = sf.query("SELECT Id FROM Campaign WHERE Name = 'Nurture'")["records"][0]["Id"]
    for lead, decision in zip(leads, decisions, strict=True):
        found = sf.query(format_soql("SELECT Id FROM Lead WHERE Email = {}", lead.email))["records"]
        fields = {"LastName": lead.last_name, "Company": lead.company, "Email": lead.email,
                  "OwnerId": users[decision.owner], "Status": decision.status, "Leadsync_Score__c": decision.score}
        if found:
            sf.Lead.update(found[0]["Id"], fields)
            continue
        created = sf.Lead.create(fields)
        sf.CampaignMember.create({"CampaignId": campaign, "LeadId": created["id"]})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.02, help="seconds added to every request")
    parser.add_argument("--per-record-leads", type=int, default=1000,
                        help="the per-record client runs on this many of the leads (3 calls each: it is slow)")
    args = parser.parse_args()
    leads, decisions = leads_and_decisions(args.leads, *STATUSES)

    ours = emulator()
    ours.faults.latency = args.latency
    started = time.perf_counter()
    run_sink(ours, leads, decisions)
    our_seconds, our_calls = time.perf_counter() - started, sum(ours.calls.values())
    where = ", ".join(f"{name} {n}" for name, n in sorted(ours.calls.items(), key=lambda kv: -kv[1]) if n)
    inside = ", ".join(f"{name} {n}" for name, n in sorted(ours.subrequests.items(), key=lambda kv: -kv[1]) if n)
    writes_before, calls_before = writes(ours), sum(ours.calls.values())
    run_sink(ours, leads, decisions)
    resync_calls, resync_writes = sum(ours.calls.values()) - calls_before, writes(ours) - writes_before
    ours.stop()

    n_theirs = min(args.per_record_leads, args.leads)
    theirs = emulator()
    theirs.faults.latency = args.latency
    started = time.perf_counter()
    run_per_record(theirs, leads[:n_theirs], decisions[:n_theirs])
    their_seconds, their_calls = time.perf_counter() - started, sum(theirs.calls.values())
    writes_before, calls_before = writes(theirs), sum(theirs.calls.values())
    run_per_record(theirs, leads[:n_theirs], decisions[:n_theirs])
    their_resync_calls, their_resync_writes = sum(theirs.calls.values()) - calls_before, writes(theirs) - writes_before
    theirs.stop()

    ours_1000, theirs_1000 = our_calls * 1000 / args.leads, their_calls * 1000 / n_theirs
    print(f"{args.leads:,} new leads (per-record client: {n_theirs:,}), {args.latency * 1000:.0f} ms per request, "
          f"process batches as `leadsync run` sizes them (default {ProcessingConfig().batch_size}; Bulk API 2.0 "
          f"batches of {SalesforceConfig().bulk_batch_size:,} once the backlog reaches "
          f"{SalesforceConfig().bulk_threshold:,})")
    print(f"{'':34}{'leadsync':>12}{'per-record':>12}")
    print(f"{'calls per 1,000 new leads':34}{ours_1000:>12.1f}{theirs_1000:>12.0f}")
    print(f"{'no-change re-sync: calls / writes':34}{f'{resync_calls} / {resync_writes}':>12}"
          f"{f'{their_resync_calls} / {their_resync_writes}':>12}")
    print(f"{'wall time (s)':34}{our_seconds:>12.1f}{their_seconds:>12.1f}")
    print(f"{'leads per second':34}{args.leads / our_seconds:>12,.0f}{n_theirs / their_seconds:>12,.0f}")
    print(f"{'ratio (per-record / leadsync)':34}{theirs_1000 / ours_1000:>11.0f}x calls per lead")
    print(f"where leadsync's calls go: {where}")
    print(f"inside its Composite calls: {inside}")
    print("targets: <= 12 calls per 1,000 new leads, >= 100x fewer than per-record, 100k leads at 50 ms <= 120 s")


if __name__ == "__main__":
    main()
