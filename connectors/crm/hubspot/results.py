"""Per-record outcomes from a HubSpot batch answer (200 with results, or 207 with results and errors).

HubSpot reports a failed input of a batch only in `errors`, by message and, when it can, the input's
id in `context`; a record absent from `results` is rejected with the message naming it, or with
the only error when exactly one input failed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from connectors.records import ChangeKind, CrmChange, OutcomeStatus, RecordOutcome
from connectors.redaction import redact


def batch_outcomes(response: Any, todo: list[tuple[int, CrmChange, dict[str, str]]], key: Callable[[CrmChange], Any],
                   result_key: Callable[[Any], Any], stages: dict[str, str]) -> dict[int, RecordOutcome]:
    """Outcome per input index; `stages` learns each written contact's lifecycle stage."""
    results = {result_key(r): r for r in response.results or []}
    errors = [(e.message, [str(x).lower() for x in (e.context or {}).get("id", []) +
                           (e.context or {}).get("ids", [])]) for e in getattr(response, "errors", None) or []]
    outcomes: dict[int, RecordOutcome] = {}
    for i, c, _ in todo:
        result = results.get(key(c))
        if result is not None:
            created = c.kind is ChangeKind.CREATE and getattr(result, "new", True) is not False
            stages[str(result.id)] = str((result.properties or {}).get("lifecyclestage") or "")
            outcomes[i] = RecordOutcome(lead_key=c.lead_key, crm_id=str(result.id),
                                        status=OutcomeStatus.CREATED if created else OutcomeStatus.UPDATED)
            continue
        message = next((m for m, ids in errors if str(key(c)).lower() in ids), None) or \
            (errors[0][0] if len(errors) == 1 and len(todo) - len(results) == 1 else "HubSpot returned no result")
        outcomes[i] = RecordOutcome(lead_key=c.lead_key, status=OutcomeStatus.REJECTED,
                                    error_code="HS:VALIDATION_ERROR", error_message=redact(message))
    return outcomes
