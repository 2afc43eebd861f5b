"""Shared by the inbox tests: small phantoms, a service run until enough outcomes."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from ndelab.app.inbox import InboxService, Prelabeller
from ndelab.volumes.io import write_volume
from ndelab.volumes.phantom import make_ct_phantom, make_radiograph
from ndelab.volumes.volume import Volume


def ct(seed: int = 0, size: int = 32) -> Volume:
    return make_ct_phantom(size, seed=seed, part="cylinder").volume


def radiograph(seed: int = 0) -> Volume:
    return make_radiograph(96, seed=seed).volume


def drop(volume: Volume, path: Path) -> Path:
    """Write atomically (hidden name, then rename), as a well-behaved scanner does."""
    hidden = path.with_name(f".{path.stem}.tmp{path.suffix}")
    write_volume(volume, hidden)
    hidden.replace(path)
    return path


def run_until(service: InboxService, n: int, timeout_s: float = 60.0) -> list[dict[str, Any]]:
    """Run the service until it has ``n`` outcomes (or the timeout: then fewer)."""
    outcomes: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout_s
    service.report = outcomes.append
    service.run(lambda: len(outcomes) >= n or time.monotonic() > deadline)
    return outcomes


class CountingPrelabeller:
    """The classical baseline, counting how often it ran (pre-labelled once means once)."""

    def __init__(self, inner: Prelabeller) -> None:
        self.inner = inner
        self.runs: list[str] = []

    def __call__(self, volume: Volume) -> Any:
        self.runs.append(str(volume.source))
        return self.inner(volume)
