"""The radiograph section of a disposition report: the sizing, every merged and ignored
indication, each rule's figures; and that the PDF draws those lines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ndelab.annotation import CallFacts, ScanFacts, SparseMask, evaluate, parse_criteria
from ndelab.app.report import ReportData
from ndelab.app.report_radiograph import radiograph_lines


def _rect(name: str, y: int, x: int, h: int, w: int) -> CallFacts:
    mask = SparseMask.from_local(np.ones((1, h, w), bool), (0, y, x))
    return CallFacts(name + "-0000-0000", "pore", "accepted", h * w * 1e-3, 0.0, mask)


@pytest.fixture
def result() -> dict[str, Any]:
    criteria = parse_criteria(
        {
            "name": "weld",
            "version": 1,
            "radiograph": {
                "thickness_mm": 10,
                "weld_width_mm": 10,
                "ignore_below_mm": 0.5,
                "merge_closer_than_smaller": True,
            },
            "rules": [
                {"class": "pore", "max_size_t": 0.3, "max_size_mm": 4},
                {"class": "pore", "max_projected_area_percent": 2, "window_mm": 100},
                {"class": "pore", "cluster_distance_mm": 3, "max_cluster_diameter_mm": 10},
                {"class": "pore", "aligned_length_mm": 50, "max_aligned_count": 5},
            ],
        },
        "weld.yaml",
    )
    calls = [
        _rect("aaaaaaaa", 50, 100, 20, 20),
        _rect("bbbbbbbb", 50, 130, 20, 20),  # 1 mm from a: merged
        _rect("cccccccc", 150, 900, 2, 2),  # 0.28 mm: ignored
    ]
    out = evaluate(criteria, calls, ScanFacts((1, 200, 2000), (0.1, 0.1, 0.1)))
    out["criteria"] = {"name": "weld", "version": "1", "sha256": "0" * 64}
    return out


def test_lines_show_the_merged_the_ignored_and_the_figures(result: dict[str, Any]) -> None:
    lines = radiograph_lines(result)
    text = "\n".join(lines)
    assert lines[0].startswith("Sizes at the object: pixel 0.1 × 0.1 mm (magnification 1)")
    assert "wall thickness 10 mm from the criteria" in lines[0]
    assert "Merged (closer than the smaller one's size), 1:" in text
    assert "aaaaaaaa (2.828 mm) + bbbbbbbb (2.828 mm) sized as one of 5.385 mm (gaps 1 mm)" in text
    assert "Ignored (below the size that counts), 1:" in text
    assert "pore cccccccc: 0.2828 mm, below 0.5 mm" in text
    assert "rule 2 max_projected_area_percent: worst 100 mm window" in text
    assert "rule 3 max_cluster_diameter_mm: 0 cluster(s) within 3 mm" in text
    assert "rule 4 max_aligned_count: worst row within 50 mm: 0 indication(s)" in text
    assert radiograph_lines({"reasons": []}) == []  # CT criteria: no section


def test_the_pdf_draws_the_radiograph_section(
    qapp: object, result: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ndelab.app import pdf_report

    drawn: list[str] = []
    original = pdf_report._Page.text

    def record(self: Any, text: str, *args: Any, **kwargs: Any) -> None:
        drawn.append(text)
        original(self, text, *args, **kwargs)

    monkeypatch.setattr(pdf_report._Page, "text", record)
    scan = {"id": "s1", "path": "weld.tif", "shape": [1, 200, 2000], "spacing_mm": [0.1] * 3}
    data = ReportData("Disposition of weld.tif", {**scan, "modality": "DX"}, result)
    path = pdf_report.write_pdf(data, tmp_path / "weld.pdf")
    assert path.read_bytes()[:5] == b"%PDF-"
    assert "Radiograph sizing" in drawn
    for line in radiograph_lines(result):
        assert line.strip() in drawn
