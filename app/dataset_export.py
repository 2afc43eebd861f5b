"""Exporting reviewed labels from the window: from this workstation's store or the shared
server, and the few lines a person reads afterwards (the CLI prints the whole JSON)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ndelab.annotation.export.dataset import FORMATS, export_dataset
from ndelab.annotation.store import Store
from ndelab.annotation.sync.credentials import resolve_url
from ndelab.volumes.progress import Cancel, Progress

__all__ = ["FORMATS", "export_reviewed", "summary_text"]  # FORMATS: the dialog's choices


def export_reviewed(
    local: Store,
    remote_url: str | None,
    *,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
    **options: Any,
) -> dict[str, Any]:
    """export_dataset from ``local``, or from the shared server when ``remote_url`` is given
    (opened for this export only); ``options`` are export_dataset's keywords."""
    if remote_url is None:
        return export_dataset(local, progress=progress, cancel=cancel, **options)
    with Store(resolve_url(remote_url)) as remote:
        return export_dataset(remote, progress=progress, cancel=cancel, **options)


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
