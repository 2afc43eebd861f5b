"""The PDF disposition report, drawn with Qt's PDF writer from app.report's ReportData."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMarginsF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPageLayout, QPageSize, QPainter, QPdfWriter

from ndelab.app.qt_images import rgb_to_qimage
from ndelab.app.report import ReportData
from ndelab.app.report_image_quality import IqSection, section_lines
from ndelab.app.report_radiograph import radiograph_lines
from ndelab.volumes.errors import NdelabError

VERDICT_COLORS = {"accept": "#2e8b2e", "reject": "#c0392b", "rework": "#d68910"}
DPI = 150


class _Page:
    """A cursor down the page that starts a new page when the next block does not fit."""

    def __init__(self, writer: QPdfWriter, painter: QPainter) -> None:
        self.writer = writer
        self.painter = painter
        rect = writer.pageLayout().paintRectPixels(DPI)
        self.width = rect.width()
        self.height = rect.height()
        self.y = 0.0

    def need(self, height: float) -> None:
        if self.y + height > self.height:
            self.writer.newPage()
            self.y = 0.0

    def text(
        self,
        text: str,
        size: float = 10,
        bold: bool = False,
        color: str = "#000",
        indent: float = 0,
    ) -> None:
        font = QFont("DejaVu Sans", 1)
        font.setPointSizeF(size)
        font.setBold(bold)
        self.painter.setFont(font)
        self.painter.setPen(QColor(color))
        rect = QRectF(indent, self.y, self.width - indent, self.height)
        bound = self.painter.boundingRect(rect, Qt.TextFlag.TextWordWrap, text)
        self.need(bound.height() + 4)
        rect = QRectF(indent, self.y, self.width - indent, bound.height() + 2)
        self.painter.drawText(rect, Qt.TextFlag.TextWordWrap, text)
        self.y += bound.height() + 4


def write_pdf(report: ReportData, path: str | Path) -> Path:
    path = Path(path)
    writer = QPdfWriter(str(path))
    writer.setResolution(DPI)
    writer.setPageLayout(
        QPageLayout(
            QPageSize(QPageSize.PageSizeId.A4),
            QPageLayout.Orientation.Portrait,
            QMarginsF(15, 15, 15, 15),
            QPageLayout.Unit.Millimeter,
        )
    )
    writer.setTitle(report.title)
    writer.setCreator("ndelab")
    painter = QPainter()
    if not painter.begin(writer):
        raise NdelabError(f"{path}: cannot write the PDF report")
    try:
        _draw(report, _Page(writer, painter))
    finally:
        painter.end()
    return path


def _fmt(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _draw(report: ReportData, page: _Page) -> None:
    result = report.result
    scan = report.scan
    page.text(report.title, 18, bold=True)
    page.text(f"File: {scan.get('path') or '(in memory)'}", 9, color="#444")
    page.text(f"Scan {scan['id']}   sha256 {scan.get('sha256') or '–'}", 8, color="#444")
    shape = " × ".join(str(v) for v in reversed(scan["shape"]))
    spacing = " × ".join(f"{v:.4g}" for v in reversed(scan["spacing_mm"]))
    page.text(
        f"{scan.get('modality')}  {shape} voxels (x × y × z), spacing {spacing} mm", 9, color="#444"
    )
    for key, value in (scan.get("diconde") or {}).items():
        page.text(f"{key.replace('_', ' ')}: {value}", 9, color="#444")
    page.y += 8
    verdict = result["verdict"]
    page.text(f"Verdict: {verdict.upper()}", 20, bold=True, color=VERDICT_COLORS[verdict])
    crit = result["criteria"]
    page.text(
        f"Criteria: {crit['name']} version {crit['version']} (sha256 {crit['sha256'][:16]}…)", 9
    )
    page.text(
        f"Reviewed calls counted: {result['counted_calls']}; open calls: {result['open_calls']}", 9
    )
    _draw_image_quality(report.image_quality, page)
    page.y += 6
    page.text("Rules", 13, bold=True)
    for reason in result["reasons"]:
        title = reason.get("title") or reason.get("rule", "")
        measured, limit, unit = reason.get("measured"), reason.get("limit"), reason.get("unit", "")
        status = "pass" if reason["passed"] else "FAIL"
        line = (
            f"{status:>4}  {title} — {reason['check']}: "
            f"measured {_fmt(measured)} {unit}, limit {_fmt(limit)} {unit}"
        )
        if not reason["passed"] and reason.get("indications"):
            line += f" ({len(reason['indications'])} indication(s))"
        page.text(line, 9, color="#000" if reason["passed"] else "#c0392b", indent=10)
    _draw_radiograph(result, page)
    if report.snapshots:
        page.y += 6
        page.text("Rejectable indications", 13, bold=True)
        cell = page.width / 3
        for i, snap in enumerate(report.snapshots):
            col = i % 3
            if col == 0:
                page.need(cell + 40)
                row_y = page.y
            img = snap.image
            qimage = rgb_to_qimage(img)
            side = cell - 12
            page.painter.drawImage(QRectF(col * cell, row_y, side, side), qimage)
            font = QFont("DejaVu Sans", 1)
            font.setPointSizeF(7)
            page.painter.setFont(font)
            page.painter.setPen(QColor("#000"))
            page.painter.drawText(
                QRectF(col * cell, row_y + side + 2, side, 36),
                Qt.TextFlag.TextWordWrap,
                snap.caption,
            )
            if col == 2 or i == len(report.snapshots) - 1:
                page.y = row_y + side + 40
    page.y += 10
    if result.get("signed_by"):
        page.text(f"Signed by {result['signed_by']} at {result['signed_at']} (UTC)", 11, bold=True)
    else:
        page.text("UNSIGNED PREVIEW — not a disposition of record", 11, bold=True, color="#c0392b")


def _draw_radiograph(result: dict[str, object], page: _Page) -> None:
    """Radiograph sizing: geometry, merged and ignored indications, each rule's figures."""
    lines = radiograph_lines(result)  # type: ignore[arg-type]
    if not lines:
        return
    page.y += 6
    page.text("Radiograph sizing", 13, bold=True)
    for line in lines:
        indent = 20 if line.startswith("  ") else 10
        page.text(line.strip(), 9, color="#333", indent=indent)


IQ_COLORS = {"acceptable": "#2e8b2e", "not interpretable": "#c0392b", "not measured": "#c0392b"}


def _draw_image_quality(section: IqSection | None, page: _Page) -> None:
    """The image-quality gate (ISO 17636-2): verdict, SRb, SNRn, IQIs, detectability,
    overrides. Nothing for CT."""
    if section is None:
        return
    lines = section_lines(section)
    page.y += 6
    page.text("Image quality (ISO 17636-2)", 13, bold=True)
    page.text(lines[0], 11, bold=True, color=IQ_COLORS.get(section.status, "#000"), indent=10)
    for line in lines[1:]:
        if line.startswith("OVERRIDDEN"):
            page.text(line, 9, bold=True, color="#d68910", indent=10)
        else:
            color = "#c0392b" if line.startswith("FAIL") else "#333"
            page.text(line, 9, color=color, indent=10)
