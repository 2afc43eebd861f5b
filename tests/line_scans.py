"""Small scans for the line's tests and bench: CT phantoms and a radiograph as single files."""

from __future__ import annotations

from pathlib import Path

from ndelab.volumes.io import write_volume
from ndelab.volumes.phantom import make_ct_phantom, make_radiograph


def write_scans(folder: Path, *, ct: int = 3, xray: int = 1, size: int = 48) -> list[Path]:
    """``ct`` CT phantoms (size³) and ``xray`` radiographs (128²) as .nrrd files."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(ct):
        paths.append(folder / f"ct{i}.nrrd")
        write_volume(make_ct_phantom(size, seed=10_100 + i).volume, paths[-1])
    for i in range(xray):
        paths.append(folder / f"xray{i}.nrrd")
        write_volume(make_radiograph(128, seed=10_200 + i).volume, paths[-1])
    return paths


def stored_calls(store: object) -> dict[str, list[tuple[object, ...]]]:
    """Every scan's stored calls by sha256: class, box, score, volume, model and version."""
    from ndelab.annotation.store import list_calls, list_scans

    out = {}
    for scan in list_scans(store):  # type: ignore[arg-type]
        rows = list_calls(store, scan["id"])  # type: ignore[arg-type]
        out[str(scan["sha256"])] = sorted(
            (
                r["class"],
                tuple(r["bbox_zyx"]),
                # float32 networks: two processes may differ in the 7th digit (summation
                # order in a convolution), which is no different call.
                round(float(r["score"]), 6),
                round(float(r["volume_mm3"]), 9),
                r["source"]["name"],
                r["source"]["version"],
            )
            for r in rows
        )
    return out
