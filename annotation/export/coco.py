"""COCO export: 16-bit PNG images and instance annotations with run-length masks.

A radiograph is one image; a CT scan gives one image per axial slice that holds a label (a call
spanning several slices gets one annotation per slice, all naming the same call). Masks are
COCO's uncompressed RLE: {"size": [h, w], "counts": [...]}, counts over the image in column
(Fortran) order, starting with a run of background. Provenance goes in each annotation's
"attributes".
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from ndelab.annotation.mask import SparseMask
from ndelab.annotation.store.provenance import CLASS_CODES
from ndelab.volumes.errors import VolumeWriteError
from ndelab.volumes.progress import Cancel, check
from ndelab.volumes.volume import Volume


def rle_encode(mask: npt.NDArray[np.bool_]) -> dict[str, Any]:
    """COCO uncompressed RLE of a 2-D mask (counts in column-major order, background first)."""
    flat = np.asarray(mask, bool).ravel(order="F")
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    bounds = np.concatenate(([0], change, [flat.size]))
    counts = np.diff(bounds).tolist()
    if flat.size and flat[0]:
        counts.insert(0, 0)  # COCO runs always start with background
    return {"size": [int(mask.shape[0]), int(mask.shape[1])], "counts": counts}


def rle_decode(rle: dict[str, Any]) -> npt.NDArray[np.bool_]:
    """The 2-D mask an uncompressed COCO RLE describes."""
    h, w = (int(v) for v in rle["size"])
    counts = np.asarray(rle["counts"], np.int64)
    values = np.arange(counts.size) % 2 == 1  # odd runs are foreground
    flat = np.repeat(values, counts)
    if flat.size != h * w:
        raise ValueError(f"RLE counts cover {flat.size} pixels, the image has {h * w}")
    return flat.reshape((h, w), order="F")


@dataclass(frozen=True)
class ValueMapping:
    """How PNG values map back to scan values: value = png * scale + offset."""

    scale: float
    offset: float

    def to_png(self, plane: npt.NDArray[Any]) -> npt.NDArray[np.uint16]:
        if self.scale == 1.0 and self.offset == 0.0:
            return plane.astype(np.uint16)
        scaled = (plane.astype(np.float64) - self.offset) / self.scale
        return np.clip(np.rint(scaled), 0, 65535).astype(np.uint16)

    def as_dict(self) -> dict[str, float]:
        return {"scale": self.scale, "offset": self.offset}


def value_mapping(volume: Volume, slices: list[int]) -> ValueMapping:
    """Exact for 8- and 16-bit data (signed types shift by their minimum); other types are
    scaled linearly from the exported slices' range onto 0..65535 (lossy, recorded)."""
    dt = volume.dtype
    if dt.kind == "b" or (dt.kind == "u" and dt.itemsize <= 2):
        return ValueMapping(1.0, 0.0)
    if dt.kind == "i" and dt.itemsize <= 2:
        return ValueMapping(1.0, float(np.iinfo(dt).min))
    lo, hi = np.inf, -np.inf
    for z in slices:
        plane = np.asarray(volume.data[z], np.float64)
        lo, hi = min(lo, float(plane.min())), max(hi, float(plane.max()))
    if not np.isfinite(lo) or hi <= lo:
        return ValueMapping(1.0, 0.0 if not np.isfinite(lo) else lo)
    return ValueMapping((hi - lo) / 65535.0, lo)


@dataclass
class Label:
    """One exported call: its mask, instance id in the scan, class and provenance."""

    instance_id: int
    mask: SparseMask
    cls: str
    attributes: dict[str, Any]


@dataclass
class CocoWriter:
    """Collects images and annotations per split; ``finish`` writes one JSON per split."""

    root: Path
    images: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    annotations: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    _next_image: int = 1
    _next_annotation: int = 1

    def add_scan(
        self,
        volume: Volume,
        scan: dict[str, Any],
        split: str,
        labels: list[Label],
        cancel: Cancel | None = None,
    ) -> list[Path]:
        """Write the scan's labelled slices (every radiograph) as PNGs; returns the PNG paths."""
        z_count, h, w = volume.shape
        wanted = {z for lab in labels for z in range(lab.mask.start[0], lab.mask.stop[0])}
        slices = [0] if z_count == 1 else sorted(wanted)
        mapping = value_mapping(volume, slices)
        folder = self.root / "images" / split
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        locals_ = {lab.instance_id: lab.mask.local() for lab in labels}
        for z in slices:
            check(cancel, "exporting the data set")
            name = f"{scan['id']}_z{z:05d}.png" if z_count > 1 else f"{scan['id']}.png"
            path = folder / name
            if not cv2.imwrite(str(path), mapping.to_png(np.asarray(volume.data[z]))):
                raise VolumeWriteError(path, "could not be written as a 16-bit PNG")
            written.append(path)
            image_id = self._next_image
            self._next_image += 1
            self.images.setdefault(split, []).append(
                {
                    "id": image_id,
                    "file_name": f"images/{split}/{name}",
                    "width": w,
                    "height": h,
                    "scan_id": scan["id"],
                    "part_id": scan["part_id"],
                    "slice_index": z,
                    "spacing_mm": [float(v) for v in scan["spacing_mm"][1:]],
                    "value_mapping": mapping.as_dict(),
                }
            )
            for lab in labels:
                self._annotate(split, image_id, z, (h, w), lab, locals_[lab.instance_id])
        return written

    def _annotate(
        self,
        split: str,
        image_id: int,
        z: int,
        size: tuple[int, int],
        lab: Label,
        local: npt.NDArray[np.bool_],
    ) -> None:
        z0, y0, x0 = lab.mask.start
        if not z0 <= z < lab.mask.stop[0]:
            return
        plane = local[z - z0]
        ys, xs = np.nonzero(plane)
        if ys.size == 0:
            return
        full = np.zeros(size, bool)
        full[y0 : y0 + plane.shape[0], x0 : x0 + plane.shape[1]] = plane
        bx, by = x0 + int(xs.min()), y0 + int(ys.min())
        self.annotations.setdefault(split, []).append(
            {
                "id": self._next_annotation,
                "image_id": image_id,
                "category_id": CLASS_CODES[lab.cls],
                "segmentation": rle_encode(full),
                "area": int(ys.size),
                "bbox": [bx, by, x0 + int(xs.max()) + 1 - bx, y0 + int(ys.max()) + 1 - by],
                "iscrowd": 0,
                "attributes": {**lab.attributes, "instance_id": lab.instance_id, "slice": z},
            }
        )
        self._next_annotation += 1

    def finish(self, splits: list[str], info: dict[str, Any]) -> list[Path]:
        """annotations/instances_<split>.json for every split (empty ones too)."""
        folder = self.root / "annotations"
        folder.mkdir(parents=True, exist_ok=True)
        categories = [
            {"id": code, "name": name, "supercategory": "defect"}
            for name, code in CLASS_CODES.items()
        ]
        out = []
        for split in splits:
            doc = {
                "info": {**info, "split": split},
                "licenses": [],
                "images": self.images.get(split, []),
                "annotations": self.annotations.get(split, []),
                "categories": categories,
            }
            path = folder / f"instances_{split}.json"
            path.write_text(json.dumps(doc), encoding="utf-8")
            out.append(path)
        return out
