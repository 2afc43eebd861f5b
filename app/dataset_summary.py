"""The few lines a person reads after a data set export (the CLI prints the whole JSON)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def summary_text(summary: Mapping[str, Any]) -> str:
    splits = summary.get("splits", {})
    lines = [
        f"{summary['labels']} labels from {summary['scans']} scans, "
        f"{summary['format']} in {summary['out_dir']}"
    ]
    for name in ("train", "val"):
        s = splits.get(name)
        if s:
            lines.append(f"{name}: {s['parts']} parts, {s['scans']} scans, {s['labels']} labels")
    classes = {k: v for k, v in summary.get("classes", {}).items() if v}
    if classes:
        lines.append("classes: " + ", ".join(f"{k} {v}" for k, v in classes.items()))
    for skipped in summary.get("skipped", []):
        lines.append(f"skipped scan {skipped['scan_id']}: {skipped['reason']}")
    lines.extend(summary.get("warnings", []))
    return "\n".join(lines)
