"""What became of the models' calls, and what the scans looked like: the drift report's reads.

Three Core queries, none per row: the model calls with their scan's recording time (for the
score distribution and accept rate per window of scans), the decided-call counts per model
version (GROUP BY in the database), and the scans with their stored input features.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, func, select

from ndelab.annotation.model import ACCEPTED, CHAMPION, CORRECTED, REJECTED
from ndelab.annotation.store.audit_log import iso
from ndelab.annotation.store.database import Store
from ndelab.annotation.store.schema import IND, SCANS


def _model_filter(name: str | None, version: str | None) -> list[Any]:
    # Served calls only: a shadow's calls are never decided, so they would read as open.
    where: list[Any] = [IND.c.source_kind == "model", IND.c.role == CHAMPION]
    if name is not None:
        where.append(IND.c.source_name == name)
    if version is not None:
        where.append(IND.c.source_version == version)
    return where


def model_calls(
    store: Store, *, name: str | None = None, version: str | None = None
) -> list[dict[str, Any]]:
    """Every call a model made (optionally one model, one version), oldest scan first: its
    source_name, source_version, scan_id, scan_created_at (ISO, UTC), score and status."""
    query = (
        select(
            IND.c.source_name,
            IND.c.source_version,
            IND.c.scan_id,
            SCANS.c.created_at.label("scan_created_at"),
            IND.c.score,
            IND.c.status,
        )
        .select_from(IND.join(SCANS, SCANS.c.id == IND.c.scan_id))
        .where(*_model_filter(name, version))
        .order_by(SCANS.c.created_at, SCANS.c.id, IND.c.id)
    )
    with store.reading("read the models' calls") as conn:
        rows = [dict(r) for r in conn.execute(query).mappings()]
    for r in rows:
        r["scan_created_at"] = iso(r["scan_created_at"])
    return rows


def outcomes_by_version(
    store: Store, *, name: str | None = None, version: str | None = None
) -> list[dict[str, Any]]:
    """Per model version: scans with its calls, calls, accepted, corrected, rejected, open
    (proposed) and accept_rate ((accepted + corrected) / decided; None before any decision)."""

    def count(*statuses: str) -> Any:
        return func.sum(case((IND.c.status.in_(statuses), 1), else_=0))

    query = (
        select(
            IND.c.source_name,
            IND.c.source_version,
            func.count(func.distinct(IND.c.scan_id)).label("scans"),
            func.count().label("calls"),
            count(ACCEPTED).label("accepted"),
            count(CORRECTED).label("corrected"),
            count(REJECTED).label("rejected"),
        )
        .where(*_model_filter(name, version))
        .group_by(IND.c.source_name, IND.c.source_version)
        .order_by(IND.c.source_name, IND.c.source_version)
    )
    with store.reading("count the models' outcomes") as conn:
        rows = [dict(r) for r in conn.execute(query).mappings()]
    for r in rows:
        for k in ("scans", "calls", "accepted", "corrected", "rejected"):
            r[k] = int(r[k] or 0)
        decided = r["accepted"] + r["corrected"] + r["rejected"]
        r["open"] = r["calls"] - decided
        r["accept_rate"] = round((r["accepted"] + r["corrected"]) / decided, 4) if decided else None
    return rows


def scan_inputs(store: Store) -> list[dict[str, Any]]:
    """Every scan's id, path, modality, shape, spacing_known, created_at (ISO) and stored
    drift features (None for scans recorded before they were measured), oldest first."""
    query = select(
        SCANS.c.id,
        SCANS.c.path,
        SCANS.c.modality,
        SCANS.c.shape,
        SCANS.c.spacing_known,
        SCANS.c.created_at,
        SCANS.c.features,
    ).order_by(SCANS.c.created_at, SCANS.c.id)
    with store.reading("read the scans' features") as conn:
        rows = [dict(r) for r in conn.execute(query).mappings()]
    for r in rows:
        r["created_at"] = iso(r["created_at"])
    return rows
