"""The A/B report's reads: the decided scans with the engineers' truth and every version's
calls there (champion and shadow), in three queries, and which two versions to compare.

A scan is decided when none of the champion's calls on it is still open and the engineers
left a trace of looking (a decision on a call, a call they added, or a disposition). The
figures themselves are annotation.ab's.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from ndelab.annotation.ab import DEFAULT_BANDS_MM, DecidedScan, Truth, VersionCall, ab_figures
from ndelab.annotation.errors import ReviewError
from ndelab.annotation.model import CHAMPION, SHADOW
from ndelab.annotation.store.codec import BOX, mask_from_box, mask_of_row
from ndelab.annotation.store.database import Store
from ndelab.annotation.store.model_aliases import get_alias
from ndelab.annotation.store.model_runs import model_runs
from ndelab.annotation.store.provenance import CONFIRMED, model_of
from ndelab.annotation.store.schema import DISPOSITIONS, IND

PERSON_SOURCES = ("manual", "sam")
_COLUMNS = (
    "id",
    "scan_id",
    "role",
    "status",
    "class",
    "source_kind",
    "source_name",
    "source_version",
    "score",
    "proposal",
    "equivalent_diameter_mm",
    *BOX,
    "mask_rle",
    "proposal_mask_rle",
)


def parse_key(text: str) -> str:
    """'NAME@VERSION' checked, as the A/B keys versions."""
    name, at, version = text.strip().rpartition("@")
    if not at or not name or not version:
        raise ReviewError(f"model {text!r} must be written NAME@VERSION")
    return f"{name}@{version}"


def _rows(store: Store) -> list[dict[str, Any]]:
    query = select(*[IND.c[n] for n in _COLUMNS]).order_by(
        IND.c.scan_id, IND.c.z0, IND.c.y0, IND.c.x0, IND.c.id
    )
    with store.reading("read the calls for the A/B") as conn:
        rows = [dict(r) for r in conn.execute(query).mappings()]
        signed = {r[0] for r in conn.execute(select(DISPOSITIONS.c.scan_id))}
    for r in rows:
        r["signed"] = r["scan_id"] in signed
    return rows


def decided_scans(store: Store) -> list[DecidedScan]:
    """Every decided scan with its truth, its rejected calls and each version's calls."""
    rows = _rows(store)
    by_scan: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_scan.setdefault(r["scan_id"], []).append(r)
    signed = {r["scan_id"] for r in rows if r["signed"]}
    runs: dict[str, set[str]] = {}
    for run in model_runs(store):
        runs.setdefault(run["scan_id"], set()).add(f"{run['name']}@{run['version']}")
    out = []
    for scan_id in sorted(set(by_scan) | set(runs)):
        scan_rows = by_scan.get(scan_id, [])
        served = [r for r in scan_rows if r["role"] == CHAMPION]
        if any(r["status"] == "proposed" for r in served):
            continue
        if not served and scan_id not in signed:
            continue  # no sign that anyone looked at it
        scan = DecidedScan(scan_id)
        for key in runs.get(scan_id, ()):
            scan.calls.setdefault(key, [])
        for r in scan_rows:
            source = model_of(r)
            if r["role"] == CHAMPION and r["status"] in CONFIRMED:
                scan.truth.append(
                    Truth(
                        mask_of_row(r),
                        r["class"],
                        float(r["equivalent_diameter_mm"]),
                        source["kind"] in PERSON_SOURCES,
                    )
                )
            elif r["role"] == CHAMPION and r["status"] == "rejected":
                scan.rejected.append(
                    mask_from_box(r["proposal"]["bbox_zyx"], r["proposal_mask_rle"])
                )
            if source["kind"] == "model":
                key = f"{source['name']}@{source['version']}"
                proposal = mask_from_box(r["proposal"]["bbox_zyx"], r["proposal_mask_rle"])
                scan.calls.setdefault(key, []).append(VersionCall(proposal, source["class"]))
        out.append(scan)
    return out


def _most_calls(store: Store, role: str) -> str | None:
    query = select(IND.c.source_name, IND.c.source_version).where(
        IND.c.role == role, IND.c.source_kind == "model"
    )
    with store.reading("find the served versions") as conn:
        counts = Counter(f"{n}@{v}" for n, v in conn.execute(query))
    return counts.most_common(1)[0][0] if counts else None


def resolve_pair(
    store: Store, champion: str | None = None, challenger: str | None = None
) -> tuple[str, str]:
    """The versions to compare: as given, else the champion alias (else the version with the
    most champion calls) and the challenger alias, else the shadow alias, else the version
    with the most shadow calls."""
    if champion is None:
        alias = get_alias(store, "champion")
        champion = f"{alias[0]}@{alias[1]}" if alias else _most_calls(store, CHAMPION)
    if challenger is None:
        alias = get_alias(store, "challenger") or get_alias(store, "shadow")
        challenger = f"{alias[0]}@{alias[1]}" if alias else _most_calls(store, SHADOW)
    if champion is None:
        raise ReviewError(f"database {store.name} has no champion calls to compare")
    if challenger is None:
        raise ReviewError(
            f"database {store.name} has no challenger: run one in shadow "
            "(ndelab prelabel --shadow NAME@VERSION) or name it with --challenger"
        )
    champion, challenger = parse_key(champion), parse_key(challenger)
    if champion == challenger:
        raise ReviewError(f"the champion and the challenger are both {champion}")
    return champion, challenger


def ab_report(
    store: Store,
    champion: str | None = None,
    challenger: str | None = None,
    *,
    bands_mm: Sequence[float] = DEFAULT_BANDS_MM,
) -> dict[str, Any]:
    """The A/B figures of champion and challenger over the decided scans both ran on."""
    champ, chall = resolve_pair(store, champion, challenger)
    return ab_figures(champ, chall, decided_scans(store), bands_mm)
