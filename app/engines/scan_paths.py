"""Which scans a list of files and folders names: ``ndelab prelabel DIR|PATH...``."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from ndelab.volumes.errors import UsageError, VolumeReadError

# Files that are a whole scan by themselves. Raw data (.raw, .vol) is read through the header
# beside it, and DICOM and TIFF slices through their folder, so neither is listed.
SCAN_SUFFIXES = (
    ".nrrd", ".nhdr", ".mha", ".mhd", ".h5", ".hdf5", ".npy", ".png", ".vgi", ".pcr",
    ".xtekvolume", ".xtekct", ".tif", ".tiff",
)  # fmt: skip


def _phantom_volume(folder: Path) -> Path | None:
    """A phantom folder (``ndelab phantom``) is one scan: its volume, not its label files."""
    truth = folder / "defects.json"
    if not truth.is_file():
        return None
    try:
        name = json.loads(truth.read_text(encoding="utf-8"))["files"]["volume"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return folder / str(name)


def _is_scan_folder(folder: Path) -> bool:
    """A DICOM series or a TIFF slice stack: the folder is the scan."""
    from ndelab.volumes.io import detect_format

    try:
        return detect_format(folder) in ("dicom", "tiff")
    except VolumeReadError:
        return False


def _in_folder(folder: Path) -> list[Path]:
    phantom = _phantom_volume(folder)
    if phantom is not None:
        return [phantom]
    if _is_scan_folder(folder):
        return [folder]
    found: list[Path] = []
    for child in sorted(folder.iterdir()):
        if child.name.startswith("."):
            continue
        if child.is_dir():
            found += _in_folder(child)
        elif child.suffix.lower() in SCAN_SUFFIXES:
            found.append(child)
    return found


def expand_scans(paths: Iterable[str | Path]) -> list[Path]:
    """Files as given; folders as the scans in them (depth first, sorted); each scan once."""
    out: list[Path] = []
    seen: set[Path] = set()
    for given in paths:
        p = Path(given)
        if not p.exists():
            raise UsageError(f"{p} does not exist")
        for scan in _in_folder(p) if p.is_dir() else [p]:
            key = scan.resolve()
            if key not in seen:
                seen.add(key)
                out.append(scan)
    if not out:
        raise UsageError(
            "no scans found in " + ", ".join(str(p) for p in paths) + " (looked for "
            + ", ".join(SCAN_SUFFIXES) + ", DICOM series and TIFF stacks)"
        )  # fmt: skip
    return out


__all__ = ["SCAN_SUFFIXES", "expand_scans"]
