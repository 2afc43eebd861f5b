"""A/B figures on hand-made decided scans, the Wilson interval, the shared matcher against
the evaluation's, and the promotion gate's rules and sentences."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ndelab.annotation.ab import DecidedScan, Truth, VersionCall, ab_figures, wilson
from ndelab.annotation.mask import SparseMask
from ndelab.annotation.matching import best_target
from ndelab.annotation.promotion import GateRules, GateRulesError, evaluate_gate, load_rules

DEFAULT_RULES = Path(__file__).parents[2] / "resources" / "promotion" / "default.yaml"


def _box(z: int, y: int, x: int, n: int = 2) -> SparseMask:
    return SparseMask.from_local(np.ones((n, n, n), bool), (z, y, x))


def _scan(i: int, champion_finds: int, challenger_finds: int, challenger_false: int) -> DecidedScan:
    """Four pores at known places; the champion found the first ``champion_finds`` (the rest
    an engineer added), one champion call rejected; the challenger found its own share."""
    places = [_box(0, 0, 0), _box(0, 10, 0), _box(0, 20, 0), _box(0, 30, 0)]
    scan = DecidedScan(f"s{i}")
    scan.truth = [Truth(m, "pore", 0.3, k >= champion_finds) for k, m in enumerate(places)]
    scan.rejected = [_box(10, 10, 10)]
    scan.calls["a@1"] = [VersionCall(m, "pore") for m in places[:champion_finds]] + [
        VersionCall(_box(10, 10, 10), "pore")
    ]
    scan.calls["b@2"] = [VersionCall(m, "pore") for m in places[:challenger_finds]] + [
        VersionCall(_box(20, 20 + 3 * k, 20), "pore") for k in range(challenger_false)
    ]
    return scan


def test_figures_count_what_engineers_would_have_decided() -> None:
    scans = [_scan(i, 3, 4, 0) for i in range(10)] + [DecidedScan("s-other", calls={"a@1": []})]
    ab = ab_figures("a@1", "b@2", scans)
    assert ab["decided_scans"] == 10  # the scan b never ran on is left out
    a, b = ab["champion"], ab["challenger"]
    assert (a["would_accept"], a["would_reject"], a["unconfirmed"]) == (30, 10, 0)
    assert a["false_calls_per_scan"] == 1.0 and b["false_calls_per_scan"] == 0.0
    assert a["recall"]["recall"] == 0.75 and b["recall"]["recall"] == 1.0
    assert b["human_found"] == {"n": 10, "found": 10} and a["human_found"]["found"] == 0
    band = next(r for r in b["recall_by_size"] if r["n"])
    assert (band["min_mm"], band["max_mm"], band["n"]) == (0.25, 0.5, 40)


def test_a_call_of_another_class_is_a_correction_not_a_hit() -> None:
    scan = DecidedScan("s", truth=[Truth(_box(0, 0, 0), "crack", 1.0, False)])
    scan.calls = {
        "a@1": [VersionCall(_box(0, 0, 0), "crack")],
        "b@2": [VersionCall(_box(1, 1, 1), "pore")],
    }
    b = ab_figures("a@1", "b@2", [scan])["challenger"]
    assert (b["would_accept"], b["would_correct"], b["false_calls"]) == (0, 1, 0)
    assert b["recall_by_class"]["crack"]["recall"] == 0.0


def test_a_merged_call_finds_one_defect_not_the_one_added_by_hand() -> None:
    """The champion merged two pores into one call; the engineer accepted it and drew the
    second pore by hand. The champion must not be credited with the pore it missed, and a
    challenger that called both apart finds both."""
    merged = SparseMask.from_local(np.ones((2, 2, 6), bool), (0, 0, 0))  # covers both pores
    second = _box(0, 0, 4)
    scan = DecidedScan(
        "s",
        truth=[Truth(merged, "pore", 0.4, False), Truth(second, "pore", 0.3, True)],
    )
    scan.calls = {
        "a@1": [VersionCall(merged, "pore")],
        "b@2": [VersionCall(_box(0, 0, 0), "pore"), VersionCall(second, "pore")],
    }
    ab = ab_figures("a@1", "b@2", [scan])
    a, b = ab["champion"], ab["challenger"]
    assert a["human_found"] == {"n": 1, "found": 0} and a["recall"]["hit"] == 1
    assert b["human_found"] == {"n": 1, "found": 1} and b["recall"]["hit"] == 2
    assert (a["would_accept"], b["would_accept"], b["false_calls"]) == (1, 2, 0)


def test_wilson_interval() -> None:
    assert wilson(0, 0) is None
    lo, hi = wilson(8, 10)  # type: ignore[misc]
    assert lo == pytest.approx(0.4902, abs=1e-4) and hi == pytest.approx(0.9433, abs=1e-4)
    assert wilson(10, 10)[1] == 1.0  # type: ignore[index]


def test_the_matcher_follows_the_evaluation() -> None:
    from ndelab.inference.calls import Call
    from ndelab.inference.evaluation import match_calls

    labels = np.zeros((8, 8, 8), np.int32)
    labels[1:4, 1:4, 1:4] = 1
    labels[5:7, 5:7, 5:7] = 2
    ring = np.zeros((5, 5, 5), bool)
    ring[[0, -1], :, :] = True  # a hollow call whose centroid lies inside defect 1
    cases = [
        SparseMask.from_local(ring, (0, 0, 0)),
        SparseMask.from_local(np.ones((1, 1, 1), bool), (6, 6, 6)),
        SparseMask.from_local(np.ones((1, 1, 1), bool), (0, 7, 0)),
    ]
    truth = [SparseMask.from_local(labels == d) for d in (1, 2)]
    for m in cases:
        c = tuple(float(v) for v in m.indices().mean(axis=0))
        call = Call("pore", 0.5, c, m.bbox, m.voxel_count, 0.0, m.local(), "x", "1")  # type: ignore[arg-type]
        expected = match_calls([call], labels, 2).call_defect[0]
        got = best_target(m, truth)
        assert (None if got is None else got + 1) == expected


def _report(
    champ: dict[str, float], chall: dict[str, float], fa: float, fb: float, n: int = 20
) -> dict:
    def v(name: str, rec: dict[str, float], f: float) -> dict:
        return {
            "model": {"name": name, "version": "1"},
            "recall": {"n": 100, "recall": sum(rec.values()) / len(rec)},
            "recall_by_class": {c: {"n": 50, "recall": r} for c, r in rec.items()},
            "recall_by_size": [],
            "false_calls_per_scan": f,
            "human_found": {"n": 4, "found": 2},
        }

    return {"decided_scans": n, "champion": v("a", champ, fa), "challenger": v("b", chall, fb)}


def test_the_gate_names_the_failing_rule() -> None:
    rules = load_rules(DEFAULT_RULES)
    ok = evaluate_gate(
        _report({"pore": 0.8, "crack": 0.6}, {"pore": 0.81, "crack": 0.59}, 1.0, 0.9), rules
    )
    assert ok["passed"] and ok["failing"] is None
    drop = evaluate_gate(
        _report({"pore": 0.8, "crack": 0.6}, {"pore": 0.9, "crack": 0.55}, 1.0, 0.9), rules
    )
    assert not drop["passed"]
    assert drop["failing"].startswith("class crack recall of b@1 is 0.550 against 0.600")
    more = evaluate_gate(_report({"pore": 0.8}, {"pore": 0.8}, 1.0, 1.2), rules)
    assert "false calls per scan" in more["failing"]
    few = evaluate_gate(_report({"pore": 0.8}, {"pore": 0.8}, 1.0, 1.0, n=5), rules)
    assert "5 decided scans" in few["failing"]
    loose = GateRules(max_false_call_rise=0.5)
    assert evaluate_gate(_report({"pore": 0.8}, {"pore": 0.8}, 1.0, 1.2), loose)["passed"]


def test_bad_rule_files_are_one_sentence(tmp_path: Path) -> None:
    bad = tmp_path / "r.yaml"
    bad.write_text("max_recall_dorp: 0.1\n")
    with pytest.raises(GateRulesError, match="unknown rule 'max_recall_dorp'"):
        load_rules(bad)
    bad.write_text("max_recall_drop: lots\n")
    with pytest.raises(GateRulesError, match="wrong type"):
        load_rules(bad)
    with pytest.raises(GateRulesError, match="cannot be read"):
        load_rules(tmp_path / "missing.yaml")
