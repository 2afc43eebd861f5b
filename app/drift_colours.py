"""One colour per drift verdict, shared by the scan's DRIFT badge (widgets/info_panel) and the
model audit's Drift tab (widgets/drift_panel): green ok, amber warning, red alert, grey when
nothing could be judged. Plain hex strings, so this stays Qt-free."""

from __future__ import annotations

GREY = "#555555"
VERDICT_COLOURS = {
    "ok": "#2e7d32",
    "warning": "#b26a00",
    "alert": "#c62828",
    "insufficient": GREY,
}
TEXT_COLOUR = "#ffffff"  # white reads on each of the above


def verdict_colour(verdict: str) -> str:
    """The background colour of a verdict; grey for anything not judged (ignored, unmeasured,
    no reference)."""
    return VERDICT_COLOURS.get(verdict, GREY)
