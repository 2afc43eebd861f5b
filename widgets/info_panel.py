"""What the file said: geometry, modality, DICONDE component information, warnings; above it
the scan's DRIFT badge (app.scan_drift's figures in its tooltip)."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QLabel, QTextBrowser, QWidget

from ndelab.app import drift_colours
from ndelab.app.scan_drift import badge_text, tooltip_lines
from ndelab.volumes.volume import Volume

BADGE_HEIGHT = 24


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
        self.badge = QLabel(self)
        self.badge.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.badge.hide()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.badge.setGeometry(4, 2, max(self.width() - 8, 0), BADGE_HEIGHT)

    def _badge(self, text: str, background: str, tooltip: str) -> None:
        self.badge.setText(text)
        self.badge.setToolTip(tooltip)
        self.badge.setStyleSheet(
            f"QLabel {{ background: {background}; color: {drift_colours.TEXT_COLOUR}; "
            "font-weight: bold; padding: 2px 8px; border-radius: 3px; }"
        )
        self.setViewportMargins(0, BADGE_HEIGHT + 4, 0, 0)
        self.badge.setGeometry(4, 2, max(self.width() - 8, 0), BADGE_HEIGHT)
        self.badge.show()

    def show_drift_pending(self) -> None:
        """The scan's drift is being measured."""
        self._badge("drift: checking…", drift_colours.GREY, "Measuring the scan's features")

    def show_drift(self, drift: Mapping[str, Any] | None, failure: str | None = None) -> None:
        """The badge: DRIFT: OK (green), WARNING (amber), ALERT (red), or grey where nothing
        was judged (no reference, not measurable); ``failure``: the check failed (its sentence
        in the tooltip). None and no failure: no badge."""
        if failure is not None:
            self._badge("drift: not checked", drift_colours.GREY, failure)
            return
        if drift is None:
            self.badge.hide()
            self.setViewportMargins(0, 0, 0, 0)
            return
        level = str(drift["level"])
        self._badge(
            badge_text(drift), drift_colours.verdict_colour(level), "\n".join(tooltip_lines(drift))
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
