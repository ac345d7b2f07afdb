"""Rules throughput, side by side in one run: leadsync vs hand-written Python vs the rule-engine package.

A ruleset of 25 rules (4 qualification, 12 scoring, 8 routing, 1 nurture) is written once as
leadsync YAML, once as hand-written Python and once as rule-engine expressions. All three must
produce identical decisions (qualification, failed checks, score, MQL, owner or queue, lists);
the script checks that before it prints leads/s. rule-engine is slow, so it runs on a subset
and its time for 100k leads is extrapolated (said in the output). Each engine is built (parsed,
compiled) once outside the timed part; its build time is printed beside its rate.
Usage: python bench/rules.py [--leads 100000] [--rule-engine-leads 5000]
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file is called rules.py: keep its folder off sys.path so `import rules` finds the package.
_BENCH = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _BENCH]
sys.path.insert(0, str(_BENCH.parent))

import argparse
import gc
import random
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, TypeVar

import yaml

from connectors.records import Event, Lead
from rules import DecisionContext, RotationState, parse_ruleset

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
FREEMAIL = ["gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com", "gmx.de", "web.de", "aol.com"]
EMBARGO = ["CU", "IR", "KP", "SY"]
SENIOR = r"\b(vp|vice president|director|head of)\b"
CLEVEL = r"\b(ceo|cto|cfo|coo|chief|founder)\b"
JUNIOR = r"\b(intern|student)\b"
ENT_A, ENT_B, EMEA_A, EMEA_B, APAC_A, NA_A, NA_B = (f"{n}@ourco.example" for n in
                                                     ("ana", "ben", "eva", "emil", "aiko", "nate", "nora"))
RULES = {
    "version": 1,
    "lists": {"freemail": FREEMAIL, "embargo": EMBARGO},
    "qualification": {
        "disqualify": [{"id": "embargoed", "when": {"country": {"in_list": "embargo"}}, "reason": "Embargo"},
                       {"id": "unsubscribed", "when": {"events.unsubscribe": {"gte": 1}}, "reason": "Unsubscribed"}],
        "require": [{"id": "email", "when": {"email": {"matches": r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$"}}},
                    {"id": "company", "when": {"company": {"exists": True}}}],
    },
    "scoring": {"mql_threshold": 40, "rules": [
        {"id": "senior", "when": {"title": {"matches": SENIOR}}, "points": 15},
        {"id": "c-level", "when": {"title": {"matches": CLEVEL}}, "points": 20},
        {"id": "junior", "when": {"title": {"matches": JUNIOR}}, "points": -15},
        {"id": "mid-size", "when": {"employees": {"between": [50, 500]}}, "points": 10},
        {"id": "large", "when": {"employees": {"gte": 1000}}, "points": 5},
        {"id": "na", "when": {"country": {"in": ["US", "CA"]}}, "points": 5},
        {"id": "freemail", "when": {"email_domain": {"in_list": "freemail"}}, "points": -10},
        {"id": "webinar", "when": {"attribution.source": {"equals": "webinar"}}, "points": 25, "kind": "behaviour"},
        {"id": "fit-partner", "when": {"all": [{"industry": {"in": ["software", "finance"]}},
                                               {"attribution.source": {"in": ["referral", "partner", "event"]}}]},
         "points": 8},
    ], "events": {"pricing_page_visit": {"points": 10, "max": 30}, "email_open": {"points": 1, "max": 5},
                  "unsubscribe": {"points": -50}}},
    "routing": {
        "teams": {"enterprise": {"members": [ENT_A, ENT_B]}, "emea": {"members": [EMEA_A, EMEA_B]},
                  "na": {"members": [NA_A, NA_B]}},
        "rules": [
            {"id": "ent-na", "when": {"all": [{"employees": {"gte": 1000}}, {"country": {"in": ["US", "CA"]}}]},
             "assign": {"team": "enterprise"}},
            {"id": "ent-intl", "when": {"employees": {"gte": 1000}}, "assign": {"owner": ENT_B}},
            {"id": "hot", "when": {"score": {"gte": 60}}, "assign": {"team": "enterprise"}},
            {"id": "emea", "when": {"country": {"in": ["GB", "DE", "FR", "SE", "NL"]}}, "assign": {"team": "emea"}},
            {"id": "apac", "when": {"country": {"in": ["JP", "AU", "SG"]}}, "assign": {"owner": APAC_A}},
            {"id": "na-west", "when": {"state": {"in": ["CA", "WA", "OR"]}}, "assign": {"owner": NA_A}},
            {"id": "na-east", "when": {"country": {"equals": "US"}}, "assign": {"team": "na"}},
            {"id": "unqualified", "when": {"qualification": {"equals": "unqualified"}}, "assign": {"queue": "Junk"}},
        ],
        "default": {"queue": "Global inbound"}, "never_reassign_owned": False},
    "nurture": [{"id": "early", "list": "Early", "when": {"mql": {"equals": False}}, "requires_email_consent": False}],
    "statuses": {"new": "New", "mql": "MQL", "unqualified": "Unqualified"},
}


def make_leads(n: int) -> list[Lead]:
    rng = random.Random(42)
    titles = ["VP Sales", "Director of IT", "Head of Growth", "CEO", "Founder", "Engineer", "Intern", "Student",
              "Marketing Manager", None]
    countries = ["US", "CA", "GB", "DE", "FR", "SE", "JP", "AU", "BR", "IN", "CU", None]
    leads = []
    for i in range(n):
        domain = rng.choice(FREEMAIL + [f"co{i % 500}.example"] * 4)
        events = [Event(type=rng.choice(["pricing_page_visit", "email_open", "email_open", "unsubscribe"]),
                        at=NOW - timedelta(days=rng.randint(0, 60))) for _ in range(rng.choice([0, 0, 1, 2, 4]))]
        leads.append(Lead(
            lead_key=f"k{i}", source="bench", source_record_id=str(i), received_at=NOW,
            email=None if i % 37 == 0 else f"p{i}@{domain}", title=rng.choice(titles),
            company=None if i % 11 == 0 else f"Company {i % 500}", country=rng.choice(countries),
            state=rng.choice(["CA", "NY", "TX", "WA", None]), employees=rng.choice([None, 10, 80, 300, 1200, 5000]),
            industry=rng.choice(["software", "finance", "retail", None]),
            attribution={"source": rng.choice(["webinar", "referral", "partner", "event", "ads", None])},
            events=events))
    return leads


Outcome = tuple[str, tuple[str, ...], float, bool, str, tuple[str, ...]]
T = TypeVar("T")


Engine = Callable[[list[Lead]], list[Outcome]]


def build_leadsync() -> Engine:
    ruleset = parse_ruleset(yaml.safe_dump(RULES), "bench.yaml")

    def run(leads: list[Lead]) -> list[Outcome]:
        state = RotationState()
        out: list[Outcome] = []
        for start in range(0, len(leads), 1000):  # batches, as the process stage does
            batch = ruleset.decide(leads[start:start + 1000], DecisionContext(now=NOW, rotation=state))
            state = batch.rotation
            out += [(d.qualification, tuple(d.failed_checks), d.score, d.mql, d.owner or d.queue or "",
                     tuple(d.lists_add)) for d in batch.decisions]
        return out

    return run


class HandWritten:
    def __init__(self) -> None:
        self.turns = {"enterprise": 0, "emea": 0, "na": 0}
        self.members = {"enterprise": [ENT_A, ENT_B], "emea": [EMEA_A, EMEA_B], "na": [NA_A, NA_B]}
        self.senior, self.clevel, self.junior = (re.compile(p, re.I) for p in (SENIOR, CLEVEL, JUNIOR))
        self.email_ok = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$", re.I)
        self.freemail, self.embargo = set(FREEMAIL), set(EMBARGO)

    def team(self, name: str) -> str:
        owner = self.members[name][self.turns[name] % 2]
        self.turns[name] += 1
        return owner

    def decide(self, lead: Lead) -> Outcome:
        domain = lead.email.rsplit("@", 1)[1] if lead.email else None
        counts: dict[str, int] = {}
        for e in lead.events:
            if (NOW - e.at).days < 90:
                counts[e.type] = counts.get(e.type, 0) + 1
        reasons = [r for r, hit in (("Embargo", lead.country in self.embargo),
                                    ("Unsubscribed", any(e.type == "unsubscribe" for e in lead.events))) if hit]
        failed = tuple(c for c, ok in (("email", bool(lead.email and self.email_ok.search(lead.email))),
                                       ("company", bool(lead.company))) if not ok)
        qualification = "disqualified" if reasons else "unqualified" if failed else "qualified"
        t = lead.title or ""
        score = 0.0
        score += 15 if lead.title and self.senior.search(t) else 0
        score += 20 if lead.title and self.clevel.search(t) else 0
        score -= 15 if lead.title and self.junior.search(t) else 0
        emp = lead.employees
        score += 10 if emp is not None and 50 <= emp <= 500 else 0
        score += 5 if emp is not None and emp >= 1000 else 0
        score += 5 if lead.country in ("US", "CA") else 0
        score -= 10 if domain in self.freemail else 0
        src = lead.attribution.source
        score += 25 if src == "webinar" else 0
        score += 8 if lead.industry in ("software", "finance") and src in ("referral", "partner", "event") else 0
        score += min(counts.get("pricing_page_visit", 0) * 10, 30) + min(counts.get("email_open", 0), 5)
        score += counts.get("unsubscribe", 0) * -50
        mql = qualification == "qualified" and score >= 40
        c = lead.country
        if emp is not None and emp >= 1000 and c in ("US", "CA"):
            owner = self.team("enterprise")
        elif emp is not None and emp >= 1000:
            owner = ENT_B
        elif score >= 60:
            owner = self.team("enterprise")
        elif c in ("GB", "DE", "FR", "SE", "NL"):
            owner = self.team("emea")
        elif c in ("JP", "AU", "SG"):
            owner = APAC_A
        elif lead.state in ("CA", "WA", "OR"):
            owner = NA_A
        elif c == "US":
            owner = self.team("na")
        elif qualification == "unqualified":
            owner = "Junk"
        else:
            owner = "Global inbound"
        return qualification, failed, score, mql, owner, () if mql else ("Early",)


def build_hand() -> Engine:
    def run(leads: list[Lead]) -> list[Outcome]:
        engine = HandWritten()  # fresh rotation turns per run, like the others
        return [engine.decide(lead) for lead in leads]

    return run


def build_rule_engine() -> Engine:
    import rule_engine

    ctx = rule_engine.Context(default_value=None)
    r = lambda text: rule_engine.Rule(text, context=ctx)  # noqa: E731
    esc = lambda pattern: pattern.replace("\\", "\\\\")  # noqa: E731 - rule-engine strings unescape \b
    senior = r(f'title != null and title =~~ "(?i){esc(SENIOR)}"')
    clevel = r(f'title != null and title =~~ "(?i){esc(CLEVEL)}"')
    junior = r(f'title != null and title =~~ "(?i){esc(JUNIOR)}"')
    mid = r("employees != null and employees >= 50 and employees <= 500")
    large = r("employees != null and employees >= 1000")
    na = r('country in ["US", "CA"]')
    free = r(f"domain in {FREEMAIL!r}".replace("'", '"'))
    webinar = r('source == "webinar"')
    partner = r('industry in ["software", "finance"] and source in ["referral", "partner", "event"]')
    embargo = r(f"country in {EMBARGO!r}".replace("'", '"'))
    email_ok = r(r'email != null and email =~~ "(?i)^[^@\\s]+@[^@\\s]+\\.[a-z]{2,}$"')
    company = r('company != null and company != ""')
    ent_na = r('employees != null and employees >= 1000 and country in ["US", "CA"]')
    emea = r('country in ["GB", "DE", "FR", "SE", "NL"]')
    apac = r('country in ["JP", "AU", "SG"]')
    west = r('state in ["CA", "WA", "OR"]')
    us = r('country == "US"')

    def run(leads: list[Lead]) -> list[Outcome]:
        hand = HandWritten()
        out: list[Outcome] = []
        for lead in leads:
            data: dict[str, Any] = {"title": lead.title, "employees": lead.employees, "country": lead.country,
                                    "domain": lead.email_domain, "source": lead.attribution.source,
                                    "industry": lead.industry, "email": lead.email, "company": lead.company,
                                    "state": lead.state}
            counts: dict[str, int] = {}
            for e in lead.events:
                if (NOW - e.at).days < 90:
                    counts[e.type] = counts.get(e.type, 0) + 1
            reasons = [x for x, hit in (("Embargo", embargo.matches(data)), ("Unsubscribed", bool(counts.get(
                "unsubscribe") or any(e.type == "unsubscribe" for e in lead.events)))) if hit]
            failed = tuple(c for c, ok in (("email", email_ok.matches(data)), ("company", company.matches(data)))
                           if not ok)
            qualification = "disqualified" if reasons else "unqualified" if failed else "qualified"
            score = 0.0
            for rule, pts in ((senior, 15), (clevel, 20), (junior, -15), (mid, 10), (large, 5), (na, 5), (free, -10),
                              (webinar, 25), (partner, 8)):
                score += pts if rule.matches(data) else 0
            score += min(counts.get("pricing_page_visit", 0) * 10, 30) + min(counts.get("email_open", 0), 5)
            score += counts.get("unsubscribe", 0) * -50
            mql = qualification == "qualified" and score >= 40
            if ent_na.matches(data):
                owner = hand.team("enterprise")
            elif large.matches(data):
                owner = ENT_B
            elif score >= 60:
                owner = hand.team("enterprise")
            elif emea.matches(data):
                owner = hand.team("emea")
            elif apac.matches(data):
                owner = APAC_A
            elif west.matches(data):
                owner = NA_A
            elif us.matches(data):
                owner = hand.team("na")
            elif qualification == "unqualified":
                owner = "Junk"
            else:
                owner = "Global inbound"
            out.append((qualification, failed, score, mql, owner, () if mql else ("Early",)))
        return out

    return run


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    gc.collect()
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--leads", type=int, default=100_000, help="leads for leadsync and hand-written")
    parser.add_argument("--rule-engine-leads", type=int, default=5_000,
                        help="rule-engine is ~100x slower: it runs on this many of the leads")
    parser.add_argument("--gc-freeze-input", action="store_true",
                        help="move the generated leads out of the cyclic GC's reach (gc.freeze) before timing")
    args = parser.parse_args()
    leads = make_leads(args.leads)
    if args.gc_freeze_input:  # the process stage holds one batch, not 100k leads the collector keeps rescanning
        gc.freeze()
    subset = leads[: args.rule_engine_leads]
    # Build (parse, compile) each engine once, outside the timed part, as a long-running process would.
    engines = {name: timed(build) for name, build in
               (("leadsync", build_leadsync), ("hand-written", build_hand), ("rule-engine", build_rule_engine))}
    inputs = {"leadsync": leads, "hand-written": leads, "rule-engine": subset}
    runs = {name: timed(partial(engine, inputs[name])) for name, (engine, _) in engines.items()}
    ours, hand, theirs = (runs[name][0] for name in ("leadsync", "hand-written", "rule-engine"))
    mismatches = [i for i, (a, b) in enumerate(zip(ours, hand, strict=True)) if a != b]
    mismatches += [i for i, (a, b) in enumerate(zip(ours, theirs, strict=False)) if a != b]
    if mismatches:
        i = mismatches[0]
        raise SystemExit(f"decisions differ at lead {i}: leadsync {ours[i]} / hand {hand[i]}"
                         + (f" / rule-engine {theirs[i]}" if i < len(theirs) else ""))
    rate = {name: len(result) / seconds for name, (result, seconds) in runs.items()}
    print(f"{len(leads):,} leads, 25 rules (4 qualification, 12 scoring incl. 3 event types, 8 routing, 1 nurture)")
    print(f"identical decisions: leadsync = hand-written on all {len(leads):,} leads, "
          f"= rule-engine on the first {len(subset):,} (qualification, failed checks, score, MQL, owner/queue, lists)")
    frozen = "frozen out of the collector (--gc-freeze-input)" if args.gc_freeze_input else "scanned by each full GC"
    print(f"GC on; the {len(leads):,} input leads are {frozen}")
    print(f"{'engine':<14}{'leads':>9}{'leads/s':>12}{'vs hand-written':>17}{'build (once)':>14}")
    for name, (result, _) in runs.items():
        print(f"{name:<14}{len(result):>9,}{rate[name]:>12,.0f}{rate[name] / rate['hand-written']:>16.2f}x"
              f"{engines[name][1] * 1000:>12.1f}ms")
    print(f"rule-engine: {len(subset):,} leads measured; 100k leads would take ~{100_000 / rate['rule-engine']:.0f} s")
    print(f"leadsync / hand-written: {rate['leadsync'] / rate['hand-written']:.2f}x (target >= 0.8)")
    print(f"leadsync / rule-engine:  {rate['leadsync'] / rate['rule-engine']:.0f}x (target >= 100)")
    print("leadsync builds a full Decision per lead (score lines, routing reason, explanation text, rotation "
          "ledger entry);\nhand-written and rule-engine build only the tuple compared above.")


if __name__ == "__main__":
    main()
