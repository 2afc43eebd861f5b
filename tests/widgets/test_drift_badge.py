"""The DRIFT badge on the open scan: a held-out CT phantom with twice its noise shows
DRIFT: ALERT in red with the figures in its tooltip; the same phantom unshifted shows
DRIFT: OK in green."""

from __future__ import annotations

import time
from typing import Any

import pytest

from ndelab.app.drift_colours import VERDICT_COLOURS
from ndelab.inference.evaluation import eval_ct_params
from ndelab.volumes.phantom import make_ct_phantom
from ndelab.volumes.volume import Volume

pytestmark = pytest.mark.gui

SEED = 4  # a held-out cylinder at noise 1.64 (the training recipe's noise is 0.5-1.8)


def _phantom(noise_factor: float) -> Volume:
    params = eval_ct_params(SEED, 96)
    return make_ct_phantom(seed=SEED, **(params | {"noise": params["noise"] * noise_factor})).volume


def _wait_for_drift(qapp: Any, w: Any, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while w.display_pending() or w.drift is None:
        qapp.processEvents()
        if time.monotonic() > end:
            raise AssertionError(f"no drift badge: {w.info.badge.text()!r}")
        time.sleep(0.01)


def test_a_noisier_scan_shows_a_red_alert_badge_and_a_clean_one_green(
    qapp: Any, make_main_window: Any
) -> None:
    w = make_main_window(with_3d=False)
    w.show()
    w.show_volume(_phantom(2.0))
    assert w.info.badge.text() == "drift: checking…"  # measured in the background
    _wait_for_drift(qapp, w)
    badge = w.info.badge
    assert badge.isVisible() and badge.text() == "DRIFT: ALERT"
    assert VERDICT_COLOURS["alert"] in badge.styleSheet()
    tip = badge.toolTip()
    assert "ndelab-unet3d@1.0.2" in tip and "driven by noise" in tip
    assert "KS D" in tip and "PSI excess" in tip
    # The file's facts are still there, below the badge.
    assert "spacing" in w.info.toPlainText()

    w.show_volume(_phantom(1.0))
    _wait_for_drift(qapp, w)
    assert badge.text() == "DRIFT: OK" and VERDICT_COLOURS["ok"] in badge.styleSheet()
    assert "every feature lies inside the training range" in badge.toolTip()


def test_the_audit_drift_tab_colours_verdicts_as_the_badge_does(qapp: Any) -> None:
    from ndelab.widgets.drift_panel import DriftPanel

    panel = DriftPanel()
    rows = {"noise": {"n": 30, "ks": 0.67, "p_value": 2e-9, "psi": 3.8, "verdict": "alert"}}
    rows["contrast"] = {"n": 30, "ks": 0.15, "p_value": 0.6, "psi": 0.5, "verdict": "ok"}
    panel.show_report(
        {
            "window": 30,
            "alerts": "/x/alerts.yaml",
            "verdict": "alert",
            "input": [{"model": "ndelab-unet3d@1.0.1", "features": rows}],
            "output": {"windows": []},
        }
    )
    colours = {
        panel.inputs.item(i, 1).text(): panel.inputs.item(i, 7).background().color().name()
        for i in range(panel.inputs.rowCount())
    }
    assert colours == {"noise": VERDICT_COLOURS["alert"], "contrast": VERDICT_COLOURS["ok"]}
    assert VERDICT_COLOURS["alert"] in panel.title.styleSheet()
    panel.deleteLater()
