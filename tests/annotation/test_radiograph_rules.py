"""Radiograph criteria against hand-computed cases: merging, ignoring, size vs thickness, the
sliding area window, clusters, aligned rows; the shipped levels order from strict to lenient.

Pores are axis-aligned rectangles of pixels at 0.1 mm, so every figure is worked by hand: a
rectangle h x w pixels has area h * w * 0.01 mm² and size (largest dimension, corner to
corner) 0.1 * sqrt(h² + w²) mm.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ndelab.annotation import (
    CallFacts,
    CriteriaError,
    ScanFacts,
    SparseMask,
    evaluate,
    load_criteria,
    parse_criteria,
)

PX = 0.1
SCAN = ScanFacts((1, 200, 2000), (PX, PX, PX))  # a weld 200 mm long along x, 20 mm across
EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "criteria"


def rect(name: str, y: int, x: int, h: int, w: int, cls: str = "pore") -> CallFacts:
    mask = SparseMask.from_local(np.ones((1, h, w), bool), (0, y, x))
    return CallFacts(name, cls, "accepted", h * w * PX**3, 0.0, mask)


def crit(rules: list[dict[str, Any]], **radiograph: Any) -> Any:
    doc: dict[str, Any] = {"name": "t", "version": 1, "rules": rules}
    if radiograph:
        doc["radiograph"] = radiograph
    return parse_criteria(doc, "test.yaml")


def check(result: dict[str, Any], name: str, rule: int = 1) -> dict[str, Any]:
    (found,) = [r for r in result["reasons"] if r["check"] == name and r["rule"] == rule]
    return found


def test_two_pores_closer_than_the_smaller_one_are_sized_as_one() -> None:
    # Two 2 x 2 mm squares (size 2.83 mm) with a 1 mm gap: 1 < 2.83, so they merge; the one
    # indication spans 5 x 2 mm, size sqrt(5² + 2²) = 5.385 mm.
    a, b = rect("a", 50, 100, 20, 20), rect("b", 50, 130, 20, 20)
    rules = [{"class": "pore", "max_size_mm": 4}]
    merged = evaluate(crit(rules, merge_closer_than_smaller=True), [a, b], SCAN)
    size = check(merged, "max_size")
    assert size["measured"] == pytest.approx(math.sqrt(29))
    assert not size["passed"] and sorted(size["indications"]) == ["a", "b"]
    (m,) = merged["radiograph"]["merged"]
    assert sorted(m["ids"]) == ["a", "b"] and m["gaps_mm"] == [pytest.approx(1.0)]
    assert [x["size_mm"] for x in m["members"]] == [pytest.approx(math.sqrt(8))] * 2
    assert "5.39 mm" in size["message"] and "4 mm" in size["message"]

    separate = evaluate(crit(rules), [a, b], SCAN)  # merging not asked for
    assert check(separate, "max_size")["measured"] == pytest.approx(math.sqrt(8))
    assert separate["radiograph"]["merged"] == []
    # 3 mm apart (more than 2.83 mm) they stay two.
    far = evaluate(
        crit(rules, merge_closer_than_smaller=True), [a, rect("b", 50, 150, 20, 20)], SCAN
    )
    assert far["radiograph"]["merged"] == [] and check(far, "max_size")["passed"]
    # A 0.5 x 0.5 mm pore (size 0.71 mm) 1 mm from the big one: the smaller size decides.
    small = evaluate(
        crit(rules, merge_closer_than_smaller=True), [a, rect("s", 50, 130, 5, 5)], SCAN
    )
    assert small["radiograph"]["merged"] == []


def test_small_indications_are_ignored_and_listed() -> None:
    big, tiny = rect("big", 50, 100, 10, 10), rect("tiny", 50, 500, 2, 2)  # 1.41 and 0.28 mm
    crack = rect("crack", 80, 800, 1, 2, cls="crack")  # 0.22 mm, but cracks are never ignored
    c = crit(
        [{"class": "pore", "max_count": 1}, {"class": "crack", "forbidden": True}],
        ignore_below_mm=0.5,
    )
    result = evaluate(c, [big, tiny, crack], SCAN)
    assert check(result, "max_count")["passed"] and check(result, "max_count")["measured"] == 1
    (ignored,) = result["radiograph"]["ignored"]
    assert ignored["id"] == "tiny" and ignored["below_mm"] == 0.5
    assert ignored["size_mm"] == pytest.approx(0.1 * math.sqrt(8))
    assert not check(result, "forbidden", 2)["passed"]
    assert result["verdict"] == "reject" and result["counted_calls"] == 3
    # Ignored calls are near no limit: they do not sort to the top of the queue.
    assert "tiny" not in result["nearness"]


def test_single_pore_size_is_a_fraction_of_the_wall_thickness_with_a_cap() -> None:
    rules = [{"class": "pore", "max_size_t": 0.3, "max_size_mm": 4}]
    small, large = rect("small", 20, 100, 25, 10), rect("large", 20, 400, 30, 15)
    # t = 10 mm: limit min(3, 4) = 3 mm; sizes 2.69 and 3.35 mm.
    r10 = check(evaluate(crit(rules, thickness_mm=10), [small, large], SCAN), "max_size")
    assert r10["limit"] == pytest.approx(3.0) and r10["indications"] == ["large"]
    assert r10["measured"] == pytest.approx(0.1 * math.sqrt(30**2 + 15**2))
    assert "0.3 t with t = 10 mm from the criteria" in r10["basis"]
    # t = 20 mm: 0.3 t = 6 mm, capped at 4 mm: both pass.
    r20 = check(evaluate(crit(rules, thickness_mm=20), [small, large], SCAN), "max_size")
    assert r20["limit"] == pytest.approx(4.0) and r20["passed"]
    # The part's thickness (given by the caller) beats the criteria's; a rule's own beats both.
    part = ScanFacts(SCAN.shape, SCAN.spacing_mm, thickness_mm=5.0, thickness_from="the part")
    r5 = check(evaluate(crit(rules, thickness_mm=20), [small, large], part), "max_size")
    assert r5["limit"] == pytest.approx(1.5)
    zoned = [{**rules[0], "thickness_mm": 20}]
    assert check(evaluate(crit(zoned), [small, large], part), "max_size")["limit"] == 4.0
    with pytest.raises(CriteriaError, match="no thickness is known"):
        evaluate(crit(rules), [small], SCAN)


def _row(span_px: int, n: int = 10, w: int = 9, start: int = 100) -> list[CallFacts]:
    """n pores 10 x w pixels evenly from ``start`` to ``start + span_px`` (exclusive)."""
    pitch = (span_px - w) / (n - 1)
    assert float(pitch).is_integer()
    return [rect(f"p{k}", 95, start + k * int(pitch), 10, w) for k in range(n)]


def test_projected_area_in_a_sliding_window_along_the_weld() -> None:
    rules = [{"class": "pore", "max_projected_area_percent": 0.8, "window_mm": 100}]
    c = crit(rules, weld_width_mm=10)
    # Ten pores of 0.9 mm² in a 99 mm row: one 100 mm window holds all 9 mm² of 1000 mm².
    inside = check(evaluate(c, _row(990), SCAN), "max_projected_area_percent")
    assert inside["measured"] == pytest.approx(0.9) and not inside["passed"]
    assert inside["window_mm"] == pytest.approx(100)
    assert inside["window_from_mm"] <= 10.0 and inside["window_to_mm"] >= 109.0
    assert inside["window_area_mm2"] == pytest.approx(1000) and len(inside["indications"]) == 10
    # The same pores over 150.3 mm (pitch 166 px): 7 pores span 1005 columns, so a 1000-column
    # window holds at most 63 - 5 = 58 of their columns: 5.8 mm², 0.58 %.
    spread = check(evaluate(c, _row(1503), SCAN), "max_projected_area_percent")
    assert spread["measured"] == pytest.approx(0.58) and spread["passed"]
    # A weld shorter than the window: the window is the weld (50 mm x 10 mm).
    short = ScanFacts((1, 200, 500), (PX, PX, PX))
    clipped = check(evaluate(c, _row(409, n=5, start=0), short), "max_projected_area_percent")
    assert clipped["window_mm"] == pytest.approx(50) and clipped["measured"] == pytest.approx(0.9)
    assert "shorter than the 100 mm window" in clipped["basis"]
    # No weld width: the image's extent across the weld (20 mm), and the entry says so.
    wide = check(evaluate(crit(rules), _row(990), SCAN), "max_projected_area_percent")
    assert wide["measured"] == pytest.approx(0.45) and "no weld width" in wide["weld_width_from"]


def test_weld_axis_follows_the_image_or_the_criteria() -> None:
    tall = ScanFacts((1, 2000, 200), (PX, PX, PX))
    column = [rect(f"p{k}", 100 + k * 109, 95, 9, 10) for k in range(10)]  # the row, turned
    rules = [{"class": "pore", "max_projected_area_percent": 0.8, "window_mm": 100}]
    auto = evaluate(crit(rules, weld_width_mm=10), column, tall)
    assert auto["radiograph"]["weld_axis"] == "y"
    assert check(auto, "max_projected_area_percent")["measured"] == pytest.approx(0.9)
    across = evaluate(crit(rules, weld_width_mm=10, weld_axis="x"), column, tall)
    # Across the image the weld is 20 mm long: the window is 20 x 10 mm and holds all 9 mm².
    measured = check(across, "max_projected_area_percent")["measured"]
    assert measured == pytest.approx(100 * 9.0 / (20 * 10))


def test_cluster_envelope() -> None:
    # Three 1 x 1 mm pores with 1 mm gaps: one cluster 5 x 1 mm, envelope sqrt(26) mm, 5 mm².
    pores = [rect(f"c{k}", 50, 100 + 20 * k, 10, 10) for k in range(3)]
    pores.append(rect("far", 150, 1500, 10, 10))
    rules = [
        {
            "class": "pore",
            "cluster_distance_mm": 1.5,
            "max_cluster_diameter_mm": 5,
            "max_cluster_area_mm2": 6,
        }
    ]
    result = evaluate(crit(rules), pores, SCAN)
    diam, area = check(result, "max_cluster_diameter_mm"), check(result, "max_cluster_area_mm2")
    assert diam["measured"] == pytest.approx(math.sqrt(26)) and not diam["passed"]
    assert sorted(diam["indications"]) == ["c0", "c1", "c2"]
    assert area["measured"] == pytest.approx(5.0) and area["passed"]
    (cluster,) = diam["clusters"]
    assert cluster["count"] == 3
    # Joined only by gaps up to the distance: at 0.9 mm none are clustered.
    apart = evaluate(crit([{**rules[0], "cluster_distance_mm": 0.9}]), pores, SCAN)
    assert check(apart, "max_cluster_diameter_mm")["clusters"] == []


def test_aligned_porosity_within_a_length() -> None:
    # Five 1 x 1 mm pores (size 1.414 mm) on one line, centres 10 mm apart, and one 3 mm off
    # the line. Within 30 mm a line holds 4 of them: count 4, total 4 x 1.414 = 5.66 mm.
    pores = [rect(f"a{k}", 95, 100 + 100 * k, 10, 10) for k in range(5)]
    pores.append(rect("off", 125, 250, 10, 10))
    rules = [
        {
            "class": "pore",
            "aligned_length_mm": 30,
            "max_aligned_count": 3,
            "max_aligned_length_mm": 6,
        }
    ]
    result = evaluate(crit(rules), pores, SCAN)
    count, length = check(result, "max_aligned_count"), check(result, "max_aligned_length")
    assert count["measured"] == 4 and not count["passed"] and "off" not in count["indications"]
    assert length["measured"] == pytest.approx(4 * math.sqrt(2)) and length["passed"]
    # 12 t with t = 2 mm is 24 mm: three pores; a sum limit of 1 t = 2 mm fails.
    in_t = [{"class": "pore", "aligned_length_t": 12, "max_aligned_length_t": 1, "thickness_mm": 2}]
    by_t = check(evaluate(crit(in_t), pores, SCAN), "max_aligned_length")
    assert by_t["row"]["count"] == 3 and by_t["limit"] == pytest.approx(2.0)
    assert by_t["measured"] == pytest.approx(3 * math.sqrt(2)) and not by_t["passed"]
    # A row broken by a gap wider than aligned_max_gap_mm is two rows of fewer pores.
    gapped = [{**rules[0], "aligned_max_gap_mm": 5}]
    assert check(evaluate(crit(gapped), pores, SCAN), "max_aligned_count")["measured"] == 0


def test_magnification_scales_sizes_to_the_object() -> None:
    pore = rect("p", 50, 50, 20, 20)
    scan = ScanFacts(SCAN.shape, SCAN.spacing_mm, magnification=2.0)
    result = evaluate(crit([{"class": "pore", "max_size_mm": 2}]), [pore], scan)
    assert check(result, "max_size")["measured"] == pytest.approx(math.sqrt(2))
    assert result["radiograph"]["pixel_mm"] == [0.05, 0.05]


def test_a_ct_volume_is_refused_with_one_sentence() -> None:
    ct = ScanFacts((20, 50, 50), (0.1, 0.1, 0.1))
    with pytest.raises(CriteriaError, match="volume of 20 slices") as info:
        evaluate(crit([{"class": "pore", "max_size_mm": 2}]), [], ct)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("rule", "radiograph", "message"),
    [
        ({"class": "pore", "max_size_mm": 1, "window_mm": 100}, None, "window_mm is set but"),
        ({"class": "pore", "max_cluster_diameter_mm": 5}, None, "needs cluster_distance_mm"),
        ({"class": "pore", "max_projected_area_percent": 120}, None, "must be ≤ 100"),
        ({"class": "pore", "max_aligned_count": 1.5}, None, "whole number"),
        ({"class": "pore", "max_size_mm": 1}, {"weld_axis": "z"}, "weld_axis must be x, y"),
        ({"class": "pore", "max_size_mm": 1}, {"ignore_below": 1}, "unknown key 'ignore_below'"),
        ({"class": "pore", "max_size_mm": 1}, {"thickness_mm": 0}, "must be greater than 0"),
        (
            {"class": "pore", "max_size_mm": 1},
            {"merge_closer_than_smaller": "yes"},
            "must be true or false",
        ),
    ],
)
def test_bad_radiograph_keys_are_one_sentence(
    rule: dict[str, Any], radiograph: dict[str, Any] | None, message: str
) -> None:
    with pytest.raises(CriteriaError, match=message) as info:
        crit([rule], **(radiograph or {}))
    assert str(info.value).startswith("test.yaml: ") and "\n" not in str(info.value)


LEVELS = [EXAMPLES / f"weld-radiograph-iso10675-level-{n}.yaml" for n in (1, 2, 3)]


def test_levels_parse_and_level_1_is_the_strictest() -> None:
    levels = [load_criteria(p) for p in LEVELS]
    asme = load_criteria(EXAMPLES / "weld-radiograph-asme-rounded.yaml")
    for c in (*levels, asme):
        assert c.for_radiographs and "EXAMPLE" in c.name
        assert "licensed" in str(c.document["standard"])
    # Every limit of the same label grows (or stays) from level 1 to 3.
    for key in ("max_size_t", "max_size_mm", "max_projected_area_percent"):
        firsts = [c.rules[0].limits.get(key) or c.rules[1].limits.get(key) for c in levels]
        assert firsts == sorted(firsts), key
    # One call set: a 2.1 mm pore, a 1.5 % stretch of porosity, a crack-free weld.
    calls = [rect("big", 95, 1000, 15, 15)]  # size 2.12 mm: > 0.2 t (2 mm), < 0.3 t (3 mm)
    calls += _row(990, w=9)  # 9 mm² in 100 x 12 mm = 0.75 %
    calls += [rect(f"d{k}", 80, 200 + 30 * k, 3, 3) for k in range(4)]  # 0.42 mm each
    results = [evaluate(c, calls, SCAN) for c in levels]
    failed = [sum(not r["passed"] for r in res["reasons"]) for res in results]
    assert results[0]["verdict"] == "reject" and results[2]["verdict"] == "accept"
    assert failed == sorted(failed, reverse=True) and failed[0] > failed[2]
    ignored = [len(res["radiograph"]["ignored"]) for res in results]
    assert ignored == [0, 0, 4]  # 0.42 mm pores are below level 3's 0.5 mm only


def test_a_linear_indication_is_judged_by_its_length() -> None:
    asme = load_criteria(EXAMPLES / "weld-radiograph-asme-rounded.yaml")
    level_1 = load_criteria(EXAMPLES / "weld-radiograph-iso10675-level-1.yaml")
    short = rect("short", 95, 300, 10, 50, cls="linear")  # 5.1 mm long, 1 mm wide
    long = rect("long", 95, 900, 10, 70, cls="linear")  # 7.1 mm
    res = evaluate(asme, [short, long], SCAN)
    (row,) = [r for r in res["reasons"] if r["class"] == "linear"]
    assert row["limit"] == pytest.approx(6.0) and row["indications"] == ["long"]
    assert res["verdict"] == "reject"
    assert evaluate(asme, [short], SCAN)["verdict"] == "accept"
    # ISO 10675-1-like level 1: at most t (10 mm) long: both pass.
    assert evaluate(level_1, [short, long], SCAN)["verdict"] == "accept"
