"""save_phantom: the image, label maps and defects.json ground truth, as NRRD files.

NRRD lists axes fastest first (x, y, z) and names world axes x, y, z (we write the LPS space
that ITK and 3D Slicer assume); our arrays and geometry are (z, y, x), so both are reversed
on the way out. pynrrd is used directly so that this does not depend on volumes.writers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nrrd
import numpy as np
import numpy.typing as npt

from ndelab.volumes.errors import UsageError, VolumeWriteError
from ndelab.volumes.phantom.model import CLASS_CODES, Phantom
from ndelab.volumes.quality.gate import LAYOUT_SUFFIX, layout_from_metadata, write_layout
from ndelab.volumes.volume import Volume, jsonable

FORMATS = ("nrrd",)


def nrrd_header(volume: Volume, *, compress: bool) -> dict[str, Any]:
    """Geometry header for an array laid out like ``volume`` (index_order="C" on write)."""
    spacing = np.asarray(volume.spacing_mm, dtype=np.float64)
    # Column j of ``direction`` is the world (z, y, x) step of index axis j; NRRD wants, per
    # file axis (x, y, z), that step in world (x, y, z).
    steps = (volume.direction * spacing[np.newaxis, :])[::-1, ::-1].T
    return {
        "dimension": 3,
        "space": "left-posterior-superior",
        "space directions": steps,
        "space origin": np.asarray(volume.origin_mm, dtype=np.float64)[::-1],
        "kinds": ["domain", "domain", "domain"],
        "encoding": "gzip" if compress else "raw",
        "modality": volume.modality,
    }


def _write(path: Path, data: npt.NDArray[Any], header: dict[str, Any]) -> None:
    try:
        nrrd.write(
            str(path),
            np.ascontiguousarray(data),
            header,
            index_order="C",
            custom_field_map={"modality": "string"},
        )
    except OSError as exc:
        raise VolumeWriteError(path, f"cannot be written ({exc.strerror or exc})") from exc


def save_phantom(phantom: Phantom, outdir: Path, *, fmt: str = "nrrd") -> dict[str, str]:
    """Write ``volume.nrrd``, ``labels.nrrd``, ``classes.nrrd``, ``part_mask.nrrd`` and
    ``defects.json`` into ``outdir`` (created if needed), and for a radiograph with IQIs
    ``volume.iq.json``, their layout for the image-quality gate. Returns {what: path}."""
    if fmt not in FORMATS:
        raise UsageError(f"phantom format {fmt!r} is not supported: use {', '.join(FORMATS)}")
    out = Path(outdir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise VolumeWriteError(out, f"cannot create the folder ({exc.strerror or exc})") from exc
    vol = phantom.volume
    written: dict[str, str] = {}
    arrays: list[tuple[str, npt.NDArray[Any], bool]] = [
        ("volume", np.asarray(vol.data), False),  # noisy voxels hardly compress: keep raw
        ("labels", phantom.labels, True),
        ("classes", phantom.classes, True),
        ("part_mask", phantom.part_mask.astype(np.uint8), True),
    ]
    for name, data, compress in arrays:
        path = out / f"{name}.{fmt}"
        _write(path, data, nrrd_header(vol, compress=compress))
        written[name] = str(path)

    truth = {
        "generator": vol.metadata.get("generator"),
        "seed": vol.metadata.get("seed"),
        "modality": vol.modality,
        "shape_zyx": list(vol.shape),
        "spacing_mm": list(vol.spacing_mm),
        "origin_mm": list(vol.origin_mm),
        "class_codes": CLASS_CODES,
        "counts": phantom.counts(),
        "metadata": jsonable(vol.metadata),
        "files": {k: Path(v).name for k, v in written.items()},
        "defects": [d.to_json(vol.spacing_mm) for d in phantom.defects],
    }
    if isinstance(vol.metadata.get("iqi"), dict):  # the IQIs' layout, for the gate
        layout = layout_from_metadata(vol.metadata)
        assert layout is not None
        written["iq_layout"] = str(write_layout(layout, out / f"volume{LAYOUT_SUFFIX}"))
    path = out / "defects.json"
    try:
        path.write_text(json.dumps(truth, indent=1) + "\n", encoding="utf-8")
    except OSError as exc:
        raise VolumeWriteError(path, f"cannot be written ({exc.strerror or exc})") from exc
    written["defects"] = str(path)
    return written
