"""A stored submission that makes a later stage fail is dead-lettered alone; the rest of its batch goes on.

Runs the demo pipeline (local CRM) with its state store on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from connectors.crm.local import LocalCrmSink
from connectors.records import Lead, RawSubmission
from flows.pipeline import process
from flows.pipeline.run import run_sync
from flows.pipeline.runtime import Runtime, build_runtime
from flows.pipeline.summary import RunSummary

CULPRIT = "priya@freshstartup.example"  # wf-1003 in the demo's website forms


@pytest.fixture
def config(demo_config: Path, store_url: str) -> Path:
    text = demo_config.read_text(encoding="utf-8").replace("sqlite:///../var/state.db", store_url)
    demo_config.write_text(text, encoding="utf-8")
    return demo_config


def add_form(config: Path, record: dict[str, Any]) -> None:
    with (config.parent / "demo" / "website-forms.jsonl").open("a", encoding="utf-8") as out:
        out.write(json.dumps(record) + "\n")


def nested(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = {"a": value}
    return value


def deep_form(depth: int, record_id: str = "wf-deep") -> dict[str, Any]:
    return {"id": record_id, "form_id": "contact-us", "submitted_at": "2026-03-05T11:40:02-08:00",
            "fields": {"first_name": "Dee", "last_name": "Nest", "email": "dee@nest.example",
                       "company": "Nest Ltd", "blob": nested(depth)}}


@pytest.fixture
def runtime_of(config: Path) -> Iterator[Any]:
    opened: list[Runtime] = []

    def open_runtime() -> Runtime:
        opened.append(build_runtime(config))
        return opened[-1]

    yield open_runtime
    for runtime in opened:
        runtime.close()


def settled(runtime: Runtime) -> dict[str, int]:
    counts = runtime.store.inbox_status_counts()
    assert "processing" not in counts and "pending" not in counts, counts
    return counts


def crm_leads(runtime: Runtime) -> dict[str, dict[str, Any]]:
    assert isinstance(runtime.sink, LocalCrmSink)
    leads = runtime.sink.all_leads()
    emails = [str(lead["email"]) for lead in leads]
    assert len(emails) == len(set(emails)), "a lead was created twice"
    return {str(lead["email"]): lead for lead in leads}


def letters_of(runtime: Runtime, record_id: str) -> list[tuple[str, str, str]]:
    return [(d.stage, d.failure_type, d.code) for d in runtime.store.list_dead_letters()
            if d.source_record_id == record_id]


def test_deeply_nested_payload_is_dead_lettered_alone(config: Path, runtime_of: Any) -> None:
    # Two submissions of the same person: merging them deep-copies the 700-level blob and overflows the stack.
    add_form(config, deep_form(700))
    add_form(config, deep_form(700, "wf-deep-again"))
    runtime = runtime_of()
    summary = run_sync(runtime)
    assert summary.stopped is None
    assert letters_of(runtime, "wf-deep") == [("merge", "system", "RecursionError")]
    assert letters_of(runtime, "wf-deep-again") == [("merge", "system", "RecursionError")]
    counts = settled(runtime)
    assert counts["done"] >= 10
    assert "dee@nest.example" not in crm_leads(runtime)
    assert run_sync(runtime_of()).claimed == 0  # nothing left behind for later runs


def test_unreadable_stored_payload_is_dead_lettered_at_claim(config: Path, runtime_of: Any) -> None:
    runtime = runtime_of()
    run_sync(runtime, process=False)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(20_000)  # stored by a writer with a deeper stack than the reader has
    try:
        runtime.store.inbox_add([RawSubmission(source="form_files:website", source_record_id="wf-abyss",
                                               received_at=datetime.now(UTC), payload={"fields": nested(5_000)})])
    finally:
        sys.setrecursionlimit(limit)
    summary = run_sync(runtime)
    assert summary.stopped is None
    assert letters_of(runtime, "wf-abyss") == [("normalise", "data", "UNREADABLE_PAYLOAD")]
    assert settled(runtime)["done"] >= 10


@pytest.mark.parametrize("after_write", [False, True], ids=["before-write", "after-write"])
def test_crm_stage_failure_of_one_lead_isolates_it(config: Path, runtime_of: Any, after_write: bool, store_url: str,
                                                   tmp_path_factory: pytest.TempPathFactory) -> None:
    reference_dir = tmp_path_factory.mktemp("reference") / "config"
    shutil.copytree(config.parent, reference_dir)
    own_store = (reference_dir / "leadsync.yaml").read_text(encoding="utf-8").replace(
        store_url, f"sqlite:///{reference_dir.parent / 'state.db'}")
    (reference_dir / "leadsync.yaml").write_text(own_store, encoding="utf-8")
    reference = build_runtime(reference_dir / "leadsync.yaml")
    try:
        run_sync(reference)
        expected = {email: lead["owner"] for email, lead in crm_leads(reference).items()}
        expected_turns = len(reference.store.rotation_ledger_rows())
    finally:
        reference.close()

    runtime = runtime_of()
    real_apply = runtime.sink.apply
    calls: list[int] = []

    def apply_then_fail(changes: Sequence[Any]) -> Any:
        calls.append(len(changes))
        poisoned = any(change.email == CULPRIT for change in changes)
        if poisoned and not after_write:
            raise ValueError("mapping bug met by one record")
        outcomes = real_apply(changes)
        if poisoned:
            raise ValueError("mapping bug met by one record")
        return outcomes

    runtime.sink.apply = apply_then_fail  # type: ignore[method-assign]
    summary: RunSummary = run_sync(runtime)
    assert summary.stopped is None
    assert len(calls) > 2  # split until the culprit stood alone
    assert letters_of(runtime, "wf-1003") == [("crm", "system", "ValueError")]
    leads = crm_leads(runtime)
    assert (CULPRIT in leads) is after_write
    # Everyone else got the owner the uninterrupted run gave them, and no round-robin turn was taken twice.
    assert {email: lead["owner"] for email, lead in leads.items()} == {
        email: owner for email, owner in expected.items() if email != CULPRIT or after_write}
    assert len(runtime.store.rotation_ledger_rows()) == expected_turns
    counts = settled(runtime)
    assert counts["dead"] == 4  # the demo's three invalid submissions and the culprit
    rerun = runtime_of()
    writes_before = rerun.sink.write_calls
    assert run_sync(rerun).claimed == 0 and rerun.sink.write_calls == writes_before


def test_merge_that_raises_stops_only_that_person(config: Path, runtime_of: Any,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    real_merge = process.merge_leads

    def merge(group: Sequence[Lead]) -> Lead:
        if any(lead.email == CULPRIT for lead in group):
            raise KeyError("custom")
        return real_merge(group)

    monkeypatch.setattr(process, "merge_leads", merge)
    runtime = runtime_of()
    summary = run_sync(runtime)
    assert summary.stopped is None
    assert letters_of(runtime, "wf-1003") == [("merge", "system", "KeyError")]
    assert CULPRIT not in crm_leads(runtime) and settled(runtime)["done"] >= 10


def test_a_bug_that_fails_every_lead_stops_the_run_after_one_batch(config: Path, runtime_of: Any,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise TypeError("a bug in planning")

    monkeypatch.setattr(process, "plan_changes", broken)
    runtime = runtime_of()
    summary = run_sync(runtime)
    assert summary.stopped is not None and "TypeError" in summary.stopped
    assert {code for _, _, code in (letters_of(runtime, "wf-1001") + letters_of(runtime, "wf-1002"))} == {
        "TypeError"}
    settled(runtime)


def test_interrupt_hands_the_rows_back(config: Path, runtime_of: Any) -> None:
    runtime = runtime_of()

    def interrupted(changes: Sequence[Any]) -> Any:
        raise KeyboardInterrupt

    runtime.sink.apply = interrupted  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        run_sync(runtime)
    counts = runtime.store.inbox_status_counts()
    assert "processing" not in counts and counts["pending"] >= 10
    assert not any(d.failure_type == "system" for d in runtime.store.list_dead_letters())
