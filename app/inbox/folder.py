"""The embedded inbox: a watched folder (watchdog).

Each entry of the folder is one scan: a file, or a folder (a DICOM series, a TIFF stack). An
entry is taken once it is stable: no file of it open for writing and nothing of it changed
(size, mtime) for ``settle_s``. A scan made of several files (a .mhd and its .raw, a .vgi or
.pcr and its .vol, a detached .nrrd or .nhdr and its data) is taken only when complete: its
header names its data file (the readers in volumes/ say which), the data file is there and
stable too, and the reader accepts the pair (a short payload is refused). A scan that stays
unreadable for ``give_up_s`` after its last change is handed on anyway, and the inbox
dead-letters it with the reader's sentence. Data files are never scans of their own; one whose
header never comes is dead-lettered after ``give_up_s``.

Writers should write under a hidden or temporary name (".name", "name.tmp", "name.part") and
rename into place; those names are ignored. An optional NAME.json beside a scan holds its
part, serial and line (write it before the scan).

Acknowledged scans move to ``done`` (default: a folder "done" beside the watched one), and
dead letters to ``dead_letter`` ("dead-letter" beside it) with NAME.reason.txt.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from watchdog.events import (
    FileClosedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer

from ndelab.app.inbox.source import Arrival, InboxError, read_sidecar
from ndelab.volumes.errors import NdelabError
from ndelab.volumes.io import open_volume
from ndelab.volumes.readers._common import RAW_SUFFIXES

log = logging.getLogger(__name__)

IGNORED_SUFFIXES = (".tmp", ".part", ".partial", ".crdownload", ".swp", ".json", ".txt")
Signature = tuple[tuple[str, int, int], ...]


def _ignored(path: Path) -> bool:
    name = path.name.lower()
    return name.startswith(".") or name.endswith("~") or name.endswith(IGNORED_SUFFIXES)


def _is_data_file(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in RAW_SUFFIXES


def _files_of(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file())
    return [path] if path.exists() else []


def _mtime(path: Path) -> tuple[int, str]:
    try:
        return path.stat().st_mtime_ns, path.name
    except OSError:
        return 0, path.name


def _signature(paths: list[Path]) -> Signature:
    out = []
    for p in paths:
        try:
            st = p.stat()
        except OSError:
            out.append((str(p), -1, -1))
            continue
        out.append((str(p), st.st_size, st.st_mtime_ns))
    return tuple(out)


@dataclass
class _Pending:
    signature: Signature
    changed: float  # monotonic time of the last change seen
    companions: tuple[Path, ...] = ()


class _Watcher(FileSystemEventHandler):
    """Wakes the source on any change and tracks which files a writer still holds open: one
    written to (modified) and not closed after writing since. Reads, ours included, do not
    count, so the inbox opening a scan to check it never holds the scan back."""

    def __init__(self, wake: threading.Event) -> None:
        self.wake = wake
        self.lock = threading.Lock()
        self.writing: set[str] = set()

    def on_any_event(self, event: FileSystemEvent) -> None:
        path = str(event.src_path)
        with self.lock:
            if isinstance(event, FileModifiedEvent):
                self.writing.add(path)
            elif isinstance(event, (FileClosedEvent, FileDeletedEvent, FileMovedEvent)):
                self.writing.discard(path)
        self.wake.set()

    def any_open(self, paths: list[Path]) -> bool:
        with self.lock:
            return any(str(p) in self.writing for p in paths)


class FolderSource:
    """Scans dropped into ``folder``. See the module's docstring for the rules."""

    name = "folder"

    def __init__(
        self,
        folder: str | Path,
        *,
        settle_s: float = 1.0,
        give_up_s: float = 30.0,
        poll_s: float = 0.2,
        done: str | Path | None = None,
        dead_letter: str | Path | None = None,
    ) -> None:
        self.folder = Path(folder).resolve()
        if not self.folder.is_dir():
            raise InboxError(f"watched folder {self.folder} does not exist or is not a folder")
        self.settle_s = settle_s
        self.give_up_s = give_up_s
        self.poll_s = poll_s
        self.done = Path(done) if done else self.folder.parent / "done"
        self.dead_letter = Path(dead_letter) if dead_letter else self.folder.parent / "dead-letter"
        for where in (self.done, self.dead_letter):
            resolved = where.resolve()
            if resolved == self.folder or self.folder in resolved.parents:
                # Inside it, each moved scan would arrive again as a new entry.
                raise InboxError(f"{where} cannot be inside the watched folder {self.folder}")
        self._wake = threading.Event()
        self._watcher = _Watcher(self._wake)
        self._observer: Any = None
        self._pending: dict[Path, _Pending] = {}
        # Entries handed on whose files have not left the folder yet (not acked, not
        # rejected, or their move failed): not handed on again while they stay the same.
        self._handed: dict[Path, Signature] = {}

    # -- watching --------------------------------------------------------------------------

    def _start(self) -> None:
        if self._observer is None:
            self._observer = Observer()
            self._observer.schedule(self._watcher, str(self.folder), recursive=True)
            self._observer.start()

    def close(self) -> None:
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=5)
            self._observer = None

    def _entries(self) -> list[Path]:
        try:
            children = sorted(self.folder.iterdir())
        except OSError as exc:
            raise InboxError(f"watched folder {self.folder} cannot be read ({exc})") from exc
        entries = [p for p in children if not _ignored(p)]
        return sorted(entries, key=_mtime)  # first come, first served

    def arrivals(self, stop: Callable[[], bool], *, once: bool = False) -> Iterator[Arrival]:
        self._start()
        while not stop():
            self._wake.clear()
            ready, waiting = self._poll(once)
            for entry, companions in ready:
                arrival = self._arrival(entry, companions)
                if arrival is not None:
                    yield arrival
                if stop():
                    return
            if once and not ready and not waiting:
                return
            if not ready:
                self._wake.wait(self.poll_s)

    def _poll(self, once: bool) -> tuple[list[tuple[Path, tuple[Path, ...]]], int]:
        """Entries that are ready now, and how many are still settling."""
        now = time.monotonic()
        entries = self._entries()
        present = set(entries)
        for gone in [p for p in self._pending if p not in present]:
            del self._pending[gone]
        for gone in [p for p in self._handed if p not in present]:
            del self._handed[gone]
        claimed = {c for p in self._pending.values() for c in p.companions}
        ready: list[tuple[Path, tuple[Path, ...]]] = []
        waiting = 0
        for entry in entries:
            if entry in claimed:
                continue
            pending = self._pending.get(entry)
            files = _files_of(entry) + list(pending.companions if pending else ())
            sig = _signature(files)
            if self._handed.get(entry) == sig:
                continue
            if pending is None or pending.signature != sig:
                keep = pending.companions if pending else ()
                self._pending[entry] = _Pending(sig, now, keep)
                waiting += 1
                continue
            if now - pending.changed < self.settle_s or self._watcher.any_open(files):
                waiting += 1
                continue
            verdict = self._complete(entry, pending, now, once)
            if verdict == "wait":
                waiting += 1
                continue
            ready.append((entry, pending.companions))
        return ready, waiting

    def _complete(self, entry: Path, pending: _Pending, now: float, once: bool) -> str:
        """'take', or 'wait' while a multi-file scan is not complete yet."""
        patience = 0.0 if once else self.give_up_s
        if _is_data_file(entry):
            header = any(
                p.stem == entry.stem and p != entry and not _is_data_file(p)
                for p in self.folder.iterdir()
            )
            if header:
                return "wait"  # its header claims it once the header is read
            return "take" if now - pending.changed >= patience else "wait"
        try:
            volume = open_volume(entry)
        except NdelabError:
            # Perhaps its data file is still on its way; perhaps it is broken for good.
            return "take" if now - pending.changed >= patience else "wait"
        data_file = volume.metadata.get("data_file") if isinstance(volume.metadata, dict) else None
        del volume
        if isinstance(data_file, str):
            companion = Path(data_file).resolve()
            if companion.parent == self.folder and companion not in pending.companions:
                # The pair must be stable together: start settling again with the data file.
                pending.companions = (*pending.companions, companion)
                pending.signature = _signature([*_files_of(entry), *pending.companions])
                pending.changed = now
                return "wait"
        return "take"

    # -- handing on ------------------------------------------------------------------------

    def _arrival(self, entry: Path, companions: tuple[Path, ...]) -> Arrival | None:
        self._pending.pop(entry, None)
        files = [entry, *companions]
        sidecar = entry.with_name(entry.name + ".json")
        if not sidecar.exists():
            sidecar = entry.with_suffix(".json")
        if sidecar.is_file() and sidecar != entry:
            files.append(sidecar)
        self._handed[entry] = _signature(_files_of(entry) + list(companions))
        for companion in companions:
            self._handed[companion] = _signature([companion])
        try:
            metadata = read_sidecar(sidecar) if sidecar != entry else {}
        except InboxError as exc:
            self._move(files, self.dead_letter, reason=str(exc))
            log.warning("%s", exc)
            return None
        target = self._target(self.done, files)

        def ack() -> None:
            self._move(files, self.done, into=target)

        def reject(reason: str) -> None:
            self._move(files, self.dead_letter, reason=reason)

        return Arrival(
            source=self.name,
            location=entry,
            metadata=metadata,
            files=tuple(files),
            record_path=target / entry.name,
            delivery=entry.name,
            _ack=ack,
            _reject=reject,
        )

    def _target(self, root: Path, files: list[Path]) -> Path:
        """The folder under ``root`` where these files can go without overwriting any."""
        if not any((root / f.name).exists() for f in files):
            return root
        stamp = time.strftime("%Y%m%dT%H%M%S")
        for n in range(1, 10_000):
            candidate = root / f"{stamp}-{n}"
            if not candidate.exists():
                return candidate
        raise InboxError(f"cannot find a free name under {root}")

    def _move(
        self, files: list[Path], root: Path, *, into: Path | None = None, reason: str = ""
    ) -> None:
        present = [f for f in files if f.exists()]
        if not present:
            return
        target = into or self._target(root, present)
        if any((target / f.name).exists() for f in present):
            target = self._target(root, present)
        target.mkdir(parents=True, exist_ok=True)
        for f in present:
            try:
                shutil.move(str(f), str(target / f.name))
            except OSError as exc:
                log.error("could not move %s to %s: %s", f, target, exc)
        if reason:
            with contextlib.suppress(OSError):
                (target / f"{files[0].name}.reason.txt").write_text(reason + "\n", "utf-8")
