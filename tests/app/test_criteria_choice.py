"""The default criteria file follows the scan's modality and material (app.criteria_choice)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ndelab.annotation.criteria import load_criteria
from ndelab.annotation.store import Store, get_scan, record_scan
from ndelab.app.criteria_choice import (
    default_criteria,
    kept_or_default,
    material_family,
    scan_kind,
    session_default,
)
from ndelab.app.resources_paths import criteria_files
from ndelab.app.review_session import ReviewSession
from ndelab.volumes.phantom import make_radiograph
from ndelab.volumes.volume import Volume

FILES = criteria_files()


@pytest.mark.parametrize(
    ("modality", "shape", "kind"),
    [
        ("DX", [1, 64, 64], "radiograph"),
        ("CR", [1, 64, 64], "radiograph"),
        ("dr", None, "radiograph"),
        (None, [1, 64, 64], "radiograph"),  # one projection image, modality unknown
        ("CT", [40, 64, 64], "ct"),
        (None, [40, 64, 64], "ct"),
    ],
)
def test_scan_kind(modality: str | None, shape: list[int] | None, kind: str) -> None:
    assert scan_kind(modality, shape) == kind


def test_material_family() -> None:
    assert material_family("A356 aluminium") == "aluminium"
    assert material_family("AlSi10Mg") == "aluminium"
    assert material_family("S355 steel") == "steel"
    assert material_family("Ti-6Al-4V titanium") is None  # not aluminium for its "Al"
    assert material_family(None) is None and material_family("") is None


def test_a_weld_radiograph_gets_radiograph_criteria(tmp_path: Path) -> None:
    ph = make_radiograph(seed=3, kind="weld", shape=(128, 300))
    with Store(tmp_path / "w.db") as store:
        _, scan_id = record_scan(store, ph.volume, user="ana")
        scan = get_scan(store, scan_id)
        choice = default_criteria(scan, FILES)
        assert choice.kind == "radiograph" and choice.path is not None
        assert choice.path.name == "weld-radiograph-iso10675-level-2.yaml"
        # The file it picks is radiograph criteria (a radiograph: section), not a casting's.
        assert load_criteria(choice.path).radiograph is not None
        session = ReviewSession(store, scan_id, "ana")
        assert session_default(session) == choice  # read from the store when not given


def test_ct_gets_the_casting_file_and_steel_the_ct_weld_file() -> None:
    ct = {"modality": "CT", "shape": [40, 64, 64], "diconde": {"material": "A356 aluminium"}}
    choice = default_criteria(ct, FILES)
    assert choice.path is not None and choice.path.name == "al-casting-porosity-grade-2.yaml"
    assert load_criteria(choice.path).radiograph is None
    unknown = default_criteria({"modality": "CT", "shape": [40, 64, 64]}, FILES)
    assert unknown.path == choice.path and unknown.material is None
    steel = {"modality": "CT", "shape": [40, 64, 64], "image_quality": {"material": "steel"}}
    steel_path = default_criteria(steel, FILES).path
    assert steel_path is not None and steel_path.name == "weld-level-C.yaml"
    missing = default_criteria(ct, [p for p in FILES if not p.name.startswith("al-")])
    assert missing.path is None and "no shipped criteria" in missing.why


def test_the_users_pick_is_kept_for_the_same_kind_only() -> None:
    radiograph = default_criteria({"modality": "DX", "shape": [1, 8, 8]}, FILES)
    ct = default_criteria({"modality": "CT", "shape": [8, 8, 8]}, FILES)
    asme = str(next(p for p in FILES if p.name == "weld-radiograph-asme-rounded.yaml"))
    picked = ("radiograph", asme)
    assert str(kept_or_default(radiograph, picked).path) == asme
    assert kept_or_default(ct, picked) == ct
    assert kept_or_default(ct, None) == ct


def test_a_ct_session_reads_its_default_from_the_store(tmp_path: Path) -> None:
    with Store(tmp_path / "c.db") as store:
        volume = Volume(np.zeros((8, 8, 8), np.uint16), spacing_mm=(0.1, 0.1, 0.1), modality="CT")
        _, scan_id = record_scan(store, volume, user="ana")
        choice = session_default(ReviewSession(store, scan_id, "ana"))
        assert choice.kind == "ct" and choice.path is not None
        assert choice.path.name.startswith("al-casting")
