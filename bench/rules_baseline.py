"""The fair limit for an engine that explains: hand-written Python building the same Decision as leadsync.

Loaded by bench/rules.py (its constants are passed in). Everything a decision carries is here:
qualification with reasons and failed checks, score lines (fit in rule order, behaviour after,
events per type, windowed and capped), grade, MQL, routing with its reason and rotation turns,
nurture lists, status and the explanation paragraph, byte for byte. It is written the way a
careful engineer would: regexes compiled once, constant score lines made once, Decision built
with `model_construct` (no validation), f-strings for the text.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from connectors.records import Decision, Lead, ScoreLine

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
        self.event_lines: dict[tuple[str, int], ScoreLine] = {}  # the same few (type, count) lines recur

    def _team(self, name: str) -> str:
        members = self.teams[name]
        owner = members[self.turns[name] % len(members)]
        self.turns[name] += 1
        return owner

    def _event_lines(self, lead: Lead) -> tuple[list[ScoreLine], dict[str, int]]:
        counts: dict[str, int] = {}
        for event in lead.events:
            if event.type in self.events and (self.now - event.at).days < 90:
                counts[event.type] = counts.get(event.type, 0) + 1
        lines = []
        for kind in self.events:
            count = counts.get(kind)
            if count:
                line = self.event_lines.get((kind, count))
                lines.append(line if line is not None else self._event_line(kind, count))
        return lines, counts

    def _event_line(self, kind: str, count: int) -> ScoreLine:
        each, cap = self.events[kind]
        points = count * each
        if cap is not None and abs(points) > cap:
            points = cap if points > 0 else -cap
        detail = f"{count} x {each:g}" + (" (capped)" if points != count * each else "")
        line = self.event_lines[(kind, count)] = ScoreLine(rule_id=f"event:{kind}", points=points, kind=BEHAVIOUR,
                                                           detail=detail)
        return line

    def decide(self, lead: Lead) -> Decision:
        email, title, emp, country = lead.email, lead.title, lead.employees, lead.country
        domain = email.rsplit("@", 1)[1].lower() if email and "@" in email else None
        event_lines, counts = self._event_lines(lead)
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
            "ruleset_version": self.version, "stage": None, "transition": None, "next_rescore_at": None}
        values["explanation"] = self._explain(values, lines)
        return Decision.model_construct(**values)

    def _explain(self, d: dict[str, Any], lines: list[ScoreLine]) -> str:
        if d["qualification"] == "disqualified":
            head = "Disqualified: " + "; ".join(d["disqualify_reasons"]) + "."
        elif d["qualification"] == "unqualified":
            head = "Unqualified: failed " + ", ".join(d["failed_checks"]) + "."
        else:
            head = "Qualified."
        fit = ", ".join(f"{line.rule_id} {line.points:+g}" for line in lines if line.kind == FIT)
        behaviour = ", ".join(f"{line.rule_id} {line.points:+g}" + (f" ({line.detail})" if line.detail else "")
                              for line in lines if line.kind != FIT)
        text = f"{head} Score {d['score']:g} = fit {d['fit_score']:g}" + (f" ({fit})" if fit else "")
        text += f" + behaviour {d['behaviour_score']:g}" + (f" ({behaviour})" if behaviour else "")
        text += f"; grade {d['grade']}. " + ("MQL (threshold 40)." if d["mql"] else "Not an MQL (threshold 40).")
        target = d["owner"] or f"queue {d['queue']}"
        by = f"rule {d['routing_rule_id']}" if d["routing_rule_id"] else d["routing_method"]
        text += f" Routed to {target} by {by}: {d['routing_reason']}."
        if d["lists_add"]:
            text += " Nurture: " + ", ".join(d["lists_add"]) + "."
        return text + f" Status {d['status']}. Ruleset {self.version}."
