"""The DRIFT badge's figures: the open scan's input drift against the serving model's training
reference.

The model that would pre-label the scan (``app.model_serving.serving_model``: the champion of
the review database, else the registry's default of the scan's dimensionality) names the
reference (``drift_reference.json`` beside its model.json). The scan's features
(``volumes.features.scan_features``, the ones ``ndelab drift`` stores and reads) are judged by
``inference.drift.scan_input_drift`` with the levels of the alert file
(``resources/drift/alerts.yaml``, its ``scan`` section; the ``ignore`` list too). A radiograph
served by a model without a reference (the classical detector: no 2D default is shipped) is
judged against a registered 2D model's reference, and the tooltip says so. A CT scan whose
serving model has no reference (a user version registered without one) and a radiograph with no
2D reference anywhere are said plainly: level ``no reference``.

Qt-free: the window runs ``scan_drift`` in a background job when a scan opens and shows
``badge_text`` and ``tooltip_lines``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ndelab.app.model_serving import serving_model
from ndelab.inference.drift import DriftReference, load_alerts, scan_input_drift
from ndelab.volumes.features import scan_features
from ndelab.volumes.progress import Cancel, Progress, check, report
from ndelab.volumes.volume import Volume

if TYPE_CHECKING:
    from ndelab.annotation.store import Store
    from ndelab.inference.registry import Registry

NO_REFERENCE = "no reference"


def _no_reference(model: str | None, why: str) -> dict[str, Any]:
    return {"level": NO_REFERENCE, "model": model, "why": why, "features": {}}


def scan_drift(
    volume: Volume,
    store: Store | None = None,
    *,
    registry: Registry | None = None,
    alerts_path: Path | None = None,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> dict[str, Any]:
    """The scan's drift: {"level": ok | warning | alert | insufficient | no reference,
    "model", "origin" (champion or default), "score", "drives", "features", "alerts"}."""
    if registry is None:
        from ndelab.inference.registry import Registry  # torch: only when asked for

        registry = Registry()
    dims = 2 if volume.is_2d else 3
    serving = serving_model(store, dims, registry)
    spec = registry.get(serving.name, serving.version) if serving.version is not None else None
    origin = serving.origin
    who = serving.key if spec is not None else "the classical detector"
    if spec is None or not spec.drift_reference.is_file():
        # A radiograph served by the classical detector (no shipped 2D default) or by a
        # version without a reference: the 2D recipe's reference still says whether it looks
        # like what the shipped 2D model was trained on; the tooltip says whose it is.
        others = [s for s in registry.specs() if s.dims == 2 and s.drift_reference.is_file()]
        if dims != 2 or not others:
            why = "has no training data" if spec is None else "has no drift reference"
            return _no_reference(serving.key, f"{who} serves and {why}")
        spec = others[-1]
        origin = f"the 2D training reference; {who} serves"
    reference = DriftReference.read(spec.drift_reference)
    if reference.dims != dims:
        return _no_reference(spec.key, f"{spec.key}'s reference is of {reference.dims}D scans")
    alerts = load_alerts(alerts_path)
    check(cancel, "the drift check")
    report(progress, 0.1)
    features = scan_features(volume)
    report(progress, 0.9)
    result = scan_input_drift(reference, features, alerts)
    report(progress, 1.0)
    return {
        "level": result["verdict"],
        "model": spec.key,
        "origin": origin,
        "score": result["score"],
        "drives": result["drives"],
        "features": result["features"],
        "levels": {"warning": alerts.scan_outside.warning, "alert": alerts.scan_outside.alert},
    }


def badge_text(drift: Mapping[str, Any]) -> str:
    """``DRIFT: OK`` / ``DRIFT: WARNING`` / ``DRIFT: ALERT``; lower case where nothing was
    judged (``drift: no reference``, ``drift: insufficient``)."""
    level = str(drift["level"])
    if level in ("ok", "warning", "alert"):
        return f"DRIFT: {level.upper()}"
    return f"drift: {level}"


def _num(v: Any) -> str:
    return "–" if v is None else f"{v:.4g}"


def tooltip_lines(drift: Mapping[str, Any]) -> list[str]:
    """The figures behind the badge: the model and reference, the feature that drives it, and
    per feature its value against the reference's range, outside, KS D and PSI excess."""
    if drift["level"] == NO_REFERENCE:
        return [f"No input drift check: {drift['why']}."]
    lv = drift["levels"]
    lines = [
        f"Input drift of this scan against {drift['model']} ({drift['origin']})",
        f"outside the training range, in 10-90 % spans: warning at {lv['warning']:g}, "
        f"alert at {lv['alert']:g}",
    ]
    drives = drift.get("drives")
    if drives:
        row = drift["features"][drives]
        lines.append(f"driven by {drives}: {row['outside']:.2f} spans outside ({row['verdict']})")
    else:
        lines.append("every feature lies inside the training range")
    for name, row in drift["features"].items():
        if "outside" not in row:
            lines.append(f"{name}: {row['verdict']}")
            continue
        lines.append(
            f"{name}: {_num(row['value'])} (training {_num(row['reference_min'])}–"
            f"{_num(row['reference_max'])}), outside {row['outside']:.2f}, "
            f"KS D {row['ks']:.2f}, PSI excess {row['psi_excess']:+.2f}  {row['verdict']}"
        )
    return lines
