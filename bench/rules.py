"""Rules throughput, side by side in one run: leadsync vs hand-written Python vs the rule-engine package.

A ruleset of 25 rules (4 qualification, 12 scoring, 8 routing, 1 nurture) is written once as
leadsync YAML, once as hand-written Python that builds the same Decision with the same explanation
(bench/rules_baseline.py: the fair limit for an engine that explains), once as bare hand-written
Python that builds only an outcome tuple, and once as rule-engine expressions. The script checks
before printing rates: leadsync = hand-written on every Decision field of every lead, explanation
byte for byte; = bare hand and = rule-engine on the outcome (qualification, failed checks, score,
MQL, owner or queue, lists). Only the deciding is timed, in CPU seconds of this process (wall time
on a shared machine measures the neighbours); converting for the comparison happens after.
rule-engine is slow, so it runs on a subset (said in the output); the leadsync / rule-engine ratio compares
rates on that same subset (leadsync timed on it again, freshly built; both timed --repeat times in turns, the
best of each compared, as leadsync's timing is the shorter one and a neighbour's interruption skews it more):
the cost per lead of an engine that builds full decisions grows with the number of results it keeps alive, so
its rates on 2,000 and on 30,000 leads differ (both are printed). Each engine is built once outside the timed
part; its build time is printed beside its rate. GC runs with the product's settings (flows.gc_tuning, as
`leadsync run` applies after start-up) unless --default-gc.
Figures measured so far are in the README's Performance section, with the machine and its load.
Usage: python bench/rules.py [--leads 100000] [--rule-engine-leads 5000] [--repeat 3] [--default-gc]
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
import importlib.util
import random
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, TypeVar

import yaml

from connectors.records import Decision, Event, Lead
from flows.gc_tuning import tune_gc
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


Engine = Callable[[list[Lead]], list[Any]]


def outcome(d: Decision) -> Outcome:
    return d.qualification, tuple(d.failed_checks), d.score, d.mql, d.owner or d.queue or "", tuple(d.lists_add)


def build_leadsync() -> Engine:
    ruleset = parse_ruleset(yaml.safe_dump(RULES), "bench.yaml")

    def run(leads: list[Lead]) -> list[Decision]:
        state = RotationState()
        out: list[Decision] = []
        for start in range(0, len(leads), 1000):  # batches, as the process stage does
            batch = ruleset.decide(leads[start:start + 1000], DecisionContext(now=NOW, rotation=state))
            state = batch.rotation
            out += batch.decisions
        return out

    return run


def build_hand_decisions() -> Engine:
    spec = importlib.util.spec_from_file_location("rules_baseline", _BENCH / "rules_baseline.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    version = parse_ruleset(yaml.safe_dump(RULES), "bench.yaml").version

    def run(leads: list[Lead]) -> list[Decision]:
        engine = module.HandWrittenDecisions(  # fresh rotation turns per run, like the others
            now=NOW, version=version, freemail=FREEMAIL, embargo=EMBARGO, senior=SENIOR, clevel=CLEVEL,
            junior=JUNIOR, teams={"enterprise": [ENT_A, ENT_B], "emea": [EMEA_A, EMEA_B], "na": [NA_A, NA_B]},
            ent_b=ENT_B, apac_a=APAC_A, na_a=NA_A)
        return [engine.decide(lead) for lead in leads]

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
    """Result and CPU seconds of this process: on a shared machine, wall time measures the neighbours."""
    gc.collect()
    start = time.process_time()
    result = fn()
    return result, time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--leads", type=int, default=100_000, help="leads for leadsync and hand-written")
    parser.add_argument("--rule-engine-leads", type=int, default=5_000,
                        help="rule-engine is much slower: it runs on this many of the leads")
    parser.add_argument("--repeat", type=int, default=3,
                        help="times rule-engine and leadsync are timed on the subset for the ratio (best of each)")
    parser.add_argument("--default-gc", action="store_true",
                        help="keep CPython's GC defaults instead of the product's settings (flows.gc_tuning)")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    # Build (parse, compile) each engine once, outside the timed part, as a long-running process would.
    engines = {name: timed(build) for name, build in
               (("leadsync", build_leadsync), ("hand-written", build_hand_decisions),
                ("bare hand", build_hand), ("rule-engine", build_rule_engine))}
    if not args.default_gc:
        tune_gc()  # what `leadsync run` does after start-up
    leads = make_leads(args.leads)  # long-lived input: every collection of the old generation scans it
    subset = leads[: args.rule_engine_leads]
    inputs = {"leadsync": leads, "hand-written": leads, "bare hand": leads, "rule-engine": subset}
    runs = {name: timed(partial(engine, inputs[name])) for name, (engine, _) in engines.items()}
    # Comparison, outside the timed part: the full Decision (every field, explanation byte for byte) for the
    # hand-written baseline, the outcome tuple for the bare hand-written code and rule-engine.
    ours, hand = runs["leadsync"][0], runs["hand-written"][0]
    for i, (a, b) in enumerate(zip(ours, hand, strict=True)):
        if a.model_dump() != b.model_dump() or a.explanation.encode() != b.explanation.encode():
            raise SystemExit(f"decisions differ at lead {i}:\nleadsync {a.model_dump()}\nhand     {b.model_dump()}")
    tuples = [outcome(d) for d in ours]
    for name in ("bare hand", "rule-engine"):
        for i, (a, b) in enumerate(zip(tuples, runs[name][0], strict=False)):
            if a != b:
                raise SystemExit(f"decisions differ at lead {i}: leadsync {a} / {name} {b}")
    # rule-engine's rate is measured on the subset: leadsync's on the same leads, for the ratio (a fresh build
    # each time, so nothing it remembered from a run before helps it). Both are timed --repeat times, in turns,
    # and the best of each is compared: leadsync's timing of the subset is ~20x shorter than rule-engine's, so
    # one interruption by a neighbour on a shared machine skews it far more; the same rule applies to both.
    engine_seconds = [runs["rule-engine"][1]]
    same_seconds: list[float] = []
    for turn in range(args.repeat):
        same_leads, seconds = timed(partial(build_leadsync(), subset))
        if [outcome(d) for d in same_leads] != tuples[: len(subset)]:
            raise SystemExit("leadsync decided the subset differently from the full run")
        same_seconds.append(seconds)
        if turn:
            engine_seconds.append(timed(partial(engines["rule-engine"][0], subset))[1])
    rate = {name: len(result) / seconds for name, (result, seconds) in runs.items()}
    rate["rule-engine"] = len(subset) / min(engine_seconds)
    same_rate = len(subset) / min(same_seconds)
    pairs = sorted(engine / ours for engine, ours in zip(engine_seconds, same_seconds, strict=True))
    print(f"{len(leads):,} leads, 25 rules (4 qualification, 12 scoring incl. 3 event types, 8 routing, 1 nurture)")
    print(f"identical: leadsync = hand-written on all {len(leads):,} leads (every Decision field, explanation "
          f"byte for byte); = bare hand on all and = rule-engine on the first {len(subset):,} (qualification, "
          "failed checks, score, MQL, owner/queue, lists)")
    gc_mode = "CPython defaults (--default-gc)" if args.default_gc else "the product's (flows.gc_tuning: start-up " \
        "frozen, young threshold raised)"
    print(f"GC on, settings: {gc_mode}; the {len(leads):,} input leads stay alive during the timing")
    print("rates are leads per CPU second of this process (time.process_time), deciding only")
    print(f"{'engine':<14}{'leads':>9}{'leads/s':>12}{'vs hand-written':>17}{'build (once)':>14}")
    for name, (result, _) in runs.items():
        print(f"{name:<14}{len(result):>9,}{rate[name]:>12,.0f}{rate[name] / rate['hand-written']:>16.2f}x"
              f"{engines[name][1] * 1000:>12.1f}ms")
    print(f"rule-engine: {len(subset):,} leads measured (best of {args.repeat}); 100k leads would take "
          f"~{100_000 / rate['rule-engine']:.0f} s")
    print(f"leadsync on the same {len(subset):,} leads: {same_rate:,.0f} leads/s (best of {args.repeat})")
    print(f"leadsync / hand-written: {rate['leadsync'] / rate['hand-written']:.2f}x (target >= 0.8)")
    print(f"leadsync / rule-engine:  {same_rate / rate['rule-engine']:.1f}x on the same {len(subset):,} leads "
          f"(target >= 15; best of {args.repeat} timings each, the {args.repeat} pairs in turn "
          f"{pairs[0]:.1f}-{pairs[-1]:.1f}x); {rate['leadsync'] / rate['rule-engine']:.1f}x with leadsync on all "
          f"{len(leads):,}")
    print("leadsync and hand-written build the full Decision (score lines, routing reason, explanation); bare hand\n"
          "and rule-engine build only the outcome tuple (bare hand is the speed of code that explains nothing).")


if __name__ == "__main__":
    main()
