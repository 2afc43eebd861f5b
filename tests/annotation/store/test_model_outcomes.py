"""The drift report's reads: model calls by scan time, accept rates per model version (one
GROUP BY), scans with their stored features; and migration 0003 both ways."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from ndelab.annotation.mask import SparseMask
from ndelab.annotation.store import (
    Store,
    get_mask,
    get_scan,
    import_labels,
    record_scan,
    review,
)
from ndelab.annotation.store.database import alembic_config
from ndelab.annotation.store.model_outcomes import (
    model_calls,
    outcomes_by_version,
    scan_inputs,
)
from ndelab.annotation.store.schema import Base
from ndelab.volumes.volume import Volume

FEATURES = {"version": 1, "dims": 3, "noise": 0.0123, "contrast": 24000.0, "edge_width": None}


def _scan(store: Store, n: int, source: str, scores: list[float]) -> list[str]:
    labels = np.zeros((4, 8, 8 * n), np.int32)
    for k in range(n):
        labels[1:3, 2:5, 8 * k + 2 : 8 * k + 5] = k + 1
    vol = Volume(np.zeros(labels.shape, np.uint8), spacing_mm=(0.1, 0.1, 0.1))
    made = import_labels(store, vol, labels, "pore", source=source, user="m", scores=scores)
    time.sleep(0.002)  # scans recorded one after the other have distinct times
    return list(made["call_ids"])


def test_accept_rate_per_model_version_on_a_small_review(store: Store) -> None:
    v1a = _scan(store, 4, "model:unet@1", [0.9, 0.8, 0.7, 0.6])
    v1b = _scan(store, 2, "model:unet@1", [0.5, 0.4])
    v2 = _scan(store, 3, "model:unet@2", [0.95, 0.85, 0.75])
    _scan(store, 2, "manual", [1.0, 1.0])  # a person's calls are no model's outcome
    for call in v1a[:2]:
        review(store, call, "accept", "ana")
    review(store, v1a[2], "reject", "ana", "a scratch")
    review(store, v1b[0], "reject", "ana", "a scratch")
    review(store, v2[0], "accept", "ben")
    grown = SparseMask.from_local(np.ones((3, 4, 3), bool), get_mask(store, v2[1]).start)
    review(store, v2[1], "correct", "ben", mask=grown)

    rows = {r["source_version"]: r for r in outcomes_by_version(store)}
    assert set(rows) == {"1", "2"}
    one, two = rows["1"], rows["2"]
    assert (one["scans"], one["calls"], one["accepted"], one["rejected"], one["open"]) == (
        2,
        6,
        2,
        2,
        2,
    )
    assert one["accept_rate"] == 0.5
    assert (two["accepted"], two["corrected"], two["rejected"], two["open"]) == (1, 1, 0, 1)
    assert two["accept_rate"] == 1.0
    assert outcomes_by_version(store, name="unet", version="2") == [two]
    assert outcomes_by_version(store, name="other") == []

    calls = model_calls(store)
    assert len(calls) == 9 and {c["source_name"] for c in calls} == {"unet"}
    times = [c["scan_created_at"] for c in calls]
    assert times == sorted(times) and times[0].endswith("+00:00")
    assert sorted(c["score"] for c in calls[:4]) == [0.6, 0.7, 0.8, 0.9]  # the first scan
    assert {c["status"] for c in calls} == {"accepted", "corrected", "rejected", "proposed"}
    assert sorted(c["score"] for c in model_calls(store, version="2")) == [0.75, 0.85, 0.95]


def test_record_scan_keeps_its_features_and_older_scans_have_none(store: Store) -> None:
    vol = Volume(np.zeros((4, 8, 8), np.uint8), spacing_mm=(0.1, 0.1, 0.1))
    _, old = record_scan(store, vol, user="m")
    time.sleep(0.002)
    _, new = record_scan(store, vol, user="m", features=FEATURES)
    assert get_scan(store, new)["features"] == FEATURES
    rows = scan_inputs(store)
    assert [r["id"] for r in rows] == [old, new]
    assert rows[0]["features"] is None and rows[1]["features"] == FEATURES
    assert rows[1]["shape"] == [4, 8, 8] and rows[1]["created_at"].endswith("+00:00")


def test_migration_0003_round_trip_keeps_the_scans(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    with Store(path) as store:
        vol = Volume(np.zeros((4, 8, 8), np.uint8), spacing_mm=(0.1, 0.1, 0.1))
        _, scan_id = record_scan(store, vol, user="m", features=FEATURES)
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0002")
        assert "features" not in {c["name"] for c in inspect(conn).get_columns("scans")}
        command.upgrade(alembic_config(conn), "head")
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    engine.dispose()
    with Store(path) as store:
        scan = get_scan(store, scan_id)
        assert scan["shape"] == [4, 8, 8]
        assert scan["features"] is None  # dropped with the column; measured again on demand


@pytest.mark.parametrize("version", ["1", None])
def test_no_model_calls_is_an_empty_answer(store: Store, version: str | None) -> None:
    assert model_calls(store, name="unet", version=version) == []
    assert outcomes_by_version(store) == []
