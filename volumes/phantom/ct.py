"""make_ct_phantom: an aluminium casting with gas pores, shrinkage, hot tears and inclusions."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from ndelab.volumes.errors import UsageError
from ndelab.volumes.phantom.defects import DefectPlacer, plan_defects, populate
from ndelab.volumes.phantom.model import Phantom
from ndelab.volumes.phantom.parts import BUILDERS, build_part
from ndelab.volumes.phantom.physics import CtPhysics, form_ct_image
from ndelab.volumes.progress import Cancel, Progress, check, report
from ndelab.volumes.volume import Volume

GENERATOR = "ndelab.volumes.phantom/1"
MIN_DIM = 16

# What the DICONDE component module would say about each part.
COMPONENTS: dict[str, tuple[str, str]] = {
    "housing": ("Pump housing", "sand casting"),
    "cylinder": ("Valve body blank", "gravity die casting"),
    "block": ("Manifold block", "low-pressure die casting"),
    "bracket": ("Mounting bracket", "sand casting"),
}

INCLUSION_LEVELS: dict[str, tuple[float, float]] = {
    "iron": (48000.0, 54000.0),
    "tungsten": (60000.0, 64500.0),
}


def component_info(part: str, seed: int, modality: str) -> dict[str, str]:
    """A DICONDE-like component dict for the synthetic part."""
    name, process = COMPONENTS.get(part, ("Weld coupon", "GTAW weld"))
    return {
        "component_name": f"{name} (synthetic)",
        "component_id": f"NDL-{part[:3].upper()}-{seed:06d}",
        "serial_number": f"SN{(seed * 7919 + 104729 * len(part)) % 10**8:08d}",
        "material": "A356 aluminium" if modality == "CT" or part != "weld" else "S355 steel",
        "manufacturing_process": process,
        "manufacturer": "ndelab phantom foundry",
    }


def _check_args(
    shape: tuple[int, int, int],
    noise: float,
    blur: float,
    cupping: float,
    part: str,
    n_pores: int | None,
    spacing_mm: float,
) -> None:
    if len(shape) != 3 or min(shape) < MIN_DIM:
        raise UsageError(
            f"phantom shape {tuple(shape)} is too small: each side needs at least {MIN_DIM} voxels"
        )
    if part not in BUILDERS:
        raise UsageError(f"unknown phantom part {part!r}: choose one of {', '.join(BUILDERS)}")
    if noise < 0 or blur < 0:
        raise UsageError("phantom noise and blur must not be negative")
    if not 0 <= cupping < 1:
        raise UsageError(f"phantom cupping {cupping} is outside 0..1")
    if n_pores is not None and n_pores < 0:
        raise UsageError(f"phantom pore count {n_pores} is negative")
    if not spacing_mm > 0:
        raise UsageError(f"phantom spacing {spacing_mm} mm must be positive")


def make_ct_phantom(
    size: int = 128,
    *,
    seed: int = 0,
    shape: tuple[int, int, int] | None = None,
    n_pores: int | None = None,
    noise: float = 1.0,
    blur_sigma_vox: float = 0.8,
    cupping: float = 0.1,
    part: Literal["housing", "cylinder", "block", "bracket"] = "housing",
    spacing_mm: float = 0.1,
    rings: float = 0.25,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> Phantom:
    """A uint16 CT volume of a cast aluminium part in air, with exact defect ground truth.

    Part dimensions, grey levels and defect counts all follow from ``seed``; the same
    arguments always give the same phantom. ``n_pores`` fixes the number of gas pores tried
    (clusters included); shrinkage, cracks and inclusions still follow the seed.
    """
    shp = (int(size),) * 3 if shape is None else tuple(int(s) for s in shape)
    _check_args(shp, noise, blur_sigma_vox, cupping, part, n_pores, spacing_mm)  # type: ignore[arg-type]
    dims = (shp[0], shp[1], shp[2])
    rng = np.random.default_rng(seed)
    report(progress, 0.0)

    geometry = build_part(part, dims, rng, cancel)
    report(progress, 0.1)
    part_voxels = int(np.count_nonzero(geometry.mask))
    plan = plan_defects(rng, part_voxels, min(dims), n_pores)
    placer = DefectPlacer(geometry.mask)
    populate(placer, geometry, plan, rng, progress=progress, cancel=cancel, span=(0.1, 0.3))

    air = float(rng.uniform(900.0, 1100.0))
    metal = float(rng.uniform(22000.0, 28000.0))
    gas = air  # pores and cracks hold gas: air's attenuation
    atten = np.where(geometry.mask, np.float32(metal), np.float32(air))
    incl_levels: dict[int, float] = {}
    for d in placer.defects:
        z0, y0, x0, z1, y1, x1 = d.bbox_zyx
        sl = (slice(z0, z1), slice(y0, y1), slice(x0, x1))
        if d.kind == "inclusion":
            lo, hi = INCLUSION_LEVELS[d.material or "iron"]
            value = float(rng.uniform(lo, hi))
            incl_levels[d.id] = round(value, 1)
        else:
            value = gas
        atten[sl][placer.labels[sl] == d.id] = value
    check(cancel, "phantom generation")
    report(progress, 0.35)

    phys = CtPhysics(
        air=air,
        metal=metal,
        blur_sigma_vox=blur_sigma_vox,
        cupping=cupping,
        rings=rings,
        noise=noise,
        center_yx=geometry.center_yx,
        radii_yx=geometry.radii_yx,
    )
    image = form_ct_image(atten, phys, rng, progress=progress, cancel=cancel, span=(0.35, 1.0))
    del atten

    metadata: dict[str, Any] = {
        "generator": GENERATOR,
        "seed": seed,
        "params": {
            "shape": list(dims),
            "part": part,
            "n_pores": n_pores,
            "noise": noise,
            "blur_sigma_vox": blur_sigma_vox,
            "cupping": cupping,
            "rings": rings,
            "spacing_mm": spacing_mm,
            "part_geometry": geometry.params,
            "planned": plan.as_dict(),
        },
        "grey_levels": {
            "air": round(air, 1),
            "aluminium": round(metal, 1),
            "inclusions": incl_levels,
        },
        "display_window": {"center": round((air + metal) / 2), "width": round(1.3 * (metal - air))},
        "diconde": component_info(part, seed, "CT"),
        "defect_counts": {},
    }
    ph = Phantom(
        volume=Volume(
            data=image,
            spacing_mm=(spacing_mm, spacing_mm, spacing_mm),
            modality="CT",
            metadata=metadata,
            format="phantom",
        ),
        labels=placer.labels,
        classes=placer.classes,
        part_mask=geometry.mask,
        defects=placer.defects,
    )
    metadata["defect_counts"] = ph.counts()
    report(progress, 1.0)
    return ph
