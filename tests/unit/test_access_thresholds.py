"""The legal thresholds come from a data file beside the matrix, replaceable without a code change."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from functions.access.thresholds import thresholds


def test_the_shipped_thresholds_are_the_law() -> None:
    t = thresholds()
    assert t.emergency_grant == timedelta(hours=1)
    assert t.unusual_reads_per_day == 5
    assert t.night.contains(datetime(2026, 11, 23, 21, 30, tzinfo=UTC))  # 22:30 in Paris
    assert not t.night.contains(datetime(2026, 11, 23, 5, 0, tzinfo=UTC))  # 06:00 in Paris


def test_a_thresholds_file_replaces_the_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "thresholds.json"
    path.write_text(json.dumps({"version": "test", "emergency_grant_minutes": 30, "unusual_reads_per_day": 3,
                                "night": {"start_hour": 20, "end_hour": 7, "time_zone": "Europe/Paris"}}))
    monkeypatch.setenv("MES_ACCESS_THRESHOLDS_FILE", str(path))
    thresholds.cache_clear()
    try:
        assert thresholds().emergency_grant == timedelta(minutes=30)
        assert thresholds().unusual_reads_per_day == 3
    finally:
        monkeypatch.delenv("MES_ACCESS_THRESHOLDS_FILE")
        thresholds.cache_clear()
