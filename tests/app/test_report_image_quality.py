"""The image-quality section of a radiograph's report: the gate's verdict and reason, SRb and
SNRn against the class, the IQI readings, the audited overrides, and the share of the part
where the criteria's smallest size limit cannot be guaranteed; and that the PDF draws it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ndelab.annotation import parse_criteria
from ndelab.annotation.disposition import IqOverride
from ndelab.annotation.store import Store, disposition, record_scan, set_image_quality
from ndelab.app.image_quality import map_for, smallest_size_limit_mm
from ndelab.app.report import build_report
from ndelab.app.report_image_quality import iq_section, part_area, section_lines
from ndelab.volumes.phantom import make_radiograph
from ndelab.volumes.quality.gate import image_quality_record
from ndelab.volumes.volume import Volume

CRITERIA = Path(__file__).resolve().parents[2] / "resources" / "criteria"
LEVEL_2 = CRITERIA / "weld-radiograph-iso10675-level-2.yaml"


def _pores(limit_mm: float) -> Any:
    rules = [{"class": "pore", "max_equivalent_diameter_mm": limit_mm}]
    return parse_criteria({"name": "p", "version": 1, "rules": rules}, "p.yaml")


@pytest.fixture(scope="module")
def weld() -> Any:
    # The default blur (1 px of 0.1 mm) gives SRb about 147 µm, over class A's 130 µm.
    return make_radiograph(seed=3, kind="weld", shape=(512, 1200), iqi=True)


@pytest.fixture
def failed(weld: Any, tmp_path: Path) -> tuple[Store, str, dict[str, Any]]:
    store = Store(tmp_path / "iq.db")
    record = image_quality_record(weld.volume)
    _, scan_id = record_scan(store, weld.volume, user="ana", image_quality=record)
    return store, scan_id, record


def test_a_failed_radiograph_says_why_with_its_figures(
    weld: Any, failed: tuple[Store, str, dict[str, Any]]
) -> None:
    store, scan_id, record = failed
    section = iq_section(store, scan_id, weld.volume, _pores(0.3))
    assert section is not None and section.status == "not interpretable"
    assert not section.acceptable and section.reason == record["reason"]
    lines = section_lines(section)
    assert lines[0] == f"Image quality: NOT INTERPRETABLE: {record['reason']}"
    assert "SRb 147 µm exceeds the 130 µm" in lines[0]
    text = "\n".join(lines)
    assert f"FAIL  SRb {record['srb_um']:.0f} µm, class maximum 130 µm" in text
    assert f"pass  SNRn {record['snrn']:.0f}, class minimum 70" in text
    assert "Duplex wire IQI: first unresolved pair D9" in text
    assert "FAIL  Single-wire IQI: finest visible W12, class requires W14" in text
    assert "Class A at 6.5 mm steel" in text
    assert not section.overrides and "OVERRIDDEN" not in text
    store.close()


def test_the_share_where_the_limit_cannot_be_guaranteed(
    weld: Any, failed: tuple[Store, str, dict[str, Any]]
) -> None:
    store, scan_id, record = failed
    dmap = map_for(weld.volume, record)
    assert dmap is not None
    d = dmap.diameter_mm
    # A limit near the map's median: part of the image can guarantee it, part cannot.
    limit = float(np.median(d))
    section = iq_section(store, scan_id, weld.volume, _pores(limit))
    assert section is not None and section.coverage is not None
    share = section.coverage.share
    assert 0.2 < share < 0.8
    assert share == pytest.approx(np.count_nonzero(d > limit) / d.size)  # no open beam here
    assert section.coverage.part_share == 1.0
    line = next(x for x in section_lines(section) if x.startswith("Detectability"))
    assert f"on {share:.1%} of the part" in line and f"limit of {limit:g} mm" in line
    # Below every pixel's smallest detectable pore: nowhere; far above: everywhere.
    low = iq_section(store, scan_id, weld.volume, _pores(float(d.min()) / 2))
    high = iq_section(store, scan_id, weld.volume, _pores(float(d.max()) * 2))
    assert low is not None and low.coverage is not None and low.coverage.share == 1.0
    assert high is not None and high.coverage is not None and high.coverage.share == 0.0
    # The weld radiograph criteria's smallest limit: min(0.3 t, 4 mm) at the part's 6.5 mm.
    lvl2 = iq_section(store, scan_id, weld.volume, parse_level_2(), thickness_mm=6.5)
    assert lvl2 is not None and lvl2.coverage is not None
    assert lvl2.coverage.limit_mm == pytest.approx(0.3 * 6.5)
    # ... and the smallest size it counts (its 0.4 mm ignore threshold), on its own line.
    assert lvl2.counted is not None and lvl2.counted.limit_mm == 0.4
    assert lvl2.counted.share == pytest.approx(np.count_nonzero(d > 0.4) / d.size)
    assert any("a pore of 0.4 mm, the smallest" in x for x in section_lines(lvl2))
    assert low.counted is None  # CT-style criteria have no ignore threshold
    store.close()


def parse_level_2() -> Any:
    from ndelab.annotation.criteria import load_criteria

    return load_criteria(LEVEL_2)


def test_open_beam_is_not_part_of_the_part() -> None:
    data = np.full((1, 40, 60), 20000, np.uint16)
    data[0, :, 45:] = 60000  # beside the part: open beam
    mask = part_area(Volume(data, spacing_mm=(1.0, 0.1, 0.1), modality="DX"))
    assert mask.shape == (40, 60) and mask[:, :45].all() and not mask[:, 45:].any()


def test_an_override_is_in_the_section(failed: tuple[Store, str, dict[str, Any]]) -> None:
    store, scan_id, _ = failed
    why = "SRb confirmed on the second exposure, report 12"
    disposition(store, scan_id, _pores(0.3), sign_user="ana", override_iq=IqOverride("lead", why))
    section = iq_section(store, scan_id, None, _pores(0.3))
    assert section is not None and len(section.overrides) == 1
    (line,) = [x for x in section_lines(section) if x.startswith("OVERRIDDEN")]
    assert line.startswith("OVERRIDDEN by lead at ") and line.endswith(
        f"UTC (image was not interpretable): {why}"
    )
    assert "Detectability: not given (the image was not given to the report)" in section_lines(
        section
    )
    store.close()


def test_unmeasured_acceptable_and_ct(weld: Any, tmp_path: Path) -> None:
    with Store(tmp_path / "u.db") as store:
        _, scan_id = record_scan(store, weld.volume, user="ana")
        section = iq_section(store, scan_id, weld.volume, _pores(0.3))
        assert section is not None and section.status == "not measured"
        assert section_lines(section)[0] == (
            "Image quality: NOT MEASURED: image quality was never measured"
        )
        assert section.coverage is None and "measured SRb" in (section.coverage_note or "")
        good = dict(image_quality_record(weld.volume), acceptable=True, status="acceptable")
        set_image_quality(store, scan_id, good, user="ana")
        section = iq_section(store, scan_id, weld.volume, None)
        assert section is not None and section.acceptable and section.reason is None
        assert section_lines(section)[0] == "Image quality: ACCEPTABLE"
        assert section.coverage_note == (
            "the criteria set no pore size limit to check against the map"
        )
        ct = Volume(np.zeros((8, 8, 8), np.uint16), spacing_mm=(0.1, 0.1, 0.1), modality="CT")
        _, ct_id = record_scan(store, ct, user="ana")
        assert iq_section(store, ct_id, ct, _pores(0.3)) is None


def test_build_report_carries_the_section(
    weld: Any, failed: tuple[Store, str, dict[str, Any]]
) -> None:
    store, scan_id, _ = failed
    data = build_report(store, scan_id, LEVEL_2, weld.volume)
    assert data.image_quality is not None and data.image_quality.status == "not interpretable"
    limit = smallest_size_limit_mm(parse_level_2(), data.result["radiograph"]["thickness_mm"])
    assert data.image_quality.coverage is not None
    assert data.image_quality.coverage.limit_mm == limit
    store.close()


def test_the_pdf_draws_the_section(
    qapp: object, weld: Any, failed: tuple[Store, str, dict[str, Any]], tmp_path: Path
) -> None:
    from ndelab.app.pdf_report import write_pdf

    store, scan_id, _ = failed
    why = "SRb confirmed on the second exposure, report 12"
    disposition(store, scan_id, LEVEL_2, sign_user="ana", override_iq=IqOverride("lead", why))
    data = build_report(store, scan_id, LEVEL_2, weld.volume)
    path = write_pdf(data, tmp_path / "iq.pdf")
    assert path.read_bytes()[:5] == b"%PDF-"
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    text = " ".join(
        subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True)
        .stdout.replace("\ufb01", "fi")  # poppler writes the fi ligature
        .split()
    )
    assert "Image quality (ISO 17636-2)" in text
    assert "Image quality: NOT INTERPRETABLE: SRb 147 µm exceeds" in text
    assert "OVERRIDDEN by lead" in text and why in text
    assert "Detectability: on" in text
    store.close()
