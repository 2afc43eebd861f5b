"""PNG radiographs (8 or 16 bit) as one-slice volumes of modality DX."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from ndelab.volumes.errors import VolumeReadError
from ndelab.volumes.progress import Cancel, Progress, check, report
from ndelab.volumes.readers._common import missing_spacing_note, require_file
from ndelab.volumes.volume import Volume


def read_png(
    path: Path, *, progress: Progress | None = None, cancel: Cancel | None = None
) -> Volume:
    require_file(path)
    check(cancel, f"reading {path.name}")
    try:
        # imdecode from bytes: cv2.imread cannot open some non-ASCII paths.
        encoded = np.fromfile(path, dtype=np.uint8)
        image = cv2.imdecode(encoded, cv2.IMREAD_UNCHANGED)
    except (OSError, cv2.error) as exc:
        raise VolumeReadError(path, f"is not a readable PNG image ({exc})") from exc
    if image is None:
        raise VolumeReadError(path, "is not a readable PNG image (the data is damaged)")
    warnings = missing_spacing_note("a PNG image")
    if image.ndim == 3:
        if image.shape[2] == 4:
            image = image[:, :, :3]
        channels = image.reshape(-1, image.shape[2])
        if not np.all(channels == channels[:, :1]):
            raise VolumeReadError(path, "is a colour image; radiographs must be grayscale")
        image = np.ascontiguousarray(image[:, :, 0])
        warnings.append("the image is stored as RGB with equal channels; read as grayscale")
    report(progress, 1.0)
    return Volume(
        data=image[np.newaxis],
        spacing_mm=(1.0, 1.0, 1.0),
        modality="DX",
        format="png",
        source=str(path),
        spacing_known=False,
        warnings=warnings,
        metadata={"bit_depth": image.dtype.itemsize * 8},
    )
