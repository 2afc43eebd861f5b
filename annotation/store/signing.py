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
from ndelab.annotation.disposition import (
    CallFacts,
    IqOverride,
    ScanFacts,
    evaluate,
    iq_blocked,
    iq_refusal,
    iq_summary,
)
from ndelab.annotation.errors import ReviewError
from ndelab.annotation.model import CHAMPION
from ndelab.annotation.store.audit_log import (
    change_event,
    check_user,
    created_event,
    new_id,
    versioned_columns,
)
from ndelab.annotation.store.codec import mask_of_row
from ndelab.annotation.store.database import Store
from ndelab.annotation.store.scans import get_scan
from ndelab.annotation.store.schema import DISPOSITIONS, EVENTS, IND, utcnow


def is_radiograph_shape(shape: Any) -> bool:
    """A stored scan's shape is a radiograph's (one projection image, (1, y, x))."""
    return len(shape) == 3 and int(shape[0]) == 1


def _facts(
    store: Store,
    scan_id: str,
    thickness_mm: float | None = None,
    magnification: float | None = None,
) -> tuple[ScanFacts, list[CallFacts]]:
    """The scan's and its calls' facts. A radiograph's wall thickness is the one given, else
    the part record's (DICONDE ``thickness_mm``), else the criteria's; its magnification the
    one given, else the record's, else 1 (a DICOM reader has already divided its pixel
    spacing by EstimatedRadiographicMagnificationFactor: do not give it twice)."""
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
    record = scan.get("diconde") or {}
    thickness_from = "the command line"
    if thickness_mm is None and _positive(record.get("thickness_mm")):
        thickness_mm, thickness_from = float(record["thickness_mm"]), "the part record"
    if magnification is None:
        magnification = (
            float(record["magnification"]) if _positive(record.get("magnification")) else 1.0
        )
    facts_of_scan = ScanFacts(
        shape,  # type: ignore[arg-type]
        spacing,  # type: ignore[arg-type]
        scan["part_volume_mm3"],
        magnification=magnification,
        thickness_mm=thickness_mm,
        thickness_from=thickness_from,
    )
    return facts_of_scan, facts


def _positive(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


def _criteria(criteria: str | Path | Criteria) -> Criteria:
    return criteria if isinstance(criteria, Criteria) else load_criteria(criteria)


def nearness(
    store: Store,
    scan_id: str,
    criteria_path: str | Path | Criteria,
    zone_masks: Mapping[str, npt.NDArray[np.bool_]] | None = None,
    *,
    thickness_mm: float | None = None,
    magnification: float | None = None,
) -> dict[str, dict[str, Any]]:
    """Per call (not rejected): {"ratio", "rule", "check", "title"} of its strictest rule.

    ratio = measured / limit (limit / gap for min spacing); 1.0 is at the limit, above fails.
    Sort the queue by ratio, highest first.
    """
    scan, facts = _facts(store, scan_id, thickness_mm, magnification)
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
    thickness_mm: float | None = None,
    magnification: float | None = None,
    override_iq: IqOverride | None = None,
) -> dict[str, Any]:
    """Sentence a scan: {verdict, reasons, criteria {name, version, sha256, path}, signed_by,
    signed_at, id, scan_id, preview, open_calls, counted_calls} (and, when asked, the
    nearness of every call to its strictest limit, from the same evaluation). Criteria for
    radiographs add "radiograph": the geometry used (pixel at the object, weld axis and
    width, thickness and where it came from) and the indications merged and ignored.
    ``thickness_mm`` and ``magnification`` are the part's, for radiograph rules.

    Without ``sign_user`` it is an unsigned preview (not stored). With it, the scan must have
    no open (proposed) calls, and a radiograph whose stored image quality failed (or was
    never measured) needs ``override_iq`` (who and why): the override is one more audit event
    (with the failed or missing verdict) beside the signature's. ``image_quality`` in the
    result is the stored record and ``iq_override`` the override applied, if any.
    """
    criteria = _criteria(criteria_path)
    scan, facts = _facts(store, scan_id, thickness_mm, magnification)
    stored = get_scan(store, scan_id)
    iq = stored.get("image_quality")
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
        "image_quality": iq,
        "iq_override": None,
    }
    if "radiograph" in result:
        out["radiograph"] = result["radiograph"]
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
    radiograph = is_radiograph_shape(stored["shape"])
    refusal = iq_refusal(scan_id, iq, radiograph=radiograph)
    override = None
    if refusal is not None:
        if override_iq is None:
            raise ReviewError(refusal)
        override = override_iq.checked()
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
    if "radiograph" in result:  # what was merged and ignored stays on record with the sign
        after["radiograph"] = result["radiograph"]
    events = []
    if override is not None and iq_blocked(iq, radiograph=radiograph):
        granted = {
            "user": override.user,
            "reason": override.reason,
            "at": now.isoformat(),
            "disposition_id": row["id"],
            "image_quality": iq_summary(iq),
        }
        after["iq_override"] = granted
        out["iq_override"] = granted
        revision = int(get_scan(store, scan_id)["revision"])
        events.append(
            change_event(
                store,
                entity_type="scan",
                entity_id=scan_id,
                scan_id=scan_id,
                action="override_iq",
                base_revision=revision,
                revision=revision,  # the scan row does not change: the event is the record
                user=override.user,
                at=now,
                before={"image_quality": iq_summary(iq)},
                after=granted,
                reason=override.reason,
            )
        )
    events.append(created_event(store, "disposition", row["id"], scan_id, user, now, after, "sign"))
    with store.transaction(f"sign the disposition of scan {scan_id}") as conn:
        conn.execute(insert(DISPOSITIONS), [row])
        conn.execute(insert(EVENTS), events)
    out.update(id=row["id"], signed_by=user, signed_at=now.isoformat(), preview=False)
    return out


def iq_overrides(store: Store, scan_id: str) -> list[dict[str, Any]]:
    """Image-quality overrides granted on a scan, oldest first: who, when, why, the verdict."""
    query = (
        select(EVENTS.c.after)
        .where(EVENTS.c.scan_id == scan_id, EVENTS.c.action == "override_iq")
        .order_by(EVENTS.c.seq)
    )
    with store.reading("read the image-quality overrides") as conn:
        return [dict(r[0]) for r in conn.execute(query)]


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
