"""Run-length code of a binary mask: the byte format stored for every indication.

Format (version 1): one version byte, then LEB128 varints of the run lengths of the C-order
flattened mask, alternating background/foreground and starting with background (the first run
may be 0); the last background run is left out, so there is an even number of runs. These are
the runs of the native codec (ndelab.native.rle_encode), packed small: most runs take a byte.
The numpy encoder and decoder here serve any shape; sparse masks use the native kernels.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FORMAT_VERSION = 1
_MAX_VARINT_BYTES = 10  # enough for any uint64


def runs_of(mask: npt.NDArray[np.bool_]) -> npt.NDArray[np.uint64]:
    """Alternating background/foreground run lengths of the C-order flattened mask."""
    flat = np.ascontiguousarray(mask, dtype=bool).reshape(-1)
    if flat.size == 0:
        return np.zeros(0, np.uint64)
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    edges = np.concatenate(([0], change, [flat.size])).astype(np.uint64)
    runs = np.diff(edges)
    if flat[0]:
        runs = np.concatenate((np.zeros(1, np.uint64), runs))
    return runs[: runs.size - runs.size % 2]  # drop the trailing background run


def _pack_varints(values: npt.NDArray[np.uint64]) -> bytes:
    v = values.astype(np.uint64)
    nbytes = np.ones(v.size, np.int64)
    for k in range(1, _MAX_VARINT_BYTES):
        nbytes += v >= np.uint64(1) << np.uint64(7 * k)
    ends = np.cumsum(nbytes)
    starts = ends - nbytes
    out = np.empty(int(ends[-1]) if v.size else 0, np.uint8)
    for k in range(int(nbytes.max()) if v.size else 0):
        sel = nbytes > k
        part = (v[sel] >> np.uint64(7 * k)) & np.uint64(0x7F)
        more = (nbytes[sel] > k + 1).astype(np.uint64) << np.uint64(7)
        out[starts[sel] + k] = (part | more).astype(np.uint8)
    return out.tobytes()


def _unpack_varints(data: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint64]:
    if data.size == 0:
        return np.zeros(0, np.uint64)
    last = (data & 0x80) == 0
    if not last[-1]:
        raise ValueError("the run-length code ends inside a number")
    ends = np.flatnonzero(last) + 1
    starts = np.concatenate(([0], ends[:-1]))
    lengths = ends - starts
    if int(lengths.max()) > _MAX_VARINT_BYTES:
        raise ValueError("the run-length code holds a number longer than 64 bits")
    pos = np.arange(data.size) - np.repeat(starts, lengths)
    shifted = (data & 0x7F).astype(np.uint64) << (7 * pos).astype(np.uint64)
    return np.add.reduceat(shifted, starts)


def pack(runs: npt.NDArray[np.integer]) -> bytes:
    """Stored bytes of an even-length run list (background first)."""
    if len(runs) % 2:
        raise ValueError("a run list must have an even number of runs")
    return bytes([FORMAT_VERSION]) + _pack_varints(np.asarray(runs, np.uint64))


def unpack(code: bytes, size: int | None = None) -> npt.NDArray[np.uint64]:
    """Run lengths of ``code``; with ``size``, ValueError unless they fit in that many voxels."""
    if not code or code[0] != FORMAT_VERSION:
        raise ValueError("the run-length code has an unknown format version")
    runs = _unpack_varints(np.frombuffer(code, np.uint8, offset=1))
    if runs.size % 2:
        raise ValueError("the run-length code has an odd number of runs")
    if size is not None and int(runs.sum()) > size:
        raise ValueError(f"the run-length code covers {int(runs.sum()):,} voxels, not {size:,}")
    return runs


def encode(mask: npt.NDArray[np.bool_]) -> bytes:
    """Encode a binary mask of any shape (the shape itself is stored elsewhere)."""
    return pack(runs_of(mask))


def decode(code: bytes, shape: tuple[int, ...]) -> npt.NDArray[np.bool_]:
    """Decode ``code`` into a bool array of ``shape``; ValueError if they do not agree."""
    size = int(np.prod(shape, dtype=np.int64))
    runs = unpack(code, size)
    values = np.zeros(runs.size + 1, bool)
    values[1::2] = True
    tail = np.uint64(size) - runs.sum(dtype=np.uint64)
    flat = np.repeat(values, np.append(runs, tail).astype(np.int64))
    return flat.reshape(shape)


def foreground_count(code: bytes) -> int:
    """Number of foreground voxels, read from the code without decoding the mask."""
    return int(unpack(code)[1::2].sum())
