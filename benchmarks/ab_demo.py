"""The model lifecycle shown end to end on phantoms (issue 13): a champion in service, a
challenger retrained on the engineers' decisions and others run in shadow, the A/B against
those decisions and the promotion gate.

1. The champion in service is the shipped weights as 1.0.0 served them (network calls only,
   through the cascade) at a strict operating point (threshold 0.9), registered as a version
   of its own in the (temporary) user registry.
2. Round 1: N held-out CT phantoms, written to NRRD files and recorded, are pre-labelled by
   the champion. Scripted engineers decide every call from the phantom's ground truth: accept
   a call at a defect of its class, correct its class at a defect of another, reject a call at
   no defect; and they add by hand every missed defect of at least MANUAL_MIN_VOX voxels
   across (the small misses stay unfound, as in life).
3. Retraining: round 1's decisions are exported (`ndelab export --format hdf5`) and the
   champion is fine-tuned on them (`ndelab train --dataset --base --physical-class
   --classical-inclusions`): the challenger 1.1.0, whose threshold is chosen on the data
   set's validation split.
4. Round 2: N other phantoms are pre-labelled by the champion with 1.1.0 in shadow (app.shadow,
   as `ndelab prelabel --shadow` does) and decided the same way. Two more challengers are
   replayed in shadow on them: 1.0.1-strict, the shipped 1.0.1 at the champion's threshold:
   the same network completed by the physical finish (inference.physical_class: a call's class
   from the sign of its contrast and a void's elongation; inference.hybrid: the classical
   detector's inclusions, which the network does not see); and the classical detector alone.

The A/B rests on round 2 only (the scans all versions ran on), so no challenger is judged on
the scans it was trained on. The default gate (resources/promotion/default.yaml) and the
recall-first gate (recall-first.yaml) decide each. A call of a challenger at a place no
engineer decided is unconfirmed, and the default rules count it as false: the ground-truth
check (which the A/B cannot make) says how many of each version's calls sit on a real defect.

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
    get_masks,
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
from ndelab.volumes.io import open_volume, write_volume
from ndelab.volumes.part import segment_part

SHIPPED = "ndelab-unet3d@1.0.1"
CHAMPION = "ndelab-unet3d@1.0.0-strict"  # the weights as 1.0.0 served them, threshold 0.9
RETRAINED = "ndelab-unet3d@1.1.0"  # the champion fine-tuned on round 1's decisions
BETTER = "ndelab-unet3d@1.0.1-strict"  # the shipped 1.0.1 (physical finish) at threshold 0.9
WORSE = "classical-baseline@1.0"  # it calls most cracks pores
HYBRID = {"physical_class": True, "classical_inclusions": True}
RECALL_FIRST = "recall-first.yaml"
VARIANTS = {
    CHAMPION: {"threshold": 0.9, "physical_class": False, "classical_inclusions": False},
    BETTER: {"threshold": 0.9, **HYBRID},
}
FINETUNE_STEPS = 200
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
    """The champion and the better challenger: the shipped weights with their input spec."""
    from ndelab.inference.registry import Registry

    reg = Registry()
    base = reg.get(*SHIPPED.split("@"))
    for key, spec in VARIANTS.items():
        name, version = key.split("@")
        if not any(s.version == version for s in reg.versions(name)):
            reg.register(
                name,
                version,
                base.weights,
                {"note": f"the shipped weights with input {spec}"},
                base=base,
                input_spec=spec,
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


def _record_round(
    store: Store, folder: Path, seeds: range, size: int, shadow: str | None
) -> list[tuple[str, Any, Any]]:
    """Write each phantom to NRRD (a scan the export can read back), record it and pre-label
    it with the champion (and ``shadow`` in shadow)."""
    from ndelab.inference.evaluation import make_eval_phantom

    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for seed in seeds:
        tag, ph = make_eval_phantom(seed, size)
        path = folder / f"{tag}.nrrd"
        write_volume(ph.volume, path)
        vol = open_volume(path)
        part = segment_part(vol)
        scan_id, _ = attach_scan(store, vol, volume_sha256(vol), ENGINEER, part_mask=part)
        prelabel_with_shadow(
            store, scan_id, vol, ENGINEER, champion=CHAMPION, shadow=shadow, part_mask=part
        )
        out.append((scan_id, ph, part, vol))
    return out


def _decide_round(store: Store, phantoms: list[Any]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for scan_id, ph, _, _ in phantoms:
        decided = _decide(
            store, scan_id, np.asarray(ph.labels), list(ph.defects), ph.volume.spacing_mm
        )
        for key, n in decided.items():
            totals[key] = totals.get(key, 0) + n
    return totals


def _ground_truth_check(store: Store, phantoms: list[Any]) -> dict[str, Any]:
    """What the A/B cannot know, from the phantoms' truth: of each version's calls on the
    round, how many sit on a real defect (proposal masks, matched as the engineers match)."""
    out: dict[str, dict[str, int]] = {}
    for scan_id, ph, _, _ in phantoms:
        labels = np.asarray(ph.labels)
        truth = [SparseMask.from_local(labels == d.id) for d in ph.defects]
        calls = [c for c in list_calls(store, scan_id, role=None) if c["source"]["kind"] == "model"]
        masks = get_masks(store, [c["id"] for c in calls])  # masks as proposed (none redrawn)
        for call in calls:
            key = f"{call['source']['name']}@{call['source']['version']}"
            tally = out.setdefault(key, {"calls": 0, "at_a_defect": 0})
            tally["calls"] += 1
            tally["at_a_defect"] += best_target(masks[call["id"]], truth) is not None
    return {k: v | {"at_no_defect": v["calls"] - v["at_a_defect"]} for k, v in out.items()}


def build(
    db: Path,
    *,
    scans: int = 20,
    size: int = 96,
    seed0: int = 10000,
    steps: int = FINETUNE_STEPS,
) -> dict[str, Any]:
    """Build the demo database at ``db`` (the user registry, the scans and the round 1 data
    set beside it); returns what was done."""
    from ndelab.annotation.export.dataset import export_dataset
    from ndelab.inference.finetune import finetune

    work = db.parent
    done: dict[str, Any] = {"scans_per_round": scans, "size": size, "db": str(db)}
    with data_dir(work / "ndelab-data"):
        with Store(db) as store:
            register_variants()
            set_alias(
                store, "champion", *CHAMPION.split("@"), user=ENGINEER, reason="demo: in service"
            )
            round1 = _record_round(store, work / "round1", range(seed0, seed0 + scans), size, None)
            done["round1_decisions"] = _decide_round(store, round1)
            exported = export_dataset(store, work / "round1-dataset", fmt="hdf5", seed=0)
        done["round1_dataset"] = {"scans": exported["scans"], "labels": exported["labels"]}
        name, version = RETRAINED.split("@")
        tuned = finetune(
            work / "round1-dataset",
            name=name,
            version=version,
            base_model=CHAMPION,
            input_spec=HYBRID,
            steps=steps,
        )
        done["retrained"] = {
            "registered": tuned["registered"],
            "base": tuned["base"],
            "train_scans": tuned["train_scans"],
            "steps": steps,
            "threshold": tuned["operating_point"]["threshold"],
            "threshold_why": tuned["operating_point"]["why"],
        }
        with Store(db) as store:
            set_alias(
                store,
                "challenger",
                name,
                version,
                user=ENGINEER,
                reason="demo: retrained on round 1's decisions",
            )
            seeds = range(seed0 + scans, seed0 + 2 * scans)
            round2 = _record_round(store, work / "round2", seeds, size, RETRAINED)
            done["round2_decisions"] = _decide_round(store, round2)
            for scan_id, _, part, vol in round2:  # the other challengers replayed in shadow
                for key in (BETTER, WORSE):
                    prelabel_with_shadow(
                        store, scan_id, vol, ENGINEER, champion=None, shadow=key, part_mask=part
                    )
            done["round2_ground_truth"] = _ground_truth_check(store, round2)
    return done


def reports(db: Path, rules: Path | None = None) -> dict[str, Any]:
    """The A/B of each challenger against the champion, with the verdicts of the default
    rules (calls at places no engineer decided count as false) and of the recall-first rules
    (false calls per scan may rise by one)."""
    gate = load_rules(rules or default_rules_path())
    recall_first = load_rules(default_rules_path().parent / RECALL_FIRST)
    out: dict[str, Any] = {}
    with data_dir(db.parent / "ndelab-data"), Store(db) as store:
        for label, key in (("worse", WORSE), ("retrained", RETRAINED), ("better", BETTER)):
            report = ab_report(store, CHAMPION, key)
            report["gate"] = evaluate_gate(report, gate)
            report["gate_recall_first"] = evaluate_gate(report, recall_first)
            out[label] = report
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ndelab.benchmarks.ab_demo")
    parser.add_argument("--db", required=True, help="a new SQLite file")
    parser.add_argument("--scans", type=int, default=20, help="per round")
    parser.add_argument("--size", type=int, default=96)
    parser.add_argument("--steps", type=int, default=FINETUNE_STEPS, help="fine-tuning steps")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    db = Path(args.db)
    if db.exists():
        print(f"ab_demo: {db} exists; give a new file", file=sys.stderr)
        return 2
    built = build(db, scans=args.scans, size=args.size, steps=args.steps)
    out = {"built": built, **reports(db)}
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        for label in ("worse", "retrained", "better"):
            for which in ("gate", "gate_recall_first"):
                g = out[label][which]
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
