"""Where the shipped resources (criteria examples, model weights) live."""

from __future__ import annotations

from pathlib import Path

import ndelab.resources


def resources_dir() -> Path:
    return Path(ndelab.resources.__file__).resolve().parent


def criteria_files() -> list[Path]:
    folder = resources_dir() / "criteria"
    return sorted(p for p in folder.iterdir() if p.suffix in (".json", ".yaml", ".yml"))
