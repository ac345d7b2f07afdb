"""The generated leads and decisions both CRM call benches push (same people, same owners, same lists)."""

from __future__ import annotations

from datetime import UTC, datetime

from connectors.records import Decision, Lead

OWNERS = ["alice@ourco.example", "bob@ourco.example"]


def leads_and_decisions(n: int, new_status: str, mql_status: str) -> tuple[list[Lead], list[Decision]]:
    """`n` new leads over 300 company domains, owners alternating, scores 30-79 (50+ are MQLs), all nurtured."""
    now = datetime(2026, 3, 2, tzinfo=UTC)
    leads = [Lead(lead_key=f"k{i}", source="bench", source_record_id=str(i), received_at=now,
                  email=f"p{i}@co{i % 300}.example", first_name=f"P{i}", last_name="Lee", company="Co")
             for i in range(n)]
    decisions = [Decision(lead_key=f"k{i}", qualification="qualified", score=30 + i % 50, grade="B",
                          mql=i % 50 >= 30, owner=OWNERS[i % 2], status=mql_status if i % 50 >= 30 else new_status,
                          lists_add=["Nurture"], ruleset_version="1", explanation="bench") for i in range(n)]
    return leads, decisions
