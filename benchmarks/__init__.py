"""What ``ndelab bench AREA`` runs: each area is a module here with ``run(quick=...)``.

Every benchmark compares against a named peer in the same process and reports ratios.
"""

from __future__ import annotations

import importlib
import platform
from typing import Any

import numpy as np

from ndelab.volumes.errors import UsageError

AREAS = ("viewer", "io", "native", "review", "sam", "prelabel", "db", "line")


def run_benchmark(area: str, *, quick: bool = False) -> dict[str, Any]:
    if area not in AREAS:
        raise UsageError(f"unknown benchmark area {area!r}; choose one of {', '.join(AREAS)}")
    try:
        module = importlib.import_module(f"ndelab.benchmarks.{area}")
    except ModuleNotFoundError as exc:
        if exc.name == f"ndelab.benchmarks.{area}":
            raise UsageError(f"the {area!r} benchmark is not available in this build") from None
        raise
    result: dict[str, Any] = module.run(quick=quick)
    result.setdefault("area", area)
    result["quick"] = quick
    result["machine"] = {
        "cpu_count": __import__("os").cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "platform": platform.platform(),
    }
    return result
