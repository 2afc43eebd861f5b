"""The inspector: everything about the selected call, its original proposal and its history."""

from __future__ import annotations

import html
from dataclasses import replace
from typing import Any

from PySide6.QtWidgets import QTextBrowser, QWidget

from ndelab.app.inspector_queries import Inspection, gate_rows, inspect_call
from ndelab.app.review_controller import ReviewController
from ndelab.volumes.errors import NdelabError

_MEASURES = (
    ("volume_mm3", "volume", "mm³", ".4g"),
    ("equivalent_diameter_mm", "equivalent diameter", "mm", ".3f"),
    ("feret_mm", "max extent (Feret)", "mm", ".3f"),
    ("sphericity", "sphericity", "", ".2f"),
    ("surface_area_mm2", "surface area", "mm²", ".4g"),
    ("distance_to_surface_mm", "depth below surface", "mm", ".3f"),
    ("voxel_count", "voxels", "", "d"),
)


def _fmt(value: Any, spec: str) -> str:
    if value is None:
        return "–"
    try:
        return format(value, spec)
    except (TypeError, ValueError):
        return str(value)


def call_html(
    call: dict[str, Any],
    events: list[dict[str, Any]],
    near: dict[str, Any] | None,
    unsaved: list[dict[str, Any]] | None = None,
    gate: list[tuple[str, str]] | None = None,
) -> str:
    src = call["source"]
    source = " ".join(v for v in (src["kind"], src["name"], src["version"]) if v)
    rows = [
        ("call", call["id"]),
        ("status", call["status"]),
        ("class", call["class"]),
        ("score", _fmt(call["score"], ".3f")),
        ("source", source),
        ("centroid z, y, x", ", ".join(f"{c:.1f}" for c in call["centroid_zyx"])),
    ]
    for key, label, unit, spec in _MEASURES:
        rows.append((label, f"{_fmt(call.get(key), spec)} {unit}".strip()))
    if near is not None:
        rows.append(("nearest limit", f"{near['ratio']:.2f} × — {near['title']}"))
    if call.get("reason"):
        rows.append(("reason", call["reason"]))
    proposal = call.get("proposal") or {}
    if proposal and (proposal.get("class") != call["class"] or call["status"] == "corrected"):
        rows.append(
            (
                "model proposed",
                f"{proposal.get('class')} (score {_fmt(proposal.get('score'), '.3f')})",
            )
        )
    table = _table(rows) + _gate_table(gate or [])
    history = "".join(
        f"<li>{html.escape(str(e['at'])[:19])} <b>{html.escape(e['action'])}</b> by "
        f"{html.escape(str(e['user']))}"
        + (f" — {html.escape(str(e['reason']))}" if e.get("reason") else "")
        + "</li>"
        for e in events
    )
    history += "".join(
        f"<li style='color:#aaa'><i>saving…</i> <b>{html.escape(d['action'])}</b> by "
        f"{html.escape(str(d['user']))}"
        + (f" — {html.escape(str(d['reason']))}" if d.get("reason") else "")
        + "</li>"
        for d in unsaved or ()
    )
    return f"<table>{table}</table><p style='color:#999'>History</p><ul>{history}</ul>"


def _table(rows: list[tuple[str, Any]]) -> str:
    return "".join(
        f"<tr><td style='color:#999;padding-right:8px'>{html.escape(k)}</td>"
        f"<td>{html.escape(str(v))}</td></tr>"
        for k, v in rows
    )


def _gate_table(rows: list[tuple[str, str]]) -> str:
    """The gate's rows: red when not interpretable or unmeasured, amber for an override."""
    out = []
    for k, v in rows:
        color = "#5cc25c" if v.startswith("acceptable") else "#e07070"
        if k == "IQ override":
            color = "#e8a33d"
        out.append(
            f"<tr><td style='color:#999;padding-right:8px'>{html.escape(k)}</td>"
            f"<td style='color:{color}'>{html.escape(v)}</td></tr>"
        )
    return "".join(out)


def gate_html(rows: list[tuple[str, str]]) -> str:
    return f"<table>{_gate_table(rows)}</table>" if rows else ""


class InspectorPanel(QTextBrowser):
    """Shows the selected call, read once per selection (the controller re-selects a call
    whose saved state turned out different); new criteria only redraw it."""

    def __init__(self, controller: ReviewController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.shown: Inspection | None = None
        self.setStyleSheet("QTextBrowser { background: #161616; color: #ddd; border: none; }")
        controller.selectionChanged.connect(self.show_call)
        controller.nearnessChanged.connect(self._nearness_changed)

    def show_call(self, row: dict[str, Any] | None) -> None:
        session = self.controller.session
        self.shown = None
        if row is None or session is None:
            gate = "" if session is None else gate_html(gate_rows(session.iq_gate))
            self.setHtml(
                gate + "<p style='color:#888'>Select a call (N / P, or click the queue).</p>"
            )
            return
        try:
            self.shown = inspect_call(session, row["id"])
        except NdelabError as exc:
            self.setHtml(f"<p style='color:#e07070'>{html.escape(str(exc))}</p>")
            return
        self._draw(self.shown)

    def _draw(self, data: Inspection) -> None:
        self.setHtml(call_html(data.call, data.events, data.near, data.unsaved, data.gate))

    def _nearness_changed(self) -> None:
        session = self.controller.session
        if self.shown is not None and session is not None:
            self.shown = replace(self.shown, near=session.nearness.get(self.shown.call["id"]))
            self._draw(self.shown)
