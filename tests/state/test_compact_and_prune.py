"""State store size: payloads and decisions stored compressed (replay still works); prune keeps what is needed."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, select, text, update

from connectors.records import RawSubmission
from flows.state import DeadLetter, StateStore
from flows.state.packing import pack, unpack
from flows.state.schema import dead_letters, decisions, inbox, rotation_ledger, runs
from tests.cli.test_cli import leadsync

DECISION = {"lead_key": "e-3bd09b1cc33eeee6f18d028d", "qualification": "qualified", "disqualify_reasons": [],
            "failed_checks": [], "score": 25.0, "fit_score": 25.0, "behaviour_score": 0.0,
            "score_lines": [{"rule_id": "home-region", "points": 10.0, "kind": "fit", "detail": ""},
                            {"rule_id": "senior-title", "points": 15.0, "kind": "fit", "detail": ""}],
            "grade": "B", "mql": False, "owner": "alice@ourco.example", "queue": None, "team": "enterprise",
            "routing_rule_id": "enterprise-or-hot", "routing_method": "round_robin",
            "routing_reason": "team enterprise (round robin)", "skipped": [], "status_key": "nurture",
            "status": "Nurturing", "lists_add": ["Nurture - Early stage"], "lists_remove": [],
            "ruleset_version": "1 (sha256:7076cc5add01)",
            "explanation": "Qualified. Score 25 = fit 25 (home-region +10, senior-title +15) + behaviour 0; grade B. "
            "Not an MQL (threshold 60). Routed to alice@ourco.example by rule enterprise-or-hot: team enterprise "
            "(round robin). Nurture: Nurture - Early stage. Status Nurturing. Ruleset 1 (sha256:7076cc5add01).",
            "stage": None, "transition": None, "next_rescore_at": None}
PAYLOAD = {"file": "leads.csv", "line": 2, "row": {"First Name": "Zoë", "Last Name": "Ångström", "Company": "Fjärd",
                                                    "Email": "zoe@fjard.example", "Notes": "call me 👋"}}


def _store(url: str) -> StateStore:
    store = StateStore(url)
    store.create_schema()
    return store


def test_decisions_and_payloads_pack_small_and_read_back_exactly() -> None:
    assert unpack(pack(DECISION)) == DECISION and unpack(pack(PAYLOAD)) == PAYLOAD
    assert len(pack(DECISION)) < 400 < len(str(DECISION))  # a 1.3 KB decision in a few hundred bytes
    assert len(pack(PAYLOAD)) < 120


def test_packed_payload_survives_dead_letter_and_replay(store_url: str) -> None:
    store = _store(store_url)
    now = datetime.now(UTC)
    store.inbox_add([RawSubmission(source="csv:x", source_record_id="1", received_at=now, payload=PAYLOAD)])
    [row] = store.claim_batch("run", 10, timedelta(minutes=5))
    store.add_dead_letters([DeadLetter(inbox_id=row.id, source="csv:x", source_record_id="1", stage="crm",
                                       failure_type="data", code="X", message="bad")])
    store.record_decisions("run", [{"lead_key": "k", "ruleset_version": "1", "outcome": "created", "crm_id": "1",
                                    "decision": DECISION}])
    with store.engine.connect() as conn:
        stored = conn.execute(text("SELECT payload FROM inbox")).scalar_one()
    assert bytes(stored)[:1] == b"\x02"  # compressed (dictionary 2) in the database, not JSON text
    assert store.replay_dead_letters() == 1
    [again] = store.claim_batch("run2", 10, timedelta(minutes=5))
    assert again.raw.payload == PAYLOAD
    assert store.latest_decision("k")["decision"] == DECISION  # type: ignore[index]


def test_rows_written_as_plain_json_before_still_read(tmp_path: Path) -> None:
    store = _store(f"sqlite:///{tmp_path / 'old.db'}")
    with store.engine.begin() as conn:
        conn.execute(text("INSERT INTO inbox (source, partition, source_record_id, received_at, payload, status, "
                          "attempts, updated_at) VALUES ('csv:x', '', '1', '2026-01-01 00:00:00', "
                          "'{\"row\": {\"Email\": \"a@b.example\"}}', 'pending', 0, '2026-01-01 00:00:00')"))
        conn.execute(update(inbox).values(status="pending"))  # (the status in its stored form: migration 0008)
    [row] = store.claim_batch("run", 10, timedelta(minutes=5))
    assert row.raw.payload == {"row": {"Email": "a@b.example"}}


def _aged(store: StateStore, days: int) -> None:
    """Everything written so far happened `days` ago."""
    then = datetime.now(UTC) - timedelta(days=days)
    with store.engine.begin() as conn:
        conn.execute(update(inbox).values(updated_at=then, received_at=then))
        conn.execute(update(dead_letters).values(updated_at=then, created_at=then))
        conn.execute(update(decisions).values(created_at=then))
        conn.execute(update(rotation_ledger).values(at=then))
        conn.execute(update(runs).values(started_at=then))


def _seed(store: StateStore) -> None:
    now = datetime.now(UTC)
    raws = [RawSubmission(source="csv:x", source_record_id=str(i), received_at=now, payload=PAYLOAD) for i in range(6)]
    store.inbox_add(raws)
    rows = store.claim_batch("run", 5, timedelta(minutes=5))  # row 6 stays pending
    store.set_inbox_status([rows[0].id, rows[1].id], "done", lead_keys={rows[0].id: "k1", rows[1].id: "k2"})
    store.set_inbox_status([rows[2].id], "spam")
    store.add_dead_letters([DeadLetter(inbox_id=r.id, source="csv:x", source_record_id=r.raw.source_record_id,
                                       stage="crm", failure_type="data", code="X", message="bad") for r in rows[3:]])
    [closed] = [d.id for d in store.list_dead_letters() if d.inbox_id == rows[4].id]
    store.discard_dead_letters([closed])  # row 4's letter closed; row 3's stays open for replay
    for key in ("k1", "k1", "k2"):
        store.record_decisions("run", [{"lead_key": key, "ruleset_version": "1", "outcome": "created",
                                        "crm_id": "1", "decision": DECISION}])
    with store.engine.begin() as conn:
        conn.execute(insert(rotation_ledger).values(run_id="run", lead_key="k1", team="t", owner="a@b.example",
                                                    method="round_robin", skipped=[], at=now))
    store.finish_run(store.start_run("sync"), "completed", {})


def test_prune_counts_first_then_deletes_only_what_nothing_needs(store_url: str) -> None:
    store = _store(store_url)
    _seed(store)
    assert store.prune(datetime.now(UTC) - timedelta(days=180), apply=True) == dict.fromkeys(
        ["inbox rows", "closed dead letters", "superseded decisions", "rotation ledger rows", "finished runs"], 0)
    _aged(store, 200)
    expected = {"inbox rows": 4, "closed dead letters": 1, "superseded decisions": 1, "rotation ledger rows": 1,
                "finished runs": 1}
    cutoff = datetime.now(UTC) - timedelta(days=180)
    assert store.prune(cutoff, apply=False) == expected  # dry run: counted, nothing deleted
    assert store.inbox_count() == 6
    assert store.prune(cutoff, apply=True) == expected
    assert store.inbox_status_counts() == {"pending": 1, "dead": 1}  # in flight, and the open letter's row
    assert [d.code for d in store.list_dead_letters()] == ["X"] and store.replay_dead_letters() == 1
    with store.engine.connect() as conn:
        assert sorted(conn.execute(select(decisions.c.lead_key)).scalars()) == ["k1", "k2"]  # latest per lead
    assert store.prune(cutoff, apply=True) == dict.fromkeys(expected, 0)


def test_prune_command_dry_run_then_yes(demo_config: Path) -> None:
    first = leadsync("run", "--no-prefect", "--config", str(demo_config))
    assert first.returncode == 0, first.stderr
    dry = leadsync("prune", "--older-than", "0d", "--config", str(demo_config))
    assert dry.returncode == 0, dry.stderr
    assert "would delete" in dry.stdout and "dry run: nothing deleted" in dry.stdout
    done = leadsync("prune", "--older-than", "0d", "--yes", "--config", str(demo_config))
    assert "deleted" in done.stdout and "inbox rows" in done.stdout
    assert leadsync("prune", "--older-than", "soon", "--config", str(demo_config)).returncode == 2


def test_prune_gives_the_space_back_on_sqlite(tmp_path: Path) -> None:
    database = tmp_path / "state.db"
    store = _store(f"sqlite:///{database}")
    then = datetime.now(UTC) - timedelta(days=200)
    with store.engine.begin() as conn:
        conn.execute(insert(inbox), [{"source": "csv:old", "partition": "", "source_record_id": str(i),
                                      "received_at": then, "payload": {"row": {"Notes": secrets.token_hex(300)}},
                                      "status": "done", "attempts": 1, "updated_at": then} for i in range(3000)])
    store.dispose()
    full = database.stat().st_size
    assert store.prune(datetime.now(UTC) - timedelta(days=180), apply=True)["inbox rows"] == 3000
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA freelist_count").scalar() == 0
    store.dispose()
    assert database.stat().st_size < full / 4  # the deleted rows' pages went back to the file system
