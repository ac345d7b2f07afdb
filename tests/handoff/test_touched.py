"""What counts as a rep's touch: a status move of the rep's, or activity since the hand-off; not leadsync's own move."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from connectors.crm.followup import TouchState, touched

HANDED = datetime(2027, 1, 7, 12, tzinfo=UTC)
OURS = ("Open - Not Contacted", "Nurturing", "Working - Contacted")


@pytest.mark.parametrize(("state", "expected"), [
    (None, False),
    (TouchState(crm_id="1", status="Nurturing"), False),                          # as handed over
    (TouchState(crm_id="1", status="Qualified"), True),                           # the rep moved it on
    (TouchState(crm_id="1", status="Working - Contacted"), False),  # leadsync's MQL status, set by leadsync
    (TouchState(crm_id="1", status="Nurturing", last_activity=HANDED + timedelta(hours=1)), True),
    (TouchState(crm_id="1", status="Nurturing", last_activity=HANDED - timedelta(hours=1)), False),
    (TouchState(crm_id="1", status="Nurturing", last_activity_date=date(2027, 1, 7)), True),
])
def test_touched(state: TouchState | None, expected: bool) -> None:
    assert touched(state, "Nurturing", HANDED, OURS) is expected
