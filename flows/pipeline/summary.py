"""What a run did, in numbers a person can read: captured, rejected (why), decided, pushed."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.table import Table

from flows.pipeline.capture import CaptureResult, pause_line
from flows.pipeline.process import BatchResult


@dataclass
class RunSummary:
    run_id: str
    captures: list[CaptureResult] = field(default_factory=list)
    batches: int = 0
    claimed: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    qualification: Counter[str] = field(default_factory=Counter)
    mqls: int = 0
    owners: Counter[str] = field(default_factory=Counter)
    lists: Counter[str] = field(default_factory=Counter)
    rejections: list[tuple[str, str, str]] = field(default_factory=list)
    spam: int = 0
    test: int = 0
    requeued: int = 0
    stopped: str | None = None
    paused: dict[str, str] = field(default_factory=dict)
    """One line per source paused because its vendor asked for a longer wait than the run can give."""

    def add_capture(self, capture: CaptureResult) -> None:
        self.captures.append(capture)
        if capture.paused_until is not None:
            self.paused[capture.source] = pause_line(capture.source, capture.paused_until,
                                                     capture.paused_reason or "")

    def add_batch(self, batch: BatchResult) -> None:
        self.batches += 1
        self.claimed += batch.claimed
        self.outcomes.update(batch.outcomes)
        self.spam += batch.spam
        self.test += batch.test
        self.requeued += batch.requeued
        self.stopped = batch.stopped or self.stopped
        for source, (until, reason) in batch.paused.items():
            self.paused[source] = pause_line(source, until, reason)
        for decision in batch.decisions:
            self.qualification[decision.qualification] += 1
            self.mqls += decision.mql
            self.owners[decision.owner or f"queue: {decision.queue}"] += 1
            self.lists.update(decision.lists_add)
        for letter in batch.dead_letters:
            self.rejections.append((f"{letter.source}/{letter.source_record_id}", letter.code, letter.message))

    def metrics(self) -> dict[str, Any]:
        return {
            "captured": {c.source: {"new": c.new, "duplicates": c.duplicates, "skipped": c.skipped,
                                    "error": c.error,
                                    "paused_until": c.paused_until.isoformat() if c.paused_until else None}
                         for c in self.captures},
            "paused": dict(self.paused),
            "batches": self.batches, "claimed": self.claimed, "outcomes": dict(self.outcomes),
            "qualification": dict(self.qualification), "mqls": self.mqls, "owners": dict(self.owners),
            "lists": dict(self.lists), "dead_letters": len(self.rejections), "spam": self.spam,
            "test": self.test, "requeued": self.requeued, "stopped": self.stopped,
        }

    def render(self, console: Console) -> None:
        captured = Table(title="Captured", title_justify="left")
        for column in ("source", "new", "already stored", "skipped (not leads)", "error"):
            captured.add_column(column, overflow="fold")
        for c in self.captures:
            captured.add_row(c.source, str(c.new), str(c.duplicates), str(c.skipped), c.error or "")
        console.print(captured)
        decided = Table(title="Decided and pushed", title_justify="left")
        decided.add_column("what")
        decided.add_column("count", justify="right")
        for name, count in [*sorted(self.qualification.items()), ("MQL", self.mqls)]:
            decided.add_row(name, str(count))
        for name, count in sorted(self.outcomes.items()):
            decided.add_row(f"CRM {name}", str(count))
        for name, count in (("spam (not pushed)", self.spam), ("test leads (not pushed)", self.test),
                            ("left in the inbox for a retry", self.requeued)):
            if count:
                decided.add_row(name, str(count))
        console.print(decided)
        _counter_table(console, "Per owner", self.owners)
        _counter_table(console, "Per nurture list", self.lists)
        if self.rejections:
            rejected = Table(title=f"Rejected ({len(self.rejections)}, in the dead-letter store)",
                             title_justify="left")
            for column in ("record", "code", "reason"):
                rejected.add_column(column, overflow="fold")
            for record, code, message in self.rejections:
                rejected.add_row(record, code, message)
            console.print(rejected)
        for line in self.paused.values():
            console.print(f"[yellow]Paused: {line}.[/yellow]")
        if self.stopped:
            console.print(f"[yellow]Stopped early: {self.stopped}. Unprocessed leads stay in the inbox.[/yellow]")


def _counter_table(console: Console, title: str, counter: Counter[str]) -> None:
    if not counter:
        return
    table = Table(title=title, title_justify="left")
    table.add_column("name")
    table.add_column("leads", justify="right")
    for name, count in counter.most_common():
        table.add_row(name, str(count))
    console.print(table)
