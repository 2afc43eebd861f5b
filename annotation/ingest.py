"""Turn a labelled volume (a model's or a person's label array) into proposed calls.

The pre-labeler and the tests call this; app turns inference output into label arrays, so
annotation never imports inference.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from ndelab.annotation import _kernels, calls, measure
from ndelab.annotation.errors import ReviewError
from ndelab.annotation.mask import SparseMask
from ndelab.annotation.model import NewIndication, Source, check_class
from ndelab.annotation.store import Store
from ndelab.volumes.volume import Volume

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
    src = Source.parse(source) if isinstance(source, str) else source
    parts = _components(arr, connectivity)
    masks = [SparseMask.from_local(local, start) for _, local, start in parts]
    depths: list[float | None] = [None] * len(masks)
    if part_mask is not None:
        pm = np.asarray(part_mask, bool)
        if pm.shape != arr.shape:
            raise ReviewError(f"the part mask has shape {pm.shape}, the labels {arr.shape}")
        depths = list(measure.distance_to_surface_mm(pm, spacing_mm, masks))
    out = []
    for (label, _, _), mask, depth in zip(parts, masks, depths, strict=True):
        score = _pick(scores, label, "score")
        out.append(
            NewIndication(
                mask=mask,
                cls=check_class(str(_pick(classes, label, "class"))),
                source=src,
                measurements=measure.measure(mask, spacing_mm),
                score=None if score is None else float(score),
                distance_to_surface_mm=depth,
            )
        )
    return out


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

    Returns {"part_id", "scan_id", "call_ids"}.
    """
    items = indications_from_labels(
        volume, labels, classes, source=source, scores=scores, part_mask=part_mask
    )
    diconde = volume.metadata.get("diconde", {}) if isinstance(volume.metadata, dict) else {}
    if part_id is None:
        name = part_name or str(diconde.get("component_name") or volume.source or "part")
        part_id = calls.add_part(
            store, name, user=user, serial=diconde.get("component_id") if diconde else None
        )
    part_volume = None
    if part_mask is not None:
        part_volume = float(np.count_nonzero(_kernels.fill_holes(np.asarray(part_mask, bool))))
        part_volume *= float(np.prod(volume.spacing_mm))
    scan_id = calls.add_scan(
        store,
        part_id,
        user=user,
        path=volume.source or "",
        shape=volume.shape,
        spacing_mm=volume.spacing_mm,
        origin_mm=volume.origin_mm,
        direction=volume.direction.tolist(),
        modality=volume.modality,
        sha256=sha256,
        format=volume.format,
        spacing_known=volume.spacing_known,
        part_volume_mm3=part_volume,
        diconde=_jsonable(diconde),
    )
    ids = calls.add_indications(store, scan_id, items, user=user)
    return {"part_id": part_id, "scan_id": scan_id, "call_ids": ids}


def _jsonable(value: Any) -> Any:
    """DICONDE values as plain JSON (pydicom values become strings)."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)
