"""How good are the calls: matching to ground truth, recall by size, precision, and POD.

A call hits a defect when its mask overlaps the defect's voxels or its centroid falls inside
the defect. Recall counts defects hit; precision counts calls that hit anything. The
probability-of-detection curve follows MIL-HDBK-1823A hit/miss analysis: a logistic model of
hit on log(size) fitted by maximum likelihood, with the 95 % lower confidence bound from the
Wald (delta-method) variance of the linear predictor; a90 is where the fitted POD is 0.9 and
a90/95 where its lower bound is.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from scipy import ndimage
from scipy.special import expit

from ndelab.inference.calls import Call, PrelabelResult
from ndelab.inference.radiograph.detector import LINEAR_ASPECT, length_and_width
from ndelab.volumes.phantom import Phantom, make_ct_phantom, make_radiograph
from ndelab.volumes.progress import Cancel, Progress, check, report

EVAL_SEED_START = 10000
PORE_BINS: tuple[tuple[float, float], ...] = ((0.0, 2.0), (2.0, 3.5), (3.5, math.inf))
Z95 = 1.6448536269514722  # one-sided 95 %


# --- matching ------------------------------------------------------------------------------


@dataclass
class Match:
    """Per defect: hit or not (and by which call); per call: true or false alarm."""

    defect_hit: list[int | None]  # index of the first call that hit defect i, or None
    call_true: list[bool]
    call_defect: list[int | None]  # defect id a call hit (largest overlap), or None


def match_calls(calls: Sequence[Call], labels: npt.NDArray[np.integer], n_defects: int) -> Match:
    """Match calls to ground-truth instance labels (0 background, i = defect i)."""
    hit: list[int | None] = [None] * n_defects
    true: list[bool] = []
    which: list[int | None] = []
    for ci, call in enumerate(calls):
        z0, y0, x0, z1, y1, x1 = call.bbox_zyx
        lab = labels[z0:z1, y0:y1, x0:x1]
        ids, counts = np.unique(lab[call.mask], return_counts=True)
        found = {int(i): int(c) for i, c in zip(ids, counts, strict=True) if i > 0}
        cz, cy, cx = (round(v) for v in call.centroid_zyx)
        inside = (
            0 <= cz < labels.shape[0] and 0 <= cy < labels.shape[1] and 0 <= cx < labels.shape[2]
        )
        if inside and labels[cz, cy, cx] > 0:
            found.setdefault(int(labels[cz, cy, cx]), 1)
        for d in found:
            if 1 <= d <= n_defects and hit[d - 1] is None:
                hit[d - 1] = ci
        true.append(bool(found))
        which.append(max(found, key=lambda k: found[k]) if found else None)
    return Match(hit, true, which)


def phantom_quality(
    calls: Sequence[Call], phantom: Phantom, *, z_range: tuple[int, int] | None = None
) -> dict[str, Any]:
    """Recall (overall and by equivalent diameter), precision and class accuracy of calls on
    one phantom whose ground truth is known.

    ``z_range``: the calls were made on slices z0..z1 of the phantom only (their indices
    relative to z0); defects wholly inside those slices are counted.
    """
    z0, z1 = z_range if z_range is not None else (0, phantom.labels.shape[0])
    m = match_calls(calls, phantom.labels[z0:z1], len(phantom.defects))
    rows = [
        (d, h)
        for d, h in zip(phantom.defects, m.defect_hit, strict=True)
        if z0 <= d.bbox_zyx[0] and d.bbox_zyx[3] <= z1
    ]

    def recall(sel: list[tuple[Any, int | None]]) -> float | None:
        return round(sum(h is not None for _, h in sel) / len(sel), 4) if sel else None

    bands = {}
    for lo, hi in PORE_BINS:
        key = f"{lo:g}-{hi:g}" if math.isfinite(hi) else f">={lo:g}"
        bands[key] = recall([r for r in rows if lo <= r[0].equivalent_diameter_vox < hi])
    hits = [(d, h) for d, h in rows if h is not None]
    return {
        "defects": len(rows),
        "recall": recall(rows),
        "recall_by_diameter_vox": bands,
        "precision": round(sum(m.call_true) / len(calls), 4) if calls else None,
        "class_accuracy": round(
            sum(calls[h].class_name == d.kind for d, h in hits if h is not None) / len(hits), 4
        )
        if hits
        else None,
    }


# --- logistic regression (POD and score calibration) ---------------------------------------


def fit_logistic(
    x: npt.NDArray[np.floating], y: npt.NDArray[np.floating], *, ridge: float = 1e-6
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Maximum-likelihood logistic regression by Newton's method.

    ``x`` is (n, k) without the intercept column; returns (coef (k+1,), covariance (k+1,
    k+1)), intercept first. The covariance is the inverse Fisher information (Wald).
    """
    xm = np.column_stack([np.ones(len(x)), np.asarray(x, np.float64).reshape(len(x), -1)])
    yv = np.asarray(y, np.float64)
    beta = np.zeros(xm.shape[1])
    reg = ridge * np.eye(xm.shape[1])
    for _ in range(100):
        eta = np.clip(xm @ beta, -30, 30)
        p = 1 / (1 + np.exp(-eta))
        w = p * (1 - p)
        grad = xm.T @ (yv - p) - reg @ beta
        hess = (xm * w[:, None]).T @ xm + reg
        step = np.linalg.solve(hess, grad)
        beta = beta + step
        if np.max(np.abs(step)) < 1e-9:
            break
    eta = np.clip(xm @ beta, -30, 30)
    p = 1 / (1 + np.exp(-eta))
    hess = (xm * (p * (1 - p))[:, None]).T @ xm + reg
    cov: npt.NDArray[np.float64] = np.asarray(np.linalg.inv(hess), dtype=np.float64)
    return np.asarray(beta, dtype=np.float64), cov


def fit_pod(sizes: Sequence[float], hits: Sequence[bool]) -> dict[str, Any]:
    """Hit/miss POD: logit POD(a) = b0 + b1 ln a. a50, a90 and a90/95 in the sizes' unit."""
    a = np.asarray(sizes, np.float64)
    h = np.asarray(hits, np.float64)
    ok = a > 0
    a, h = a[ok], h[ok]
    out: dict[str, Any] = {"n": int(a.size), "hits": int(h.sum())}
    if a.size < 5 or h.min(initial=1) == h.max(initial=0):
        out["note"] = "POD needs hits and misses to fit"
        return out
    beta, cov = fit_logistic(np.log(a)[:, None], h)
    b0, b1 = float(beta[0]), float(beta[1])
    out.update({"b0": b0, "b1": b1, "cov": cov.tolist()})
    if b1 <= 0:
        out["note"] = "POD does not rise with size"
        return out
    logit90 = math.log(9.0)
    out["a50"] = math.exp(-b0 / b1)
    out["a90"] = math.exp((logit90 - b0) / b1)
    out["a90_95"] = _a_lower_bound(beta, cov, logit90, float(a.min()), float(a.max()))
    return out


def pod_curve(
    pod: dict[str, Any], a: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """(POD, its 95 % lower bound) at sizes ``a``."""
    beta = np.array([pod["b0"], pod["b1"]])
    cov = np.asarray(pod["cov"])
    xm = np.column_stack([np.ones_like(a), np.log(a)])
    eta = xm @ beta
    se = np.sqrt(np.einsum("ij,jk,ik->i", xm, cov, xm))
    # expit: a steep fit (the ideal observer's) would overflow exp on its flat tails.
    return expit(eta), expit(eta - Z95 * se)


def _a_lower_bound(
    beta: npt.NDArray[np.float64], cov: npt.NDArray[np.float64], target: float, lo: float, hi: float
) -> float | None:
    """Smallest size where the lower bound of the linear predictor reaches ``target``."""

    def lower(a: float) -> float:
        v = np.array([1.0, math.log(a)])
        return float(v @ beta - Z95 * math.sqrt(max(float(v @ cov @ v), 0.0)))

    grid = np.exp(np.linspace(math.log(lo) - 2, math.log(hi) + 3, 2000))
    vals = np.array([lower(float(g)) for g in grid])
    above = np.flatnonzero(vals >= target)
    if not above.size:
        return None
    i = int(above[0])
    if i == 0:
        return float(grid[0])
    a0, a1 = float(grid[i - 1]), float(grid[i])
    for _ in range(60):  # bisection between grid points
        mid = math.sqrt(a0 * a1)
        a0, a1 = (mid, a1) if lower(mid) < target else (a0, mid)
    return a1


# --- evaluation over phantoms --------------------------------------------------------------


# The image quality the held-out figures hold for (the ranges the seeds draw from below).
CT_HELD_OUT_QUALITY = (
    "CT phantoms: noise 0.5-2.0 x the training unit, blur sigma 0.5-1.3 voxels, cupping 0-0.2, "
    "housing/cylinder/block/bracket parts"
)
XRAY_HELD_OUT_QUALITY = (
    "radiograph phantoms: noise 0.5-2.0 x (Poisson-like plus a floor), blur sigma 0.6-1.5 px, "
    "steel welds and aluminium castings"
)


def eval_ct_params(seed: int, size: int) -> dict[str, Any]:
    """Held-out scan settings: drawn from the seed, ranges wider than in training."""
    rng = np.random.default_rng(seed + 7_777_777)
    return {
        "size": size,
        "noise": float(rng.uniform(0.5, 2.0)),
        "blur_sigma_vox": float(rng.uniform(0.5, 1.3)),
        "cupping": float(rng.uniform(0.0, 0.2)),
        "part": str(rng.choice(["housing", "cylinder", "block", "bracket"])),
    }


def make_eval_phantom(seed: int, size: int, *, radiograph: bool = False) -> tuple[str, Phantom]:
    """A held-out phantom (CT, or a weld/casting radiograph by the seed's parity) and its tag."""
    if radiograph:
        rng = np.random.default_rng(seed + 7_777_777)
        kind: Literal["weld", "casting"] = "weld" if seed % 2 == 0 else "casting"
        side = max(int(size), 256)
        ph = make_radiograph(
            side,
            seed=seed,
            kind=kind,
            noise=float(rng.uniform(0.5, 2.0)),
            blur_sigma_px=float(rng.uniform(0.6, 1.5)),
        )
        return f"radiograph-{kind}-{side}-{seed}", ph
    params = eval_ct_params(seed, size)
    return f"ct-{params['part']}-{size}-{seed}", make_ct_phantom(seed=seed, **params)


Prelabeller = Callable[[Phantom], PrelabelResult]


def _pitch_mm(spacing_mm: Sequence[float], flat: bool) -> float:
    """One voxel's (a pixel's, for a radiograph) edge in mm: the geometric mean of its axes."""
    axes = [float(v) for v in (spacing_mm[1:] if flat else spacing_mm)]
    return float(np.prod(axes) ** (1.0 / len(axes)))


def _equivalent_diameter(voxels: int, flat: bool) -> float:
    """The diameter of the disc (radiograph) or sphere (CT) of this many voxels."""
    if flat:
        return 2.0 * math.sqrt(voxels / math.pi)
    return float((6.0 * voxels / math.pi) ** (1.0 / 3.0))


def sizing_and_confusion(defects: list[dict[str, Any]]) -> dict[str, Any]:
    """How the hits were sized and classed: the called pore diameter against the true one
    (bias = mean of called - true, spread = its standard deviation, in voxels and in mm;
    ratio = median called / true), and the class confusion (truth -> called -> count)."""
    pores = [
        r for r in defects if r["hit"] and r["kind"] == "pore" and r.get("called_diameter_vox")
    ]
    sizing: dict[str, Any] = {"pores": len(pores)}
    if pores:
        err = np.array([r["called_diameter_vox"] - r["diameter_vox"] for r in pores])
        mm = np.array([r["diameter_mm"] / max(r["diameter_vox"], 1e-9) for r in pores])
        ratio = np.array([r["called_diameter_vox"] / max(r["diameter_vox"], 1e-9) for r in pores])
        sizing.update(
            {
                "bias_vox": round(float(err.mean()), 3),
                "spread_vox": round(float(err.std(ddof=1)) if err.size > 1 else 0.0, 3),
                "bias_mm": round(float((err * mm).mean()), 4),
                "spread_mm": round(float((err * mm).std(ddof=1)) if err.size > 1 else 0.0, 4),
                "median_ratio": round(float(np.median(ratio)), 3),
            }
        )
    confusion: dict[str, dict[str, int]] = {}
    for r in defects:
        if r["hit"]:
            row = confusion.setdefault(r["kind"], {})
            row[r["called_as"]] = row.get(r["called_as"], 0) + 1
    return {"sizing_pores": sizing, "class_confusion": confusion}


def expected_class(kind: str, footprint: npt.NDArray[np.bool_], blur_sigma_px: float = 0.0) -> str:
    """The class a radiograph call of a defect should carry: its kind, except that a pore or
    inclusion whose indication is longer than ``LINEAR_ASPECT`` widths is a linear one. The
    indication as the image shows it: the projected footprint blurred by the detector's
    unsharpness, at half its peak (a small elongated pore looks round, and is judged so)."""
    if kind == "crack" or not footprint.any():
        return kind
    y, x = np.nonzero(footprint)
    pad = int(math.ceil(3 * blur_sigma_px)) + 1
    crop = np.pad(footprint[y.min() : y.max() + 1, x.min() : x.max() + 1], pad)
    if blur_sigma_px > 0:
        seen = ndimage.gaussian_filter(crop.astype(np.float64), blur_sigma_px)
        crop = seen >= 0.5 * float(seen.max())
    length, width = length_and_width(crop)
    return "linear" if length / max(width, 1.0) >= LINEAR_ASPECT else kind


def score_phantoms(
    phantoms: Iterable[tuple[str, Phantom]],
    run: Prelabeller,
    *,
    min_score: float = 0.0,
    cancel: Cancel | None = None,
) -> dict[str, Any]:
    """Match every phantom's calls; the raw per-defect and per-call records."""
    defects: list[dict[str, Any]] = []
    calls: list[dict[str, Any]] = []
    scans: list[dict[str, Any]] = []
    seconds = 0.0
    for tag, ph in phantoms:
        check(cancel, "evaluation")
        res = run(ph)
        seconds += res.seconds
        kept = [c for c in res.calls if c.score >= min_score]
        m = match_calls(kept, ph.labels, len(ph.defects))
        flat = ph.labels.shape[0] == 1  # a radiograph: sizes are areas in the image plane
        mm = _pitch_mm(ph.volume.spacing_mm, flat)
        blur = float(((ph.volume.metadata or {}).get("params") or {}).get("blur_sigma_px", 0.0))
        for i, (d, h) in enumerate(zip(ph.defects, m.defect_hit, strict=True)):
            called = _equivalent_diameter(kept[h].volume_voxels, flat) if h is not None else None
            defects.append(
                {
                    "scan": tag,
                    "kind": d.kind,
                    "expected": expected_class(d.kind, ph.labels[0] == i + 1, blur)
                    if flat
                    else d.kind,
                    "diameter_vox": d.equivalent_diameter_vox,
                    "diameter_mm": d.equivalent_diameter_vox * mm,
                    "hit": h is not None,
                    "called_as": kept[h].class_name if h is not None else None,
                    "called_diameter_vox": called,
                }
            )
        for c, t, d_id in zip(kept, m.call_true, m.call_defect, strict=True):
            truth = ph.defect(d_id).kind if d_id is not None else None
            calls.append(
                {
                    "scan": tag,
                    "class_name": c.class_name,
                    "score": c.score,
                    "true": t,
                    "truth": truth,
                    **c.evidence,
                }
            )
        scans.append(
            {
                "scan": tag,
                "defects": len(ph.defects),
                "calls": len(kept),
                "false_calls": int(sum(not t for t in m.call_true)),
                "seconds": round(res.seconds, 3),
                "model": f"{res.model_name}@{res.model_version}",
            }
        )
    return {"defects": defects, "calls": calls, "scans": scans, "seconds": seconds}


def summarise(raw: dict[str, Any]) -> dict[str, Any]:
    """Per-bin recall (pores and all defects), precision, class agreement and POD."""
    defects, calls = raw["defects"], raw["calls"]

    def recall(rows: list[dict[str, Any]]) -> dict[str, Any]:
        n = len(rows)
        k = sum(r["hit"] for r in rows)
        return {"n": n, "hit": k, "recall": round(k / n, 4) if n else None}

    bins: dict[str, Any] = {}
    for lo, hi in PORE_BINS:
        key = f"{lo:g}-{hi:g}" if math.isfinite(hi) else f">={lo:g}"
        pores = [r for r in defects if r["kind"] == "pore" and lo <= r["diameter_vox"] < hi]
        every = [r for r in defects if lo <= r["diameter_vox"] < hi]
        bins[key] = {"pores": recall(pores), "all_defects": recall(every)}
    by_kind = {
        k: recall([r for r in defects if r["kind"] == k]) for k in ("pore", "crack", "inclusion")
    }
    n_true = sum(c["true"] for c in calls)
    agree = [r for r in defects if r["hit"]]
    pore_rows = [r for r in defects if r["kind"] == "pore"]
    return {
        "recall_by_diameter_vox": bins,
        "recall_by_kind": by_kind,
        "precision": round(n_true / len(calls), 4) if calls else None,
        "calls": len(calls),
        "false_calls": len(calls) - n_true,
        "class_agreement": round(
            sum(r["called_as"] == r.get("expected", r["kind"]) for r in agree) / len(agree), 4
        )
        if agree
        else None,
        "pod_pores_diameter_vox": fit_pod(
            [r["diameter_vox"] for r in pore_rows], [r["hit"] for r in pore_rows]
        ),
        "pod_pores_diameter_mm": fit_pod(
            [r.get("diameter_mm", 0.0) for r in pore_rows], [r["hit"] for r in pore_rows]
        ),
        **sizing_and_confusion(defects),
        "scans": raw["scans"],
        "prelabel_seconds": round(raw["seconds"], 2),
    }


def evaluate(
    model: str = "default",
    seeds: Sequence[int] = tuple(range(EVAL_SEED_START, EVAL_SEED_START + 6)),
    sizes: Sequence[int] = (96, 128, 160),
    *,
    radiograph: bool = False,
    min_volume_mm3: float | None = None,
    min_score: float = 0.0,
    run: Prelabeller | None = None,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> dict[str, Any]:
    """Evaluate a model (a name or NAME@VERSION, or ``run``) on held-out phantoms; a
    JSON-ready dict.

    Scan i uses ``seeds[i]`` and ``sizes[i % len(sizes)]``; noise, blur, cupping and part
    shape vary with the seed (see :func:`eval_ct_params`). Seeds below 10000 are refused
    unless ``run`` is given (they may have been trained on).
    """
    from ndelab.inference.prelabel import prelabel  # late: prelabel imports this package's peers

    seeds = list(seeds)
    if run is None and any(s < EVAL_SEED_START for s in seeds):
        raise ValueError(f"evaluation seeds must be >= {EVAL_SEED_START} (never trained on)")
    t0 = time.perf_counter()

    name, at, version = model.rpartition("@")  # NAME@VERSION names one registered version
    name, version_or_none = (name, version) if at else (model, None)

    def default_run(ph: Phantom) -> PrelabelResult:
        return prelabel(
            ph.volume,
            model=name,
            version=version_or_none,
            min_volume_mm3=min_volume_mm3,
            cancel=cancel,
        )

    runner = run or default_run

    def scans() -> Iterable[tuple[str, Phantom]]:
        for i, seed in enumerate(seeds):
            yield make_eval_phantom(seed, int(sizes[i % len(sizes)]), radiograph=radiograph)
            report(progress, (i + 1) / len(seeds))

    raw = score_phantoms(scans(), runner, min_score=min_score, cancel=cancel)
    out = summarise(raw)
    out.update(
        {
            "model": model,
            "seeds": seeds,
            "sizes": list(sizes),
            "min_score": min_score,
            "image_quality": XRAY_HELD_OUT_QUALITY if radiograph else CT_HELD_OUT_QUALITY,
            "wall_seconds": round(time.perf_counter() - t0, 2),
        }
    )
    return out


def plot_pod(result: dict[str, Any], png_path: Path, *, title: str | None = None) -> Path:
    """Draw the pore POD curve with its 95 % lower bound, a90 and a90/95 (matplotlib Agg)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pod = result["pod_pores_diameter_vox"]
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    try:
        if "b1" in pod:
            a = np.exp(np.linspace(math.log(0.8), math.log(15), 300))
            p, lo = pod_curve(pod, a)
            ax.plot(a, p, label="POD (ML fit)")
            ax.plot(a, lo, "--", label="95 % lower bound")
            for key, style in (("a90", ":"), ("a90_95", "-.")):
                if pod.get(key):
                    ax.axvline(pod[key], ls=style, c="grey", label=f"{key} = {pod[key]:.2f}")
        ideal = result.get("pod_ideal_pores_diameter_vox", {})
        if "b1" in ideal:  # radiographs: the ideal observer at the detector's false-call rate
            a = np.exp(np.linspace(math.log(0.8), math.log(15), 300))
            ax.plot(a, pod_curve(ideal, a)[0], c="k", lw=1, label="ideal observer (matched rate)")
        ax.axhline(0.9, c="lightgrey", lw=0.8)
        ax.set_xscale("log")
        radiograph = "pod_ideal_pores_diameter_vox" in result
        unit = "pixels" if radiograph else "voxels"
        ax.set_xlabel(f"pore equivalent diameter ({unit})")
        ax.set_ylabel("probability of detection")
        ax.set_ylim(-0.02, 1.02)
        served = {str(s["model"]) for s in result.get("scans", [])}  # "default" resolved
        model = result.get("summary", {}).get("model") or (
            served.pop() if len(served) == 1 else result.get("model", "")
        )
        ax.set_title(title or f"POD: {model}")
        ax.legend(loc="lower right", fontsize=8)
        fig.tight_layout()
        png_path = Path(png_path)
        png_path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(png_path)
    finally:
        plt.close(fig)
    return png_path


# --- radiographs against the ideal observer ------------------------------------------------

SNR_BINS: tuple[tuple[float, float], ...] = ((0.0, 3.0), (3.0, 5.0), (5.0, 8.0), (8.0, math.inf))
BIG_PORE_PX = 3.5
RadiographPart = Literal["weld", "casting"]


def eval_radiograph_params(seed: int, part: RadiographPart | None = None) -> dict[str, Any]:
    """Held-out radiograph settings: the part by the seed's parity unless given, noise, blur."""
    rng = np.random.default_rng(seed + 7_777_777)
    kind: RadiographPart = part or ("weld" if seed % 2 == 0 else "casting")
    return {
        "kind": kind,
        "noise": float(rng.uniform(0.5, 2.0)),
        "blur_sigma_px": float(rng.uniform(0.6, 1.5)),
    }


def _bin_key(lo: float, hi: float) -> str:
    return f"{lo:g}-{hi:g}" if math.isfinite(hi) else f">={lo:g}"


def _recall(hits: Sequence[bool]) -> dict[str, Any]:
    n, k = len(hits), int(sum(hits))
    return {"n": n, "hit": k, "recall": round(k / n, 4) if n else None}


def evaluate_xray(
    model: str = "default",
    seeds: Sequence[int] = tuple(range(EVAL_SEED_START, EVAL_SEED_START + 8)),
    size: int = 512,
    *,
    part: RadiographPart | None = None,
    run: Prelabeller | None = None,
    null_fields: int = 4,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> dict[str, Any]:
    """A detector on held-out radiograph phantoms, beside the ideal observer.

    Each phantom comes with its noise-free image and its defect-free twin (same seed and
    settings), which give every defect its ideal SNR and the ideal observer's statistic on the
    same noise. The ideal observer's threshold is set to the detector's own false-call rate per
    512² image (and, for reference, to 1 and 0.1), so the recall gap is at a matched rate.
    """
    from ndelab.inference.prelabel import prelabel  # late: prelabel imports this package's peers
    from ndelab.inference.radiograph.ideal import (
        REFERENCE_AREA_PX,
        defect_detectability,
        search_null,
    )

    seeds = list(seeds)
    if run is None and any(s < EVAL_SEED_START for s in seeds):
        raise ValueError(f"evaluation seeds must be >= {EVAL_SEED_START} (never trained on)")
    t0 = time.perf_counter()
    runner = run or (lambda ph: prelabel(ph.volume, model=model, cancel=cancel))
    side = max(int(size), 64)
    ideal_rows: list[dict[str, Any]] = []
    phantoms: list[tuple[str, Phantom]] = []
    nulls = {}
    area = 0.0
    for i, seed in enumerate(seeds):
        check(cancel, "evaluation")
        p = eval_radiograph_params(seed, part)
        ph = make_radiograph(side, seed=seed, **p)
        clean = make_radiograph(side, seed=seed, **{**p, "noise": 0.0})
        twin = make_radiograph(side, seed=seed, defects=False, **{**p, "noise": 0.0})
        det = defect_detectability(
            ph.volume.data[0],
            clean.volume.data[0],
            twin.volume.data[0],
            ph.labels[0],
            len(ph.defects),
            p["noise"],
            p["blur_sigma_px"],
        )
        blur_key = round(p["blur_sigma_px"], 1)
        if blur_key not in nulls:
            nulls[blur_key] = search_null(blur_key, fields=null_fields, seed=seed)
        for d, snr, stat in zip(ph.defects, det.snr, det.statistic, strict=True):
            ideal_rows.append(
                {"snr": float(snr), "stat": float(stat), "null": nulls[blur_key], "d": d}
            )
        area += side * side
        phantoms.append((f"radiograph-{p['kind']}-{side}-{seed}", ph))
        report(progress, 0.5 * (i + 1) / len(seeds))
    raw = score_phantoms(phantoms, runner, cancel=cancel)
    report(progress, 0.9)
    out = summarise(raw)
    images = area / REFERENCE_AREA_PX
    fc_rate = out["false_calls"] / images if images else 0.0
    rows = raw["defects"]
    for r, ir in zip(rows, ideal_rows, strict=True):
        r["snr_ideal"] = ir["snr"]

    def ideal_hits(rate: float) -> list[bool]:
        return [ir["stat"] >= ir["null"].threshold(rate) for ir in ideal_rows]

    # The matched rate: the detector's, but at least one false call over the whole set (a
    # rate of zero would ask the ideal observer for an infinite threshold).
    matched = max(fc_rate, 1.0 / max(images, 1.0))
    rates = {"matched": matched, "1": 1.0, "0.1": 0.1}
    big = [
        j for j, r in enumerate(rows) if r["kind"] == "pore" and r["diameter_vox"] >= BIG_PORE_PX
    ]
    ideal_big = {}
    ideal_hit_at: dict[str, list[bool]] = {}
    for key, rate in rates.items():
        h = ideal_hits(rate)
        ideal_hit_at[key] = h
        ideal_big[key] = {"rate_per_image": round(rate, 4), **_recall([h[j] for j in big])}
    det_big = _recall([rows[j]["hit"] for j in big])
    by_snr = {}
    for lo, hi in SNR_BINS:
        sel = [j for j, r in enumerate(rows) if lo <= r["snr_ideal"] < hi]
        by_snr[_bin_key(lo, hi)] = {
            "detector": _recall([rows[j]["hit"] for j in sel]),
            "ideal_at_matched_rate": _recall([ideal_hit_at["matched"][j] for j in sel]),
        }
    pores = [j for j, r in enumerate(rows) if r["kind"] == "pore"]
    gap = (
        None
        if det_big["recall"] is None or ideal_big["matched"]["recall"] is None
        else round(100 * (ideal_big["matched"]["recall"] - det_big["recall"]), 1)
    )
    out.update(
        {
            "kind": "xray",
            "model": model,
            "seeds": seeds,
            "size": side,
            "part": part or "by seed parity (even weld, odd casting)",
            "image_quality": XRAY_HELD_OUT_QUALITY,
            "false_calls_per_512_image": round(fc_rate, 3),
            "recall_by_snr_ideal": by_snr,
            "ideal_observer": {
                "recall_pores_ge_3.5px": ideal_big,
                "note": "known signal and background, the generator's noise model; its search "
                "false-call rate from a blurred-disc filter bank on white noise",
            },
            "pod_ideal_pores_diameter_vox": fit_pod(
                [rows[j]["diameter_vox"] for j in pores],
                [ideal_hit_at["matched"][j] for j in pores],
            ),
            "summary": {
                "model": out["scans"][0]["model"] if out["scans"] else model,
                "images": len(seeds),
                "recall_pores_ge_3.5px": det_big,
                "ideal_recall_pores_ge_3.5px_at_matched_rate": ideal_big["matched"],
                "gap_points": gap,
                "false_calls_per_512_image": round(fc_rate, 3),
                "precision": out["precision"],
                "detector_a90_px": out["pod_pores_diameter_vox"].get("a90"),
                "ideal_a90_px": None,
            },
            "wall_seconds": round(time.perf_counter() - t0, 2),
        }
    )
    out["summary"]["ideal_a90_px"] = out["pod_ideal_pores_diameter_vox"].get("a90")
    report(progress, 1.0)
    return out
