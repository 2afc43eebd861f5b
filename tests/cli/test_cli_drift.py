"""``ndelab drift`` end to end: a small review store of phantom scans against the shipped
models' references and calibration; bad input exits 2 with one sentence."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from ndelab.annotation.store import Store, record_scan, review
from ndelab.app.workspace import attach_scan, store_calls
from ndelab.cli import main
from ndelab.volumes.io import open_volume, write_volume
from ndelab.volumes.phantom import make_ct_phantom, make_radiograph


@pytest.fixture(autouse=True)
def _data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NDELAB_DATA_DIR", str(tmp_path / "data"))


def _calls(labels: np.ndarray, version: str) -> list[SimpleNamespace]:
    out = []
    for i in range(1, int(labels.max()) + 1):
        zyx = np.argwhere(labels == i)
        if zyx.size:
            lo, hi = zyx.min(0), zyx.max(0) + 1
            out.append(
                SimpleNamespace(
                    mask=labels[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]] == i,
                    bbox_zyx=(*lo.tolist(), *hi.tolist()),
                    class_name="pore",
                    score=0.6 + 0.05 * (i % 8),
                    model_name="ndelab-unet3d",
                    model_version=version,
                )
            )
    return out


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """Six CT scans (48-64 voxels) with reviewed calls, a radiograph, and one scan recorded
    before features were stored whose file is gone."""
    path = tmp_path / "review.db"
    with Store(path) as store:
        for k, size in enumerate([48, 56, 64, 48, 56, 64]):
            ph = make_ct_phantom(size, seed=10000 + k)
            scan_id, _ = attach_scan(store, ph.volume, f"sha-{k}", "ana")
            calls = _calls(np.asarray(ph.labels), "1.0.1")
            for j, call in enumerate(store_calls(store, scan_id, calls, ph.volume, "ana")):
                if j % 3 == 0:
                    review(store, call, "reject", "ana", "not a defect")
                elif j % 3 == 1:
                    review(store, call, "accept", "ana")
        attach_scan(store, make_radiograph(128, seed=10000).volume, "sha-dx", "ana")
        gone = tmp_path / "gone.nrrd"
        write_volume(make_ct_phantom(48, seed=10009).volume, gone)
        record_scan(store, open_volume(gone), user="ana")
        gone.unlink()
    return path


def test_drift_reports_input_output_and_the_verdict(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["drift", "--db", str(db), "--window", "3", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    inputs = {r["model"]: r for r in report["input"]}
    assert set(inputs) == {"ndelab-unet3d@1.0.1", "ndelab-unet3d@1.0.2", "ndelab-unet2d@1.0.0"}
    ct = inputs["ndelab-unet3d@1.0.1"]
    # The last three CT scans: two measured when recorded, one whose file is gone.
    assert (ct["stored"], ct["from_file"], ct["unmeasured"]) == (2, 0, 1)
    assert ct["verdict"] == "insufficient"  # below alerts.yaml's min_scans
    assert inputs["ndelab-unet2d@1.0.0"]["stored"] == 1

    [out] = report["output"]["windows"]
    assert (out["model"], out["version"]) == ("ndelab-unet3d", "1.0.1")
    assert out["score_reference"] == "calibration"  # model.json's calibration table
    assert [w["scans"] for w in out["windows"]] == [3, 3]
    for w in out["windows"]:
        assert w["calls"] > 0 and w["decided"] > 0 and 0 < w["accept_rate"] < 1
        assert w["verdict"] in ("ok", "warning", "alert", "insufficient")
    [version] = report["output"]["versions"]
    assert version["scans"] == 6 and version["open"] > 0
    assert report["verdict"] in ("ok", "warning", "alert", "insufficient")

    assert main(["drift", "--db", str(db), "--window", "10", "--model", "ndelab-unet3d"]) == 0
    text = capsys.readouterr().out
    assert "input  ndelab-unet3d@1.0.2" in text and "ndelab-unet2d" not in text
    assert "output ndelab-unet3d@1.0.1" in text and "noise" in text


def test_enough_scans_are_judged_per_feature(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "many.db"
    with Store(path) as store:
        for k in range(10):
            attach_scan(store, make_ct_phantom(48, seed=10100 + k).volume, f"s{k}", "ana")
    args = ["drift", "--db", str(path), "--model", "ndelab-unet3d@1.0.1", "--json"]
    assert main(args) == 0
    [ct] = json.loads(capsys.readouterr().out)["input"]
    assert ct["stored"] == 10 and ct["verdict"] in ("ok", "warning", "alert")
    assert {"ks", "p_value", "psi", "verdict"} <= set(ct["features"]["noise"])


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--window", "0"], "--window must be at least 1 scan"),
        (["--model", "nope"], "unknown model 'nope'"),
        (["--model", "ndelab-unet3d@9"], "has no version '9'"),
        (["--model", "ndelab-unet3d@"], "NAME or NAME@VERSION"),
        (["--alerts", "missing.yaml"], "cannot be read"),
    ],
)
def test_bad_input_exits_2_with_one_sentence(
    db: Path, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["drift", "--db", str(db), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_a_database_that_does_not_exist_is_not_created(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "typo.db"
    assert main(["drift", "--db", str(missing)]) == 2
    assert "does not exist" in capsys.readouterr().err and not missing.exists()
