"""The profile store's hot paths at scale (SQLite and PostgreSQL): the daily pass walks the re-score
index and claims a batch in a few statements; an import's batch of new people is a few statements too."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, event, text

from connectors.normalise import lead_key_for
from connectors.records import Event, Lead
from flows.state import ProfileOutcome, StateStore

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def _store(url: str) -> StateStore:
    store = StateStore(url)
    store.create_schema()
    return store


def _person(n: int, **fields: object) -> Lead:
    email = fields.pop("email", f"p{n}@co{n % 7}.example")
    return Lead.model_validate({"source": "csv:import", "source_record_id": f"r{n}", "received_at": T0,
                                "lead_key": lead_key_for(email, "csv:import", f"r{n}"),  # type: ignore[arg-type]
                                "email": email, "phone": f"+1415555{n:04d}", "company": f"Co {n % 7}", **fields})


def _visitor(n: int) -> Lead:
    return Lead.model_validate({"source": "tracking:web", "source_record_id": f"v{n}", "received_at": T0,
                                "lead_key": f"anon:{n}", "anonymous_ids": [f"anon-{n}"], "events_only": True,
                                "events": [Event(type="website_visit", at=T0, event_id=f"w{n}")]})


def _statements(engine: Engine) -> list[str]:
    seen: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda c, cur, stmt, *rest: seen.append(stmt))
    return seen


def test_the_daily_pass_finds_due_profiles_by_the_rescore_index(store_url: str) -> None:
    store = _store(store_url)
    query = store.due_query(T0, 5_000).compile(store.engine, compile_kwargs={"literal_binds": True})
    with store.engine.connect() as conn:
        if store.engine.dialect.name == "postgresql":
            # an empty table: ask which index the planner would walk with rows to read
            conn.execute(text("SET enable_seqscan = off"))
            conn.execute(text("SET enable_bitmapscan = off"))
            plan = "\n".join(r[0] for r in conn.execute(text(f"EXPLAIN {query}")))
        else:
            plan = "\n".join(str(r[-1]) for r in conn.execute(text(f"EXPLAIN QUERY PLAN {query}")))
    assert "ix_profiles_next_rescore_at" in plan, plan
    assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan  # in index order, no sort of all due rows


def test_claiming_a_batch_of_due_profiles_is_a_few_statements_whatever_its_size(store_url: str) -> None:
    store = _store(store_url)
    known = store.attach([_person(n) for n in range(60)], T0, 90, load=False).profile_of
    store.record_decisions("run", [], profiles=[ProfileOutcome(
        profile_id=pid, score=10, grade="C", qualification="qualified", stage="nurture", stage_since=T0, owner=None,
        lists=[], crm_id=None, mql_at=None, next_rescore_at=T0 + timedelta(days=1), ruleset_version="v1")
        for pid in known])
    visitors = store.attach([_visitor(n) for n in range(60)], T0, 90, load=False).profile_of
    statements = _statements(store.engine)
    # a caller keeping visitors 120 days: on day 91 everyone is due, the visitors only to be looked at again
    retention = timedelta(days=120)
    due = store.claim_due_profiles(T0 + timedelta(days=91), 500, timedelta(minutes=15), 90, retention)
    assert sorted(p.id for p in due) == sorted(known)
    updates = [s for s in statements if s.lstrip().upper().startswith("UPDATE")]
    assert len(updates) == 2, updates  # the visitors' next look in one executemany, the lease in one
    rows = {r["id"]: r for r in store.profile_rows()}
    assert {rows[pid]["next_rescore_at"].replace(tzinfo=UTC) for pid in visitors} == {T0 + retention}
    store.claim_due_profiles(T0 + retention + timedelta(hours=1), 500, timedelta(minutes=15), 90, retention)
    assert not set(visitors) & {r["id"] for r in store.profile_rows()}  # retention over: pruned together


def test_an_import_batch_of_new_people_is_a_few_statements(store_url: str) -> None:
    store = _store(store_url)
    statements = _statements(store.engine)
    batch = [_person(n) for n in range(1_200)]
    attached = store.attach(batch, T0, 90, load=False)
    assert len(set(attached.profile_of)) == 1_200
    # per chunk of 500: look-ups of e-mails, phones and (for who those did not find) lead keys in the
    # identities and the profiles, and the current facts; then one insert each for profiles and
    # identities and one update of the facts: statements grow with the chunks, never with the people
    chunks = 3
    assert len(statements) <= 6 * chunks + 4, statements
    again = store.attach([_person(n, title="CTO") for n in range(1_200)], T0, 90, load=False)
    assert again.profile_of == attached.profile_of  # the re-import finds every one of them


def test_events_of_known_people_write_event_rows_only_and_the_last_activity_comes_from_them(store_url: str) -> None:
    store = _store(store_url)
    known = store.attach([_person(n) for n in range(40)], T0, 90, load=False).profile_of
    later = T0 + timedelta(days=3)
    stream = [Lead.model_validate({
        "source": "tracking:web", "source_record_id": f"t{n}", "received_at": later, "events_only": True,
        "lead_key": lead_key_for(f"p{n}@co{n % 7}.example", "", ""), "email": f"p{n}@co{n % 7}.example",
        "events": [Event(type="website_visit", at=later - timedelta(hours=n % 5), event_id=f"v{n}")]})
        for n in range(40)]
    statements = _statements(store.engine)
    attached = store.attach(stream, later, 90, load=False)
    assert attached.profile_of == known
    writes = [s for s in statements if s.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]
    # a million profiles do not fit the page cache: rewriting each one's row doubled an append's cost
    assert [w.split()[2] for w in writes] == ["profile_events"], writes
    assert {r["last_activity_at"] for r in store.profile_rows()} == {None}  # the row was left alone ...
    profiles = {p.id: p for p in store.profiles_after(0, 100, later, 90)}
    for n, pid in enumerate(known):  # ... its events say when the person was last active
        assert profiles[pid].state.last_activity_at == later - timedelta(hours=n % 5)


def test_compacted_events_leave_their_last_activity_in_the_profile_row(store_url: str) -> None:
    store = _store(store_url)
    [pid] = store.attach([_person(1, events=[Event(type="email_open", at=T0, event_id="o1")])], T0, 90,
                         load=False).profile_of
    store.attach([_person(1, events=[Event(type="email_click", at=T0 + timedelta(days=2), event_id="c1")],
                          events_only=True)], T0 + timedelta(days=2), 90, load=False)
    much_later = T0 + timedelta(days=200)  # both events are past the 90 days kept: folded into counts
    [profile] = store.profiles_after(0, 10, much_later, 90)
    assert profile.events == [] and profile.state.compacted_event_counts == {"email_open": 1, "email_click": 1}
    assert profile.state.last_activity_at == T0 + timedelta(days=2)
    assert store.count_profile_events(pid) == 0
    [row] = store.profile_rows()
    assert row["last_activity_at"].replace(tzinfo=UTC) == T0 + timedelta(days=2)  # kept where it is read later
    [again] = store.profiles_after(0, 10, much_later, 90)
    assert again.state.last_activity_at == T0 + timedelta(days=2)
