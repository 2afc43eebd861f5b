"""One interface for every way scans reach the inbox: a source yields arrivals, and each
arrival is acknowledged (its calls are committed) or rejected (dead-lettered with a reason).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ndelab.volumes.errors import NdelabError

METADATA_KEYS = ("part", "serial", "line")


class InboxError(NdelabError):
    """An arrival the inbox cannot take (bad message, bad sidecar, unreadable scan)."""


@dataclass
class Arrival:
    """A scan that reached the inbox.

    location: what volumes.io.open_volume opens (a file, a header, a DICOM series folder).
    files: every file the scan is made of (moved together). record_path: where the scan will
    live once acknowledged (the path the store records). ack() once its calls are committed
    (or it is recognised as a duplicate); reject(reason) sends it to the dead letters.
    """

    source: str
    location: Path
    metadata: dict[str, str]
    files: tuple[Path, ...] = ()
    record_path: Path | None = None
    delivery: str = ""  # the broker's delivery tag or the folder entry, for the log
    redelivered: bool = False
    error: str | None = None  # set when the arrival itself is bad (a message not understood)
    _ack: Callable[[], None] = field(default=lambda: None, repr=False)
    _reject: Callable[[str], None] = field(default=lambda reason: None, repr=False)

    def ack(self) -> None:
        self._ack()

    def reject(self, reason: str) -> None:
        self._reject(reason)

    @property
    def stored_path(self) -> Path:
        return self.record_path or self.location


class ScanSource(Protocol):
    """Where scans come from. ``arrivals`` blocks, yielding each arrival as it comes, and
    returns when ``stop()`` turns true (or, with once, when nothing more is waiting)."""

    name: str

    def arrivals(self, stop: Callable[[], bool], *, once: bool = False) -> Iterator[Arrival]: ...

    def close(self) -> None: ...


def clean_metadata(raw: Mapping[str, Any], where: str) -> dict[str, str]:
    """part / serial / line as strings; anything else in ``raw`` is kept as given."""
    out: dict[str, str] = {}
    for key, value in raw.items():
        if value is None:
            continue
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise InboxError(f"{where}: metadata '{key}' must be a string or number")
        out[str(key)] = str(value)
    return out


def read_sidecar(path: Path) -> dict[str, str]:
    """A scan's NAME.json sidecar (part, serial, line); {} when there is none."""
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InboxError(f"sidecar {path} is not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise InboxError(f"sidecar {path} must hold a JSON object")
    # The sidecar may hold more (an .npy's sidecar holds its geometry): take only ours.
    return clean_metadata({k: data.get(k) for k in METADATA_KEYS}, f"sidecar {path}")
