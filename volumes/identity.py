"""Which scan a volume is: the sha256 the store records, from the scan's own files.

One rule for the workstation and for exports: header and data files (every file of a folder,
sorted); the voxels themselves for a volume that came from no file.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from ndelab.volumes.progress import Cancel, Progress, check, report
from ndelab.volumes.volume import Volume

_CHUNK = 8 << 20


def source_files(volume: Volume) -> list[Path]:
    """The files a volume was read from (empty for an in-memory volume)."""
    if volume.source is None:
        return []
    source = Path(volume.source)
    if source.is_dir():
        return sorted(p for p in source.rglob("*") if p.is_file())
    files = [source]
    data_file = volume.metadata.get("data_file") if isinstance(volume.metadata, dict) else None
    if isinstance(data_file, str) and Path(data_file).is_file() and Path(data_file) != source:
        files.append(Path(data_file))
    return files


def volume_sha256(
    volume: Volume, progress: Progress | None = None, cancel: Cancel | None = None
) -> str:
    """sha256 of the scan's files; of shape, dtype and voxels for in-memory volumes."""
    digest = hashlib.sha256()
    files = source_files(volume)
    if files:
        total = sum(p.stat().st_size for p in files) or 1
        done = 0
        for path in files:
            with path.open("rb") as f:
                while block := f.read(_CHUNK):
                    digest.update(block)
                    done += len(block)
                    report(progress, done / total)
                    check(cancel, "hashing the scan")
        return digest.hexdigest()
    digest.update(str((volume.shape, volume.dtype.str)).encode())
    for z in range(volume.shape[0]):
        digest.update(np.ascontiguousarray(volume.data[z]).tobytes())
        report(progress, (z + 1) / volume.shape[0])
        check(cancel, "hashing the scan")
    return digest.hexdigest()
