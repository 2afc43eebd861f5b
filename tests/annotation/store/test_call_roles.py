"""Shadow calls (migration 0007): stored with their version and role, and invisible to every
query that lists or counts calls. Each reading function is run before and after a shadow
model's calls land on the same scan, at the same places and elsewhere: any leak changes it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from ndelab.annotation import Source, SparseMask
from ndelab.annotation.errors import ReviewError
from ndelab.annotation.export.csv import write_calls_csv
from ndelab.annotation.export.dataset import export_dataset, files_sha256
from ndelab.annotation.store import (
    Store,
    add_indications,
    audit,
    disposition,
    get_call,
    get_mask,
    import_labels,
    indications_from_masks,
    list_calls,
    review,
)
from ndelab.annotation.store.agreement import agreement, overruled
from ndelab.annotation.store.database import alembic_config
from ndelab.annotation.store.model_outcomes import model_calls, outcomes_by_version
from ndelab.annotation.store.model_runs import model_runs, record_run
from ndelab.annotation.store.provenance import call_rows
from ndelab.annotation.store.schema import Base
from ndelab.annotation.store.signing import nearness
from ndelab.annotation.sync.apply import indication_from_create
from ndelab.volumes.io import open_volume, write_volume
from ndelab.volumes.volume import Volume

SHAPE = (6, 20, 24)
CRITERIA = Path(__file__).parents[3] / "resources" / "criteria" / "al-casting-porosity-grade-2.yaml"


def _labels() -> np.ndarray[Any, np.dtype[np.int32]]:
    labels = np.zeros(SHAPE, np.int32)
    labels[1:3, 2:5, 2:6] = 1
    labels[2:5, 8:12, 10:13] = 2
    labels[0:2, 14:17, 15:20] = 3
    return labels


def _champion_scan(store: Store, folder: Path) -> tuple[str, list[str], Volume]:
    data = np.random.default_rng(0).integers(0, 4000, SHAPE, dtype=np.uint16)
    path = folder / "part.nrrd"
    write_volume(Volume(data, spacing_mm=(0.5, 0.25, 0.2)), path)
    vol = open_volume(path)
    made = import_labels(
        store,
        vol,
        _labels(),
        {1: "pore", 2: "pore", 3: "crack"},
        source="model:porenet@2.1",
        user="runner",
        scores=[0.9, 0.8, 0.4],
        sha256=files_sha256(vol),
    )
    ids = list(made["call_ids"])
    review(store, ids[0], "accept", "ana")
    review(store, ids[1], "reject", "ana", "a scratch")
    review(store, ids[2], "correct", "ana", "a pore, not a crack", cls="pore")
    manual = np.zeros(SHAPE, bool)
    manual[3:5, 15:18, 2:5] = True
    items = indications_from_masks(
        [SparseMask.from_local(manual)],
        ["pore"],
        [None],
        [Source("manual", "ana")],
        spacing_mm=vol.spacing_mm,
    )
    (man,) = add_indications(store, made["scan_id"], items, user="ana")
    review(store, man, "accept", "ana")
    return str(made["scan_id"]), ids, vol


def _shadow_calls(store: Store, scan_id: str, ids: list[str], vol: Volume) -> list[str]:
    """The shadow version's calls: at two of the champion's places and at a new one."""
    extra = np.zeros(SHAPE, bool)
    extra[4:6, 2:4, 18:22] = True
    masks = [get_mask(store, ids[0]), get_mask(store, ids[1]), SparseMask.from_local(extra)]
    items = indications_from_masks(
        masks,
        ["pore", "crack", "inclusion"],
        [0.7, 0.6, 0.95],
        [Source("model", "porenet", "3.0")] * 3,
        spacing_mm=vol.spacing_mm,
    )
    made = add_indications(store, scan_id, items, user="runner", role="shadow")
    record_run(store, scan_id, "porenet", "3.0", role="shadow", calls=3, user="runner")
    return made


def _everything(store: Store, scan_id: str, tmp: Path, tag: str) -> dict[str, Any]:
    """Every figure and listing engineers and reviewers read."""
    csv = tmp / f"{tag}.csv"
    write_calls_csv(store, scan_id, csv)
    exported = export_dataset(store, tmp / f"export-{tag}", fmt="hdf5")
    return {
        "queue": list_calls(store, scan_id),
        "all_queue": list_calls(store),
        "reviewed": call_rows(store, statuses=("proposed", "accepted", "rejected", "corrected")),
        "agreement": agreement(store),
        "overruled": overruled(store),
        "disposition": disposition(store, scan_id, CRITERIA, include_nearness=True),
        "nearness": nearness(store, scan_id, CRITERIA),
        "model_calls": model_calls(store),
        "outcomes": outcomes_by_version(store),
        "audit_scan": audit(store, scan_id),
        "audit_all": audit(store),
        "csv": csv.read_text(),
        "export": {k: exported[k] for k in ("splits", "classes", "labels", "scans")},
    }


def test_shadow_calls_leak_into_no_listing_nor_figure(store: Store, tmp_path: Path) -> None:
    scan_id, ids, vol = _champion_scan(store, tmp_path)
    before = _everything(store, scan_id, tmp_path, "before")
    shadow = _shadow_calls(store, scan_id, ids, vol)
    after = _everything(store, scan_id, tmp_path, "after")
    for key in before:
        assert after[key] == before[key], f"a shadow call leaked into {key}"
    # They are there, with their version and role, for those who ask.
    rows = list_calls(store, scan_id, role="shadow")
    assert sorted(r["id"] for r in rows) == sorted(shadow)
    assert {(r["source"]["name"], r["source"]["version"], r["role"]) for r in rows} == {
        ("porenet", "3.0", "shadow")
    }
    assert len(list_calls(store, scan_id, role=None)) == len(before["queue"]) + 3
    assert get_call(store, shadow[0])["role"] == "shadow"
    assert len(audit(store, scan_id, include_shadow=True)) == len(before["audit_scan"]) + 4
    assert [r["version"] for r in model_runs(store)] == ["3.0"]


def test_a_shadow_call_is_never_reviewed(store: Store, tmp_path: Path) -> None:
    scan_id, ids, vol = _champion_scan(store, tmp_path)
    shadow = _shadow_calls(store, scan_id, ids, vol)
    with pytest.raises(ReviewError, match="shadow"):
        review(store, shadow[0], "accept", "ana")
    assert get_call(store, shadow[0])["status"] == "proposed"


def test_a_synced_shadow_call_stays_a_shadow_call(store: Store, tmp_path: Path) -> None:
    scan_id, ids, vol = _champion_scan(store, tmp_path)
    shadow = _shadow_calls(store, scan_id, ids, vol)
    events = {
        e["entity_id"]: e
        for e in audit(store, scan_id, include_shadow=True)
        if e["action"] == "create"
    }
    ev = dict(events[shadow[0]], user_id="runner")
    assert indication_from_create(ev)["role"] == "shadow"
    old = dict(events[ids[0]], user_id="runner")
    old["after"] = {k: v for k, v in old["after"].items() if k != "role"}  # before 0007
    assert indication_from_create(old)["role"] == "champion"


def test_migration_0007_round_trip_keeps_the_calls_as_champion(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    with Store(path) as store:
        vol = Volume(np.zeros(SHAPE, np.uint8), spacing_mm=(0.5, 0.25, 0.2))
        made = import_labels(store, vol, _labels(), "pore", source="model:a@1", user="m")
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0006")
        assert "role" not in {c["name"] for c in inspect(conn).get_columns("indications")}
        command.upgrade(alembic_config(conn), "head")
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    engine.dispose()
    with Store(path) as store:
        rows = list_calls(store)
        assert sorted(r["id"] for r in rows) == sorted(made["call_ids"])
        assert {r["role"] for r in rows} == {"champion"}
