"""Batch engines: pre-label many scans (and train) on this machine or on a Ray cluster.

- ``base``: :class:`ScanOutcome` (one scan's work, ready to store) and the :class:`Engine`
  interface.
- ``work``: what a worker does for one scan (read, hash, part, pre-label, measure).
- ``batch``: the driver, ``prelabel_batch``: the store's one writer, and the observer.
- ``local``: :class:`LocalEngine`, the default, a process pool over the machine's cores.
- ``ray_engine``: :class:`RayEngine`, Ray Data's actor pool and Ray Train (``--engine ray``
  or RAY_ADDRESS; never the default).
- ``scan_paths``: folders expanded to the scans in them.

Qt-free (a contract); torch only through inference/.
"""

from __future__ import annotations

import os
from typing import Any

from ndelab.app.engines.base import Engine, ScanOutcome
from ndelab.app.engines.batch import prelabel_batch
from ndelab.app.engines.local import LocalEngine
from ndelab.app.engines.scan_paths import expand_scans
from ndelab.volumes.errors import UsageError

ENGINES = ("local", "ray")


def default_engine_name() -> str:
    """``ray`` when RAY_ADDRESS names a cluster, else ``local``."""
    return "ray" if os.environ.get("RAY_ADDRESS") else "local"


def make_engine(name: str | None = None, *, workers: int | None = None, **ray: Any) -> Engine:
    """The engine called ``name`` (None: :func:`default_engine_name`)."""
    name = name or default_engine_name()
    if name == "local":
        return LocalEngine(workers)
    if name == "ray":
        from ndelab.app.engines.ray_engine import RayEngine

        return RayEngine(workers, **ray)
    raise UsageError(f"unknown engine {name!r}: use {' or '.join(ENGINES)}")


__all__ = [
    "ENGINES",
    "Engine",
    "LocalEngine",
    "ScanOutcome",
    "default_engine_name",
    "expand_scans",
    "make_engine",
    "prelabel_batch",
]
