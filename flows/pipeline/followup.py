"""Follow-through after processing: nurture check-ins, SLA checks (remind, escalate, re-route), then the
outbox (tasks, notifications). Runs when the rules have a `followup:` section; thin, see flows/handoff/."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from connectors.errors import LeadsyncError
from connectors.redaction import redact
from flows.handoff.channels import build_channels, task_crm_for
from flows.handoff.deliver import Delivery, DeliverySummary, deliver_outbox
from flows.handoff.sla_check import SlaContext, SlaSummary, check_slas, run_nurture
from flows.pipeline.runtime import Runtime


@dataclass
class FollowUpResult:
    sla: SlaSummary = field(default_factory=SlaSummary)
    delivery: DeliverySummary = field(default_factory=DeliverySummary)

    def metrics(self) -> dict[str, Any]:
        s, d = self.sla, self.delivery
        return {"touched": s.touched, "reminders": s.reminders, "escalations": s.escalations, "reroutes": s.reroutes,
                "nurture_checkins": s.nurture, "tasks_created": d.tasks, "messages_sent": d.messages,
                "retried": d.retried, "dead_lettered": d.dead, "skipped": d.skipped}


class FollowThrough:
    """Built before any source is touched (bad `notify:` config or a missing secret fails the run first)."""

    def __init__(self, runtime: Runtime, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        spec = runtime.ruleset.spec.followup
        assert spec is not None
        self.runtime, self.spec, self.now = runtime, spec, now
        self.crm = task_crm_for(runtime.sink)
        self.channels = build_channels(runtime.loaded.config.notify, runtime.loaded.base_dir)

    def run(self, run_id: str) -> FollowUpResult:
        runtime, result = self.runtime, FollowUpResult()
        ctx = SlaContext(store=runtime.store, crm=self.crm, sink=runtime.sink, ruleset=runtime.ruleset,
                         spec=self.spec, run_id=run_id, now=self.now)
        run_nurture(ctx, result.sla)
        check_slas(ctx, result.sla)
        reps = {rep.lower(): a for rep, a in runtime.ruleset.spec.routing.reps.items()}
        deliver_outbox(Delivery(store=runtime.store, crm=self.crm, channels=self.channels, reps=reps, now=self.now),
                       result.delivery)
        return result

    def run_safely(self, run_id: str) -> dict[str, Any]:
        """Metrics of `run`; a CRM that is down for the touch reads or task writes does not fail the sync:
        the outbox keeps everything for the next run."""
        try:
            return self.run(run_id).metrics()
        except LeadsyncError as exc:
            return {"error": f"{exc.code}: {redact(exc)}"}

    def close(self) -> None:
        self.channels.close()


def prepare_follow_through(runtime: Runtime) -> FollowThrough | None:
    """None when the rules have no `followup:` section (leadsync then only writes the CRM)."""
    return FollowThrough(runtime, runtime.now) if runtime.ruleset.spec.followup is not None else None
