"""One human paragraph per decision: what the CRM sinks write into the explanation field.

Deterministic (no timestamps), so a re-sync with the same decision writes nothing.
"""

from __future__ import annotations

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
