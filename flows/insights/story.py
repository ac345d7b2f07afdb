"""`leadsync explain <e-mail | lead key>`: one lead's story in time order, read from the state store.

Submissions and engagement events, each decision with its ruleset version and explanation, stage
transitions with their cause, profile merges with their reason, owner changes with the rotation
ledger's reasons, what was written to the CRM, and dead letters. Read-only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, or_, select

from connectors.errors import ConfigError, RecordRejectedError
from connectors.normalise import lead_key_for, normalise_email
from flows.state.engine import as_utc
from flows.state.ledgers import decision_of
from flows.state.schema import (
    dead_letters,
    decisions,
    inbox,
    profile_events,
    profile_identities,
    profile_merges,
    profile_transitions,
    profiles,
    rotation_ledger,
)


@dataclass(frozen=True)
class StoryEntry:
    at: datetime
    kind: str
    """submission | event | decision | stage | merge | owner | crm | dead_letter"""
    text: str
    data: dict[str, Any] = field(default_factory=dict)


def resolve_lead_key(engine: Engine, who: str) -> str:
    """A lead key as given, or the key of the person with this e-mail (their profile, else the derived key)."""
    if "@" not in who:
        return who.strip()
    try:
        email = normalise_email(who, "explain")
    except RecordRejectedError as exc:
        raise ConfigError(f"not a valid e-mail address: {exc}") from None
    with engine.connect() as conn:
        key = conn.execute(select(profiles.c.lead_key).join(
            profile_identities, profile_identities.c.profile_id == profiles.c.id).where(
            profile_identities.c.kind == "email", profile_identities.c.value == email)).scalar()
    return str(key) if key else lead_key_for(email, "", "")


def lead_story(engine: Engine, lead_key: str) -> list[StoryEntry]:
    entries: list[StoryEntry] = []
    with engine.connect() as conn:
        entries += _profile_story(conn, lead_key)
        rows = conn.execute(select(inbox.c.id, inbox.c.source, inbox.c.source_record_id, inbox.c.received_at,
                                   inbox.c.status, inbox.c.attempts).where(inbox.c.lead_key == lead_key)
                            .order_by(inbox.c.id)).fetchall()
        inbox_ids = [r.id for r in rows]
        entries += [StoryEntry(_at(r.received_at), "submission",
                               f"{r.source}/{r.source_record_id} received ({r.status}, attempts {r.attempts})",
                               {"inbox_id": r.id, "source": r.source, "status": r.status}) for r in rows]
        entries += _decisions(conn.execute(select(decisions).where(decisions.c.lead_key == lead_key)
                                           .order_by(decisions.c.id)).fetchall())
        for r in conn.execute(select(rotation_ledger).where(rotation_ledger.c.lead_key == lead_key)
                              .order_by(rotation_ledger.c.id)):
            skipped = "; ".join(f"{owner}: {reason}" for owner, reason in r.skipped or [])
            entries.append(StoryEntry(_at(r.at), "owner", f"rotation ({r.method}) in team {r.team}: {r.owner}"
                                      + (f" (skipped {skipped})" if skipped else ""),
                                      {"owner": r.owner, "team": r.team, "method": r.method}))
        letters = select(dead_letters).where(or_(dead_letters.c.lead_key == lead_key,
                                                 dead_letters.c.inbox_id.in_(inbox_ids or [-1])))
        for r in conn.execute(letters.order_by(dead_letters.c.id)):
            entries.append(StoryEntry(_at(r.created_at), "dead_letter",
                                      f"dead letter at {r.stage}: {r.code}: {r.message} ({r.status})",
                                      {"code": r.code, "stage": r.stage, "status": r.status}))
    return sorted(entries, key=lambda e: e.at)


def _profile_story(conn: Connection, lead_key: str) -> list[StoryEntry]:
    """Events, stage transitions and merges kept on the person's profile."""
    profile_id = conn.execute(select(profiles.c.id).where(profiles.c.lead_key == lead_key)).scalar()
    if profile_id is None:
        return []
    entries: list[StoryEntry] = []
    for r in conn.execute(select(profile_events).where(profile_events.c.profile_id == profile_id)
                          .order_by(profile_events.c.at)):
        data: dict[str, Any] = r.data if isinstance(r.data, dict) else {}
        detail = data.get("d") or ", ".join(f"{k}={v}" for k, v in (data.get("p") or {}).items())
        entries.append(StoryEntry(datetime.fromtimestamp(r.at, UTC), "event", r.type + (f" ({detail})" if detail
                                                                                       else ""), {"type": r.type}))
    for r in conn.execute(select(profile_transitions).where(profile_transitions.c.profile_id == profile_id)
                          .order_by(profile_transitions.c.id)):
        entries.append(StoryEntry(_at(r.at), "stage", f"stage {r.from_stage or '(new)'} -> {r.to_stage}: {r.cause}",
                                  {"from": r.from_stage, "to": r.to_stage}))
    for r in conn.execute(select(profile_merges).where(profile_merges.c.profile_id == profile_id)
                          .order_by(profile_merges.c.id)):
        entries.append(StoryEntry(_at(r.at), "merge", f"merged with {r.merged_lead_key}: {r.reason}",
                                  {"merged_lead_key": r.merged_lead_key}))
    return entries


def _decisions(rows: Sequence[Any]) -> list[StoryEntry]:
    entries: list[StoryEntry] = []
    owner: str | None = None
    for r in rows:
        recorded = decision_of(r)
        d: dict[str, Any] = recorded if isinstance(recorded, dict) else {}
        at = _at(r.created_at)
        headline = (f"decided with rules {r.ruleset_version}: {d.get('qualification')}, score {d.get('score')}"
                    + (", MQL" if d.get("mql") else "") + f", status {d.get('status')}")
        entries.append(StoryEntry(at, "decision", headline + (f"\n  {d['explanation']}" if d.get("explanation")
                                                            else ""), {"decision": d}))
        new_owner = d.get("owner") or (f"queue {d['queue']}" if d.get("queue") else None)
        if new_owner != owner:
            reason = d.get("routing_reason") or d.get("routing_method") or ""
            entries.append(StoryEntry(at, "owner", f"owner {owner or '(none)'} -> {new_owner or '(none)'}"
                                      + (f": {reason}" if reason else ""),
                                      {"from": owner, "to": new_owner, "rule": d.get("routing_rule_id")}))
            owner = new_owner
        entries.append(StoryEntry(at, "crm", f"CRM {r.outcome}" + (f" ({r.crm_id})" if r.crm_id else ""),
                                  {"outcome": r.outcome, "crm_id": r.crm_id}))
    return entries


def _at(value: datetime | None) -> datetime:
    moment = as_utc(value)
    assert moment is not None  # every timestamp read here is NOT NULL
    return moment


def story_json(entries: list[StoryEntry]) -> list[dict[str, Any]]:
    return [{**asdict(e), "at": e.at.isoformat()} for e in entries]
