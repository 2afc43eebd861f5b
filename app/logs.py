"""Logging to a per-user file: details (tracebacks) go there, users see one sentence."""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

from ndelab.app.settings import log_dir

_configured: Path | None = None


def setup_logging(level: int = logging.INFO) -> Path:
    """Send log records to ``<log dir>/ndelab.log`` (rotating); returns the file's path."""
    global _configured
    if _configured is not None:
        return _configured
    folder = log_dir()
    path = folder / "ndelab.log"
    root = logging.getLogger()
    root.setLevel(level)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=5_000_000, backupCount=3, encoding="utf-8"
        )
    except OSError:
        handler = logging.NullHandler()  # an unwritable log folder must not stop the program
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    _configured = path
    return path
