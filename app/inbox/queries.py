"""What the window's inbox panel shows, read from the store's inbox table (Qt-free; the
controller runs it in a job)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ndelab.annotation.store import Store
from ndelab.annotation.store import inbox as table

# The panel's words for the states, in the order a scan goes through them.
LABELS = {
    "arrived": "arrived",
    "prelabelling": "pre-labelling",
    "ready": "ready for review",
    "failed": "failed",
    "duplicate": "duplicate",
}


@dataclass(frozen=True)
class InboxRow:
    id: str
    state: str
    name: str
    part: str
    calls: int | None
    arrived_at: str
    note: str
    scan_path: str | None

    @property
    def label(self) -> str:
        return LABELS.get(self.state, self.state)


@dataclass(frozen=True)
class InboxView:
    counts: dict[str, int]
    rows: list[InboxRow] = field(default_factory=list)

    def summary(self) -> str:
        shown = ("arrived", "prelabelling", "ready", "failed")
        text = " · ".join(f"{LABELS[s]} {self.counts.get(s, 0)}" for s in shown)
        dup = self.counts.get("duplicate", 0)
        return text + (f" · duplicates caught {dup}" if dup else "")

    def ready_ids(self) -> set[str]:
        return {r.id for r in self.rows if r.state == "ready"}


def _row(r: dict[str, Any]) -> InboxRow:
    meta = r.get("metadata") or {}
    part = " / ".join(str(meta[k]) for k in ("part", "serial") if meta.get(k))
    if r["state"] == "ready":
        note = f"{r.get('model') or ''}".strip()
    else:
        note = r.get("reason") or ""
    # A ready scan is where it was moved to; any other row is where it came from.
    where = (r.get("scan_path") if r["state"] == "ready" else None) or r["location"]
    return InboxRow(
        id=str(r["id"]),
        state=str(r["state"]),
        name=Path(str(where)).name,
        part=part,
        calls=r.get("calls"),
        arrived_at=str(r["arrived_at"])[:19].replace("T", " "),
        note=note,
        scan_path=r.get("scan_path"),
    )


def inbox_view(store: Store, limit: int = 200) -> InboxView:
    """The counts per state and the latest ``limit`` arrivals, newest first."""
    return InboxView(
        counts=table.state_counts(store),
        rows=[_row(r) for r in table.list_arrivals(store, limit=limit)],
    )
