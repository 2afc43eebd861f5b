"""What the file said: geometry, modality, DICONDE component information, warnings."""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtWidgets import QTextBrowser, QWidget

from ndelab.volumes.volume import Volume


def _row(key: str, value: Any) -> str:
    label = f"<td style='color:#999;padding-right:8px'>{html.escape(key)}</td>"
    return f"<tr>{label}<td>{html.escape(str(value))}</td></tr>"


def volume_summary_html(volume: Volume) -> str:
    z, y, x = volume.shape
    spacing = " × ".join(f"{s:.4g}" for s in volume.spacing_mm) + " mm"
    if not volume.spacing_known:
        spacing = "unknown (shown as 1 voxel = 1 mm)"
    rows = [
        _row("file", volume.source or "(in memory)"),
        _row("format", volume.format + (" (lazy)" if volume.is_lazy else "")),
        _row("modality", volume.modality),
        _row("size", f"{x} × {y} × {z} voxels (x × y × z), {volume.dtype}"),
        _row("spacing", spacing),
        _row("origin", ", ".join(f"{o:.4g}" for o in volume.origin_mm) + " mm (z, y, x)"),
        _row("memory", f"{volume.nbytes / 2**20:,.1f} MiB"),
    ]
    component = volume.metadata.get("diconde") or volume.metadata.get("component") or {}
    for key, value in component.items():
        rows.append(_row(key.replace("_", " "), value))
    parts = ["<table>", *rows, "</table>"]
    for warning in volume.warnings:
        parts.append(f"<p style='color:#e0a040'>⚠ {html.escape(warning)}</p>")
    return "".join(parts)


class InfoPanel(QTextBrowser):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setOpenLinks(False)
        self.setStyleSheet("QTextBrowser { background: #161616; color: #ddd; border: none; }")
        self.setHtml(
            "<p style='color:#888'>Open a CT volume or radiograph: File ▸ Open, "
            "or drop a file here.</p>"
        )

    def show_volume(self, volume: Volume) -> None:
        self._volume_html = volume_summary_html(volume)
        self.setHtml(self._volume_html)

    def show_quality(self, lines: list[str], blocked: bool) -> None:
        """The image-quality gate under the file's facts."""
        color = "#e05050" if blocked else "#60c060"
        body = "<br>".join(html.escape(line) for line in lines)
        self.setHtml(
            getattr(self, "_volume_html", "")
            + f"<p style='color:{color};border:1px solid {color};padding:4px'>{body}</p>"
        )
