"""Open and scroll a big volume: time to first axial slice, time per slice, peak memory.

Cases, each in its own subprocess so that peak RSS belongs to that case alone:
  ndelab-raw   open_volume on a headerless uint16 raw file (np.memmap), then every axial slice
  ndelab-raw-release  the same, calling release_cached_pages every 64 slices as a viewer
               does, so that the memmap's touched file pages leave the process's RSS
  ndelab-hdf5  open_volume on the same voxels as HDF5 chunked by slice (h5py dataset)
  peer-h5py    plain h5py: File()["volume"][z, :, :]
  peer-fromfile  the naive way: np.fromfile the whole raw file, then index. Run for real in
               quick mode only; in full mode its first-slice time is projected from the
               measured read throughput (it would need the whole 8 GB in memory).
Both files are read through once after writing; then their pages are dropped from the page
cache (posix_fadvise DONTNEED) before each case, so every case starts equally cold. Full mode
writes ~8.4 GB twice under build/bench and deletes it.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

FULL_SHAPE = (2000, 1448, 1448)  # uint16: 8,386,816,000 bytes
QUICK_SHAPE = (64, 1448, 1448)  # uint16: 268,369,920 bytes
GOAL_FIRST_SLICE_S = 1.0
GOAL_PEAK_RSS_BYTES = int(1.5 * 2**30)
_PROJECTION_BYTES = 512 * 2**20  # read this much to project the full-read peer
_RELEASE_EVERY = 64  # ndelab-raw-release drops the memmap's touched pages this often


def _workdir() -> Path:
    root = Path(__file__).resolve().parents[1] / "build" / "bench"
    try:
        root.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix="io-", dir=root))
    except OSError:
        return Path(tempfile.mkdtemp(prefix="ndelab-io-", dir="/var/tmp"))


def _pattern_slice(base: np.ndarray, z: int) -> np.ndarray:
    """A cheap, non-constant slice: a ramp that shifts with z (wraps around in uint16)."""
    return base + np.uint16((z * 7) % 65536)


def _write_files(folder: Path, shape: tuple[int, int, int]) -> tuple[Path, Path, float]:
    import h5py

    z, y, x = shape
    yy, xx = np.mgrid[0:y, 0:x]
    base = ((yy * 3 + xx) % 65536).astype(np.uint16)
    raw = folder / f"bench_{x}x{y}x{z}_uint16.raw"
    h5 = folder / "bench.h5"
    t0 = time.perf_counter()
    with raw.open("wb") as fh, h5py.File(h5, "w") as hf:
        dset = hf.create_dataset("volume", shape=shape, dtype=np.uint16, chunks=(1, y, x))
        dset.attrs["spacing_mm"] = [0.05, 0.05, 0.05]
        for i in range(z):
            plane = _pattern_slice(base, i)
            fh.write(plane.tobytes())
            dset[i] = plane
        fh.flush()
        os.fsync(fh.fileno())
    with h5.open("rb") as fh:
        os.fsync(fh.fileno())
    return raw, h5, time.perf_counter() - t0


def _read_through(path: Path) -> None:
    """Read a file once, discarding it: the first read after writing is slower on some
    (virtual) disks, and no case should pay that alone."""
    with path.open("rb", buffering=0) as fh:
        while fh.read(64 * 2**20):
            pass


def _drop_cache(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


# --- the child: one case, one process -------------------------------------------------


def _rss() -> tuple[int, int]:
    """(resident set size, anonymous resident memory) of this process in bytes."""
    rss = anon = 0
    with Path("/proc/self/status").open(encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) * 1024
            elif line.startswith("RssAnon:"):
                anon = int(line.split()[1]) * 1024
    return rss, anon


def _hwm() -> int:
    with Path("/proc/self/status").open(encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def _child(case: str, path: Path, shape: tuple[int, int, int]) -> dict[str, Any]:
    baseline_rss, baseline_anon = _rss()
    t0 = time.perf_counter()
    if case in ("ndelab-raw", "ndelab-raw-release", "ndelab-hdf5"):
        from ndelab.volumes.io import open_volume, release_cached_pages

        if case.startswith("ndelab-raw"):
            vol = open_volume(path, shape=shape, dtype="uint16")
        else:
            vol = open_volume(path)
        release = case == "ndelab-raw-release"

        def get(z: int) -> np.ndarray:
            if release and z % _RELEASE_EVERY == _RELEASE_EVERY - 1:
                release_cached_pages(vol)
            return np.array(vol.slice(0, z), copy=True)  # copy: as a viewer does for display

    elif case == "peer-h5py":
        import h5py

        dset = h5py.File(path, "r")["volume"]

        def get(z: int) -> np.ndarray:
            return np.asarray(dset[z, :, :])

    elif case == "peer-fromfile":
        whole = np.fromfile(path, dtype=np.uint16).reshape(shape)

        def get(z: int) -> np.ndarray:
            return np.array(whole[z], copy=True)

    else:
        raise ValueError(f"unknown case {case}")
    first = get(0)
    t_first = time.perf_counter() - t0
    checksum = int(first[0, :8].sum())
    times: list[float] = []
    peak_rss, peak_anon = _rss()
    for z in range(shape[0]):
        t = time.perf_counter()
        plane = get(z)
        times.append(time.perf_counter() - t)
        checksum ^= int(plane[z % plane.shape[0], z % plane.shape[1]])
        if z % 8 == 0 or z == shape[0] - 1:
            rss, anon = _rss()
            peak_rss, peak_anon = max(peak_rss, rss), max(peak_anon, anon)
    ms = sorted(t * 1000 for t in times)
    return {
        "case": case,
        "first_slice_s": round(t_first, 4),
        "scroll_total_s": round(sum(times), 3),
        "slice_median_ms": round(statistics.median(ms), 3),
        "slice_p99_ms": round(ms[min(len(ms) - 1, int(0.99 * len(ms)))], 3),
        "slice_max_ms": round(ms[-1], 3),
        "peak_rss_bytes": max(peak_rss, _hwm()),
        "peak_anon_bytes": peak_anon,
        "baseline_rss_bytes": baseline_rss,
        "baseline_anon_bytes": baseline_anon,
        "checksum": checksum,
    }


def _run_child(case: str, path: Path, shape: tuple[int, int, int]) -> dict[str, Any]:
    _drop_cache(path)
    cmd = [
        sys.executable,
        "-m",
        "ndelab.benchmarks.io",
        "--child",
        case,
        str(path),
        *map(str, shape),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        return {"case": case, "error": proc.stderr.strip().splitlines()[-1:] or ["failed"]}
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def _projected_fromfile(path: Path, total: int) -> dict[str, Any]:
    """Time the naive full read would take, from the throughput of reading its first part."""
    _drop_cache(path)
    count = min(total, _PROJECTION_BYTES) // 2
    t0 = time.perf_counter()
    part = np.fromfile(path, dtype=np.uint16, count=count)
    elapsed = time.perf_counter() - t0
    throughput = part.nbytes / elapsed
    return {
        "case": "peer-fromfile",
        "estimated": True,
        "first_slice_s": round(total / throughput, 3),
        "read_throughput_bytes_per_s": round(throughput),
        "peak_rss_bytes": total,
        "note": "projected from reading the first 512 MiB cold; needs the whole file in memory",
    }


def run(*, quick: bool = False) -> dict[str, Any]:
    shape = QUICK_SHAPE if quick else FULL_SHAPE
    nbytes = int(np.prod(shape)) * 2
    folder = _workdir()
    try:
        free = shutil.disk_usage(folder).free
        if free < 2 * nbytes + 2**30:
            raise OSError(f"{folder} has {free:,} bytes free; the benchmark needs {2 * nbytes:,}")
        raw, h5, write_s = _write_files(folder, shape)
        _read_through(raw)
        _read_through(h5)
        cases = {
            "ndelab-raw": _run_child("ndelab-raw", raw, shape),
            "ndelab-raw-release": _run_child("ndelab-raw-release", raw, shape),
            "ndelab-hdf5": _run_child("ndelab-hdf5", h5, shape),
            "peer-h5py": _run_child("peer-h5py", h5, shape),
            "peer-fromfile": (
                _run_child("peer-fromfile", raw, shape)
                if quick
                else _projected_fromfile(raw, nbytes)
            ),
        }
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {
        "area": "io",
        "shape_zyx": list(shape),
        "dtype": "uint16",
        "volume_bytes": nbytes,
        "write_both_files_s": round(write_s, 2),
        "cache": "cold: posix_fadvise(DONTNEED) on the file before each case",
        "cases": cases,
        "ratios": _ratios(cases),
        "goals": _goals(cases),
    }


def _ratio(a: Any, b: Any) -> float | None:
    return (
        round(a / b, 3) if isinstance(a, int | float) and isinstance(b, int | float) and b else None
    )


def _ratios(cases: dict[str, dict[str, Any]]) -> dict[str, float | None]:
    raw, hdf, h5py_, full = (
        cases[k] for k in ("ndelab-raw", "ndelab-hdf5", "peer-h5py", "peer-fromfile")
    )
    return {
        "raw_first_slice_vs_fromfile": _ratio(raw.get("first_slice_s"), full.get("first_slice_s")),
        "hdf5_first_slice_vs_h5py": _ratio(hdf.get("first_slice_s"), h5py_.get("first_slice_s")),
        "hdf5_slice_median_vs_h5py": _ratio(
            hdf.get("slice_median_ms"), h5py_.get("slice_median_ms")
        ),
        "raw_peak_rss_vs_fromfile": _ratio(raw.get("peak_rss_bytes"), full.get("peak_rss_bytes")),
    }


def _goals(cases: dict[str, dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "first_slice_s_max": GOAL_FIRST_SLICE_S,
        "peak_rss_bytes_max": GOAL_PEAK_RSS_BYTES,
    }
    for name in ("ndelab-raw", "ndelab-raw-release", "ndelab-hdf5"):
        case = cases[name]
        if "error" in case:
            out[name] = {"first_slice_met": False, "rss_met": False, "error": case["error"]}
            continue
        out[name] = {
            "first_slice_met": case["first_slice_s"] <= GOAL_FIRST_SLICE_S,
            # RSS counts file pages a memmap has touched; the kernel may drop them at will.
            "rss_met": case["peak_rss_bytes"] <= GOAL_PEAK_RSS_BYTES,
            "private_memory_met": case["peak_anon_bytes"] <= GOAL_PEAK_RSS_BYTES,
        }
    return out


def _main(argv: list[str]) -> int:
    if len(argv) == 6 and argv[0] == "--child":
        case, path, *dims = argv[1:]
        z, y, x = (int(d) for d in dims)
        print(json.dumps(_child(case, Path(path), (z, y, x))))
        return 0
    quick = "--quick" in argv
    print(json.dumps(run(quick=quick), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
