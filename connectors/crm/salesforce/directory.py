"""Users, queues and campaigns: resolved from e-mails and names once per run, then cached both ways."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from connectors.crm.salesforce.client import SalesforceClient
from connectors.crm.salesforce.soql import in_chunks
from connectors.errors import ConfigError


class Directory:
    def __init__(self, client: SalesforceClient) -> None:
        self.client = client
        self.user_ids: dict[str, str] = {}      # e-mail (lower) -> active User id
        self.queue_ids: dict[str, str] = {}     # queue name -> Group id
        self.campaign_ids: dict[str, str] = {}  # campaign name -> Campaign id
        self.names: dict[str, str] = {}         # User / Group id -> e-mail / queue name
        self.campaign_names: dict[str, str] = {}

    def resolve(self, owners: Sequence[str], queues: Sequence[str], campaigns: Sequence[str]) -> None:
        """Raise ConfigError listing every unknown or inactive owner, unknown queue and missing campaign."""
        problems: list[str] = []
        wanted = sorted({o.lower() for o in owners})
        seen: dict[str, bool] = {}
        for soql in in_chunks("SELECT Id, Email, IsActive FROM User WHERE Email IN {values}", wanted):
            for row in self.client.query(soql):
                email = str(row["Email"]).lower()
                active = bool(row.get("IsActive"))
                if active or email not in seen:
                    seen[email] = active
                if active:
                    self._user(str(row["Id"]), email)
        for email in wanted:
            if email not in seen:
                problems.append(f"owner {email!r} is not a Salesforce user")
            elif not seen[email]:
                problems.append(f"owner {email!r} is an inactive Salesforce user")
        for soql in in_chunks("SELECT Id, Name FROM Group WHERE Type = 'Queue' AND Name IN {values}", list(queues)):
            for row in self.client.query(soql):
                self.queue_ids[str(row["Name"])] = str(row["Id"])
                self.names[str(row["Id"])] = str(row["Name"])
        problems += [f"queue {q!r} does not exist in Salesforce" for q in queues if q not in self.queue_ids]
        for soql in in_chunks("SELECT Id, Name FROM Campaign WHERE Name IN {values}", list(campaigns)):
            for row in self.client.query(soql):
                self.campaign_ids[str(row["Name"])] = str(row["Id"])
                self.campaign_names[str(row["Id"])] = str(row["Name"])
        problems += [f"nurture list {c!r} has no Salesforce campaign of that name" for c in campaigns
                     if c not in self.campaign_ids]
        if problems:
            raise ConfigError("the rules name owners, queues or lists Salesforce does not have", problems)

    def _user(self, user_id: str, email: str) -> None:
        self.user_ids[email] = user_id
        self.names[user_id] = email

    def owner_id(self, owner: str) -> str | None:
        return self.queue_ids.get(owner) or self.user_ids.get(owner.lower())

    def learn(self, owner_ids: Iterable[str]) -> None:
        """Fetch the e-mails / names of owners met in lookups that the rules do not name (one query per kind)."""
        unknown = sorted({i for i in owner_ids if i and i not in self.names})
        users = [i for i in unknown if i.startswith("005")]
        groups = [i for i in unknown if i.startswith("00G")]
        for soql in in_chunks("SELECT Id, Email, IsActive FROM User WHERE Id IN {values}", users):
            for row in self.client.query(soql):
                email = str(row["Email"]).lower()
                self.names[str(row["Id"])] = email
                if row.get("IsActive"):  # e.g. an account owner the rules route to without naming them
                    self.user_ids.setdefault(email, str(row["Id"]))
        for soql in in_chunks("SELECT Id, Name FROM Group WHERE Id IN {values}", groups):
            for row in self.client.query(soql):
                self.names[str(row["Id"])] = str(row["Name"])

    def owner_name(self, owner_id: str | None) -> str | None:
        return self.names.get(owner_id, owner_id) if owner_id else None
