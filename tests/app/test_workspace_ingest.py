"""The window/CLI path and the label import path store the same part the same way."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from model_calls import calls_from_labels

from ndelab.annotation import Criteria, parse_criteria
from ndelab.annotation.store import (
    Store,
    disposition,
    get_call,
    get_scan,
    import_labels,
    list_calls,
    list_scans,
    review,
)
from ndelab.app.workspace import attach_scan, store_calls
from ndelab.volumes.phantom import make_ct_phantom
from ndelab.volumes.volume import Volume

CRITERIA = {
    "name": "porosity only",
    "version": "1",
    "rules": [{"class": "pore", "label": "amount", "max_total_volume_fraction": 0.9}],
}


@pytest.fixture(autouse=True)
def _data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NDELAB_DATA_DIR", str(tmp_path / "data"))


def _porosity(store: Store, scan_id: str, criteria: Criteria) -> tuple[float, str]:
    for call in list_calls(store, scan_id):
        review(store, call["id"], "accept", "ana")
    result = disposition(store, scan_id, criteria)
    (reason,) = [r for r in result["reasons"] if "denominator" in r]
    return float(reason["measured"]), str(reason["denominator"])


def test_both_paths_record_the_same_part_volume_depths_and_porosity(tmp_path: Path) -> None:
    ph = make_ct_phantom(48, seed=3)
    volume = Volume(np.asarray(ph.volume.data), spacing_mm=ph.volume.spacing_mm)
    labels = np.asarray(ph.labels)
    criteria = parse_criteria(CRITERIA, "porosity.yaml")

    with Store(tmp_path / "import.db") as a:
        made = import_labels(a, volume, labels > 0, "pore", source="model:unit@1", user="ana")
        depths_a = sorted(get_call(a, c)["distance_to_surface_mm"] for c in made["call_ids"])
        part_a = get_scan(a, made["scan_id"])["part_volume_mm3"]
        porosity_a = _porosity(a, made["scan_id"], criteria)

    with Store(tmp_path / "window.db") as b:  # the window's and the CLI's prelabel path
        scan_b, created = attach_scan(b, volume, "sha-of-the-scan", "ana")
        ids = store_calls(b, scan_b, calls_from_labels(labels), volume, "ana")
        depths_b = sorted(get_call(b, c)["distance_to_surface_mm"] for c in ids)
        part_b = get_scan(b, scan_b)["part_volume_mm3"]
        porosity_b = _porosity(b, scan_b, criteria)

    assert created and len(ids) == len(made["call_ids"]) > 0
    assert part_a is not None and part_a == pytest.approx(part_b)
    # The part's volume, not the scanned box with its air, is the porosity denominator.
    assert porosity_a[1] == porosity_b[1] == "part volume"
    assert porosity_a[0] == pytest.approx(porosity_b[0])
    assert None not in depths_a and depths_a == pytest.approx(depths_b)


def test_a_cancelled_prelabel_leaves_no_empty_scan_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The window cancels a review when another file is opened: the scan must be pre-labelled
    when it is opened again, not found with an empty queue."""
    import ndelab.inference.prelabel as prelabel_module
    from ndelab.app.workspace import open_review
    from ndelab.volumes.progress import Cancelled

    ph = make_ct_phantom(48, seed=3)
    runs: list[str] = []

    def cancelled(*_args: object, **_kwargs: object) -> object:
        runs.append("cancelled")
        raise Cancelled("pre-labelling")

    def finds_the_defects(*_args: object, **_kwargs: object) -> object:
        runs.append("done")
        return SimpleNamespace(calls=calls_from_labels(np.asarray(ph.labels)))

    with Store(tmp_path / "review.db") as store:
        monkeypatch.setattr(prelabel_module, "prelabel", cancelled)
        with pytest.raises(Cancelled):
            open_review(store, ph.volume, "ana", prelabel_if_new=True)
        assert list_scans(store) == [] and list_calls(store) == []
        monkeypatch.setattr(prelabel_module, "prelabel", finds_the_defects)
        session = open_review(store, ph.volume, "ana", prelabel_if_new=True)
        assert runs == ["cancelled", "done"]
        assert len(session.rows) == int(np.asarray(ph.labels).max()) > 0
