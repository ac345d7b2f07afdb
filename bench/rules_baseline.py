"""The fair limit for an engine that explains: hand-written Python building the same Decision as leadsync.

Loaded by bench/rules.py (its constants are passed in). Everything a decision carries is here:
qualification with reasons and failed checks, score lines (fit in rule order, behaviour after,
events per type, windowed and capped), grade, MQL, routing with its reason and rotation turns,
nurture lists, status, the lifecycle stage and its transition, when time next changes the score, and
the explanation paragraph, byte for byte (the text comes from the product's one paragraph builder,
`rules.explain`). It is written the way a careful engineer would: regexes compiled once, constant
score lines made once, Decision built with `model_construct` (no validation), f-strings for the text.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from connectors.records import Decision, Event, Lead, ScoreLine
from rules.behaviour import Tip, rule_detail
from rules.explain import explain
from rules.lifecycle import next_stage
from rules.models import Lifecycle

WINDOW = 90 * 86400  # seconds: the default window of an event rule
LIFECYCLE = Lifecycle()
FIT = "fit"
BEHAVIOUR = "behaviour"


class HandWrittenDecisions:
    def __init__(self, *, now: datetime, version: str, freemail: list[str], embargo: list[str], senior: str,
                 clevel: str, junior: str, teams: dict[str, list[str]], ent_b: str, apac_a: str, na_a: str) -> None:
        self.now, self.version = now, version
        self.freemail, self.embargo = set(freemail), set(embargo)
        self.senior, self.clevel, self.junior = (re.compile(p, re.I) for p in (senior, clevel, junior))
        self.email_ok = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$", re.I)
        self.teams = teams
        self.turns = dict.fromkeys(teams, 0)
        self.ent_b, self.apac_a, self.na_a = ent_b, apac_a, na_a
        self.lines = {rule: ScoreLine(rule_id=rule, points=points, kind=kind) for rule, points, kind in (
            ("senior", 15, FIT), ("c-level", 20, FIT), ("junior", -15, FIT), ("mid-size", 10, FIT),
            ("large", 5, FIT), ("na", 5, FIT), ("freemail", -10, FIT), ("webinar", 25, BEHAVIOUR),
            ("fit-partner", 8, FIT))}
        # Events: type -> (points each, cap), in the order the rules file lists them (alphabetical here).
        self.events = {"email_open": (1.0, 5.0), "pricing_page_visit": (10.0, 30.0), "unsubscribe": (-50.0, None)}

    def _team(self, name: str) -> str:
        members = self.teams[name]
        owner = members[self.turns[name] % len(members)]
        self.turns[name] += 1
        return owner

    def _event_lines(self, lead: Lead) -> tuple[list[ScoreLine], dict[str, int], Tip | None, datetime | None]:
        """Behaviour lines with counts and first/last dates, all-time counts, the tipping event and when the
        first counted event leaves its 90-day window (the next time time alone changes the score)."""
        counted: dict[str, list[Event]] = {}
        counts: dict[str, int] = {}
        for event in lead.events:
            if event.type in self.events:
                counts[event.type] = counts.get(event.type, 0) + 1
                if (self.now - event.at).total_seconds() <= WINDOW:
                    counted.setdefault(event.type, []).append(event)
        lines: list[ScoreLine] = []
        tip: tuple[str, float, Event] | None = None
        expiry: datetime | None = None
        for kind, (each, cap) in self.events.items():
            events = counted.get(kind)
            if not events:
                continue
            count = len(events)
            points = count * each
            if cap is not None and abs(points) > cap:
                points = cap if points > 0 else -cap
            first, last = min(e.at for e in events), max(e.at for e in events)
            text = f"{count} x {each:g}" + (f", capped at {cap:g}" if points != count * each else "")
            lines.append(ScoreLine(rule_id=f"event:{kind}", points=points, kind=BEHAVIOUR,
                                   detail=rule_detail(text, first, last)))
            if each > 0 and (tip is None or last > tip[2].at or (last == tip[2].at and each > tip[1])):
                tip = (f"event:{kind}", each, max(events, key=lambda e: e.at))
            leaves = first + timedelta(seconds=WINDOW)
            expiry = leaves if expiry is None or leaves < expiry else expiry
        return lines, counts, ((tip[0], tip[2]) if tip else None), expiry

    def decide(self, lead: Lead) -> Decision:
        email, title, emp, country = lead.email, lead.title, lead.employees, lead.country
        domain = email.rsplit("@", 1)[1].lower() if email and "@" in email else None
        event_lines, counts, tip, rescore_at = self._event_lines(lead)
        reasons = [r for r, hit in (("Embargo", country in self.embargo),
                                    ("Unsubscribed", counts.get("unsubscribe", 0) >= 1)) if hit]
        failed = [c for c, ok in (("email", bool(email and self.email_ok.search(email))),
                                  ("company", bool(lead.company))) if not ok]
        qualification = "disqualified" if reasons else "unqualified" if failed else "qualified"
        src = lead.attribution.source
        hits = [title is not None and self.senior.search(title) is not None,
                title is not None and self.clevel.search(title) is not None,
                title is not None and self.junior.search(title) is not None,
                emp is not None and 50 <= emp <= 500, emp is not None and emp >= 1000, country in ("US", "CA"),
                domain in self.freemail, src == "webinar",
                lead.industry in ("software", "finance") and src in ("referral", "partner", "event")]
        lines = [line for line, hit in zip(self.lines.values(), hits, strict=True) if hit] + event_lines
        fit = sum(line.points for line in lines if line.kind == FIT)
        behaviour = 0.0
        for line in lines:  # added one at a time, in line order, as the engine does
            if line.kind != FIT:
                behaviour += line.points
        score = fit + behaviour
        grade = "A" if fit >= 30 else "B" if fit >= 20 else "C" if fit >= 10 else "D"
        mql = qualification == "qualified" and score >= 40
        team = rule = None
        if emp is not None and emp >= 1000 and country in ("US", "CA"):
            rule, team = "ent-na", "enterprise"
        elif emp is not None and emp >= 1000:
            rule, owner = "ent-intl", self.ent_b
        elif score >= 60:
            rule, team = "hot", "enterprise"
        elif country in ("GB", "DE", "FR", "SE", "NL"):
            rule, team = "emea", "emea"
        elif country in ("JP", "AU", "SG"):
            rule, owner = "apac", self.apac_a
        elif lead.state in ("CA", "WA", "OR"):
            rule, owner = "na-west", self.na_a
        elif country == "US":
            rule, team = "na-east", "na"
        elif qualification == "unqualified":
            rule = "unqualified"
        queue = None
        if team is not None:
            owner, method, reason = self._team(team), "round_robin", f"team {team} (round robin)"
        elif rule == "unqualified":
            owner, queue, method, reason = None, "Junk", "queue", "queue Junk"
        elif rule is None:
            owner, queue, method = None, "Global inbound", "default"
            reason = "no routing rule matched; queue Global inbound"
        else:
            method, reason = "owner", f"named owner {owner}"
        lists_add, lists_remove = ([], ["Early"]) if mql else (["Early"], [])
        status_key = qualification if qualification != "qualified" else "mql" if mql else "new"
        status = {"disqualified": "Unqualified", "unqualified": "Unqualified", "mql": "MQL", "new": "New"}[status_key]
        values: dict[str, Any] = {
            "lead_key": lead.lead_key, "qualification": qualification, "disqualify_reasons": reasons,
            "failed_checks": failed, "score": score, "fit_score": fit, "behaviour_score": behaviour,
            "score_lines": lines, "grade": grade, "mql": mql, "owner": owner, "queue": queue, "team": team,
            "routing_rule_id": rule, "routing_method": method, "routing_reason": reason, "skipped": [],
            "status_key": status_key, "status": status, "lists_add": lists_add, "lists_remove": lists_remove,
            "ruleset_version": self.version}
        stage, transition, since, cause = next_stage(None, qualification, reasons, failed, score, mql,
                                                     bool(lists_add), tip, self.now, 40, LIFECYCLE)
        values.update(stage=stage, stage_since=since, stage_cause=cause, transition=transition,
                      next_rescore_at=rescore_at)
        values["explanation"] = explain(values, 40)
        return Decision.model_construct(**values)
