"""The drift report (``ndelab drift``): do recent scans and the models' calls still look like
what the models were trained and calibrated on?

annotation and inference do not know each other, so this module composes them: the store's
reads (``annotation.store.model_outcomes``), the features of scans recorded before features
were stored (``volumes.features``, measured from the scan's file when it is still readable),
each model's reference and calibration (``inference.registry``), and the figures
(``inference.drift``).

Input drift is judged per model (the one asked for, else every model on this machine with a
drift reference) on the last ``window`` scans of its kind (CT volumes for a 3D
model, radiographs for a 2D one): the store does not record which model looked at a scan that
got no calls. Output drift is per model version found in the store, in windows of ``window``
scans. The overall verdict is the worst of the input verdicts and each version's latest
window; ``insufficient`` when nothing had enough data to judge.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ndelab.annotation.store import Store
from ndelab.annotation.store.model_outcomes import model_calls, outcomes_by_version, scan_inputs
from ndelab.inference.drift import (
    INSUFFICIENT,
    Alerts,
    DriftError,
    DriftReference,
    calibration_scores,
    default_alerts_path,
    input_drift,
    load_alerts,
    output_drift,
    worst,
)
from ndelab.inference.registry import BASELINE_NAME, ModelError, ModelSpec, Registry
from ndelab.volumes.errors import NdelabError, UsageError
from ndelab.volumes.features import FEATURES_VERSION, scan_features
from ndelab.volumes.io import open_volume
from ndelab.volumes.progress import Cancel, Progress, check, report

DEFAULT_WINDOW = 30


def parse_model(text: str) -> tuple[str, str | None]:
    """``NAME`` or ``NAME@VERSION``."""
    name, _, version = text.strip().partition("@")
    if not name or (text.count("@") and not version):
        raise UsageError(f"--model takes NAME or NAME@VERSION, not {text!r}")
    return name, version or None


def _reference_models(registry: Registry, model: str | None) -> list[ModelSpec]:
    """The models whose input drift is judged: the named one, or every one with a reference."""
    if model is not None:
        name, version = parse_model(model)
        if name == BASELINE_NAME:
            return []  # the classical baseline has no training distribution
        spec = registry.get(name, version)
        if not spec.drift_reference.is_file():
            raise DriftError(
                f"model {spec.key} has no drift reference: {spec.drift_reference} does not exist"
            )
        return [spec]
    return [s for s in registry.specs() if s.drift_reference.is_file()]


def _scan_dims(scan: Mapping[str, Any]) -> int:
    shape = scan.get("shape") or []
    return 2 if len(shape) == 3 and int(shape[0]) == 1 else 3


def _measure(scan: Mapping[str, Any]) -> tuple[dict[str, Any] | None, str]:
    """(features, how): the stored ones when current ("stored"), else measured from the scan's
    file ("from_file"); (None, "unmeasured") when the file is gone or unreadable."""
    stored = scan.get("features")
    if isinstance(stored, Mapping) and stored.get("version") == FEATURES_VERSION:
        return dict(stored), "stored"
    path = scan.get("path")
    if not path or not Path(str(path)).is_file():
        return None, "unmeasured"
    try:
        return scan_features(open_volume(str(path))), "from_file"
    except (NdelabError, OSError, ValueError):
        return None, "unmeasured"


def window_features(
    scans: Sequence[Mapping[str, Any]],
    dims: int,
    window: int,
    *,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """The features of the last ``window`` scans of a kind, and how they were had:
    {"stored", "from_file", "unmeasured"} counts. Features measured from a file are not
    written back: a scan row never changes after it is recorded (and synced whole)."""
    recent = [s for s in scans if _scan_dims(s) == dims][-window:]
    records: list[dict[str, Any]] = []
    counts = {"stored": 0, "from_file": 0, "unmeasured": 0}
    for i, scan in enumerate(recent):
        check(cancel, "the drift report")
        features, how = _measure(scan)
        counts[how] += 1
        if features is not None:
            records.append(features)
        report(progress, (i + 1) / max(len(recent), 1))
    return records, counts


def _reference_scores(registry: Registry, calls: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Calibration scores by name@version, for the versions this machine knows."""
    out: dict[str, list[float]] = {}
    for key in dict.fromkeys(f"{c['source_name']}@{c['source_version']}" for c in calls):
        name, _, version = key.partition("@")
        try:
            spec = registry.get(name, version)
        except ModelError:
            continue
        if spec.calibration.get("table_of", key) != key:
            continue  # the table is another version's calls: judge against the first window
        scores = calibration_scores(spec.calibration)
        if scores:
            out[key] = scores
    return out


def _span(progress: Progress | None, lo: float, hi: float) -> Progress | None:
    if progress is None:
        return None
    return lambda f: report(progress, lo + (hi - lo) * f)


def drift_report(
    store: Store,
    *,
    model: str | None = None,
    window: int = DEFAULT_WINDOW,
    alerts_path: Path | None = None,
    registry: Registry | None = None,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> dict[str, Any]:
    """Input and output drift with the overall verdict (see the module docstring)."""
    if window < 1:
        raise UsageError(f"--window must be at least 1 scan, not {window}")
    alerts_file = default_alerts_path() if alerts_path is None else Path(alerts_path)
    alerts: Alerts = load_alerts(alerts_file)
    registry = Registry() if registry is None else registry
    specs = _reference_models(registry, model)
    scans = scan_inputs(store)
    inputs = []
    for i, spec in enumerate(specs):
        reference = DriftReference.read(spec.drift_reference)
        records, counts = window_features(
            scans,
            reference.dims,
            window,
            progress=_span(progress, 0.9 * i / len(specs), 0.9 * (i + 1) / len(specs)),
            cancel=cancel,
        )
        result = input_drift(reference, records, alerts)
        inputs.append({"reference": str(spec.drift_reference), **counts, **result})
    name, version = parse_model(model) if model is not None else (None, None)
    calls = model_calls(store, name=name, version=version)
    outputs = output_drift(
        calls, window=window, reference_scores=_reference_scores(registry, calls), alerts=alerts
    )
    report(progress, 1.0)
    verdicts = [r["verdict"] for r in inputs] + [o["verdict"] for o in outputs]
    return {
        "database": store.name,
        "window": window,
        "alerts": str(alerts_file),
        "input": inputs,
        "output": {
            "versions": outcomes_by_version(store, name=name, version=version),
            "windows": outputs,
        },
        "verdict": worst(verdicts) if verdicts else INSUFFICIENT,
    }


def summary_lines(report_: Mapping[str, Any]) -> list[str]:
    """The report as a few lines of text (``ndelab drift`` without --json)."""
    lines = [f"drift over the last {report_['window']} scans: {report_['verdict']}"]
    for inp in report_["input"]:
        lines.append(
            f"input  {inp['model']}: {inp['verdict']} (score {inp['score']}, "
            f"{inp['stored'] + inp['from_file']} scans measured, "
            f"{inp['unmeasured']} not measurable)"
        )
        for feature, row in inp["features"].items():
            if "ks" in row:
                lines.append(
                    f"  {feature:<11} KS {row['ks']:.3f} p {row['p_value']:.3g} "
                    f"PSI {row['psi']:.3f} (no-drift {row['psi_expected']:.3f})  {row['verdict']}"
                )
            else:
                lines.append(f"  {feature:<11} {row['verdict']} ({row['n']} values)")
    for out in report_["output"]["windows"]:
        lines.append(f"output {out['model']}@{out['version']}: {out['verdict']}")
        for w in out["windows"]:
            lines.append(
                f"  window {w['window']}: {w['scans']} scans, {w['calls_per_scan']} calls/scan, "
                f"accept rate {w['accept_rate']}, score KS p {w.get('score_p_value')}  "
                f"{w['verdict']}"
            )
    return lines
