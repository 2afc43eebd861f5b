"""The drift report composes the store's reads, the scans' features (stored, or measured from
the file for scans recorded before), a model's reference and calibration, and the figures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from model_calls import calls_from_labels

from ndelab.annotation.store import Store, get_scan, list_calls, record_scan, review
from ndelab.app.drift_report import drift_report, parse_model, summary_lines
from ndelab.app.workspace import attach_scan, store_calls
from ndelab.inference.drift import DriftError
from ndelab.inference.drift_reference import make_reference
from ndelab.inference.registry import ModelError, Registry
from ndelab.volumes.errors import UsageError
from ndelab.volumes.features import FEATURES_VERSION
from ndelab.volumes.io import open_volume, write_volume
from ndelab.volumes.phantom import make_ct_phantom

CLASSES = ["background", "pore", "crack", "inclusion"]


@pytest.fixture(autouse=True)
def _data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NDELAB_DATA_DIR", str(tmp_path / "data"))


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Registry:
    """A registry of one 3D model whose reference is the recipe at 48 voxels."""
    root = tmp_path_factory.mktemp("models")
    folder = root / "unit3d"
    folder.mkdir()
    card = {
        "name": "unit3d",
        "version": "1",
        "dims": 3,
        "builder": "unet3d",
        "weights": "weights.pt",
        "sha256": "0" * 64,
        "classes": CLASSES,
        "default": True,
        "calibration": {"after": {"n": 40, "table": [{"bin": 9, "n": 40, "score": 0.95}]}},
    }
    (folder / "model.json").write_text(json.dumps(card))
    reference = make_reference("unit3d@1", 3, count=40, tweak=lambda p: p | {"size": 48})
    reference.write(folder / "drift_reference.json")
    return Registry(builtin_dir=root, user_dir=root / "user")


def _review_store(store: Store, tmp_path: Path, n: int = 4) -> list[str]:
    scans = []
    for k in range(n):
        ph = make_ct_phantom(48, seed=10000 + k, noise=1.0)
        scan_id, created = attach_scan(store, ph.volume, f"sha-{k}", "ana")
        assert created
        ids = store_calls(
            store,
            scan_id,
            calls_from_labels(np.asarray(ph.labels), model="unit3d"),
            ph.volume,
            "ana",
        )
        for j, call in enumerate(ids):
            review(store, call, "accept" if j % 4 else "reject", "ana", "checked")
        scans.append(scan_id)
    return scans


def test_attach_scan_stores_the_scans_features(tmp_path: Path) -> None:
    with Store(tmp_path / "r.db") as store:
        ph = make_ct_phantom(48, seed=10010)
        scan_id, _ = attach_scan(store, ph.volume, "sha", "ana")
        features = get_scan(store, scan_id)["features"]
    assert features["version"] == FEATURES_VERSION and features["dims"] == 3
    assert features["noise"] > 0 and features["edge_width"] > 0


def test_the_report_has_input_and_output_drift_and_counts_what_it_could_not_measure(
    tmp_path: Path, registry: Registry
) -> None:
    with Store(tmp_path / "r.db") as store:
        _review_store(store, tmp_path)
        # Recorded before features were stored: one file still readable, one gone.
        readable = tmp_path / "old.nrrd"
        write_volume(make_ct_phantom(48, seed=10020).volume, readable)
        record_scan(store, open_volume(readable), user="ana")
        gone = tmp_path / "gone.nrrd"
        write_volume(make_ct_phantom(48, seed=10021).volume, gone)
        record_scan(store, open_volume(gone), user="ana")
        gone.unlink()
        fractions: list[float] = []
        result = drift_report(store, window=10, registry=registry, progress=fractions.append)
        calls = list_calls(store)

    [inp] = result["input"]
    assert inp["model"] == "unit3d@1"
    assert (inp["stored"], inp["from_file"], inp["unmeasured"]) == (4, 1, 1)
    assert inp["scans"] == 5
    # Five scans are fewer than alerts.yaml's min_scans: nothing is judged yet.
    assert inp["verdict"] == "insufficient"
    assert fractions and fractions[-1] == 1.0

    [out] = result["output"]["windows"]
    assert (out["model"], out["version"], out["score_reference"]) == ("unit3d", "1", "calibration")
    [window] = out["windows"]
    assert window["scans"] == 4 and window["calls"] == len(calls)
    decided = [c for c in calls if c["status"] != "proposed"]
    kept = [c for c in decided if c["status"] == "accepted"]
    assert window["accept_rate"] == pytest.approx(len(kept) / len(decided), abs=1e-4)
    [version] = result["output"]["versions"]
    assert version["calls"] == len(calls) and version["accept_rate"] == window["accept_rate"]
    assert result["verdict"] in ("ok", "warning", "alert")
    assert "input  unit3d@1: insufficient" in "\n".join(summary_lines(result))
    json.dumps(result)


def test_a_window_of_enough_scans_is_judged(tmp_path: Path, registry: Registry) -> None:
    with Store(tmp_path / "r.db") as store:
        for k in range(12):
            ph = make_ct_phantom(48, seed=10030 + k, noise=float(np.linspace(0.6, 1.7, 12)[k]))
            attach_scan(store, ph.volume, f"sha-{k}", "ana")
        result = drift_report(store, window=12, registry=registry, model="unit3d@1")
    [inp] = result["input"]
    assert inp["stored"] == 12 and inp["verdict"] in ("ok", "warning", "alert")
    assert inp["features"]["noise"]["n"] == 12 and "ks" in inp["features"]["noise"]
    assert result["output"]["windows"] == []


def test_bad_requests_are_one_sentence(tmp_path: Path, registry: Registry) -> None:
    with Store(tmp_path / "r.db") as store:
        with pytest.raises(UsageError, match="at least 1 scan"):
            drift_report(store, window=0, registry=registry)
        with pytest.raises(ModelError, match="unknown model 'nope'"):
            drift_report(store, model="nope", registry=registry)
        with pytest.raises(ModelError, match="has no version '9'"):
            drift_report(store, model="unit3d@9", registry=registry)
        with pytest.raises(DriftError, match="cannot be read"):
            drift_report(store, registry=registry, alerts_path=tmp_path / "none.yaml")
        # The baseline has no training distribution: output drift only.
        result: dict[str, Any] = drift_report(store, model="classical-baseline", registry=registry)
        assert result["input"] == [] and result["verdict"] == "insufficient"
    # A version with no reference beside its model.json (a fine-tuned one, say).
    bare = tmp_path / "models"
    (bare / "unit3d").mkdir(parents=True)
    card = registry.get("unit3d").weights.parent / "model.json"
    (bare / "unit3d" / "model.json").write_text(card.read_text())
    with Store(tmp_path / "r.db") as store, pytest.raises(DriftError, match="no drift reference"):
        drift_report(store, model="unit3d", registry=Registry(bare, bare / "user"))
    with pytest.raises(UsageError, match="NAME or NAME@VERSION"):
        parse_model("unit3d@")
    assert parse_model("unit3d@1.0") == ("unit3d", "1.0")
