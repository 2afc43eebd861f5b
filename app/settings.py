"""User settings kept as JSON in the per-user config folder (no secrets are ever stored here).

``NDELAB_CONFIG_DIR`` overrides the folder (tests, portable installs).
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

log = logging.getLogger(__name__)

MAX_RECENT = 10


def config_dir() -> Path:
    override = os.environ.get("NDELAB_CONFIG_DIR")
    return Path(override) if override else Path(platformdirs.user_config_dir("ndelab"))


def log_dir() -> Path:
    override = os.environ.get("NDELAB_CONFIG_DIR")
    return Path(override) / "logs" if override else Path(platformdirs.user_log_dir("ndelab"))


@dataclass
class Settings:
    recent_files: list[str] = field(default_factory=list)
    sam_checkpoint: str | None = None
    database_url: str | None = None
    remote_url: str | None = None  # the shared PostgreSQL, without a password
    user: str | None = None

    def add_recent(self, path: str | Path) -> None:
        p = str(Path(path).resolve())
        self.recent_files = [p] + [r for r in self.recent_files if r != p]
        del self.recent_files[MAX_RECENT:]

    @classmethod
    def load(cls, path: Path | None = None) -> Settings:
        path = path or config_dir() / "settings.json"
        try:
            raw: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError) as exc:
            # A damaged settings file must not stop the workstation; keep it for inspection.
            log.warning("ignoring unreadable settings %s: %s", path, exc)
            return cls()
        known = {k: v for k, v in raw.items() if k in cls.__dataclass_fields__}
        settings = cls(**known)
        settings.recent_files = [str(r) for r in settings.recent_files][:MAX_RECENT]
        return settings

    def save(self, path: Path | None = None) -> None:
        path = path or config_dir() / "settings.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2), encoding="utf-8")
        tmp.replace(path)
