"""Keys, codes and routing reasons stored in their short form on SQLite (migration 0008), read back the same."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import func, select

from flows.state import StateStore
from flows.state.compact import decode_key, encode_key
from flows.state.engine import open_engine
from flows.state.migrate import alembic_config, current_revision, head_revision
from flows.state.packing import pack
from flows.state.schema import metadata
from flows.state.timestamps import to_micros

T0 = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
LEAD = "e-3bd09b1cc33eeee6f18d028d"
OTHER = "p-a166f603a8eb5727d5d3abcc"
RUN = "4738b170a45bfebe"
RULESET = "1 (sha256:77ca3fd246c6)"
HANDOFF = "950641f9720e307a807a6c99bc6eedde200958ef"
REASON = "nobody could take it; queue Unassigned Leads"
DECISION = {"lead_key": LEAD, "score": 15.0, "owner": None, "queue": "Unassigned Leads", "routing_reason": REASON}


@pytest.mark.parametrize(("text", "stored_length"), [
    (LEAD, 13), (RULESET, 8), ("12 (sha256:77ca3fd246c6)", 9), (RUN, 10), (HANDOFF, 22), (f"{HANDOFF}:task", 27),
    ("leads.csv#b2eb888045205c6a", 20), ("b2eb888045205c6a:5102", 15), ("Zoë-0123456789abcdef", 15),
    ("0123456789abcdef0", 11),  # an odd run: its last digit is kept as text
    ("E-3BD09B1CC33EEEE6F18D028D", 26), ("r7", 2), ("", 0), ("v1 (sha256:77ca3fd246c6)", 20),
])
def test_a_key_is_stored_short_and_reads_back_exactly(text: str, stored_length: int) -> None:
    stored = encode_key(text)
    assert len(stored) == stored_length
    assert decode_key(stored) == text
    assert isinstance(stored, bytes) == (stored_length < len(text))  # what is not shorter stays text


def _untyped(name: str, values: dict[str, Any]) -> sa.TableClause:
    return sa.table(name, *(sa.column(c) for c in values))


def _at(url: str) -> Any:
    return to_micros(T0) if url.startswith("sqlite") else T0


def _rows_as_0007_wrote_them(url: str) -> dict[str, list[dict[str, Any]]]:
    """Rows in every table 0008 rewrites, with the text (and packed bytes, timestamps) 0007 stores."""
    at = _at(url)
    return {
        "inbox": [{"source": "csv:list", "partition": "leads.csv#b2eb888045205c6a",
                   "source_record_id": f"b2eb888045205c6a:{line}", "received_at": at, "attempts": attempts,
                   "payload": pack({"file": "leads.csv", "line": line, "row": {"Email": f"p{line}@x.example"}}),
                   "status": status, "lead_key": key, "updated_at": at}
                  for line, status, key, attempts in [(2, "done", LEAD, 1), (3, "dead", None, 1),
                                                       (4, "pending", None, 0)]],
        "dead_letters": [{"inbox_id": 2, "source": "csv:list", "source_record_id": "b2eb888045205c6a:3",
                          "lead_key": OTHER, "stage": "crm", "failure_type": "data", "code": "X", "message": "bad",
                          "ruleset_version": RULESET, "status": "open", "created_at": at, "updated_at": at}],
        "decisions": [{"run_id": RUN, "lead_key": LEAD, "ruleset_version": RULESET, "outcome": outcome,
                       "crm_id": "5001", "decision": pack(DECISION), "created_at": at, "source": "csv:list"}
                      for outcome in ("created", "parked")],  # "parked": a value without a code stays text
        "rotation_ledger": [{"run_id": RUN, "lead_key": LEAD, "team": None, "owner": "Unassigned Leads",
                             "method": method, "skipped": pack([]), "at": at, "rule_id": None, "reason": reason}
                            for method, reason in [("default", REASON), ("weighted", "team smb (weighted)")]],
        "profiles": [{"lead_key": key, "has_lead_data": True, "qualification": "qualified", "stage": "nurture",
                      "ruleset_version": RULESET, "worked": False, "owner": "carol@ourco.example", "updated_at": at}
                     for key in (LEAD, OTHER)],
        "profile_identities": [{"kind": kind, "value": value, "profile_id": 1} for kind, value in [
            ("email", "person1@company1.example"), ("phone", "+14155551666"), ("crm_id", "5001"),
            ("lead_key", OTHER), ("name", "first last|company")]],
        "profile_transitions": [{"profile_id": 1, "from_stage": before, "to_stage": after, "at": at, "cause": cause}
                                for before, after, cause in [(None, "nurture", "entered nurture"),
                                                             ("nurture", "mql", "score 65 >= 60")]],
        "profile_merges": [{"profile_id": 1, "merged_profile_id": 3, "merged_lead_key": OTHER,
                            "reason": "same phone", "at": at}],
        "handoffs": [{"key": HANDOFF, "lead_key": LEAD, "kind": "routed", "owner": "carol@ourco.example",
                      "team": "smb", "crm_id": "5001", "at": at, "status": "open", "escalation_level": 0,
                      "reroutes": 0, "updated_at": at, "payload": pack(
                          {"key": HANDOFF, "lead_key": LEAD, "kind": "routed", "owner": "carol@ourco.example",
                           "team": "smb", "crm_id": "5001", "at": T0.isoformat(), "name": "A B", "company": "C",
                           "score": 15.0, "source": "csv:list", "explanation": "Qualified."})}],
        "outbox": [{"key": f"{HANDOFF}:task", "handoff_key": HANDOFF, "channel": "task",
                    "recipient": "carol@ourco.example", "purpose": "handoff", "payload": pack({"subject": "Follow up"}),
                    "status": "sent", "attempts": 1, "next_attempt_at": at, "created_at": at, "updated_at": at}],
        "nurture_cadence": [{"lead_key": LEAD, "owner": "carol@ourco.example", "payload": pack({"kind": "nurture"}),
                             "next_due_at": at, "updated_at": at}],
    }


def _store_at_0007(url: str) -> dict[str, list[dict[str, Any]]]:
    rows = _rows_as_0007_wrote_them(url)
    engine = open_engine(url)
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), "0007_store_compaction")
        for name, values in rows.items():
            conn.execute(sa.insert(_untyped(name, values[0])), values)
    engine.dispose()
    return rows


COMPACTED = {"inbox": ("partition", "source_record_id", "lead_key", "status"),
             "dead_letters": ("lead_key", "ruleset_version"),
             "decisions": ("run_id", "lead_key", "ruleset_version", "outcome"),
             "rotation_ledger": ("run_id", "lead_key", "method", "reason"),
             "profiles": ("lead_key", "ruleset_version", "qualification", "stage"),
             "profile_identities": ("kind", "value"), "profile_transitions": ("from_stage", "to_stage", "cause"),
             "profile_merges": ("merged_lead_key",), "handoffs": ("key", "lead_key"),
             "outbox": ("key", "handoff_key"), "nurture_cadence": ("lead_key",)}


def _read(engine: sa.Engine, name: str) -> list[tuple[Any, ...]]:
    table = metadata.tables[name]
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(*(table.c[c] for c in COMPACTED[name])))]


def test_an_existing_store_is_upgraded_in_place_and_reads_the_same(store_url: str) -> None:
    rows = _store_at_0007(store_url)
    store = StateStore(store_url)
    store.create_schema()  # what `leadsync run` does on start: 0007 -> head
    assert current_revision(store.engine) == head_revision()
    for name, values in rows.items():  # no row lost, every compacted value reads back as written
        assert sorted(_read(store.engine, name), key=repr) == sorted(
            (tuple(v[c] for c in COMPACTED[name]) for v in values), key=repr), name
    # ...and used by every reader: decisions, pinned routes, hand-offs, replay, claims, report, prune
    assert store.latest_decision(LEAD)["decision"] == DECISION  # type: ignore[index]
    assert store.latest_decision(LEAD)["ruleset_version"] == RULESET  # type: ignore[index]
    pinned = store.with_rotation("default", lambda state, pinned: (pinned, state, []), [LEAD], "run2")
    assert pinned[LEAD].owner == "Unassigned Leads" and pinned[LEAD].reason == "team smb (weighted)"
    latest, decided = store.handoff_history([LEAD, OTHER])
    assert latest[LEAD].handoff.key == HANDOFF and decided == {LEAD}
    assert store.replay_dead_letters() == 1
    claimed = store.claim_batch("run2", 10, timedelta(minutes=5))
    assert sorted(r.raw.source_record_id for r in claimed) == ["b2eb888045205c6a:3", "b2eb888045205c6a:4"]
    assert {r.raw.partition for r in claimed} == {"leads.csv#b2eb888045205c6a"}
    assert store.inbox_add([r.raw for r in claimed]) == [False, False]  # the unique key still matches
    counts = store.prune(T0 + timedelta(days=1), apply=False)
    assert counts["inbox rows"] == 1 and counts["superseded decisions"] == 1 and counts["rotation ledger rows"] == 2
    store.dispose()


def test_sqlite_stores_the_short_forms_and_downgrades_back_to_text(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    rows = _store_at_0007(url)
    StateStore(url).create_schema()
    engine = open_engine(url)
    with engine.connect() as conn:
        stored = dict(conn.exec_driver_sql("SELECT lead_key, typeof(ruleset_version) || length(ruleset_version) "
                                           "FROM profiles").fetchall())
        assert {len(k) for k in stored} == {13} and set(stored.values()) == {"blob8"}
        assert conn.exec_driver_sql("SELECT kind FROM profile_identities WHERE value = '5001'").scalar() == b"\x02"
        assert conn.exec_driver_sql("SELECT group_concat(typeof(outcome)) FROM decisions").scalar() == "blob,text"
        reasons = conn.exec_driver_sql("SELECT length(reason) FROM rotation_ledger ORDER BY id").scalars().all()
        assert reasons[0] < len(REASON) // 2 and reasons[1] == len("team smb (weighted)")  # short text stays text
        total = conn.exec_driver_sql("SELECT count(*) FROM inbox WHERE typeof(source_record_id) = 'blob' "
                                     "AND length(status) = 1").scalar()
        assert total == 3
        causes = conn.exec_driver_sql("SELECT cause FROM profile_transitions ORDER BY id").scalars().all()
        assert causes == [b"\x01", "score 65 >= 60"]
        sizes = dict(conn.exec_driver_sql("SELECT kind, length(value) FROM profile_identities").fetchall())
        assert sizes[b"\x01"] == 8 and sizes[b"\x04"] == 13  # a phone number, a lead key
        command.downgrade(alembic_config(conn), "0007_store_compaction")
        conn.commit()
    with engine.connect() as conn:
        for name, values in rows.items():
            raw = conn.execute(select(*(sa.column(c) for c in COMPACTED[name])).select_from(sa.table(name)))
            assert sorted(map(tuple, raw), key=repr) == sorted(
                (tuple(v[c] for c in COMPACTED[name]) for v in values), key=repr), name
    engine.dispose()


def test_new_rows_use_the_short_forms_and_queries_find_them(store_url: str) -> None:
    store = StateStore(store_url)
    store.create_schema()
    store.record_decisions(RUN, [{"lead_key": LEAD, "ruleset_version": RULESET, "outcome": outcome, "crm_id": "1",
                                  "decision": DECISION} for outcome in ("created", "unchanged")])
    with store.engine.connect() as conn:
        decisions = metadata.tables["decisions"]
        found = conn.execute(select(decisions.c.outcome, func.count()).where(
            decisions.c.lead_key.in_([LEAD, OTHER]), decisions.c.ruleset_version == RULESET,
            decisions.c.run_id == RUN).group_by(decisions.c.outcome)).all()
        assert sorted(found) == [("created", 1), ("unchanged", 1)]
        if store.engine.dialect.name == "sqlite":
            assert conn.exec_driver_sql("SELECT length(lead_key), length(run_id) FROM decisions").first() == (13, 10)
        else:  # PostgreSQL keeps the text
            assert conn.exec_driver_sql("SELECT lead_key, run_id FROM decisions").first() == (LEAD, RUN)
    store.dispose()


def _stored(store: StateStore, table: str, column: str) -> list[Any]:
    from flows.state.packing import unpack

    with store.engine.connect() as conn:
        return [unpack(v) for v in conn.execute(select(sa.column(column)).select_from(sa.table(table))).scalars()]


def test_a_decision_stores_its_key_and_ruleset_once_and_reads_back_whole(store_url: str) -> None:
    store = StateStore(store_url)
    store.create_schema()
    recorded = {**DECISION, "ruleset_version": RULESET}
    other = {**DECISION, "lead_key": "e-00000000000000000000000a", "ruleset_version": "2"}  # not the row's: kept
    store.record_decisions(RUN, [{"lead_key": LEAD, "ruleset_version": RULESET, "outcome": "created",
                                  "crm_id": "1", "decision": d} for d in (recorded, other)])
    stored = _stored(store, "decisions", "decision")
    assert stored[0] == {**recorded, "lead_key": None, "ruleset_version": None} and stored[1] == other
    assert store.latest_decision(LEAD)["decision"] == other  # type: ignore[index]
    store.record_decisions(RUN, [{"lead_key": LEAD, "ruleset_version": RULESET, "outcome": "created",
                                  "crm_id": "1", "decision": recorded}])
    assert store.latest_decision(LEAD)["decision"] == recorded  # type: ignore[index]
    from flows.insights.story import lead_story

    decided = [e.data["decision"] for e in lead_story(store.engine, LEAD) if e.kind == "decision"]
    assert decided == [recorded, other, recorded]
    store.dispose()


def test_an_outbox_row_keeps_the_handoff_written_with_it_once(store_url: str) -> None:
    from connectors.records import Handoff
    from flows.state.outbox import HandoffRow, OutboxItem

    store = StateStore(store_url)
    store.create_schema()
    handoff = Handoff(key=HANDOFF, lead_key=LEAD, kind="routed", owner="carol@ourco.example", team="smb",
                      crm_id="5001", at=T0, name="A B", company="C", score=15.0, source="csv:list",
                      explanation="Qualified.")
    earlier = handoff.model_copy(update={"key": "ab" * 20, "explanation": "Qualified before."})
    dumped = handoff.model_dump(mode="json")
    items = [OutboxItem(key=f"{HANDOFF}:task", handoff_key=HANDOFF, channel="task", purpose="handoff",
                        recipient="carol@ourco.example", payload={"handoff": dumped, "subject": "Follow up"}),
             OutboxItem(key=f"{HANDOFF}:remind", handoff_key=HANDOFF, channel="notify", purpose="reminder",
                        payload={"handoff": earlier.model_dump(mode="json"), "minutes_late": 5})]
    store.add_followups([HandoffRow(handoff=handoff)], items)
    stored = _stored(store, "outbox", "payload")
    assert {"handoff": None, "subject": "Follow up"} in stored  # the copy of the hand-off written with it
    assert {"handoff": earlier.model_dump(mode="json"), "minutes_late": 5} in stored  # another: kept whole
    expected = {f"{HANDOFF}:task": {"handoff": dumped, "subject": "Follow up"},
                f"{HANDOFF}:remind": {"handoff": earlier.model_dump(mode="json"), "minutes_late": 5}}
    assert {r["key"]: r["payload"] for r in store.outbox_rows()} == expected
    claimed = store.claim_outbox(datetime.now(UTC) + timedelta(minutes=1), 10, timedelta(minutes=5))
    assert {r.key: r.payload for r in claimed} == expected
    store.dispose()
