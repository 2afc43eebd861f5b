from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from ndelab.app.display_time import local_minutes


def test_utc_times_show_in_local_time(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    try:
        assert local_minutes("2026-11-25T07:22:07.123+00:00") == "2026-11-25 08:22"
        assert local_minutes(datetime(2026, 7, 1, 12, 0)) == "2026-07-01 14:00"  # naive = UTC
        assert local_minutes(datetime(2026, 7, 1, 12, 0, tzinfo=timezone(timedelta(hours=-5)))) == (
            "2026-07-01 19:00"
        )
        assert local_minutes(datetime(2026, 1, 1, tzinfo=UTC)) == "2026-01-01 01:00"
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    assert local_minutes(None) == "" and local_minutes("not a time") == "not a time"
