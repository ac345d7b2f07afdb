"""One human paragraph per decision: what the CRM sinks write into the explanation field.

Deterministic (no timestamps), so a re-sync with the same decision writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from connectors.records import Decision


def _points(value: float) -> str:
    return f"{value:+g}"


def explain(decision: Decision, mql_threshold: float) -> str:
    parts: list[str] = []
    if decision.qualification == "disqualified":
        parts.append("Disqualified: " + "; ".join(decision.disqualify_reasons) + ".")
    elif decision.qualification == "unqualified":
        parts.append("Unqualified: failed " + ", ".join(decision.failed_checks) + ".")
    else:
        parts.append("Qualified.")
    fit = [f"{line.rule_id} {_points(line.points)}" for line in decision.score_lines if line.kind == "fit"]
    behaviour = [f"{line.rule_id} {_points(line.points)}" + (f" ({line.detail})" if line.detail else "")
                 for line in decision.score_lines if line.kind != "fit"]
    score = f"Score {decision.score:g} = fit {decision.fit_score:g}"
    if fit:
        score += " (" + ", ".join(fit) + ")"
    score += f" + behaviour {decision.behaviour_score:g}"
    if behaviour:
        score += " (" + ", ".join(behaviour) + ")"
    parts.append(score + f"; grade {decision.grade}.")
    parts.append(f"MQL (threshold {mql_threshold:g})." if decision.mql
                 else f"Not an MQL (threshold {mql_threshold:g}).")
    target = decision.owner or f"queue {decision.queue}"
    rule = f"rule {decision.routing_rule_id}" if decision.routing_rule_id else decision.routing_method
    parts.append(f"Routed to {target} by {rule}: {decision.routing_reason}.")
    if decision.skipped:
        parts.append("Skipped " + "; ".join(f"{s.owner} ({s.reason})" for s in decision.skipped) + ".")
    if decision.lists_add:
        parts.append("Nurture: " + ", ".join(decision.lists_add) + ".")
    parts.append(f"Status {decision.status}. Ruleset {decision.ruleset_version}.")
    return " ".join(parts)


class Explainer:
    """The same paragraph as `explain`, written from the engine's values with the constant parts made once.

    `explain` stays the readable reference; tests check both give the same text."""

    def __init__(self, mql_threshold: float, version: str, statuses: Iterable[str | None]) -> None:
        self.mql_sentence = {True: f"MQL (threshold {mql_threshold:g}).",
                             False: f"Not an MQL (threshold {mql_threshold:g})."}
        self.version = version
        self.tail = {status: f" Status {status}. Ruleset {version}." for status in statuses if status}
        self._formatted: dict[float, str] = {}

    def text(self, decision: dict[str, Any], fit: Sequence[str], behaviour: Sequence[str]) -> str:
        """`decision` holds the Decision's fields; `fit` and `behaviour` the explanation parts of its fit
        score lines and of the others ('senior +15'), in score line order."""
        qualification = decision["qualification"]
        if qualification == "disqualified":
            head = "Disqualified: " + "; ".join(decision["disqualify_reasons"]) + ". Score "
        elif qualification == "unqualified":
            head = "Unqualified: failed " + ", ".join(decision["failed_checks"]) + ". Score "
        else:
            head = "Qualified. Score "
        g = self._g
        text = f"{head}{g(decision['score'])} = fit {g(decision['fit_score'])}"
        if fit:
            text += " (" + ", ".join(fit) + ")"
        text += " + behaviour " + g(decision["behaviour_score"])
        if behaviour:
            text += " (" + ", ".join(behaviour) + ")"
        rule_id = decision["routing_rule_id"]
        text += (f"; grade {decision['grade']}. {self.mql_sentence[decision['mql']]} Routed to "
                 f"{decision['owner'] or 'queue ' + str(decision['queue'])} by "
                 f"{'rule ' + rule_id if rule_id else decision['routing_method']}: {decision['routing_reason']}.")
        if decision["skipped"]:
            text += " Skipped " + "; ".join(f"{s.owner} ({s.reason})" for s in decision["skipped"]) + "."
        if decision["lists_add"]:
            text += " Nurture: " + ", ".join(decision["lists_add"]) + "."
        return text + self.tail[decision["status"]] if decision["status"] in self.tail else (
            text + f" Status {decision['status']}. Ruleset {self.version}.")

    def _g(self, value: float) -> str:
        # Scores repeat (sums of the same few points): format each value once, within a bound.
        if not value:  # 0.0 and -0.0 are equal keys but print differently
            return f"{value:g}"
        known = self._formatted.get(value)
        if known is None:
            if len(self._formatted) > _FORMAT_CACHE:
                self._formatted.clear()
            known = self._formatted[value] = f"{value:g}"
        return known


_FORMAT_CACHE = 10_000
