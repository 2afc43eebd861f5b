"""`ndelab evaluate --kind xray`: the detector beside the ideal observer, end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ndelab.cli import main
from ndelab.inference.radiograph.detector import VERSION
from ndelab.inference.radiograph.second_stage import load_stage2


def test_evaluate_xray_runs_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    png = tmp_path / "pod.png"
    argv = ["evaluate", "--kind", "xray", "--seeds", "10000,10002", "--sizes", "256"]
    assert main([*argv, "--part", "weld", "--json", "--plot", str(png)]) == 0
    out = json.loads(capsys.readouterr().out)
    s = out["summary"]
    stage2 = load_stage2()
    first = f"ndelab-xray-classical@{VERSION}"
    assert s["model"] == (first if stage2 is None else f"ndelab-xray-stage2@{stage2.version}")
    assert s["images"] == 2
    assert out["size"] == 256 and all("weld" in sc["scan"] for sc in out["scans"])
    ideal = out["ideal_observer"]["recall_pores_ge_3.5px"]
    assert ideal["matched"]["n"] == s["recall_pores_ge_3.5px"]["n"] > 0
    # A stricter false-call rate never lets the ideal observer find more.
    assert ideal["0.1"]["hit"] <= ideal["1"]["hit"]
    assert set(out["recall_by_snr_ideal"]) == {"0-3", "3-5", "5-8", ">=8"}
    assert png.stat().st_size > 1000


def test_radiograph_flag_is_kind_xray_and_part_needs_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["evaluate", "--part", "weld", "--seeds", "10000"]) == 2
    assert "--kind xray" in capsys.readouterr().err
    assert main(["evaluate", "--radiograph", "--seeds", "10001", "--sizes", "128", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["kind"] == "xray" and "casting" in out["scans"][0]["scan"]
