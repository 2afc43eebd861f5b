"""``ndelab iq`` on a phantom radiograph written by ``ndelab phantom --kind xray --iqi``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ndelab.cli import main


def _ndelab(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ndelab.cli", *args], capture_output=True, text=True, timeout=300
    )


def _csv(values: list[float]) -> str:
    return ",".join(f"{v:g}" for v in values)


@pytest.fixture(scope="module")
def phantom(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("xray")
    args = ["phantom", str(out), "--kind", "xray", "--size", "512", "--seed", "2", "--iqi"]
    assert main(args) == 0
    truth = json.loads((out / "defects.json").read_text())["metadata"]
    return out / "volume.nrrd", truth


def test_iq_json_reads_srb_snr_wires_and_verdict(
    phantom: tuple[Path, dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    path, meta = phantom
    capsys.readouterr()
    iqi = meta["iqi"]
    thickness = meta["params"]["geometry"]["plate_thickness_mm"]
    args = [
        "iq",
        str(path),
        "--duplex",
        _csv(iqi["duplex"]["line_yx"]),
        "--duplex-width",
        str(iqi["duplex"]["half_width_px"]),
        "--roi",
        _csv(iqi["snr_roi"]["roi_yx"]),
        "--wires",
        _csv(iqi["single_wire"]["line_yx"]),
        "--wire-width",
        str(iqi["single_wire"]["half_width_px"]),
        "--class",
        "A",
        "--material",
        "steel",
        "--thickness-mm",
        f"{thickness:.1f}",
        "--json",
    ]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["srb_um"] == pytest.approx(iqi["duplex"]["srb_true_um"], rel=0.10)
    assert out["snr"] == pytest.approx(iqi["snr_roi"]["snr_true"], rel=0.05)
    assert out["snrn"] == pytest.approx(out["snr"] * 88.6 / out["srb_detector_um"], rel=1e-3)
    assert out["duplex_found_automatically"] is False
    assert out["single_wire"]["smallest_visible"] is not None
    verdict = out["verdict"]
    assert verdict["status"] in ("acceptable", "not interpretable") and verdict["reason"]
    assert verdict["requirement"]["class"] == "A" and len(verdict["checks"]) == 3
    # The default phantom (blur 1 px, SRb ~148 um) is too soft for class B on this plate.
    args[args.index("A")] = "B"
    assert main(args) == 0
    b = json.loads(capsys.readouterr().out)["verdict"]
    limit = b["requirement"]["max_srb_um"]
    assert b["status"] == "not interpretable" and limit < out["srb_um"]
    assert b["reason"] == (
        f"SRb {out['srb_um']:.0f} µm exceeds the {limit:.0f} µm the class B table allows at "
        f"{float(f'{thickness:.1f}'):g} mm steel"
    )


def test_iq_finds_the_duplex_itself_and_prints_text(
    phantom: tuple[Path, dict[str, Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    path, meta = phantom
    capsys.readouterr()
    assert main(["iq", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["duplex_found_automatically"] is True
    assert out["srb_um"] == pytest.approx(meta["iqi"]["duplex"]["srb_true_um"], rel=0.10)
    assert out["snr"] is None and out["verdict"] is None
    assert main(["iq", str(path), "--class", "B", "--thickness-mm", "10"]) == 0
    text = capsys.readouterr().out
    assert "SRb: " in text and "first unresolved pair" in text
    assert "verdict: not interpretable: " in text


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        (["--roi", "500,500,540,600"], "outside the 512 x 512 pixel image"),
        (["--roi", "0,0,10,10"], "at least 20 x 55"),
        (["--duplex", "1,2,3"], "--duplex must be four numbers"),
        (["--roi", "0,0,20.5,80"], "whole pixel"),
        (["--class", "B"], "--class needs --thickness-mm"),
    ],
)
def test_iq_bad_input_exits_2_with_one_sentence(
    phantom: tuple[Path, dict[str, Any]], extra: list[str], match: str
) -> None:
    path, _ = phantom
    result = _ndelab("iq", str(path), "--no-find", *extra)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1 and match in result.stderr


def test_iq_refuses_a_ct_volume(tmp_path: Path) -> None:
    assert main(["phantom", str(tmp_path / "ct"), "--size", "24"]) == 0
    result = _ndelab("iq", str(tmp_path / "ct" / "volume.nrrd"))
    assert result.returncode == 2 and "3D volume of 24 slices" in result.stderr
    assert result.stderr.count("\n") == 1


def test_phantom_iqi_needs_xray_and_room(tmp_path: Path) -> None:
    result = _ndelab("phantom", str(tmp_path / "a"), "--iqi")
    assert result.returncode == 2 and "--kind xray" in result.stderr
    result = _ndelab("phantom", str(tmp_path / "b"), "--kind", "xray", "--iqi", "--size", "128")
    assert result.returncode == 2 and "duplex IQI needs" in result.stderr


def test_iq_db_stores_the_verdict_and_disposition_refuses_without_override(
    phantom: tuple[Path, dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, _meta = phantom
    db = str(tmp_path / "r.db")
    capsys.readouterr()
    assert main(["iq", str(path), "--db", db, "--user", "ana", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    # The phantom's layout file (volume.iq.json) names the IQIs, class A and the thickness;
    # at the default blur (1 px of 0.1 mm) SRb is about 148 µm, over the 130 µm allowed.
    assert out["status"] == "not interpretable" and out["failed"] == "srb"
    assert out["srb_um"] == pytest.approx(out["iqi"]["duplex"]["srb_um"])
    assert out["layout"]["source"].endswith("volume.iq.json")
    criteria = str(Path(__file__).resolve().parents[2] / "resources/criteria/weld-level-B.yaml")
    base = ["disposition", "--db", db, "--scan", out["scan_id"], "--criteria", criteria]
    assert main([*base, "--sign", "ana"]) == 2
    err = capsys.readouterr().err
    assert "basic spatial resolution SRb failed" in err and err.count("\n") == 1
    assert main([*base, "--sign", "ana", "--override-iq", "--user", "lead"]) == 2
    assert "--reason" in capsys.readouterr().err
    why = "resolution confirmed on the second exposure"
    args = [*base, "--sign", "ana", "--override-iq", "--reason", why, "--user", "lead", "--json"]
    assert main(args) == 0
    signed = json.loads(capsys.readouterr().out)
    assert signed["iq_override"]["reason"] == why
    assert signed["iq_override"]["image_quality"]["failed"] == "srb"
    assert main(["audit", "--db", db, "--scan", out["scan_id"], "--json"]) == 0
    actions = [(e["action"], e["user"]) for e in json.loads(capsys.readouterr().out)]
    assert ("override_iq", "lead") in actions and ("image_quality", "ana") in actions


def test_iq_db_measures_a_new_scan_once(
    phantom: tuple[Path, dict[str, Any]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Recording a new scan does not measure it with the default layout before the command's
    own measurement: one assessment, one image-quality event, the command's layout stored."""
    import ndelab.volumes.quality.gate as gate

    path, _meta = phantom
    calls: list[Any] = []
    real = gate.assess

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs.get("thickness_mm"))
        return real(*args, **kwargs)

    monkeypatch.setattr(gate, "assess", counted)
    db = str(tmp_path / "once.db")
    capsys.readouterr()
    argv = ["iq", str(path), "--db", db, "--user", "ana", "--thickness-mm", "9", "--json"]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["recorded"] is True and out["layout"]["source"] == "command line"
    assert calls == [9.0], "the radiograph was measured more than once"
    assert main(["audit", "--db", db, "--scan", out["scan_id"], "--json"]) == 0
    events = json.loads(capsys.readouterr().out)
    stored = [e for e in events if e["action"] == "image_quality"]
    assert len(stored) == 1 and stored[0]["after"]["image_quality"]["thickness_mm"] == 9.0
    # Measured again on the known scan: one more assessment and one more event.
    assert main([*argv[:-2], "9.5", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["recorded"] is False and calls == [9.0, 9.5]
