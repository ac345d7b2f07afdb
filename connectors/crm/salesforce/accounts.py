"""Account owners by e-mail domain, for account-based routing ("the rep who owns Acme gets Acme's leads").

Salesforce stores the domain only inside Account.Website ("https://www.acme.com/"), so the
query narrows with LIKE and the host is compared exactly in code: "acme.com" must not match
"notacme.com".
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from urllib.parse import quote_plus, urlsplit

from simple_salesforce.format import format_soql

from connectors.crm.salesforce.client import SalesforceClient
from connectors.crm.salesforce.composite import queries
from connectors.crm.salesforce.soql import MAX_ENCODED_QUERY

SELECT = "SELECT Id, Website, OwnerId FROM Account WHERE "
ORDER = " ORDER BY CreatedDate, Id"


def website_domain(website: str) -> str:
    """'https://www.Acme.com/about' -> 'acme.com'."""
    text = website.strip().lower()
    host = urlsplit(text if "//" in text else "//" + text).hostname or ""
    return host.removeprefix("www.")


def _queries(domains: Sequence[str]) -> Iterator[str]:
    clauses: list[str] = []
    size = len(quote_plus(SELECT + ORDER))
    for domain in domains:
        clause = format_soql("Website LIKE '%{:like}%'", domain)
        cost = len(quote_plus(clause)) + 8
        if clauses and size + cost > MAX_ENCODED_QUERY:
            yield SELECT + " OR ".join(clauses) + ORDER
            clauses, size = [], len(quote_plus(SELECT + ORDER))
        clauses.append(clause)
        size += cost
    if clauses:
        yield SELECT + " OR ".join(clauses) + ORDER


def account_owners_by_domain(client: SalesforceClient, domains: Sequence[str]) -> dict[str, str]:
    """Domain -> OwnerId of the oldest account whose website is on that domain."""
    wanted = sorted({d.lower() for d in domains if d})
    owners: dict[str, str] = {}
    for rows in queries(client, list(_queries(wanted))):  # bundled five to a Composite call
        for row in rows:
            domain = website_domain(str(row.get("Website") or ""))
            if domain in wanted and row.get("OwnerId"):
                owners.setdefault(domain, str(row["OwnerId"]))
    return owners
