"""Nurture lists as Campaigns: membership read in batches, added and removed through sObject Collections
(bundled five to a Composite call).

A person can be a member of a campaign once; DUPLICATE_VALUE on add means the membership already
exists (for instance after a crash between the write and our bookkeeping), so it counts as done.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from simple_salesforce.format import format_soql

from connectors.crm.salesforce import composite
from connectors.crm.salesforce.client import SalesforceClient
from connectors.crm.salesforce.composite import Sub, queries
from connectors.crm.salesforce.directory import Directory
from connectors.crm.salesforce.soql import in_chunks
from connectors.redaction import redact

COLLECTION_LIMIT = 200  # records per sObject Collections call


@dataclass(frozen=True)
class MembershipChange:
    record_id: str
    object_type: str  # "lead" or "contact"
    campaign: str     # campaign (nurture list) name
    add: bool


class Campaigns:
    def __init__(self, client: SalesforceClient, directory: Directory, member_status: str | None) -> None:
        self.client = client
        self.directory = directory
        self.member_status = member_status
        self.members: dict[tuple[str, str], str] = {}  # (campaign id, lead/contact id) -> CampaignMember id

    def memberships(self, record_ids: Sequence[str]) -> dict[str, list[str]]:
        """Campaign names each record belongs to, among the campaigns the rules manage."""
        campaign_ids = list(self.directory.campaign_ids.values())
        if not campaign_ids or not record_ids:
            return {}
        names: dict[str, list[str]] = {}
        campaigns = format_soql("{}", campaign_ids)
        wanted: list[tuple[str, str]] = []
        for column in ("LeadId", "ContactId"):
            ids = [i for i in record_ids if i.startswith("00Q" if column == "LeadId" else "003")]
            template = f"SELECT Id, CampaignId, Status, {column} FROM CampaignMember " \
                       f"WHERE CampaignId IN {campaigns} AND {column} IN {{values}}"
            wanted += [(column, soql) for soql in in_chunks(template, ids)]
        for (column, _), rows in zip(wanted, queries(self.client, [soql for _, soql in wanted]), strict=True):
            for row in rows:
                record_id, campaign_id = str(row[column]), str(row["CampaignId"])
                self.members[(campaign_id, record_id)] = str(row["Id"])
                if self.member_status and row.get("Status") != self.member_status:
                    continue  # a member with another status: reported as missing, so the add updates it
                names.setdefault(record_id, []).append(self.directory.campaign_names[campaign_id])
        return names

    def apply(self, changes: Sequence[MembershipChange]) -> dict[str, str]:
        """Apply membership changes; returns record id -> redacted error for the records that failed.

        Status updates, adds and removes go as sObject Collections of 200, bundled five to a Composite call.
        """
        failures: dict[str, str] = {}
        known = [c for c in changes if c.add and self._member_id(c)]
        adds = [c for c in changes if c.add and not self._member_id(c)]
        removable = [(c, member_id) for c in changes if not c.add
                     if (member_id := self.members.get((self.directory.campaign_ids[c.campaign], c.record_id)))]
        subs: list[tuple[str, list[MembershipChange], Sub]] = []
        for start in range(0, len(known), COLLECTION_LIMIT):  # already members: set the configured status
            updating = known[start:start + COLLECTION_LIMIT]
            statuses = [{"attributes": {"type": "CampaignMember"}, "id": self._member_id(c),
                         "Status": self.member_status} for c in updating]
            subs.append(("status", updating, Sub("PATCH", "composite/sobjects", {"allOrNone": False,
                                                                                 "records": statuses})))
        for start in range(0, len(adds), COLLECTION_LIMIT):
            chunk = adds[start:start + COLLECTION_LIMIT]
            subs.append(("add", chunk, Sub("POST", "composite/sobjects", {
                "allOrNone": False, "records": [self._member(c) for c in chunk]})))
        for start in range(0, len(removable), COLLECTION_LIMIT):
            batch = removable[start:start + COLLECTION_LIMIT]
            ids = ",".join(member_id for _, member_id in batch)
            subs.append(("remove", [c for c, _ in batch],
                         Sub("DELETE", f"composite/sobjects?ids={ids}&allOrNone=false")))
        answers = composite.run(self.client, [sub for _, _, sub in subs])
        for (kind, chunk, _), answer in zip(subs, answers, strict=True):
            if answer.status >= 400:  # the whole subrequest refused
                code, message = answer.error()
                failures.update({c.record_id: _describe({"statusCode": code, "message": message}, c.campaign)
                                 for c in chunk})
                continue
            for change, result in zip(chunk, answer.body or [], strict=False):
                self._settle(kind, change, result, failures)
        return failures

    def _settle(self, kind: str, change: MembershipChange, result: dict[str, Any], failures: dict[str, str]) -> None:
        campaign_id = self.directory.campaign_ids[change.campaign]
        errors = result.get("errors") or [{}]
        if kind == "status":
            if not result.get("success"):
                failures[change.record_id] = _describe(errors[0], change.campaign)
        elif kind == "add":
            if result.get("success"):
                self.members[(campaign_id, change.record_id)] = str(result["id"])
            elif errors[0].get("statusCode") != "DUPLICATE_VALUE":  # already a member: the goal holds
                failures[change.record_id] = _describe(errors[0], change.campaign)
        elif result.get("success") or errors[0].get("statusCode") == "ENTITY_IS_DELETED":
            self.members.pop((campaign_id, change.record_id), None)
        else:
            failures[change.record_id] = _describe(errors[0], change.campaign)

    def _member_id(self, change: MembershipChange) -> str | None:
        return self.members.get((self.directory.campaign_ids[change.campaign], change.record_id))

    def _member(self, change: MembershipChange) -> dict[str, object]:
        record: dict[str, object] = {"attributes": {"type": "CampaignMember"},
                                     "CampaignId": self.directory.campaign_ids[change.campaign],
                                     "LeadId" if change.object_type == "lead" else "ContactId": change.record_id}
        if self.member_status:
            record["Status"] = self.member_status
        return record


def _describe(error: dict[str, object], campaign: str) -> str:
    return redact(f"campaign {campaign!r}: {error.get('statusCode', 'ERROR')}: {error.get('message', '')}")
