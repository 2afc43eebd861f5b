"""A production line on one machine: phantom scans (CT and radiographs) dropped into a
watched folder and announced on a RabbitMQ queue at a fixed rate.

CT scans go as attached .nrrd, written under a hidden name and renamed into place (atomic);
radiographs as .mhd with a detached .raw, the header first and the voxels slowly after it, so
the inbox must wait for the pair to be complete and stable. Each scan has a NAME.json
sidecar (part, serial, line) in the folder, and the same metadata in its message.
``duplicates`` scans are dropped (or announced) a second time, as a scanner that retries would.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ndelab.volumes.io import write_volume
from ndelab.volumes.phantom import make_ct_phantom, make_radiograph
from ndelab.volumes.volume import Volume


@dataclass(frozen=True)
class Dropped:
    index: int
    path: Path
    modality: str
    route: str  # "folder" or "amqp"
    metadata: dict[str, str]
    duplicate: bool = False


def phantom_scan(index: int, seed: int, ct_size: int, radiograph_size: int) -> Volume:
    """Every third scan is a radiograph (a weld or a casting plate), the rest CT parts."""
    s = seed * 1000 + index
    if index % 3 == 2:
        kind = "weld" if index % 2 else "casting"
        return make_radiograph(radiograph_size, seed=s, kind=kind).volume  # type: ignore[arg-type]
    parts = ("cylinder", "block", "bracket", "housing")
    return make_ct_phantom(ct_size, seed=s, part=parts[index % len(parts)]).volume  # type: ignore[arg-type]


def write_atomic(volume: Volume, path: Path) -> None:
    """Write under a hidden name, then rename into place (one step for the watcher)."""
    hidden = path.with_name(f".{path.stem}.tmp{path.suffix}")
    write_volume(volume, hidden)
    hidden.replace(path)


def write_slowly(volume: Volume, path: Path, seconds: float) -> None:
    """A .mhd header at once, its .raw in pieces over ``seconds`` (a slow scanner)."""
    staging = path.parent / f".staging-{path.stem}"
    staging.mkdir(exist_ok=True)
    write_volume(volume, staging / path.name)
    raw = staging / f"{path.stem}.raw"
    data = raw.read_bytes()
    shutil.move(str(staging / path.name), str(path))
    pieces = 8
    with (path.parent / raw.name).open("wb") as out:
        for k in range(pieces):
            out.write(data[k * len(data) // pieces : (k + 1) * len(data) // pieces])
            out.flush()
            time.sleep(seconds / pieces)
    shutil.rmtree(staging, ignore_errors=True)


def simulate(
    *,
    watch: Path | None,
    count: int,
    rate_per_min: float,
    seed: int = 0,
    announce: Callable[[dict[str, Any]], None] | None = None,
    storage: Path | None = None,
    duplicates: int = 0,
    ct_size: int = 48,
    radiograph_size: int = 160,
    slow_s: float = 1.0,
    line: str = "1",
) -> Iterator[Dropped]:
    """Drop ``count`` scans (and ``duplicates`` repeats) at ``rate_per_min``. With both a
    folder and ``announce`` (publish one message), scans alternate between the two; scans
    for the queue are written under ``storage``."""
    if watch is None and announce is None:
        raise ValueError("simulate needs a folder, a queue, or both")
    period = 60.0 / rate_per_min
    start = time.monotonic()
    made: list[Dropped] = []
    total = count + duplicates
    for n in range(total):
        time.sleep(max(0.0, start + n * period - time.monotonic()))
        if n >= count:
            # Single-file scans only: a copied header naming another data file is another
            # file, so another sha256 (the identity covers header and voxels).
            again = [d for d in made if d.route == "amqp" or d.path.suffix == ".nrrd"]
            yield _repeat(again[(n - count) * 3 % len(again)], announce)
            continue
        route = "folder" if announce is None or (watch is not None and n % 2 == 0) else "amqp"
        volume = phantom_scan(n, seed, ct_size, radiograph_size)
        meta = {"part": f"phantom-{n:03d}", "serial": f"S{seed:02d}-{n:05d}", "line": line}
        folder = watch if route == "folder" else storage
        assert folder is not None
        folder.mkdir(parents=True, exist_ok=True)
        radiograph = volume.modality != "CT"
        name = f"scan{n:03d}" + (".mhd" if radiograph else ".nrrd")
        path = folder / name
        (folder / f"{path.stem}.json").write_text(json.dumps(meta))
        if radiograph:
            write_slowly(volume, path, slow_s)
        else:
            write_atomic(volume, path)
        dropped = Dropped(n, path, volume.modality, route, meta)
        made.append(dropped)
        if route == "amqp" and announce is not None:
            announce({"location": str(path.resolve()), **meta})
        yield dropped


def _repeat(original: Dropped, announce: Callable[[dict[str, Any]], None] | None) -> Dropped:
    """The same scan again: a copy in the folder, or the same message once more."""
    if original.route == "amqp" and announce is not None:
        announce({"location": str(original.path.resolve()), **original.metadata})
        return Dropped(
            original.index, original.path, original.modality, "amqp", original.metadata, True
        )
    # The original may have moved to done/ already: copy it back in from wherever it is.
    source = _find(original.path)
    copy = original.path.with_name(f"{original.path.stem}-again{original.path.suffix}")
    hidden = copy.with_name("." + copy.name)
    shutil.copy(source, hidden)
    hidden.replace(copy)
    return Dropped(original.index, copy, original.modality, "folder", original.metadata, True)


def _find(path: Path) -> Path:
    if path.exists():
        return path
    for candidate in sorted((path.parent.parent / "done").rglob(path.name)):
        return candidate
    return path
