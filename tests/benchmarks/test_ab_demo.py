"""The lifecycle demo, small: round 1 decided and exported, the champion fine-tuned on it into
a registered challenger whose threshold is chosen on round 1's validation split, round 2 run
with it in shadow, and the A/B resting on round 2 only. The gate then speaks through `ndelab
models promote` (here: too few decided scans, in one sentence), and `ndelab models ab` reads
the same database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ndelab.benchmarks import ab_demo
from ndelab.cli import main


def test_a_retrained_challenger_is_judged_on_the_round_it_did_not_learn_from(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "ab.db"
    built = ab_demo.build(db, scans=3, size=48, steps=4)
    assert built["round1_dataset"]["scans"] == 3 and built["round1_dataset"]["labels"] > 0
    assert built["retrained"]["registered"] == ab_demo.RETRAINED
    assert built["retrained"]["base"] == ab_demo.CHAMPION
    assert sum(built["round2_decisions"].values()) > 0
    # The ground-truth check covers every version that ran on round 2.
    checked = built["round2_ground_truth"]
    assert {ab_demo.CHAMPION, ab_demo.RETRAINED, ab_demo.BETTER, ab_demo.WORSE} <= set(checked)
    assert all(v["calls"] == v["at_a_defect"] + v["at_no_defect"] for v in checked.values())

    out = ab_demo.reports(db)
    for label in ("worse", "retrained", "better"):
        report = out[label]
        assert report["decided_scans"] == 3  # round 2 only: the challenger never ran on round 1
        champion = report["champion"]
        name, version = ab_demo.CHAMPION.split("@")
        assert champion["model"] == {"name": name, "version": version}
        # The hand-added defects are the champion's misses: it cannot be credited with them.
        assert champion["human_found"]["found"] == 0
        for gate in ("gate", "gate_recall_first"):
            assert report[gate]["passed"] is False
            assert "decided scans" in report[gate]["failing"]

    monkeypatch.setenv("NDELAB_DATA_DIR", str(tmp_path / "ndelab-data"))
    from ndelab.inference.registry import Registry

    retrained = Registry().get(*ab_demo.RETRAINED.split("@"))
    # Its operating point was chosen on round 1's validation split, and it is what serves.
    assert retrained.input["threshold"] == built["retrained"]["threshold"]
    assert (
        "validation recall" in built["retrained"]["threshold_why"]
        or "kept" in (built["retrained"]["threshold_why"])
    )

    assert main(["models", "ab", "--db", str(db), "--json"]) == 0
    ab = json.loads(capsys.readouterr().out)
    assert ab["challenger"]["model"]["version"] == "1.1.0"  # the challenger alias
    assert main(["models", "promote", ab_demo.RETRAINED, "--db", str(db), "--user", "ana"]) == 2
    err = capsys.readouterr().err.strip()
    assert "decided scans" in err and len(err.splitlines()) == 1
