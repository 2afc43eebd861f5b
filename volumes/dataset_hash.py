"""The identity of a labelled data set (the frozen test set): one sha256 over its files'
digests and its labels, not over when or where it was written. Here, below annotation and
inference, because the one writes the set and the other checks it before scoring."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

LABEL_KEYS = ("scan_id", "instance_id", "class", "bbox_zyx", "voxel_count")


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def set_sha256(scans: Sequence[Mapping[str, Any]], labels: Sequence[Mapping[str, Any]]) -> str:
    content = {
        "files": sorted([str(s["file"]), str(s["sha256"])] for s in scans),
        "labels": [{k: lab[k] for k in LABEL_KEYS} for lab in labels],
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


__all__ = ["file_sha256", "set_sha256"]
