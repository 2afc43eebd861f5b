"""Open and write volumes of every supported format; the CLI and the GUI call these.

The format is found from the file's content where it has a signature, else from its suffix.
"""

from __future__ import annotations

import mmap
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ndelab.volumes.errors import UsageError, VolumeReadError
from ndelab.volumes.progress import Cancel, Progress
from ndelab.volumes.readers._common import RAW_SUFFIXES, TIFF_SUFFIXES
from ndelab.volumes.readers._sidecar import find_beside
from ndelab.volumes.volume import Volume

FORMATS = ("dicom", "tiff", "vgi", "pcr", "xtek", "metaimage", "nrrd", "hdf5", "raw", "png", "npy")

_SUFFIX_FORMAT: dict[str, str] = {
    ".dcm": "dicom",
    ".dicom": "dicom",
    ".ima": "dicom",
    **dict.fromkeys(TIFF_SUFFIXES, "tiff"),
    ".vgi": "vgi",
    ".pcr": "pcr",  # GE / Waygate phoenix datos|x
    ".xtekvolume": "xtek",  # Nikon CT Pro
    ".xtekct": "xtek",
    ".mhd": "metaimage",
    ".mha": "metaimage",
    ".nrrd": "nrrd",
    ".nhdr": "nrrd",
    ".h5": "hdf5",
    ".hdf5": "hdf5",
    ".hdf": "hdf5",
    **dict.fromkeys(RAW_SUFFIXES, "raw"),
    ".png": "png",
    ".npy": "npy",
}

READ_SUFFIXES: tuple[str, ...] = tuple(_SUFFIX_FORMAT)
WRITE_SUFFIXES: tuple[str, ...] = (".npy", ".nrrd", ".mhd", ".mha", ".h5", ".hdf5", ".tif", ".tiff")

_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (_HDF5_SIGNATURE, "hdf5"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
    (b"II+\x00", "tiff"),  # BigTIFF
    (b"MM\x00+", "tiff"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"NRRD000", "nrrd"),
    (b"\x93NUMPY", "npy"),
)


# Vendor headers that describe a ``.vol`` of the same stem, most specific first.
_VOL_HEADERS = ((".pcr", "pcr"), (".xtekVolume", "xtek"), (".xtekct", "xtek"), (".vgi", "vgi"))


def _vol_header(path: Path) -> tuple[str, Path] | None:
    """The format and header file for a ``.vol`` whose vendor header sits beside it."""
    if path.suffix.lower() != ".vol" or not path.is_file():
        return None
    for suffix, fmt in _VOL_HEADERS:
        header = find_beside(path.parent, f"{path.stem}{suffix}")
        if header is not None:
            return fmt, header
    return None


def _sniff(path: Path) -> str | None:
    """The format a file's first bytes prove, if any."""
    try:
        with path.open("rb") as fh:
            head = fh.read(2048 + 8)
    except OSError as exc:
        raise VolumeReadError(path, f"cannot be read ({exc.strerror or exc})") from exc
    if head[128:132] == b"DICM":
        return "dicom"
    for magic, fmt in _MAGIC:
        if head.startswith(magic):
            return fmt
    # HDF5 may sit after a user block of 512, 1024 or 2048 bytes.
    if any(head[n : n + 8] == _HDF5_SIGNATURE for n in (512, 1024, 2048)):
        return "hdf5"
    text = head[:64].lstrip().lower()
    if text.startswith((b"objecttype", b"ndims")):
        return "metaimage"
    if text.startswith(b"{volume"):
        return "vgi"
    return None


def _folder_format(path: Path) -> str:
    files = [p for p in path.iterdir() if p.is_file()]
    if any(p.suffix.lower() in (".dcm", ".dicom", ".ima") for p in files):
        return "dicom"
    tiffs = [p for p in files if p.suffix.lower() in TIFF_SUFFIXES]
    # Files without a DICOM suffix: look for the preamble in a few of them.
    for p in sorted(f for f in files if f not in tiffs)[:16]:
        if _sniff(p) == "dicom":
            return "dicom"
    if tiffs:
        return "tiff"
    raise VolumeReadError(path, "is a folder that holds no DICOM files and no .tif/.tiff slices")


def detect_format(path: str | Path) -> str:
    """One of FORMATS for a file or folder, or VolumeReadError saying why none fits."""
    p = Path(path)
    if not p.exists():
        raise VolumeReadError(p, "does not exist")
    if p.is_dir():
        return _folder_format(p)
    beside = _vol_header(p)
    if beside is not None:
        return beside[0]
    sniffed = _sniff(p)
    if sniffed is not None:
        return sniffed
    suffix = p.suffix.lower()
    if suffix in _SUFFIX_FORMAT:
        return _SUFFIX_FORMAT[suffix]
    if p.stat().st_size == 0:
        raise VolumeReadError(p, "is empty")
    raise VolumeReadError(
        p,
        "is not a volume format ndelab can read (no known file signature, and the suffix "
        f"'{p.suffix}' is none of {', '.join(READ_SUFFIXES)})",
    )


def open_volume(
    path: str | Path,
    *,
    shape: tuple[int, int, int] | None = None,
    dtype: str | None = None,
    dataset: str | None = None,
    header_bytes: int = 0,
    byte_order: Literal["little", "big"] = "little",
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> Volume:
    """Read a volume, lazily where the format allows.

    ``shape`` (z, y, x), ``dtype``, ``header_bytes`` and ``byte_order`` describe raw files;
    ``dataset`` picks an HDF5 dataset. A file with no signature read with ``shape`` and
    ``dtype`` given is taken as raw whatever its suffix. A ``.vol`` with a vendor header
    beside it (``.pcr``, ``.xtekVolume``, ``.xtekct``, ``.vgi``) is read through that header.
    """
    p = Path(path)
    raw_options = shape is not None or dtype is not None or header_bytes != 0
    headerless = _SUFFIX_FORMAT.get(p.suffix.lower(), "raw") == "raw"
    if raw_options and p.is_file() and headerless and _sniff(p) is None:
        fmt = "raw"
    else:
        fmt = detect_format(p)
    if raw_options and fmt != "raw":
        raise UsageError(
            f"{p}: --shape, --dtype and --header-bytes apply to raw files only; this is {fmt}"
        )
    if dataset is not None and fmt != "hdf5":
        raise UsageError(f"{p}: --dataset applies to HDF5 files only; this is {fmt}")
    beside = _vol_header(p) if fmt != "raw" else None
    if beside is not None:
        p = beside[1]
    if fmt == "raw":
        from ndelab.volumes.readers.raw import read_raw

        return read_raw(
            p,
            shape=shape,
            dtype=dtype,
            header_bytes=header_bytes,
            byte_order=byte_order,
            progress=progress,
            cancel=cancel,
        )
    if fmt == "hdf5":
        from ndelab.volumes.readers.hdf5 import read_hdf5

        return read_hdf5(p, dataset=dataset, progress=progress, cancel=cancel)
    if fmt == "dicom":
        from ndelab.volumes.readers.dicom import read_dicom

        return read_dicom(p, progress=progress, cancel=cancel)
    if fmt == "tiff":
        from ndelab.volumes.readers.tiff import read_tiff

        return read_tiff(p, progress=progress, cancel=cancel)
    if fmt == "vgi":
        from ndelab.volumes.readers.vgi import read_vgi

        return read_vgi(p, progress=progress, cancel=cancel)
    if fmt == "pcr":
        from ndelab.volumes.readers.pcr import read_pcr

        return read_pcr(p, progress=progress, cancel=cancel)
    if fmt == "xtek":
        from ndelab.volumes.readers.xtek import read_xtek

        return read_xtek(p, progress=progress, cancel=cancel)
    if fmt == "metaimage":
        from ndelab.volumes.readers.metaimage import read_metaimage

        return read_metaimage(p, progress=progress, cancel=cancel)
    if fmt == "nrrd":
        from ndelab.volumes.readers.nrrd_file import read_nrrd

        return read_nrrd(p, progress=progress, cancel=cancel)
    if fmt == "png":
        from ndelab.volumes.readers.png import read_png

        return read_png(p, progress=progress, cancel=cancel)
    from ndelab.volumes.readers.npy import read_npy

    return read_npy(p, progress=progress, cancel=cancel)


def write_volume(
    volume: Volume,
    path: str | Path,
    *,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> None:
    """Write ``volume`` in the format its suffix names (one of WRITE_SUFFIXES)."""
    from ndelab.volumes.writers import write

    write(volume, Path(path), progress=progress, cancel=cancel)


def release_cached_pages(volume: Volume) -> bool:
    """Drop the file pages a memory-mapped volume has touched from this process's RSS.

    Scrolling a memmap maps every page it reads; those pages count as resident until the
    kernel needs them. A viewer calls this now and then while scrolling big files to keep RSS
    flat. Later reads fault the pages back in from the page cache. True if anything was mapped.
    """
    data: Any = volume.data
    data = getattr(data, "base", data) if not isinstance(data, np.ndarray) else data
    while isinstance(data, np.ndarray) and not isinstance(getattr(data, "_mmap", None), mmap.mmap):
        data = data.base
    region = getattr(data, "_mmap", None)
    if not isinstance(region, mmap.mmap) or not hasattr(mmap, "MADV_DONTNEED"):
        return False
    region.madvise(mmap.MADV_DONTNEED)
    return True
