"""The phantom's ground truth types: a Defect and a Phantom (image, labels, classes, part)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from ndelab.volumes.volume import Volume

DefectKind = Literal["pore", "crack", "inclusion"]

# Class codes of the ``classes`` array; 0 is background.
CLASS_CODES: dict[str, int] = {"pore": 1, "crack": 2, "inclusion": 3}
CLASS_NAMES: dict[int, str] = {v: k for k, v in CLASS_CODES.items()}


@dataclass
class Defect:
    """One ground-truth defect; ``labels == id`` marks its voxels.

    Geometry is in voxel indices (z, y, x). For a radiograph z is always 0, ``volume_vox`` is
    the pixel area and ``equivalent_diameter_vox`` the equivalent circle diameter.
    """

    id: int
    kind: DefectKind
    center_zyx: tuple[float, float, float]
    equivalent_diameter_vox: float
    volume_vox: int
    bbox_zyx: tuple[int, int, int, int, int, int]  # z0, y0, x0, z1, y1, x1 (end exclusive)
    shape: str = ""  # sphere, ellipsoid, shrinkage, planar, lack_of_fusion, ...
    normal_zyx: tuple[float, float, float] | None = None  # crack plane normal (unit)
    length_vox: float | None = None  # crack: largest extent in its plane
    material: str | None = None  # inclusion: tungsten, iron, ...
    cluster: int | None = None  # pores grown as one cluster share this number

    def to_json(self, spacing_mm: tuple[float, float, float]) -> dict[str, Any]:
        """The defects.json entry, with mm figures next to the voxel ones."""
        s = np.asarray(spacing_mm, dtype=np.float64)
        out: dict[str, Any] = {
            "id": self.id,
            "kind": self.kind,
            "class_code": CLASS_CODES[self.kind],
            "shape": self.shape,
            "center_zyx": [round(c, 3) for c in self.center_zyx],
            "center_mm": [round(float(c), 4) for c in np.asarray(self.center_zyx) * s],
            "equivalent_diameter_vox": round(self.equivalent_diameter_vox, 3),
            "equivalent_diameter_mm": round(self.equivalent_diameter_vox * float(s[1]), 4),
            "volume_vox": self.volume_vox,
            "bbox_zyx": list(self.bbox_zyx),
        }
        if self.normal_zyx is not None:
            out["normal_zyx"] = [round(c, 4) for c in self.normal_zyx]
        if self.length_vox is not None:
            out["length_vox"] = round(self.length_vox, 3)
            out["length_mm"] = round(self.length_vox * float(s[1]), 4)
        if self.material is not None:
            out["material"] = self.material
        if self.cluster is not None:
            out["cluster"] = self.cluster
        return out


@dataclass
class Phantom:
    """A synthetic scan with its exact ground truth.

    Attributes:
        volume: the image (uint16). CT: (z, y, x), modality "CT". Radiograph: (1, H, W), "DX".
        labels: uint16 instance labels, same shape; 0 background, ``i`` is ``defects[i-1]``.
        classes: uint8 class codes, same shape: 0 background, 1 pore, 2 crack, 3 inclusion.
        part_mask: bool, True where the solid part is (defects included).
        defects: the ground truth list, ordered by id.
    """

    volume: Volume
    labels: npt.NDArray[np.uint16]
    classes: npt.NDArray[np.uint8]
    part_mask: npt.NDArray[np.bool_]
    defects: list[Defect] = field(default_factory=list)

    def defect(self, defect_id: int) -> Defect:
        """The defect with this id."""
        d = self.defects[defect_id - 1]
        if d.id != defect_id:  # ids are 1..n in order; guard against edited lists
            d = next(x for x in self.defects if x.id == defect_id)
        return d

    def counts(self) -> dict[str, int]:
        """Number of defects of each kind."""
        out = {k: 0 for k in CLASS_CODES}
        for d in self.defects:
            out[d.kind] += 1
        return out
