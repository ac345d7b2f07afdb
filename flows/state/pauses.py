"""Source pauses: a vendor asked for a wait longer than a run can give, so no run calls it before then."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, delete, select

from connectors.redaction import redact
from flows.state.engine import as_utc, utcnow
from flows.state.schema import source_pauses


@dataclass(frozen=True)
class SourcePause:
    source: str
    until: datetime
    reason: str


class PauseStore:
    engine: Engine

    def pause_source(self, source: str, until: datetime, reason: str) -> None:
        """Record (or extend, never shorten) a pause of `source` until `until`."""
        from flows.state.inbox import _insert  # shared dialect switch

        now = utcnow()
        current = self.source_pause(source)
        if current is not None and current.until >= until:
            return
        stmt = _insert(self.engine)(source_pauses).values(source=source, until=until, reason=redact(reason),
                                                          updated_at=now)
        stmt = stmt.on_conflict_do_update(index_elements=["source"], set_={
            "until": until, "reason": redact(reason), "updated_at": now})
        with self.engine.begin() as conn:
            conn.execute(stmt)

    def source_pause(self, source: str, now: datetime | None = None) -> SourcePause | None:
        """The pause in force for `source` at `now` (default: the current time), if any."""
        paused = self.paused_sources([source], now)
        return paused.get(source)

    def paused_sources(self, sources: Iterable[str], now: datetime | None = None) -> dict[str, SourcePause]:
        names = list(sources)
        if not names:
            return {}
        moment = now or utcnow()
        with self.engine.connect() as conn:
            rows = conn.execute(select(source_pauses).where(source_pauses.c.source.in_(names))).fetchall()
        pauses = {r.source: SourcePause(r.source, as_utc(r.until) or moment, r.reason) for r in rows}
        return {name: pause for name, pause in pauses.items() if pause.until > moment}

    def clear_source_pause(self, source: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(source_pauses).where(source_pauses.c.source == source))
