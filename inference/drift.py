"""Drift figures: do the scans (input) and the calls (output) still look like what the model
was trained and calibrated on?

Input drift compares a window of recent scans' features (``volumes.features``) with the
model's training reference (``drift_reference.json`` beside its model.json, made from the
same phantom recipe the model was trained on). Per feature:

- the two-sample Kolmogorov-Smirnov test (``scipy.stats.ks_2samp``): D, the largest gap
  between the two empirical CDFs (0 = the same, 1 = disjoint), and its p-value (how likely a
  gap that large is when nothing changed);
- the population stability index over B bins cut at the reference's quantiles (and one
  bin each below and above the reference's range):
  ``PSI = sum_i (a_i - e_i) * ln(a_i / e_i)``, with e_i the reference's and a_i the window's
  share in bin i (an empty bin counts as half a scan, so the index stays finite). The usual
  reading: below 0.1 stable, 0.1-0.25 a moderate shift worth a look, above 0.25 a major
  shift. That reading assumes large samples: with n scans against m reference samples, PSI
  averages about (B - 1) * (1/n + 1/m) even with no drift (``psi_expected``), so the verdict
  compares ``psi_excess = PSI - psi_expected`` with the levels.

A feature's verdict is ``alert`` when its KS p-value is below the alert level AND its excess
PSI is above the alert level (significant and large), else ``warning`` at the warning levels,
else ``ok``. The overall input score is the largest excess PSI among the features whose KS
p-value is below the warning level (0 when none is): it reaches the PSI warning level exactly
when some feature warns. The overall verdict is the worst feature verdict. Levels live in
``resources/drift/alerts.yaml``.

One scan (the badge on the open scan, ``scan_input_drift``) cannot pass a KS or PSI test: with
one value against a reference of m scans, KS's D is 1 and PSI's excess positive exactly when the
value lies outside the reference's range, and the smallest KS p-value is 2 / (m + 1) (0.03 for
64). Its figure is how far outside the reference's range the value lies, in units of the
reference's 10-90 % span (``outside``; 0 inside the range), judged by the ``scan`` levels;
the one-scan KS and PSI are reported beside it.

Output drift reads what the engineers did with a model version's calls, in windows of scans
in the order they were recorded: the score distribution (against the model's calibration
calls when its model.json has their table: a chi-square test of the window's counts in the
table's 0.1-wide score bins, since the table keeps only each bin's count and mean; else KS
against the version's first window), calls per
scan, and the accept rate (accepted + corrected over decided calls) with the rate the
calibrated scores predict (their mean).

No torch, no Qt: plain numbers in, plain dicts out.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import yaml
from scipy import stats

from ndelab.volumes.errors import UsageError
from ndelab.volumes.features import FEATURES_VERSION, feature_names

OK, WARNING, ALERT, INSUFFICIENT = "ok", "warning", "alert", "insufficient"
_RANK = {INSUFFICIENT: 0, OK: 1, WARNING: 2, ALERT: 3}
DECIDED = ("accepted", "corrected", "rejected")


class DriftError(UsageError):
    """A drift reference or alert file is missing or malformed."""


def worst(verdicts: Sequence[str]) -> str:
    """The most severe verdict; ``insufficient`` only when nothing could be judged."""
    return max(verdicts, key=lambda v: _RANK[v], default=INSUFFICIENT)


# --- alert levels ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Levels:
    warning: float
    alert: float


@dataclass(frozen=True)
class Alerts:
    """What ``resources/drift/alerts.yaml`` says (see that file for what to tune)."""

    min_scans: int = 10
    psi_bins: int = 10
    input_p: Levels = Levels(0.01, 0.001)
    input_psi: Levels = Levels(0.1, 0.25)
    ignore: tuple[str, ...] = ()
    min_calls: int = 20
    output_p: Levels = Levels(0.01, 0.001)
    accept_rate_drop: Levels = Levels(0.10, 0.20)
    scan_outside: Levels = Levels(0.3, 0.6)


def default_alerts_path() -> Path:
    import ndelab.resources

    return Path(ndelab.resources.__file__).resolve().parent / "drift" / "alerts.yaml"


def _levels(raw: Any, where: str, *, lower: bool) -> Levels:
    """Warning and alert levels; ``lower``: lower values are worse (p-values)."""
    if not isinstance(raw, Mapping) or not {"warning", "alert"} <= set(raw):
        raise DriftError(f"{where} needs a warning and an alert level")
    try:
        lv = Levels(float(raw["warning"]), float(raw["alert"]))
    except (TypeError, ValueError):
        raise DriftError(f"{where} levels must be numbers") from None
    ordered = lv.alert <= lv.warning if lower else lv.alert >= lv.warning
    if not ordered or lv.warning < 0 or lv.alert < 0:
        worse = "below" if lower else "above"
        raise DriftError(f"{where}: the alert level must be at or {worse} the warning level")
    return lv


def load_alerts(path: Path | None = None) -> Alerts:
    """The alert levels from a YAML file (the shipped one by default)."""
    path = default_alerts_path() if path is None else Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DriftError(f"drift alert file {path} cannot be read: {exc.strerror}") from None
    except yaml.YAMLError:
        raise DriftError(f"drift alert file {path} is not valid YAML") from None
    if not isinstance(raw, Mapping):
        raise DriftError(f"drift alert file {path} must hold a mapping")
    inp, out = raw.get("input") or {}, raw.get("output") or {}
    scan = raw.get("scan") or {}
    where = f"drift alert file {path}:"
    try:
        alerts = Alerts(
            min_scans=int(inp.get("min_scans", 10)),
            psi_bins=int(inp.get("psi_bins", 10)),
            input_p=_levels(inp.get("ks_p_value"), f"{where} input ks_p_value", lower=True),
            input_psi=_levels(inp.get("psi"), f"{where} input psi", lower=False),
            ignore=tuple(str(v) for v in inp.get("ignore") or ()),
            min_calls=int(out.get("min_calls", 20)),
            output_p=_levels(out.get("ks_p_value"), f"{where} output ks_p_value", lower=True),
            accept_rate_drop=_levels(
                out.get("accept_rate_drop"), f"{where} output accept_rate_drop", lower=False
            ),
            scan_outside=_levels(
                scan.get("outside", {"warning": 0.3, "alert": 0.6}),
                f"{where} scan outside",
                lower=False,
            ),
        )
    except (AttributeError, TypeError, ValueError):
        raise DriftError(f"{where} a value has the wrong type") from None
    if alerts.psi_bins < 2 or alerts.min_scans < 2 or alerts.min_calls < 2:
        raise DriftError(f"{where} psi_bins, min_scans and min_calls must be at least 2")
    return alerts


# --- the reference ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DriftReference:
    """Per-feature samples of the scans a model was trained on (sorted, measured ones only)."""

    model: str
    dims: int
    samples: dict[str, list[float]]
    recipe: dict[str, Any] = field(default_factory=dict)
    features_version: int = FEATURES_VERSION
    unmeasured: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "dims": self.dims,
            "features_version": self.features_version,
            "recipe": self.recipe,
            "unmeasured": self.unmeasured,
            "samples": self.samples,
        }

    def write(self, path: Path) -> Path:
        """Compact JSON: one line per feature, so the file stays a few KB and diffs well."""
        body = self.to_json()
        samples = body.pop("samples")
        text = json.dumps(body, indent=2)[:-2] + ',\n  "samples": {\n'
        text += ",\n".join(f"    {json.dumps(k)}: {json.dumps(v)}" for k, v in samples.items())
        text += "\n  }\n}\n"
        Path(path).write_text(text, encoding="utf-8")
        return Path(path)

    @classmethod
    def read(cls, path: Path) -> DriftReference:
        try:
            raw = json.loads(Path(path).read_text(encoding="utf-8"))
            return cls(
                model=str(raw["model"]),
                dims=int(raw["dims"]),
                samples={str(k): [float(v) for v in vs] for k, vs in raw["samples"].items()},
                recipe=dict(raw.get("recipe", {})),
                features_version=int(raw.get("features_version", 1)),
                unmeasured={str(k): int(v) for k, v in raw.get("unmeasured", {}).items()},
            )
        except OSError as exc:
            raise DriftError(f"drift reference {path} cannot be read: {exc.strerror}") from None
        except (ValueError, KeyError, TypeError, AttributeError):
            raise DriftError(f"drift reference {path} is not a drift reference file") from None


def reference_from_features(
    model: str, dims: int, records: Sequence[Mapping[str, Any]], recipe: Mapping[str, Any]
) -> DriftReference:
    """A reference from the feature records of the training-recipe scans."""
    samples: dict[str, list[float]] = {}
    unmeasured: dict[str, int] = {}
    for name in feature_names(dims):
        values = _values(records, name)
        samples[name] = sorted(float(f"{v:.4g}") for v in values)
        unmeasured[name] = len(records) - len(values)
    return DriftReference(model, dims, samples, dict(recipe), FEATURES_VERSION, unmeasured)


def _values(records: Sequence[Mapping[str, Any]], name: str) -> list[float]:
    out = []
    for r in records:
        v = r.get(name)
        if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v):
            out.append(float(v))
    return out


# --- the two statistics ----------------------------------------------------------------------


def psi(reference: npt.ArrayLike, current: npt.ArrayLike, bins: int = 10) -> tuple[float, float]:
    """(PSI, its expected value with no drift) over ``bins`` reference-quantile bins, plus one
    below and one above everything the reference holds (a new spacing, a brighter scan).

    Repeated quantiles (a reference with few distinct values, e.g. one spacing) merge bins;
    a bin empty on both sides is left out.
    """
    ref = np.asarray(reference, dtype=np.float64)
    cur = np.asarray(current, dtype=np.float64)
    inner = np.unique(np.quantile(ref, np.arange(1, bins) / bins))
    lo, hi = float(ref.min()), float(ref.max())

    def counts(x: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
        idx = np.searchsorted(inner, x, side="right") + 1
        idx[x < lo] = 0
        idx[x > hi] = inner.size + 2
        return np.bincount(idx, minlength=inner.size + 3)

    e, a = counts(ref), counts(cur)
    used = (e + a) > 0
    e, a = e[used], a[used]
    e_share = np.maximum(e, 0.5) / max(ref.size, 1)  # an empty bin counts as half a scan
    a_share = np.maximum(a, 0.5) / max(cur.size, 1)
    value = float(np.sum((a_share - e_share) * np.log(a_share / e_share)))
    expected = (e.size - 1) * (1.0 / max(cur.size, 1) + 1.0 / max(ref.size, 1))
    return value, float(expected)


def ks(reference: npt.ArrayLike, current: npt.ArrayLike) -> tuple[float, float]:
    """(D, p-value) of the two-sample KS test."""
    result = stats.ks_2samp(np.asarray(reference, float), np.asarray(current, float))
    return float(result.statistic), float(result.pvalue)


# --- input drift -----------------------------------------------------------------------------


def _verdict(p: float, excess: float, p_levels: Levels, psi_levels: Levels) -> str:
    if p < p_levels.alert and excess >= psi_levels.alert:
        return ALERT
    if p < p_levels.warning and excess >= psi_levels.warning:
        return WARNING
    return OK


def input_drift(
    reference: DriftReference,
    records: Sequence[Mapping[str, Any]],
    alerts: Alerts | None = None,
) -> dict[str, Any]:
    """Per-feature KS, PSI and verdict of a window of scans' features against the reference;
    the overall score (largest excess PSI) and verdict (worst feature)."""
    alerts = alerts or Alerts()
    features: dict[str, Any] = {}
    for name, ref in reference.samples.items():
        values = _values(records, name)
        row: dict[str, Any] = {"n": len(values), "reference_n": len(ref)}
        if name in alerts.ignore:
            row["verdict"] = "ignored"
        elif len(values) < alerts.min_scans or len(ref) < alerts.min_scans:
            row["verdict"] = INSUFFICIENT
        else:
            d, p = ks(ref, values)
            value, expected = psi(ref, values, alerts.psi_bins)
            excess = value - expected
            row |= {
                "ks": round(d, 4),
                "p_value": float(f"{p:.4g}"),
                "psi": round(value, 4),
                "psi_expected": round(expected, 4),
                "psi_excess": round(excess, 4),
                "reference_median": float(np.median(ref)),
                "median": float(f"{np.median(values):.5g}"),
                "verdict": _verdict(p, excess, alerts.input_p, alerts.input_psi),
            }
        features[name] = row
    judged = [r for r in features.values() if r["verdict"] in (OK, WARNING, ALERT)]
    significant = [r["psi_excess"] for r in judged if r["p_value"] < alerts.input_p.warning]
    score = max([0.0, *significant]) if judged else None
    return {
        "model": reference.model,
        "scans": len(records),
        "score": score,
        "verdict": worst([r["verdict"] for r in judged]),
        "features": features,
    }


# --- one scan --------------------------------------------------------------------------------


def outside_range(reference: npt.ArrayLike, value: float) -> float:
    """How far ``value`` lies outside the reference's range, in units of its 10-90 % span
    (at least 1 % of its median's size, so one repeated value, e.g. one spacing, still has a
    scale); 0 inside the range."""
    ref = np.asarray(reference, dtype=np.float64)
    q10, q90 = np.quantile(ref, [0.1, 0.9])
    unit = max(float(q90 - q10), 0.01 * abs(float(np.median(ref))), 1e-12)
    return max(0.0, (value - float(ref.max())) / unit, (float(ref.min()) - value) / unit)


def scan_input_drift(
    reference: DriftReference, features: Mapping[str, Any], alerts: Alerts | None = None
) -> dict[str, Any]:
    """One scan's features against the reference (see the module docstring): per feature its
    value, the reference's range and the share of reference scans below it, ``outside`` with
    its verdict, and the one-scan KS and PSI; overall the largest ``outside`` (``score``), the
    feature that has it (``drives``, None when every feature is inside) and the worst verdict."""
    alerts = alerts or Alerts()
    rows: dict[str, Any] = {}
    for name, ref in reference.samples.items():
        measured = _values([features], name)
        value = measured[0] if measured else None
        row: dict[str, Any] = {"value": value, "reference_n": len(ref)}
        if name in alerts.ignore:
            row["verdict"] = "ignored"
        elif value is None:
            row["verdict"] = "unmeasured"
        elif len(ref) < alerts.min_scans:
            row["verdict"] = INSUFFICIENT
        else:
            arr = np.asarray(ref, dtype=np.float64)
            out = outside_range(arr, value)
            d, p = ks(arr, [value])
            psi_value, psi_no_drift = psi(arr, [value], alerts.psi_bins)
            lv = alerts.scan_outside
            row |= {
                "reference_min": float(arr.min()),
                "reference_median": float(np.median(arr)),
                "reference_max": float(arr.max()),
                "rank": round(float(np.mean(arr < value) + 0.5 * np.mean(arr == value)), 4),
                "outside": round(out, 4),
                "ks": round(d, 4),
                "p_value": float(f"{p:.4g}"),
                "psi": round(psi_value, 4),
                "psi_excess": round(psi_value - psi_no_drift, 4),
                "verdict": ALERT if out >= lv.alert else WARNING if out >= lv.warning else OK,
            }
        rows[name] = row
    judged = {k: r for k, r in rows.items() if r["verdict"] in (OK, WARNING, ALERT)}
    drives = max(judged, key=lambda k: judged[k]["outside"], default=None)
    score = judged[drives]["outside"] if drives is not None else None
    return {
        "model": reference.model,
        "score": score,
        "drives": drives if score else None,
        "verdict": worst([r["verdict"] for r in judged.values()]),
        "features": rows,
    }


# --- output drift ----------------------------------------------------------------------------


def calibration_scores(calibration: Mapping[str, Any]) -> list[float]:
    """The calibrated scores of a model's calibration calls, as far as model.json keeps them:
    each reliability bin's mean score repeated by its count (so KS resolves 0.1-wide bins)."""
    table = (calibration.get("after") or {}).get("table") or []
    out: list[float] = []
    for row in table:
        try:
            out += [float(row["score"])] * int(row["n"])
        except (KeyError, TypeError, ValueError):
            return []
    return out


SCORE_BINS = 10  # the calibration table's bins: 0.1 wide


def binned_scores_test(reference: Sequence[float], scores: Sequence[float]) -> tuple[float, float]:
    """Chi-square test of homogeneity of two score samples counted in SCORE_BINS equal bins
    over [0, 1] (bins empty in both are dropped); (statistic, p-value). KS against the
    calibration table would compare a step function of bin means with continuous scores and
    find a gap in every large window."""

    def counts(values: Sequence[float]) -> npt.NDArray[np.int64]:
        idx = np.clip((np.asarray(values, float) * SCORE_BINS).astype(int), 0, SCORE_BINS - 1)
        return np.bincount(idx, minlength=SCORE_BINS)

    table = np.vstack([counts(reference), counts(scores)])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:
        return 0.0, 1.0
    result = stats.chi2_contingency(table, correction=False)
    return float(result.statistic), float(result.pvalue)


def _score_quantiles(scores: Sequence[float]) -> dict[str, float] | None:
    if not scores:
        return None
    q = np.quantile(np.asarray(scores, float), [0.1, 0.5, 0.9])
    return {k: round(float(v), 4) for k, v in zip(("p10", "p50", "p90"), q, strict=True)}


def _window_stats(calls: Sequence[Mapping[str, Any]], scans: Sequence[str]) -> dict[str, Any]:
    scores = [float(c["score"]) for c in calls if c.get("score") is not None]
    counts = {s: sum(1 for c in calls if c["status"] == s) for s in DECIDED}
    decided = sum(counts.values())
    kept = counts["accepted"] + counts["corrected"]
    decided_scores = [
        float(c["score"]) for c in calls if c["status"] in DECIDED and c.get("score") is not None
    ]
    return {
        "scans": len(scans),
        "calls": len(calls),
        "calls_per_scan": round(len(calls) / len(scans), 3) if scans else None,
        "scores": _score_quantiles(scores),
        "decided": decided,
        **counts,
        "accept_rate": round(kept / decided, 4) if decided else None,
        "expected_accept_rate": round(float(np.mean(decided_scores)), 4)
        if decided_scores
        else None,
    }


def output_drift(
    calls: Sequence[Mapping[str, Any]],
    *,
    window: int,
    reference_scores: Mapping[str, Sequence[float]] | None = None,
    alerts: Alerts | None = None,
) -> list[dict[str, Any]]:
    """Per model version, per window of ``window`` scans (in the order they were recorded):
    score distribution and its KS against the reference, calls per scan, accept rate.

    calls: one mapping per call with source_name, source_version, scan_id, scan_created_at,
    score and status, ordered by scan_created_at. reference_scores: by ``name@version``, the
    calibration scores; a version without them is compared with its own first window.
    """
    if window < 1:
        raise DriftError(f"the drift window must be at least one scan, not {window}")
    alerts = alerts or Alerts()
    reference_scores = reference_scores or {}
    by_version: dict[str, list[Mapping[str, Any]]] = {}
    for c in calls:
        by_version.setdefault(f"{c['source_name']}@{c['source_version']}", []).append(c)
    out = []
    for key, rows in by_version.items():
        scan_order = list(dict.fromkeys(str(r["scan_id"]) for r in rows))
        groups = [scan_order[i : i + window] for i in range(0, len(scan_order), window)]
        ref = list(reference_scores.get(key) or [])
        reference = "calibration" if ref else "first window"
        baseline_rate: float | None = None
        windows = []
        for index, group in enumerate(groups):
            members = set(group)
            chunk = [r for r in rows if str(r["scan_id"]) in members]
            w = {
                "window": index,
                "from": str(chunk[0]["scan_created_at"]),
                "to": str(chunk[-1]["scan_created_at"]),
                **_window_stats(chunk, group),
            }
            scores = [float(c["score"]) for c in chunk if c.get("score") is not None]
            if index == 0:
                # The accept rate is judged against the first window's (enough decided calls).
                baseline_rate = w["accept_rate"] if w["decided"] >= alerts.min_calls else None
                if not ref:
                    ref = scores
                    w["verdict"] = "reference"
                    windows.append(w)
                    continue
            rate = w["accept_rate"] if w["decided"] >= alerts.min_calls else None
            binned = reference == "calibration"
            w |= _output_verdict(ref, scores, rate, baseline_rate, index, alerts, binned)
            windows.append(w)
        name, _, version = key.partition("@")
        out.append(
            {
                "model": name,
                "version": version,
                "score_reference": reference,
                "reference_calls": len(ref),
                "windows": windows,
                "verdict": _latest(windows),
            }
        )
    return out


def _latest(windows: Sequence[Mapping[str, Any]]) -> str:
    """A version's verdict: its latest window's (a lone reference window judges nothing)."""
    verdict = str(windows[-1]["verdict"]) if windows else INSUFFICIENT
    return INSUFFICIENT if verdict == "reference" else verdict


def _output_verdict(
    ref: Sequence[float],
    scores: Sequence[float],
    rate: float | None,
    baseline: float | None,
    index: int,
    alerts: Alerts,
    binned: bool = False,
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    verdicts = []
    if len(scores) >= alerts.min_calls and len(ref) >= alerts.min_calls:
        if binned:
            chi2, p = binned_scores_test(ref, scores)
            out |= {"score_chi2": round(chi2, 4), "score_p_value": float(f"{p:.4g}")}
        else:
            d, p = ks(ref, scores)
            out |= {"score_ks": round(d, 4), "score_p_value": float(f"{p:.4g}")}
        lv = alerts.output_p
        verdicts.append(ALERT if p < lv.alert else WARNING if p < lv.warning else OK)
    if index > 0 and rate is not None and baseline is not None:
        drop = baseline - rate
        out["accept_rate_drop"] = round(drop, 4)
        lv = alerts.accept_rate_drop
        verdicts.append(ALERT if drop >= lv.alert else WARNING if drop >= lv.warning else OK)
    out["verdict"] = worst(verdicts)
    return out
