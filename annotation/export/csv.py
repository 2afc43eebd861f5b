"""CSV of a scan's indications: one row per call with its measurements and decision."""

from __future__ import annotations

import csv
from pathlib import Path

from ndelab.annotation.errors import StoreError
from ndelab.annotation.store.codec import BOX, CENTROID
from ndelab.annotation.store.database import Store
from ndelab.annotation.store.indications import get_call, list_calls

FIELDS = (
    "id",
    "status",
    "class",
    "score",
    "source",
    *CENTROID,
    *BOX,
    "voxel_count",
    "volume_mm3",
    "equivalent_diameter_mm",
    "feret_mm",
    "sphericity",
    "surface_area_mm2",
    "distance_to_surface_mm",
    "reason",
    "updated_by",
    "updated_at",
    "revision",
)


def write_calls_csv(store: Store, scan_id: str, path: str | Path) -> int:
    """Write the scan's calls to ``path``; returns the number of rows written."""
    rows = [get_call(store, r["id"]) for r in list_calls(store, scan_id)]
    try:
        with Path(path).open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(FIELDS)
            for r in rows:
                src = r["source"]
                writer.writerow(
                    [
                        r["id"],
                        r["status"],
                        r["class"],
                        r["score"],
                        ":".join(v for v in (src["kind"], src["name"], src["version"]) if v),
                        *r["centroid_zyx"],
                        *r["bbox_zyx"],
                        r["voxel_count"],
                        r["volume_mm3"],
                        r["equivalent_diameter_mm"],
                        r["feret_mm"],
                        r["sphericity"],
                        r["surface_area_mm2"],
                        r["distance_to_surface_mm"],
                        r["reason"] or "",
                        r["updated_by"],
                        r["updated_at"],
                        r["revision"],
                    ]
                )
    except OSError as exc:
        raise StoreError(f"{path}: cannot write the CSV ({exc.strerror or exc})") from exc
    return len(rows)
