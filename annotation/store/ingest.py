"""The one way model output enters the store: a scan with its part, and proposed calls.

Label arrays (a person's or a tool's) and a pre-labeller's cropped masks (app translates
inference's calls, so annotation never imports inference) go through the same functions, so
the same part always gets the same part volume (the porosity denominator) and the same depth
below the surface for each call, however its calls were stored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import ndimage
from sqlalchemy import Connection, insert

from ndelab.annotation import _kernels, measure
from ndelab.annotation.errors import ReviewError
from ndelab.annotation.mask import SparseMask
from ndelab.annotation.model import NewIndication, Source, check_class
from ndelab.annotation.store.database import Store
from ndelab.annotation.store.indications import add_indications
from ndelab.annotation.store.scans import insert_scan, part_rows, scan_rows
from ndelab.annotation.store.schema import EVENTS, PARTS
from ndelab.volumes.part import part_volume_mm3, segment_part
from ndelab.volumes.volume import Volume, jsonable

Classes = str | Mapping[int, str] | Sequence[str]
Scores = float | Mapping[int, float] | Sequence[float] | None


def _pick(values: Any, label: int, what: str) -> Any:
    """Value for ``label`` from a single value, a {label: value} map or a list (label - 1)."""
    if values is None or isinstance(values, str | float | int):
        return values
    if isinstance(values, Mapping):
        if label not in values:
            raise ReviewError(f"no {what} given for label {label}")
        return values[label]
    if label - 1 >= len(values):
        raise ReviewError(f"no {what} given for label {label} (only {len(values)} given)")
    return values[label - 1]


def _components(
    labels: npt.NDArray[Any], connectivity: int
) -> list[tuple[int, npt.NDArray[np.bool_], tuple[int, int, int]]]:
    """(label, local mask, box start) per object; bool arrays are split into components."""
    out: list[tuple[int, npt.NDArray[np.bool_], tuple[int, int, int]]] = []
    if labels.dtype == bool:
        lab, count, _, boxes = _kernels.label_stats(labels, connectivity)
        for i in range(count):
            z0, y0, x0, z1, y1, x1 = (int(v) for v in boxes[i])
            out.append((i + 1, lab[z0:z1, y0:y1, x0:x1] == i + 1, (z0, y0, x0)))
        return out
    if not np.issubdtype(labels.dtype, np.integer):
        raise ReviewError(f"labels must be a bool or integer array, not {labels.dtype}")
    # find_objects: every label's box in one pass over the array.
    for i, box in enumerate(ndimage.find_objects(labels)):
        if box is None:
            continue
        start = (int(box[0].start), int(box[1].start), int(box[2].start))
        out.append((i + 1, labels[box] == i + 1, start))
    return out


def indications_from_masks(
    masks: Sequence[SparseMask],
    classes: Sequence[str],
    scores: Sequence[float | None],
    sources: Sequence[Source],
    *,
    spacing_mm: Sequence[float],
    part_mask: npt.NDArray[np.bool_] | None = None,
) -> list[NewIndication]:
    """Proposed indications with their measurements and, given the part's mask (same shape as
    the scan), their depth below its surface."""
    depths: list[float | None] = [None] * len(masks)
    if part_mask is not None and masks:
        depths = list(measure.distance_to_surface_mm(part_mask, spacing_mm, masks))
    return [
        NewIndication(
            mask=mask,
            cls=check_class(cls),
            source=source,
            measurements=measure.measure(mask, spacing_mm),
            score=None if score is None else float(score),
            distance_to_surface_mm=depth,
        )
        for mask, cls, score, source, depth in zip(
            masks, classes, scores, sources, depths, strict=True
        )
    ]


def indications_from_labels(
    volume: Volume | None,
    labels: npt.ArrayLike,
    classes: Classes,
    *,
    source: Source | str,
    scores: Scores = None,
    spacing_mm: Sequence[float] | None = None,
    part_mask: npt.NDArray[np.bool_] | None = None,
    connectivity: int = 26,
) -> list[NewIndication]:
    """One proposed indication per label (integer labels) or per component (bool mask).

    classes and scores: one value for all, a {label: value} map, or a list indexed label - 1
    (for a bool mask, components are numbered in scan order). Spacing comes from ``volume``
    unless ``spacing_mm`` is given. With ``part_mask`` (material of the part, same shape) the
    depth below the surface is measured too.
    """
    arr = np.asarray(labels)
    if arr.ndim == 2:
        arr = arr[np.newaxis]
    if arr.ndim != 3:
        raise ReviewError(f"labels must be a 3-D (z, y, x) array, not {arr.ndim}-D")
    if volume is not None and tuple(arr.shape) != volume.shape:
        raise ReviewError(f"labels have shape {arr.shape} but the volume has {volume.shape}")
    if spacing_mm is None:
        spacing_mm = volume.spacing_mm if volume is not None else (1.0, 1.0, 1.0)
    if part_mask is not None and np.shape(part_mask) != arr.shape:
        raise ReviewError(f"the part mask has shape {np.shape(part_mask)}, the labels {arr.shape}")
    src = Source.parse(source) if isinstance(source, str) else source
    parts = _components(arr, connectivity)
    masks = [SparseMask.from_local(local, start) for _, local, start in parts]
    classes_ = [str(_pick(classes, label, "class")) for label, _, _ in parts]
    scores_ = [_pick(scores, label, "score") for label, _, _ in parts]
    return indications_from_masks(
        masks,
        classes_,
        scores_,
        [src] * len(masks),
        spacing_mm=spacing_mm,
        part_mask=None if part_mask is None else np.asarray(part_mask, bool),
    )


@dataclass(frozen=True)
class ScanRecord:
    """A scan's rows ready to insert: its part (None when the part exists) and the scan,
    each with its create event."""

    part: tuple[dict[str, Any], dict[str, Any]] | None
    scan: tuple[dict[str, Any], dict[str, Any]]

    @property
    def part_id(self) -> str:
        return str(self.scan[0]["part_id"])

    @property
    def scan_id(self) -> str:
        return str(self.scan[0]["id"])


def scan_record(
    store: Store,
    volume: Volume,
    *,
    user: str,
    sha256: str | None = None,
    part_mask: npt.NDArray[np.bool_] | None = None,
    part_id: str | None = None,
    part_name: str | None = None,
    serial: str | None = None,
    features: Mapping[str, Any] | None = None,
    image_quality: Mapping[str, Any] | None = None,
    path: str | Path | None = None,
    part_volume: float | None = None,
) -> ScanRecord:
    """The rows record_scan writes, unwritten (``path`` overrides where the scan lives, for a
    scan about to be moved there; ``serial`` the part's serial from the DICONDE fields;
    ``part_volume`` in mm³ stands for ``part_mask`` measured elsewhere)."""
    diconde: dict[str, Any] = {}
    if isinstance(volume.metadata, dict):
        diconde = dict(volume.metadata.get("diconde") or {})
    spacing = volume.spacing_mm
    part = None
    if part_id is None:
        stem = Path(volume.source).stem if volume.source else "part"
        part = part_rows(
            store,
            part_name or str(diconde.get("component_name") or stem),
            user=user,
            serial=serial or diconde.get("serial_number") or diconde.get("component_id"),
            material=diconde.get("material"),
        )
        part_id = str(part[0]["id"])
    if path is None:
        path = Path(volume.source).resolve() if volume.source else ""
    scan = scan_rows(
        store,
        part_id,
        user=user,
        path=str(path),
        shape=volume.shape,
        spacing_mm=volume.spacing_mm,
        origin_mm=volume.origin_mm,
        direction=volume.direction.tolist(),
        modality=volume.modality,
        sha256=sha256,
        format=volume.format,
        spacing_known=volume.spacing_known,
        part_volume_mm3=part_volume if part_mask is None else part_volume_mm3(part_mask, spacing),
        diconde=jsonable(diconde),
        features=None if features is None else jsonable(dict(features)),
        image_quality=None if image_quality is None else jsonable(dict(image_quality)),
    )
    return ScanRecord(part, scan)


def insert_record(conn: Connection, store: Store, record: ScanRecord) -> None:
    """Write a ScanRecord in the caller's transaction."""
    if record.part is not None:
        conn.execute(insert(PARTS), [record.part[0]])
        conn.execute(insert(EVENTS), [record.part[1]])
    insert_scan(conn, store, *record.scan)


def record_scan(
    store: Store,
    volume: Volume,
    *,
    user: str,
    sha256: str | None = None,
    part_mask: npt.NDArray[np.bool_] | None = None,
    part_id: str | None = None,
    part_name: str | None = None,
    features: Mapping[str, Any] | None = None,
    image_quality: Mapping[str, Any] | None = None,
    part_volume: float | None = None,
) -> tuple[str, str]:
    """Record a scan (and its Part, unless ``part_id``) with its geometry, DICONDE component,
    the part's material volume from ``part_mask``, its drift ``features``
    (volumes.features.scan_features) and, for a radiograph, its ``image_quality`` record
    (volumes.quality.gate.image_quality_record), both measured by the caller; returns
    (part_id, scan_id). Part and scan are one transaction.

    ``part_volume`` (mm³) stands for ``part_mask`` when a batch worker measured the part
    elsewhere: the voxels are not read here, so ``volume`` may hold its geometry only."""
    record = scan_record(
        store,
        volume,
        user=user,
        sha256=sha256,
        part_mask=part_mask,
        part_id=part_id,
        part_name=part_name,
        features=features,
        image_quality=image_quality,
        part_volume=part_volume,
    )
    with store.transaction("record a scan") as conn:
        insert_record(conn, store, record)
    return record.part_id, record.scan_id


def import_labels(
    store: Store,
    volume: Volume,
    labels: npt.ArrayLike,
    classes: Classes,
    *,
    source: Source | str,
    user: str,
    scores: Scores = None,
    part_name: str | None = None,
    part_id: str | None = None,
    part_mask: npt.NDArray[np.bool_] | None = None,
    sha256: str | None = None,
) -> dict[str, Any]:
    """Create the Part (unless ``part_id``), the Scan and its proposed calls in one go.

    Without ``part_mask`` the part is found in the scan (segment_part), as the pre-label path
    does. Returns {"part_id", "scan_id", "call_ids"}.
    """
    if part_mask is None:
        part_mask = segment_part(volume)
    items = indications_from_labels(
        volume, labels, classes, source=source, scores=scores, part_mask=part_mask
    )
    part_id, scan_id = record_scan(
        store,
        volume,
        user=user,
        sha256=sha256,
        part_mask=part_mask,
        part_id=part_id,
        part_name=part_name,
    )
    ids = add_indications(store, scan_id, items, user=user)
    return {"part_id": part_id, "scan_id": scan_id, "call_ids": ids}
