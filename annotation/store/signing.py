"""Sentencing a scan against acceptance criteria: the preview, the nearness of each call to
its strictest limit, and the signed disposition (stored with its audit event). The rules
themselves are in annotation.disposition; this module feeds them the store's facts.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

import numpy as np
import numpy.typing as npt
from sqlalchemy import insert, select

from ndelab.annotation.criteria import Criteria, load_criteria
from ndelab.annotation.disposition import CallFacts, ScanFacts, evaluate
from ndelab.annotation.errors import ReviewError
from ndelab.annotation.model import CHAMPION
from ndelab.annotation.store.audit_log import check_user, created_event, new_id, versioned_columns
from ndelab.annotation.store.codec import mask_of_row
from ndelab.annotation.store.database import Store
from ndelab.annotation.store.scans import get_scan
from ndelab.annotation.store.schema import DISPOSITIONS, EVENTS, IND, utcnow


def _facts(store: Store, scan_id: str) -> tuple[ScanFacts, list[CallFacts]]:
    scan = get_scan(store, scan_id)
    query = select(
        IND.c.id,
        IND.c["class"],
        IND.c.status,
        IND.c.volume_mm3,
        IND.c.equivalent_diameter_mm,
        IND.c.z0,
        IND.c.y0,
        IND.c.x0,
        IND.c.z1,
        IND.c.y1,
        IND.c.x1,
        IND.c.mask_rle,
    ).where(IND.c.scan_id == scan_id, IND.c.role == CHAMPION)  # a shadow call never sentences
    with store.reading("read the calls of a scan") as conn:
        rows = list(conn.execute(query).mappings())
    facts = [
        CallFacts(
            r["id"],
            r["class"],
            r["status"],
            r["volume_mm3"],
            r["equivalent_diameter_mm"],
            mask_of_row(r),
        )
        for r in rows
    ]
    shape = tuple(int(v) for v in scan["shape"])
    spacing = tuple(float(v) for v in scan["spacing_mm"])
    return ScanFacts(shape, spacing, scan["part_volume_mm3"]), facts  # type: ignore[arg-type]


def _criteria(criteria: str | Path | Criteria) -> Criteria:
    return criteria if isinstance(criteria, Criteria) else load_criteria(criteria)


def nearness(
    store: Store,
    scan_id: str,
    criteria_path: str | Path | Criteria,
    zone_masks: Mapping[str, npt.NDArray[np.bool_]] | None = None,
) -> dict[str, dict[str, Any]]:
    """Per call (not rejected): {"ratio", "rule", "check", "title"} of its strictest rule.

    ratio = measured / limit (limit / gap for min spacing); 1.0 is at the limit, above fails.
    Sort the queue by ratio, highest first.
    """
    scan, facts = _facts(store, scan_id)
    result = evaluate(_criteria(criteria_path), facts, scan, zone_masks)
    return cast(dict[str, dict[str, Any]], result["nearness"])


def disposition(
    store: Store,
    scan_id: str,
    criteria_path: str | Path | Criteria,
    sign_user: str | None = None,
    *,
    zone_masks: Mapping[str, npt.NDArray[np.bool_]] | None = None,
    include_nearness: bool = False,
) -> dict[str, Any]:
    """Sentence a scan: {verdict, reasons, criteria {name, version, sha256, path}, signed_by,
    signed_at, id, scan_id, preview, open_calls, counted_calls} (and, when asked, the
    nearness of every call to its strictest limit, from the same evaluation).

    Without ``sign_user`` it is an unsigned preview (not stored). With it, the scan must have
    no open (proposed) calls; the signed disposition is stored with an audit event.
    """
    criteria = _criteria(criteria_path)
    scan, facts = _facts(store, scan_id)
    result = evaluate(criteria, facts, scan, zone_masks)
    out: dict[str, Any] = {
        "id": None,
        "scan_id": scan_id,
        "verdict": result["verdict"],
        "reasons": result["reasons"],
        "criteria": criteria.summary(),
        "signed_by": None,
        "signed_at": None,
        "preview": True,
        "open_calls": result["open_calls"],
        "counted_calls": result["counted_calls"],
    }
    if include_nearness:
        out["nearness"] = result["nearness"]
    if sign_user is None:
        return out
    user = check_user(sign_user)
    if result["open_calls"]:
        raise ReviewError(
            f"scan {scan_id} has {result['open_calls']} open (proposed) call(s); review them"
            " before signing the disposition"
        )
    now = utcnow()
    row = {
        "id": new_id(),
        "scan_id": scan_id,
        "verdict": result["verdict"],
        "reasons": result["reasons"],
        "criteria_name": criteria.name,
        "criteria_version": criteria.version,
        "criteria_sha256": criteria.sha256,
        "criteria": criteria.document,
        "signed_by": user,
        "signed_at": now,
        **versioned_columns(store, user, now),
    }
    after = {
        "verdict": row["verdict"],
        "criteria": criteria.summary(),
        "signed_by": user,
        "reasons": result["reasons"],
    }
    with store.transaction(f"sign the disposition of scan {scan_id}") as conn:
        conn.execute(insert(DISPOSITIONS), [row])
        conn.execute(
            insert(EVENTS),
            [created_event(store, "disposition", row["id"], scan_id, user, now, after, "sign")],
        )
    out.update(id=row["id"], signed_by=user, signed_at=now.isoformat(), preview=False)
    return out


def dispositions(store: Store, scan_id: str) -> list[dict[str, Any]]:
    """Signed dispositions of a scan, oldest first."""
    query = (
        select(DISPOSITIONS)
        .where(DISPOSITIONS.c.scan_id == scan_id)
        .order_by(DISPOSITIONS.c.signed_at)
    )
    with store.reading("read dispositions") as conn:
        rows = [dict(r) for r in conn.execute(query).mappings()]
    for r in rows:
        for k in ("signed_at", "created_at", "updated_at"):
            r[k] = r[k].isoformat()
    return rows
