"""A form submission is decided and in the CRM within seconds of receipt (target p95 <= 5 s on loopback)."""

from __future__ import annotations

from pathlib import Path

from tests.receiver.speed import measure, measure_mql, percentile


def test_speed_to_lead(demo_config: Path) -> None:
    latencies = measure(demo_config, submissions=40, spacing_seconds=0.02)
    assert len(latencies) == 40
    assert percentile(latencies, 95) <= 5.0, latencies
    assert min(latencies) > 0


def test_speed_to_mql(demo_config: Path) -> None:
    """A form fill that takes a lead with history over the threshold: MQL status and owner within seconds."""
    latencies = measure_mql(demo_config, people=20, spacing_seconds=0.02)
    assert len(latencies) == 20
    assert percentile(latencies, 95) <= 5.0, latencies
    assert min(latencies) > 0
