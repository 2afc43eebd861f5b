"""The model lifecycle shown end to end on phantoms (issue 13): a champion and challengers in
shadow, the engineers' decisions scripted from ground truth, the A/B and the promotion gate.

1. The champion in service is the shipped network at a strict operating point (threshold
   0.9), registered as a version of its own in the (temporary) user registry. The better
   challenger is the shipped network as shipped (threshold 0.5); the worse one the classical
   detector (inference.baseline).
2. N held-out CT phantoms are recorded and pre-labelled by the champion, with the better
   challenger in shadow (app.shadow, as `ndelab prelabel --shadow` does).
3. Scripted engineers decide every champion call from the phantom's ground truth: accept a
   call at a defect of its class, correct its class at a defect of another, reject a call at
   no defect; and they add by hand every missed defect of at least MANUAL_MIN_VOX voxels
   across (the small misses stay unfound, as in life).
4. The worse challenger is run in shadow on the same, decided, scans (a replay).

The default gate (resources/promotion/default.yaml) refuses both: the classical detector for
its crack recall, the shipped network because its false calls per scan rise. The recall-first
rules (resources/promotion/recall-first.yaml: recall may not drop, false calls may rise by
one per scan) accept the shipped network and still refuse the classical detector.

`python -m ndelab.benchmarks.ab_demo --db PATH --json` builds the database and prints the
A/B reports and gate verdicts; `ndelab models ab` and `ndelab models promote` then run on it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from ndelab.annotation import Source, SparseMask
from ndelab.annotation.matching import best_target
from ndelab.annotation.promotion import evaluate_gate, load_rules
from ndelab.annotation.store import (
    Store,
    add_indications,
    get_mask,
    indications_from_masks,
    list_calls,
    review,
    set_alias,
)
from ndelab.annotation.store.ab import ab_report
from ndelab.app.promotion import default_rules_path
from ndelab.app.shadow import prelabel_with_shadow
from ndelab.app.workspace import attach_scan
from ndelab.volumes.identity import volume_sha256
from ndelab.volumes.part import segment_part

SHIPPED = "ndelab-unet3d@1.0.0"
CHAMPION = "ndelab-unet3d@1.0.0-strict"  # the shipped weights at threshold 0.9
THRESHOLDS = {CHAMPION: 0.9}
BETTER = SHIPPED  # finds more of every class, at more false calls per scan
WORSE = "classical-baseline@1.0"  # fewer false calls, but it calls most cracks pores
RECALL_FIRST = "recall-first.yaml"
MANUAL_MIN_VOX = 3.0  # engineers add by hand the misses at least this wide (equivalent, voxels)
ENGINEER = "engineer"


@contextmanager
def data_dir(path: Path) -> Iterator[None]:
    """The user registry (and workstation id) in ``path`` for the demo's duration."""
    old = os.environ.get("NDELAB_DATA_DIR")
    os.environ["NDELAB_DATA_DIR"] = str(path)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("NDELAB_DATA_DIR", None)
        else:
            os.environ["NDELAB_DATA_DIR"] = old


def register_variants() -> None:
    """The strict operating point of the shipped network, as a version of its own."""
    from ndelab.inference.registry import Registry

    reg = Registry()
    base = reg.get(*SHIPPED.split("@"))
    for key, threshold in THRESHOLDS.items():
        name, version = key.split("@")
        if not any(s.version == version for s in reg.versions(name)):
            reg.register(
                name,
                version,
                base.weights,
                {"note": f"the shipped weights at threshold {threshold}"},
                base=base,
                input_spec={"threshold": threshold},
            )


def _decide(
    store: Store,
    scan_id: str,
    labels: np.ndarray,
    defects: list[Any],
    spacing: tuple[float, float, float],
) -> dict[str, int]:
    """The scripted engineers' decisions on one scan, from its ground truth."""
    truth = [SparseMask.from_local(labels == d.id) for d in defects]
    kind = {i: d.kind for i, d in enumerate(defects)}
    found: set[int] = set()
    tally = {"accepted": 0, "corrected": 0, "rejected": 0, "added": 0}
    for call in list_calls(store, scan_id):
        i = best_target(get_mask(store, call["id"]), truth)
        if i is None:
            review(store, call["id"], "reject", ENGINEER, "no defect there (ground truth)")
            tally["rejected"] += 1
            continue
        found.add(i)
        if call["class"] == kind[i]:
            review(store, call["id"], "accept", ENGINEER)
            tally["accepted"] += 1
        else:
            review(store, call["id"], "correct", ENGINEER, f"a {kind[i]}", cls=kind[i])
            tally["corrected"] += 1
    missed = [
        i
        for i, d in enumerate(defects)
        if i not in found and d.equivalent_diameter_vox >= MANUAL_MIN_VOX
    ]
    if missed:
        items = indications_from_masks(
            [truth[i] for i in missed],
            [kind[i] for i in missed],
            [None] * len(missed),
            [Source("manual", ENGINEER)] * len(missed),
            spacing_mm=spacing,
        )
        for call_id in add_indications(store, scan_id, items, user=ENGINEER):
            review(store, call_id, "accept", ENGINEER, "missed by the model")
            tally["added"] += 1
    return tally


def build(db: Path, *, scans: int = 20, size: int = 48, seed0: int = 10000) -> dict[str, Any]:
    """Build the demo database at ``db`` (the user registry beside it); returns what was done."""
    from ndelab.inference.evaluation import make_eval_phantom

    done: dict[str, Any] = {"scans": scans, "size": size, "decisions": {}, "db": str(db)}
    with data_dir(db.parent / "ndelab-data"), Store(db) as store:
        register_variants()
        set_alias(store, "champion", *CHAMPION.split("@"), user=ENGINEER, reason="demo: in service")
        set_alias(store, "shadow", *BETTER.split("@"), user=ENGINEER, reason="demo: challenger")
        phantoms = []
        for k in range(scans):
            _, ph = make_eval_phantom(seed0 + k, size)
            vol = ph.volume
            part = segment_part(vol)
            scan_id, _ = attach_scan(store, vol, volume_sha256(vol), ENGINEER, part_mask=part)
            prelabel_with_shadow(
                store, scan_id, vol, ENGINEER, champion=CHAMPION, shadow=BETTER, part_mask=part
            )
            phantoms.append((scan_id, ph, part))
        totals: dict[str, int] = {}
        for scan_id, ph, _ in phantoms:
            decided = _decide(
                store, scan_id, np.asarray(ph.labels), list(ph.defects), ph.volume.spacing_mm
            )
            for key, n in decided.items():
                totals[key] = totals.get(key, 0) + n
        done["decisions"] = totals
        for scan_id, ph, part in phantoms:  # the worse challenger replayed in shadow
            prelabel_with_shadow(
                store, scan_id, ph.volume, ENGINEER, champion=None, shadow=WORSE, part_mask=part
            )
    return done


def reports(db: Path, rules: Path | None = None) -> dict[str, Any]:
    """The A/B of each challenger against the champion, with the verdicts of the default and
    the recall-first rules."""
    default = load_rules(rules or default_rules_path())
    recall_first = load_rules(default_rules_path().parent / RECALL_FIRST)
    out: dict[str, Any] = {}
    with data_dir(db.parent / "ndelab-data"), Store(db) as store:
        for label, key in (("worse", WORSE), ("better", BETTER)):
            report = ab_report(store, CHAMPION, key)
            report["gate"] = evaluate_gate(report, default)
            report["gate_recall_first"] = evaluate_gate(report, recall_first)
            out[label] = report
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ndelab.benchmarks.ab_demo")
    parser.add_argument("--db", required=True, help="a new SQLite file")
    parser.add_argument("--scans", type=int, default=20)
    parser.add_argument("--size", type=int, default=48)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    db = Path(args.db)
    if db.exists():
        print(f"ab_demo: {db} exists; give a new file", file=sys.stderr)
        return 2
    built = build(db, scans=args.scans, size=args.size)
    out = {"built": built, **reports(db)}
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        for label in ("worse", "better"):
            for gate in ("gate", "gate_recall_first"):
                g = out[label][gate]
                verdict = "passes" if g["passed"] else f"refuses: {g['failing']}"
                print(f"{label} ({g['rules']['name']}): {verdict}")
    print(
        f"next: NDELAB_DATA_DIR={db.parent / 'ndelab-data'} ndelab models ab --db {db} "
        f"--json; then: ndelab models promote {BETTER} --db {db} --rules {RECALL_FIRST}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
