"""The verdict against the class table: acceptable, or not interpretable with one sentence."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ndelab.volumes.errors import UsageError
from ndelab.volumes.phantom import Phantom
from ndelab.volumes.quality import QualityReport, assess, judge, requirement
from ndelab.volumes.quality.classes import default_table_path

Factory = Callable[[int, float, float], Phantom]


def _assess(ph: Phantom, image_class: str = "A", **kw: Any) -> QualityReport:
    m = ph.volume.metadata["iqi"]
    args: dict[str, Any] = {
        "duplex_line": m["duplex"]["line_yx"],
        "duplex_half_width_px": m["duplex"]["half_width_px"],
        "roi": m["snr_roi"]["roi_yx"],
        "wire_line": m["single_wire"]["line_yx"],
        "wire_half_width_px": m["single_wire"]["half_width_px"],
        "image_class": image_class,
        "material": "steel",
        "thickness_mm": 10.0,
    }
    args.update(kw)
    return assess(ph.volume, **args)


def test_a_sharp_quiet_image_is_acceptable(iqi_phantom: Factory) -> None:
    r = _assess(iqi_phantom(0, 0.8, 0.5))
    v = r.verdict
    assert v is not None and v.acceptable and v.status == "acceptable"
    assert v.reason.startswith("image quality meets class A at 10 mm steel: SRb ")
    assert [c.name for c in v.checks] == ["srb", "snrn", "wire"] and all(c.passed for c in v.checks)
    assert r.snrn == pytest.approx(r.snr.snr * 88.6 / r.duplex.srb_detector_um)  # type: ignore[union-attr]


def test_more_blur_fails_on_srb_with_the_right_sentence(iqi_phantom: Factory) -> None:
    r = _assess(iqi_phantom(0, 1.6, 0.5))
    v = r.verdict
    assert v is not None and not v.acceptable and v.status == "not interpretable"
    m = re.fullmatch(
        r"SRb (\d+) µm exceeds the 160 µm the class A table allows at 10 mm steel", v.reason
    )
    assert m is not None, v.reason
    assert int(m.group(1)) == round(r.duplex.srb_um)  # type: ignore[union-attr]
    assert not v.checks[0].passed and v.checks[0].required == 160.0


def test_class_b_is_stricter(iqi_phantom: Factory) -> None:
    """The same image that meets class A fails class B (130 um at 10 mm)."""
    ph = iqi_phantom(0, 1.2, 0.5)  # SRb about 175 um
    assert not _assess(ph, "A").verdict.acceptable  # type: ignore[union-attr]
    ph = iqi_phantom(1, 0.8, 0.5)  # SRb about 120 um
    a, b = _assess(ph, "A").verdict, _assess(ph, "B").verdict
    assert a is not None and b is not None and a.acceptable
    assert b.requirement.max_srb_um == 130 and b.requirement.min_snrn == 100


def test_noise_fails_on_snrn(iqi_phantom: Factory) -> None:
    v = _assess(iqi_phantom(0, 0.8, 3.0)).verdict
    assert v is not None and not v.acceptable
    assert re.fullmatch(
        r"SNRn \d+ is below the 70 the class A table requires at 10 mm steel", v.reason
    ), v.reason


def test_missing_readings_are_not_interpretable(iqi_phantom: Factory) -> None:
    ph = iqi_phantom(0, 0.8, 0.5)
    v = _assess(ph, roi=None).verdict
    assert v is not None and not v.acceptable and v.reason.startswith("SNRn was not measured")
    v = _assess(ph, wire_line=None).verdict
    assert v is not None and not v.acceptable
    assert (
        v.reason
        == "the single-wire IQI was not read: the class A table asks for W13 visible at 10 mm steel"
    )
    req = requirement("A", "steel", 10)
    v = judge(req, duplex=None, snr=None)
    assert v.reason.startswith("SRb was not measured")


def test_verdict_to_json_is_plain_json(iqi_phantom: Factory) -> None:
    r = _assess(iqi_phantom(0, 1.6, 0.5))
    doc = json.loads(json.dumps(r.to_json()))
    assert doc["verdict"]["status"] == "not interpretable"
    assert doc["verdict"]["reason"] == r.verdict.reason  # type: ignore[union-attr]
    assert doc["verdict"]["requirement"]["status"].startswith("example values")
    assert len(doc["duplex"]["pairs"]) == 13 and doc["srb_um"] > 200


def test_table_rows_and_bad_lookups(tmp_path: Path) -> None:
    assert "example values" in default_table_path().read_text(encoding="utf-8")
    r = requirement("b", "Steel", 10)
    assert (r.max_srb_um, r.min_snrn, r.min_wire) == (130.0, 100.0, "W14")
    assert requirement("B", "steel", 8).max_srb_um == 100  # the upper bound is in its row
    assert requirement("A", "aluminum", 3).material == "aluminium"
    for args, match in [
        (("C", "steel", 10), "class 'C'"),
        (("B", "copper", 10), "material 'copper'"),
        (("B", "steel", 300), "thicker than the class B rows"),
        (("B", "steel", 0), "must be positive"),
    ]:
        with pytest.raises(UsageError, match=match):
            requirement(*args)  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="cannot be read"):
        requirement("B", "steel", 10, tmp_path / "none.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("classes:\n  B:\n    steel:\n      - {up_to_mm: 20}\n", encoding="utf-8")
    with pytest.raises(UsageError, match="malformed"):
        requirement("B", "steel", 10, bad)
    bad.write_text("rows: []\n", encoding="utf-8")
    with pytest.raises(UsageError, match="no 'classes'"):
        requirement("B", "steel", 10, bad)
