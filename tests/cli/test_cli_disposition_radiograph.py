"""`ndelab disposition` on a phantom weld radiograph whose ground-truth defects are stored as
calls through the ingest: ISO 10675-1-like levels, the sizing section, nothing dropped."""

from __future__ import annotations

import itertools
import json
import math
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ndelab.annotation.store import Store, audit, import_labels, review
from ndelab.cli import main
from ndelab.volumes.phantom import make_radiograph

CRITERIA = Path(__file__).resolve().parents[2] / "resources" / "criteria"
LEVEL = {n: str(CRITERIA / f"weld-radiograph-iso10675-level-{n}.yaml") for n in (1, 2, 3)}
SEED = 3  # a weld with 14 pores (a cluster among them), a tungsten inclusion, lack of fusion


def _feret_mm(pixels: np.ndarray, px: float) -> float:
    """Largest corner-to-corner distance of the pixel squares, by brute force."""
    corners = np.unique(
        (pixels[:, None, :] + np.array([[0, 0], [0, 1], [1, 0], [1, 1]])[None]).reshape(-1, 2),
        axis=0,
    )
    best = max(
        (math.dist(a, b) for a, b in itertools.combinations(corners.tolist(), 2)), default=0.0
    )
    return best * px


@pytest.fixture(scope="module")
def weld(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    ph = make_radiograph(seed=SEED, kind="weld", shape=(512, 1200))
    classes = {
        d.id: "lack-of-fusion" if d.shape == "lack_of_fusion" else d.kind for d in ph.defects
    }
    db = str(tmp_path_factory.mktemp("weld") / "review.db")
    with Store(db) as store:
        made = import_labels(
            store,
            ph.volume,
            ph.labels,
            classes,
            source="manual",
            user="truth",
            part_mask=ph.part_mask,
        )
        for call_id in made["call_ids"]:
            review(store, call_id, "accept", "ana")
    px = ph.volume.spacing_mm[2]
    truth = {
        call_id: (classes[d.id], _feret_mm(np.argwhere(ph.labels[0] == d.id), px))
        for call_id, d in zip(made["call_ids"], ph.defects, strict=True)
    }
    thickness = ph.volume.metadata["params"]["geometry"]["plate_thickness_mm"]
    return {"db": db, "scan": made["scan_id"], "truth": truth, "t": thickness}


def _disposition(capsys: pytest.CaptureFixture[str], weld: dict[str, Any], level: int) -> Any:
    argv = ["disposition", "--db", weld["db"], "--scan", weld["scan"], "--criteria"]
    argv += [LEVEL[level], "--thickness-mm", str(weld["t"]), "--json"]
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_level_2_on_a_phantom_weld(
    weld: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    result = _disposition(capsys, weld, 2)
    section = result["radiograph"]
    assert section["thickness_mm"] == weld["t"] and section["thickness_from"] == "the command line"
    assert section["weld_axis"] == "x" and section["weld_length_mm"] == pytest.approx(120)
    truth = weld["truth"]
    # Nothing dropped: every call is sized, merged into one that is, or listed as ignored.
    sized = {i for ind in section["indications"] for i in ind["ids"]}
    ignored = {i for ind in section["ignored"] for i in ind["ids"]}
    assert sized | ignored == set(truth) and not sized & ignored
    assert section["ignored"], "the phantom has pores under level 2's 0.4 mm"
    for ind in section["ignored"]:
        cls, size = truth[ind["id"]]
        assert ind["size_mm"] == pytest.approx(size) and size < 0.4 and cls == ind["class"]
    for ind in section["indications"]:
        if len(ind["ids"]) == 1:  # not merged: the size is the brute-force largest dimension
            assert ind["size_mm"] == pytest.approx(truth[ind["id"]][1])
    # The single-pore rule measured the largest kept pore against min(0.3 t, 4 mm).
    (size,) = [r for r in result["reasons"] if r["rule"] == 1]
    pores = [i["size_mm"] for i in section["indications"] if i["class"] == "pore"]
    assert size["check"] == "max_size" and size["measured"] == pytest.approx(max(pores))
    assert size["limit"] == pytest.approx(min(0.3 * weld["t"], 4.0))
    (area,) = [r for r in result["reasons"] if r["check"] == "max_projected_area_percent"]
    assert area["window_mm"] == pytest.approx(100) and area["weld_width_mm"] == 12
    assert area["measured"] == pytest.approx(100 * area["pore_area_mm2"] / 1200)
    # The lack of fusion is forbidden at level 2: reject, and the sentence says why.
    (lof,) = [r for r in result["reasons"] if r["class"] == "lack-of-fusion"]
    assert not lof["passed"] and result["verdict"] == "reject"
    assert (
        lof["message"].startswith("lack of fusion (401): ")
        and "over the limit of 0" in lof["message"]
    )
    assert all(r["message"] and "\n" not in r["message"] for r in result["reasons"])


def test_level_1_is_stricter_than_level_3_on_the_same_weld(
    weld: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    results = {n: _disposition(capsys, weld, n) for n in (1, 2, 3)}
    failed = {n: sum(not r["passed"] for r in res["reasons"]) for n, res in results.items()}
    assert failed[1] >= failed[2] >= failed[3] and failed[1] > failed[3]
    ignored = {n: len(res["radiograph"]["ignored"]) for n, res in results.items()}
    assert ignored[1] <= ignored[2] <= ignored[3]
    assert results[1]["verdict"] == "reject"


def test_text_output_lists_the_ignored(
    weld: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    result = _disposition(capsys, weld, 3)
    argv = ["disposition", "--db", weld["db"], "--scan", weld["scan"], "--criteria", LEVEL[3]]
    assert main([*argv, "--thickness-mm", str(weld["t"])]) == 0
    text = capsys.readouterr().out
    assert "Ignored (below the size that counts)" in text
    for ind in result["radiograph"]["ignored"]:
        assert ind["id"][:8] in text
    for reason in result["reasons"]:
        assert reason["message"] in text
    # A bad thickness is one sentence, exit 2.
    assert main([*argv, "--thickness-mm", "-1"]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_signing_keeps_what_was_ignored_on_record(
    weld: dict[str, Any], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db = str(tmp_path / "copy.db")
    shutil.copy(weld["db"], db)  # the module's database stays unsigned for the other tests
    argv = ["disposition", "--db", db, "--scan", weld["scan"], "--criteria", LEVEL[3]]
    argv += ["--thickness-mm", str(weld["t"]), "--sign", "rev", "--json"]
    # The phantom was imported without its image quality measured: a radiograph whose image
    # quality was never proven is not signed without the audited override either.
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "image quality was never measured" in err and err.count("\n") == 1
    why = "IQIs read on the film copy, report 4"
    assert main([*argv, "--override-iq", "--reason", why, "--user", "lead"]) == 0
    signed = json.loads(capsys.readouterr().out)
    assert signed["iq_override"]["user"] == "lead"
    assert signed["iq_override"]["image_quality"]["status"] == "not measured"
    with Store(db) as store:
        events = audit(store, weld["scan"])
    (event,) = [e for e in events if e["action"] == "sign"]
    (override,) = [e for e in events if e["action"] == "override_iq"]
    assert override["user"] == "lead" and override["reason"] == why
    assert override["after"]["disposition_id"] == signed["id"]
    assert event["after"]["radiograph"]["ignored"] == signed["radiograph"]["ignored"]
    assert event["after"]["radiograph"]["ignored"], "level 3 ignores the phantom's small pores"
