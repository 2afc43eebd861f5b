"""The DRIFT badge's figures: a held-out CT phantom with its noise shifted x1, x1.4, x2 against
the shipped 3D model's reference rises ok -> warning -> alert, driven by noise; without a shift
it stays ok. The champion names the reference; a champion without one, and levels from the
alert file, are honoured."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ndelab.annotation.store import Store
from ndelab.app.model_serving import set_model_alias
from ndelab.app.scan_drift import NO_REFERENCE, badge_text, scan_drift, tooltip_lines
from ndelab.inference.drift import DriftError, default_alerts_path, load_alerts
from ndelab.inference.evaluation import eval_ct_params
from ndelab.inference.registry import Registry
from ndelab.volumes.phantom import make_ct_phantom, make_radiograph
from ndelab.volumes.volume import Volume

# Held-out settings (eval_ct_params): a cylinder at noise 1.64 of the training range's
# 0.5-1.8, and one at 1.32 (x1.4 stays inside the training range: ok).
NOISY_SEED, MID_SEED = 4, 5
STEPS = (1.0, 1.4, 2.0)


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """The shipped models, user models in a temp dir."""
    root = tmp_path_factory.mktemp("data")
    mp = pytest.MonkeyPatch()
    mp.setenv("NDELAB_DATA_DIR", str(root))
    yield Registry()
    mp.undo()


def _noisier(seed: int, factor: float) -> Volume:
    params = eval_ct_params(seed, 96)
    return make_ct_phantom(seed=seed, **(params | {"noise": params["noise"] * factor})).volume


def _series(seed: int, registry: Registry) -> list[dict[str, Any]]:
    return [scan_drift(_noisier(seed, f), None, registry=registry) for f in STEPS]


def test_the_level_rises_with_the_noise_and_noise_drives_it(registry: Registry) -> None:
    rows = _series(NOISY_SEED, registry)
    assert [r["level"] for r in rows] == ["ok", "warning", "alert"], rows
    assert [badge_text(r) for r in rows] == ["DRIFT: OK", "DRIFT: WARNING", "DRIFT: ALERT"]
    outside = [r["features"]["noise"]["outside"] for r in rows]
    assert outside[0] == 0.0 and outside[0] < outside[1] < outside[2], outside
    assert [r["drives"] for r in rows[1:]] == ["noise", "noise"]
    assert rows[0]["model"] == "ndelab-unet3d@1.0.2" and rows[0]["origin"] == "default"
    # One value outside the reference's range: its KS D is 1 and its PSI excess positive.
    noise = rows[2]["features"]["noise"]
    assert noise["ks"] == 1.0 and noise["psi_excess"] > 0
    assert noise["value"] > noise["reference_max"] and noise["rank"] == 1.0
    text = "\n".join(tooltip_lines(rows[2]))
    assert "driven by noise" in text and "KS D" in text and "PSI excess" in text


def test_without_a_shift_the_scan_stays_ok(registry: Registry) -> None:
    rows = _series(MID_SEED, registry)
    warning = load_alerts().scan_outside.warning
    assert rows[0]["level"] == "ok" and rows[0]["score"] < warning, rows[0]
    assert rows[1]["level"] == "ok"  # 1.32 x 1.4 is still inside the training range
    assert rows[2]["level"] == "alert" and rows[2]["drives"] == "noise"
    assert "every feature lies inside the training range" in tooltip_lines(rows[0])


def test_the_alert_file_sets_the_levels(registry: Registry, tmp_path: Path) -> None:
    text = default_alerts_path().read_text(encoding="utf-8")
    lax = tmp_path / "lax.yaml"
    lax.write_text(text.replace("{warning: 0.3, alert: 0.6}", "{warning: 5, alert: 9}"))
    volume = _noisier(NOISY_SEED, 2.0)
    drift = scan_drift(volume, None, registry=registry, alerts_path=lax)
    assert drift["level"] == "ok" and drift["levels"] == {"warning": 5.0, "alert": 9.0}
    ignoring = tmp_path / "ignore.yaml"
    ignoring.write_text(text.replace("ignore: []", "ignore: [noise, p01, p05]"))
    drift = scan_drift(volume, None, registry=registry, alerts_path=ignoring)
    assert drift["features"]["noise"]["verdict"] == "ignored" and drift["drives"] != "noise"
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("{warning: 0.3, alert: 0.6}", "{warning: 0.6, alert: 0.3}"))
    with pytest.raises(DriftError, match="scan outside"):
        load_alerts(bad)


def test_a_champion_without_a_reference_says_so(registry: Registry, tmp_path: Path) -> None:
    base = registry.default(3)
    assert base is not None
    registry.register(base.name, "1.2.0", base.weights, {"note": "no reference"}, base=base)
    with Store(tmp_path / "review.db") as store:
        set_model_alias(
            store, "champion", f"{base.name}@1.2.0", user="ana", reason="t", registry=registry
        )
        drift = scan_drift(_noisier(NOISY_SEED, 2.0), store, registry=registry)
    assert drift["level"] == NO_REFERENCE and drift["model"] == f"{base.name}@1.2.0"
    assert badge_text(drift) == "drift: no reference"
    assert tooltip_lines(drift) == [
        f"No input drift check: {base.name}@1.2.0 serves and has no drift reference."
    ]


def test_a_radiograph_uses_the_2d_reference(registry: Registry) -> None:
    drift = scan_drift(make_radiograph(256, seed=10001).volume, None, registry=registry)
    assert drift["model"] == "ndelab-unet2d@1.0.0" and drift["level"] == "ok"
    assert drift["origin"] == "the 2D training reference; the classical detector serves"
    assert drift["features"]["noise"]["outside"] == 0.0
