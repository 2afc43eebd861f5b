"""Stored times (UTC) as the person at the workstation reads them: local time, to the minute."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def local_minutes(value: Any) -> str:
    """A datetime or ISO text (naive means UTC, as SQLite hands it back) in local time."""
    if value is None or value == "":
        return ""
    try:
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")
