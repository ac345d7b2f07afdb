"""What a run did, in numbers a person can read and that add up: rows in, where each one ended."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.table import Table

from flows.pipeline.capture import CaptureResult, pause_line
from flows.pipeline.process import BatchResult

REJECTS_SHOWN = 20


@dataclass
class RunSummary:
    run_id: str
    captures: list[CaptureResult] = field(default_factory=list)
    received_sources: list[str] = field(default_factory=list)  # webhook sources: their rows arrive by POST
    batches: int = 0
    claimed: int = 0
    by_source: Counter[str] = field(default_factory=Counter)
    done: int = 0
    merged: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    qualification: Counter[str] = field(default_factory=Counter)
    mqls: int = 0
    owners: Counter[str] = field(default_factory=Counter)
    lists: Counter[str] = field(default_factory=Counter)
    rejections: list[tuple[str, str, str]] = field(default_factory=list)
    spam: int = 0
    test: int = 0
    events: int = 0
    requeued: int = 0
    rescored: int = 0
    stopped: str | None = None
    fatal: str | None = None
    fatal_code: str | None = None  # the error code of `fatal` (CONFIG: the run never started)
    followup: dict[str, Any] | None = None  # follow-through counts (tasks, messages, SLA steps)
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
        self.by_source.update(batch.by_source)
        self.done += batch.done
        self.merged += batch.merged
        self.outcomes.update(batch.outcomes)
        self.spam += batch.spam
        self.test += batch.test
        self.events += batch.events
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

    @property
    def rejected_by_code(self) -> Counter[str]:
        return Counter(code for _, code, _ in self.rejections)

    def failure(self) -> str | None:
        """Why this run counts as failed (a source, the push, or an early stop), or None."""
        reasons = [f"source {c.source} failed: {c.error}" for c in self.captures if c.error]
        if self.stopped:
            reasons.append(f"stopped early: {self.stopped}")
        if self.fatal:
            reasons.append(f"run failed: {self.fatal}")
        return "; ".join(reasons) or None

    def where_rows_ended(self) -> list[tuple[str, int]]:
        """Each claimed row ends in exactly one of these places; they add up to `claimed`."""
        return [("written to the CRM as leads", self.done - self.merged),
                ("merged into another submission of the same person", self.merged),
                ("dead-lettered (rejected)", len(self.rejections)), ("spam (not pushed)", self.spam),
                ("test leads (not pushed)", self.test), ("left in the inbox for a retry", self.requeued),
                ("behaviour kept on its profile (no lead data yet, not pushed)", self.events)]

    def metrics(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id, "failure": self.failure(),
            "captured": {c.source: {"new": c.new, "duplicates": c.duplicates, "skipped": c.skipped,
                                    "error": c.error,
                                    "paused_until": c.paused_until.isoformat() if c.paused_until else None}
                         for c in self.captures},
            "received_by_webhook": self.received_sources, "paused": dict(self.paused),
            "batches": self.batches, "claimed": self.claimed, "claimed_by_source": dict(self.by_source),
            "done_rows": self.done, "merged": self.merged, "outcomes": dict(self.outcomes),
            "qualification": dict(self.qualification), "mqls": self.mqls, "owners": dict(self.owners),
            "lists": dict(self.lists), "dead_letters": len(self.rejections),
            "dead_letters_by_code": dict(self.rejected_by_code), "spam": self.spam,
            "test": self.test, "events": self.events, "requeued": self.requeued, "rescored": self.rescored,
            "stopped": self.stopped, "fatal": self.fatal,
            **({"followup": self.followup} if self.followup is not None else {}),
        }

    def to_json(self) -> dict[str, Any]:
        return {**self.metrics(), "rejections": [{"record": r, "code": c, "reason": m}
                                                 for r, c, m in self.rejections]}

    def render(self, console: Console) -> None:
        captured = _table("Captured by pulling sources", "source", "new", "already stored", "skipped (not leads)",
                          "error")
        for c in self.captures:
            if c.source not in self.received_sources or c.error:  # webhook rows are counted when processed
                captured.add_row(c.source, str(c.new), str(c.duplicates), str(c.skipped), c.error or "")
        console.print(captured)
        processed = _table(f"Processed from the inbox ({self.claimed} rows)", "source", "rows")
        for name, count in sorted(self.by_source.items()):
            processed.add_row(name + (" (received by webhook)" if name in self.received_sources else ""), str(count))
        for name, count in self.where_rows_ended():
            if count:
                processed.add_row(f"→ {name}", str(count))
        console.print(processed)
        decided = _table("Decided and pushed", "what", "count")
        for name, count in [*sorted(self.qualification.items()), ("MQL", self.mqls)]:
            decided.add_row(name, str(count))
        for name, count in sorted(self.outcomes.items()):
            decided.add_row(f"CRM {name}", str(count))
        if self.rescored:
            decided.add_row("re-scored (time passed: windows, decay)", str(self.rescored))
        console.print(decided)
        _counter_table(console, "Per owner", self.owners)
        _counter_table(console, "Per nurture list", self.lists)
        self._render_rejections(console)
        if self.followup:
            console.print("Follow-through: " + ", ".join(f"{name.replace('_', ' ')} {value}"
                                                         for name, value in self.followup.items()), highlight=False)
        for line in self.paused.values():
            console.print(f"[yellow]Paused: {line}.[/yellow]")
        if self.stopped:
            console.print(f"[yellow]Stopped early: {self.stopped}. Unprocessed leads stay in the inbox.[/yellow]")

    def _render_rejections(self, console: Console) -> None:
        if not self.rejections:
            return
        by_code = _table(f"Rejected ({len(self.rejections)}, in the dead-letter store)", "code", "rows")
        for code, count in self.rejected_by_code.most_common():
            by_code.add_row(code, str(count))
        console.print(by_code)
        first = _table(f"First {min(REJECTS_SHOWN, len(self.rejections))} of {len(self.rejections)}",
                       "record", "code", "reason")
        for record, code, message in self.rejections[:REJECTS_SHOWN]:
            first.add_row(record, code, message)
        console.print(first)
        if len(self.rejections) > REJECTS_SHOWN:
            console.print("the full list: leadsync dead-letters list --limit 0", highlight=False)

    def to_markdown(self) -> str:
        """The run summary as a Prefect artifact (no personal data: records by id, reasons redacted)."""
        lines = [f"# leadsync run {self.run_id}", "", f"**{self.failure() or 'completed'}**", "",
                 "| source | new | already stored | skipped | error |", "|---|---:|---:|---:|---|"]
        lines += [f"| {c.source} | {c.new} | {c.duplicates} | {c.skipped} | {c.error or ''} |" for c in self.captures]
        lines += ["", f"Rows processed from the inbox: {self.claimed}", "", "| where each row ended | rows |",
                  "|---|---:|"]
        lines += [f"| {name} | {count} |" for name, count in self.where_rows_ended()]
        lines += ["", "| decided | count |", "|---|---:|"]
        lines += [f"| {k} | {v} |" for k, v in [*sorted(self.qualification.items()), ("MQL", self.mqls)]]
        lines += [f"| CRM {k} | {v} |" for k, v in sorted(self.outcomes.items())]
        if self.rejections:
            lines += ["", "| rejected: code | rows |", "|---|---:|"]
            lines += [f"| {code} | {count} |" for code, count in self.rejected_by_code.most_common()]
        return "\n".join(lines) + "\n"


def _table(title: str, *columns: str) -> Table:
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


def _counter_table(console: Console, title: str, counter: Counter[str]) -> None:
    if not counter:
        return
    table = _table(title, "name", "leads")
    for name, count in counter.most_common():
        table.add_row(name, str(count))
    console.print(table)
