"""Identity resolution: which person (profile) each lead of a batch belongs to. Pure: no I/O.

A lead's identities, strongest first: its e-mail, its E.164 phone, its CRM id, the anonymous ids
it carries (an identify call or a form fill with the tracking id), its lead key, and, for a lead
without an e-mail, its name and company within the same source (what survives an edited copy of a
CSV: rows added, reordered, corrected). The store looks the identities up in one batched query;
`resolve` then joins leads and known profiles into people:

- a lead joins the profile (or the other leads of the batch) any of its identities points to;
- a link that joins two profiles merges them into the oldest, recorded with its reason;
- two different e-mail addresses are two people: a weaker identity (a shared office phone, a
  shared computer's anonymous id) never joins profiles or leads that each have another e-mail.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

from connectors.records import Lead

IdentityKind = Literal["email", "phone", "crm_id", "anonymous_id", "lead_key", "name"]
PRIORITY: tuple[IdentityKind, ...] = ("email", "phone", "crm_id", "anonymous_id", "lead_key", "name")
_LEGAL_SUFFIXES = re.compile(
    r"\b(inc|incorporated|llc|ltd|limited|plc|gmbh|ag|ab|as|oy|sa|sas|sarl|bv|nv|co|corp|corporation|company|"
    r"pty|srl|spa|kg)\b")


class Identity(NamedTuple):
    """Hashed and compared as a plain tuple (in C): a batch of 20,000 events hashes hundreds of thousands."""

    kind: IdentityKind
    value: str


def identities_of(lead: Lead) -> list[Identity]:
    """The lead's identities, strongest first (values as stored: e-mail lower-cased, phone E.164)."""
    found: list[Identity] = []
    if lead.email:
        found.append(Identity("email", lead.email.lower()))
    if lead.phone:
        found.append(Identity("phone", lead.phone))
    if lead.crm_id:
        found.append(Identity("crm_id", lead.crm_id))
    found += [Identity("anonymous_id", anonymous) for anonymous in dict.fromkeys(lead.anonymous_ids) if anonymous]
    found.append(Identity("lead_key", lead.lead_key))
    name = None if lead.email else person_key(lead)
    if name:
        found.append(Identity("name", name))
    return found


def person_key(lead: Lead) -> str | None:
    """Name + company within one source, normalised (case, accents, punctuation, legal suffixes), hashed."""
    person = _fold(" ".join(p for p in (lead.first_name, lead.last_name) if p))
    company = _LEGAL_SUFFIXES.sub(" ", _fold(lead.company or ""))
    company = " ".join(company.split())
    if not person or not company:
        return None
    return hashlib.sha256(f"{lead.source}\x1f{person}\x1f{company}".encode()).hexdigest()[:32]


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^\w]+", " ", plain).split())


@dataclass
class Person:
    """One person of the batch: its leads (indexes into the input) and what the store must do."""

    leads: list[int]
    profile_id: int | None = None
    """The existing profile that stays (the oldest one joined); None: a new profile."""
    merged: dict[int, str] = field(default_factory=dict)
    """Other existing profiles joined into `profile_id`, each with the reason."""
    new_identities: list[Identity] = field(default_factory=list)
    """Identities of the leads not yet stored for this person (never one that belongs to someone else)."""


class _People:
    """Union-find over leads and profiles that refuses a join bringing two different e-mails together."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}
        self.emails: dict[str, set[str]] = {}
        self.reasons: dict[str, list[str]] = {}
        self.profiled: dict[str, bool] = {}

    def add(self, node: str, emails: set[str]) -> None:
        if node not in self.parent:
            self.parent[node] = node
            self.emails[node] = set(emails)
            self.reasons[node] = []
            self.profiled[node] = node.startswith("p")

    def find(self, node: str) -> str:
        root = node
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[node] != root:
            self.parent[node], node = root, self.parent[node]
        return root

    def join(self, a: str, b: str, reason: str) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return True
        ea, eb = self.emails[ra], self.emails[rb]
        if ea and eb and not ea & eb:
            return False
        self.parent[rb] = ra
        self.emails[ra] = ea | eb
        merging = self.profiled[ra] and self.profiled[rb]  # the join brings two stored profiles together
        self.reasons[ra] += [*self.reasons[rb], *([reason] if merging else [])]
        self.profiled[ra] = self.profiled[ra] or self.profiled[rb]
        return True


def resolve(lead_identities: Sequence[Sequence[Identity]], known: Mapping[Identity, int],
            emails_of: Mapping[int, set[str]], describe: Sequence[str] = ()) -> list[Person]:
    """Group a batch's leads into people.

    `lead_identities[i]`: identities of lead i (identities_of). `known`: identity -> profile id for those
    the store already has. `emails_of`: the e-mails each of those profiles holds. `describe[i]`: how
    lead i is named in a merge reason (its source record; never its personal data).
    """
    people = _People()
    for i, identities in enumerate(lead_identities):
        people.add(f"l{i}", {x.value for x in identities if x.kind == "email"})
    for profile_id in set(known.values()):
        people.add(f"p{profile_id}", emails_of.get(profile_id, set()))
    first_holder: dict[Identity, str] = {}
    for kind in PRIORITY:
        for i, identities in enumerate(lead_identities):
            for identity in identities:
                if identity.kind != kind:
                    continue
                target = f"p{known[identity]}" if identity in known else first_holder.setdefault(identity, f"l{i}")
                who = describe[i] if i < len(describe) else f"lead {i + 1} of the batch"
                people.join(f"l{i}", target, f"same {kind.replace('_', ' ')} (linked by {who})")
    groups: dict[str, Person] = {}
    for i in range(len(lead_identities)):
        root = people.find(f"l{i}")
        groups.setdefault(root, Person(leads=[])).leads.append(i)
    profiles_of: dict[str, list[int]] = {}
    for profile_id in set(known.values()):
        profiles_of.setdefault(people.find(f"p{profile_id}"), []).append(profile_id)
    for root, person in groups.items():
        profiles = sorted(profiles_of.get(root, []))
        if profiles:
            person.profile_id = profiles[0]
            reason = "; ".join(dict.fromkeys(people.reasons[root])) or "linked"
            person.merged = {p: reason for p in profiles[1:]}
        # Identities of the merged profiles move with them; one held by someone else stays theirs.
        wanted = dict.fromkeys(x for i in person.leads for x in lead_identities[i] if x.kind != "lead_key")
        person.new_identities = [x for x in wanted if x not in known]
    return list(groups.values())
