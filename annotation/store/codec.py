"""One codec for what the store writes and the sync carries: masks as JSON, a call's proposal,
its changeable state, and audit events as JSON. Store, sync and conflicts all use these, so a
key added here reaches every one of them.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from ndelab.annotation.mask import SparseMask
from ndelab.annotation.measure import Measurements
from ndelab.annotation.store.schema import EVENT_COLUMNS

BOX = ("z0", "y0", "x0", "z1", "y1", "x1")
CENTROID = ("centroid_z", "centroid_y", "centroid_x")
SOURCE = ("source_kind", "source_name", "source_version")
# A call as the queue lists it: where, what, how big, from whom; never the mask bytes.
CALL_SUMMARY = (
    "id",
    "scan_id",
    "status",
    "class",
    "score",
    *CENTROID,
    *BOX,
    "volume_mm3",
    "equivalent_diameter_mm",
    *SOURCE,
    "revision",
    "role",
)
# What the model (or SAM, or a person) first proposed: kept beside any correction.
PROPOSAL_KEYS = (
    "class",
    "score",
    "source_kind",
    "source_name",
    "source_version",
    "voxel_count",
    "volume_mm3",
    "equivalent_diameter_mm",
    "feret_mm",
    "sphericity",
    "distance_to_surface_mm",
)
# Measured columns a proposal lacks: with them a create event alone rebuilds the row elsewhere.
CREATE_EXTRA = ("centroid_z", "centroid_y", "centroid_x", "surface_area_mm2")
CREATE_KEYS = (*PROPOSAL_KEYS, *CREATE_EXTRA)
# The columns a mask change recomputes; they travel with the mask.
MASK_MEASURES = (
    "centroid_z",
    "centroid_y",
    "centroid_x",
    "voxel_count",
    "volume_mm3",
    "equivalent_diameter_mm",
    "feret_mm",
    "surface_area_mm2",
    "sphericity",
    "distance_to_surface_mm",
)
# The changeable fields of a call, in the shape events record them.
STATE_KEYS = ("status", "class", "reason", "mask", *MASK_MEASURES)


# -- masks -----------------------------------------------------------------------------------


def mask_from_box(box: Sequence[int], code: bytes) -> SparseMask:
    """A sparse mask from its box (z0, y0, x0, z1, y1, x1; end exclusive) and run-length code."""
    b = [int(v) for v in box]
    return SparseMask((b[0], b[1], b[2]), (b[3] - b[0], b[4] - b[1], b[5] - b[2]), bytes(code))


def mask_of_row(row: Mapping[Any, Any]) -> SparseMask:
    """An indication row's current mask."""
    return mask_from_box([row[k] for k in BOX], row["mask_rle"])


def box_columns(mask: SparseMask) -> dict[str, int]:
    return dict(zip(BOX, mask.bbox, strict=True))


def mask_json(mask: SparseMask) -> dict[str, Any]:
    """A mask as JSON (box and base64 run-length code), for audit events and sync."""
    return {"bbox_zyx": list(mask.bbox), "rle": base64.b64encode(mask.code).decode("ascii")}


def mask_from_json(data: Mapping[str, Any]) -> SparseMask:
    return mask_from_box(data["bbox_zyx"], base64.b64decode(data["rle"]))


# -- measurements, proposal and state ---------------------------------------------------------


def measure_columns(m: Measurements, distance_to_surface_mm: float | None) -> dict[str, Any]:
    """The indication columns a mask's measurements fill (MASK_MEASURES)."""
    return {
        "centroid_z": m.centroid_zyx[0],
        "centroid_y": m.centroid_zyx[1],
        "centroid_x": m.centroid_zyx[2],
        "voxel_count": m.voxel_count,
        "volume_mm3": m.volume_mm3,
        "equivalent_diameter_mm": m.equivalent_diameter_mm,
        "feret_mm": m.feret_mm,
        "surface_area_mm2": m.surface_area_mm2,
        "sphericity": m.sphericity,
        # The depth needs the part mask, which the store does not keep: the caller passes it,
        # or it is unknown until measured again.
        "distance_to_surface_mm": distance_to_surface_mm,
    }


def proposal_of(row: Mapping[str, Any]) -> dict[str, Any]:
    """The proposal record of a new indication row."""
    out = {k: row[k] for k in PROPOSAL_KEYS}
    out["bbox_zyx"] = [row[k] for k in BOX]
    return out


def state_of(row: Mapping[str, Any]) -> dict[str, Any]:
    """A call's changeable fields as an event's before/after would record them."""
    out = {k: row[k] for k in ("status", "class", "reason", *MASK_MEASURES)}
    out["mask"] = mask_json(mask_of_row(row))
    return out


def delta_columns(after: Mapping[str, Any]) -> dict[str, Any]:
    """Column values an event's after (or before) sets on an indication row."""
    values: dict[str, Any] = {}
    for key, value in after.items():
        if key == "mask":
            mask = mask_from_json(value)
            values.update(box_columns(mask))
            values["mask_rle"] = mask.code
        elif key in STATE_KEYS:
            values[key] = value
    return values


# -- audit events as JSON ----------------------------------------------------------------------


def event_json(ev: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: ev[k] for k in EVENT_COLUMNS}
    out["at"] = ev["at"].isoformat()
    out["server_seq"] = ev.get("server_seq")
    return out


def event_from_json(data: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: data.get(k) for k in EVENT_COLUMNS}
    out["at"] = datetime.fromisoformat(data["at"])
    return out
