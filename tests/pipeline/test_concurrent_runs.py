"""Two runs at once on a shared PostgreSQL state store: every lead decided once, no round-robin turn twice."""

from __future__ import annotations

import json
import threading
from collections import Counter
from pathlib import Path

import yaml

from flows.pipeline.run import run_sync
from flows.pipeline.runtime import build_runtime

RULES = """\
version: 1
scoring: {mql_threshold: 60}
routing:
  teams:
    rr: {members: [alice@ourco.example, bob@ourco.example, carol@ourco.example]}
  rules:
    - {id: everyone, when: {}, assign: {team: rr}}
  default: {queue: Unassigned Leads}
statuses: {new: New, mql: MQL, unqualified: Unqualified}
"""


def test_two_concurrent_runs_share_the_rotation_fairly(demo_config: Path, postgres_url: str) -> None:
    forms = demo_config.parent / "demo" / "many.jsonl"
    forms.write_text("".join(json.dumps({"id": f"m{i}", "fields": {"email": f"p{i}@co{i}.example",
                                                                   "company": f"Co {i}"}}) + "\n"
                             for i in range(300)))
    (demo_config.parent / "rules.yaml").write_text(RULES)
    config = yaml.safe_load(demo_config.read_text())
    config["state_store"]["url"] = postgres_url
    config["sources"] = [{"type": "form_files", "name": "many", "path": "demo/many.jsonl"}]
    config["processing"]["batch_size"] = 20
    demo_config.write_text(yaml.safe_dump(config))

    seed = build_runtime(demo_config)
    run_sync(seed, process=False)  # capture once; the two runs below only process
    seed.close()
    errors: list[BaseException] = []

    def worker() -> None:
        runtime = build_runtime(demo_config)
        try:
            run_sync(runtime, capture=False)
        except BaseException as exc:
            errors.append(exc)
        finally:
            runtime.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []

    check = build_runtime(demo_config)
    try:
        ledger = check.store.rotation_ledger_rows()
        leads = check.sink.all_leads()  # type: ignore[attr-defined]
        runs = {row["run_id"] for row in ledger}
        assert check.store.inbox_status_counts() == {"done": 300}
    finally:
        check.close()
    assert len(runs) == 2, "both runs should have taken part"
    assert len(ledger) == 300 and len({row["lead_key"] for row in ledger}) == 300
    assert len(leads) == 300
    per_owner = Counter(row["owner"] for row in ledger)
    assert set(per_owner.values()) == {100}, per_owner  # strict rotation: no turn given twice or skipped
