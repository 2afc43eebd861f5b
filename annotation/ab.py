"""A/B of model versions against the engineers' own decisions (plain data, no store).

On a decided scan the engineers' truth is: the champion's calls they confirmed (accepted or
corrected, with their final mask and class) and the calls they added by hand (the champion's
misses). What they rejected is known not to be a defect. Every version's calls (its original
proposals, champion or shadow alike) are matched to these by place (annotation.matching:
overlap or centroid inside, as the evaluation matches calls to ground truth):

- would accept: the truth item it hits most (largest overlap, as the engineers' review
  matches a call to the defect it sits on) is of its class;
- would correct: that item is of another class (a defect, wrong class);
- would reject: it hits no truth item, only calls the engineers rejected;
- unconfirmed: hits nothing anyone decided. On a decided scan the engineers looked at the
  whole part, so these count as false calls too (false_calls = would_reject + unconfirmed);
  they are reported apart because no one saw them.

Recall per class and size band: the share of truth items of that class (band by the item's
equivalent diameter) found by a call of the same class, with a Wilson 95 % interval. Finding
is one to one: call and item pairs are taken by largest overlap first and each call finds at
most one item, so a call that merged two defects (accepted as one, the other added by hand)
is not credited with the second.
human_found: the hand-added truth items this version found too (for the champion, whose
misses they are, zero unless it called them twice).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ndelab.annotation.mask import SparseMask
from ndelab.annotation.matching import best_target, hit_strength

#: Lower edges of the size bands (equivalent diameter, mm); the last band has no upper edge.
DEFAULT_BANDS_MM = (0.0, 0.25, 0.5, 1.0, 2.0, 5.0)
Z95 = 1.959963984540054


@dataclass(frozen=True)
class Truth:
    """A defect the engineers confirmed: its final mask, class and size, and who found it."""

    mask: SparseMask
    cls: str
    diameter_mm: float
    by_person: bool  # added by hand (a champion miss), not a confirmed champion call


@dataclass(frozen=True)
class VersionCall:
    """One call a version proposed: its original mask and class."""

    mask: SparseMask
    cls: str


@dataclass
class DecidedScan:
    """What the engineers decided on one scan, and each version's calls there."""

    scan_id: str
    truth: list[Truth] = field(default_factory=list)
    rejected: list[SparseMask] = field(default_factory=list)
    calls: dict[str, list[VersionCall]] = field(default_factory=dict)  # by "NAME@VERSION"


def wilson(hits: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """Wilson score interval of a proportion; None when there is nothing to count."""
    if n <= 0:
        return None
    p = hits / n
    den = 1 + z * z / n
    mid = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return (round(max(0.0, mid - half), 4), round(min(1.0, mid + half), 4))


def _rate(hits: int, n: int) -> dict[str, Any]:
    return {
        "n": n,
        "hit": hits,
        "recall": round(hits / n, 4) if n else None,
        "ci95": wilson(hits, n),
    }


def _band(diameter: float, bands: Sequence[float]) -> int | None:
    k = None
    for i, lo in enumerate(bands):
        if diameter >= lo:
            k = i
    return k


def _found_one_to_one(calls: Sequence[VersionCall], truth: Sequence[Truth]) -> list[bool]:
    """Which truth items the calls found: same-class pairs by largest overlap first, each
    call and each item used once."""
    pairs = sorted(
        (
            (s, ci, ti)
            for ci, call in enumerate(calls)
            for ti, t in enumerate(truth)
            if t.cls == call.cls and (s := hit_strength(call.mask, t.mask))
        ),
        key=lambda p: (-p[0], p[1], p[2]),
    )
    found = [False] * len(truth)
    used: set[int] = set()
    for _, ci, ti in pairs:
        if ci not in used and not found[ti]:
            used.add(ci)
            found[ti] = True
    return found


def version_figures(
    key: str, scans: Sequence[DecidedScan], bands: Sequence[float] = DEFAULT_BANDS_MM
) -> dict[str, Any]:
    """The A/B figures of one version over the decided scans (see the module docstring)."""
    tally = {"calls": 0, "would_accept": 0, "would_correct": 0, "would_reject": 0}
    unconfirmed = 0
    by_class: dict[str, list[int]] = {}
    by_band = [[0, 0] for _ in bands]
    person = [0, 0]
    for scan in scans:
        calls = scan.calls.get(key, [])
        truth_masks = [t.mask for t in scan.truth]
        for call in calls:
            tally["calls"] += 1
            target = best_target(call.mask, truth_masks)
            if target is not None and scan.truth[target].cls == call.cls:
                tally["would_accept"] += 1
            elif target is not None:
                tally["would_correct"] += 1
            elif best_target(call.mask, scan.rejected) is not None:
                tally["would_reject"] += 1
            else:
                unconfirmed += 1
        found = _found_one_to_one(calls, scan.truth)
        for t, f in zip(scan.truth, found, strict=True):
            c = by_class.setdefault(t.cls, [0, 0])
            c[0] += f
            c[1] += 1
            k = _band(t.diameter_mm, bands)
            if k is not None:
                by_band[k][0] += f
                by_band[k][1] += 1
            if t.by_person:
                person[0] += f
                person[1] += 1
    n_scans = len(scans)
    false_calls = tally["would_reject"] + unconfirmed
    hit_all = sum(c[0] for c in by_class.values())
    n_all = sum(c[1] for c in by_class.values())
    return {
        "model": dict(zip(("name", "version"), key.rsplit("@", 1), strict=True)),
        **tally,
        "unconfirmed": unconfirmed,
        "false_calls": false_calls,
        "false_calls_per_scan": round(false_calls / n_scans, 4) if n_scans else None,
        "human_found": {"n": person[1], "found": person[0]},
        "recall": _rate(hit_all, n_all),
        "recall_by_class": {cls: _rate(h, n) for cls, (h, n) in sorted(by_class.items())},
        "recall_by_size": [
            {
                "min_mm": lo,
                "max_mm": bands[i + 1] if i + 1 < len(bands) else None,
                **_rate(*by_band[i]),
            }
            for i, lo in enumerate(bands)
        ],
    }


def ab_figures(
    champion: str,
    challenger: str,
    scans: Sequence[DecidedScan],
    bands: Sequence[float] = DEFAULT_BANDS_MM,
) -> dict[str, Any]:
    """Both versions over the decided scans that both ran on (keys "NAME@VERSION")."""
    both = [s for s in scans if champion in s.calls and challenger in s.calls]
    return {
        "decided_scans": len(both),
        "truth": {
            "defects": sum(len(s.truth) for s in both),
            "added_by_hand": sum(t.by_person for s in both for t in s.truth),
            "rejected_calls": sum(len(s.rejected) for s in both),
        },
        "bands_mm": list(bands),
        "champion": version_figures(champion, both, bands),
        "challenger": version_figures(challenger, both, bands),
    }
