"""The CLI contract: JSON shapes, exit code 2 with one sentence for bad input, no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ndelab.cli import main


def _ndelab(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ndelab.cli", *args], capture_output=True, text=True, timeout=300
    )


def test_info_json_on_raw_with_explicit_shape(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "part.raw"
    np.arange(2 * 3 * 4, dtype=np.uint16).tofile(path)
    assert main(["info", str(path), "--shape", "2,3,4", "--dtype", "uint16", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["shape"] == [2, 3, 4] and info["dtype"] == "uint16"
    for key in ("spacing_mm", "origin_mm", "modality", "format"):
        assert key in info


def test_bad_input_exits_2_with_one_sentence(tmp_path: Path) -> None:
    path = tmp_path / "part.raw"
    np.zeros(10, np.uint16).tofile(path)
    result = _ndelab("info", str(path), "--shape", "10,10,10", "--dtype", "uint16", "--json")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1 and "2,000" in result.stderr and "20" in result.stderr


def test_missing_file_and_bad_shape(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", str(tmp_path / "nope.nrrd")]) == 2
    assert "nope.nrrd" in capsys.readouterr().err
    assert main(["info", str(tmp_path / "x.raw"), "--shape", "1,2"]) == 2
    assert "--shape" in capsys.readouterr().err


def test_convert_then_info_round_trip(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in.npy"
    data = np.random.default_rng(0).integers(0, 4000, (5, 6, 7), dtype=np.uint16)
    np.save(src, data)
    out = tmp_path / "out.nrrd"
    assert main(["convert", str(src), str(out)]) == 0
    capsys.readouterr()
    assert main(["info", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["shape"] == [5, 6, 7]


def test_phantom_command_writes_ground_truth(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["phantom", str(tmp_path / "p"), "--seed", "3", "--size", "48", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["defects"] > 0
    for path in summary["files"].values():
        assert Path(path).exists()
    assert (
        main(["phantom", str(tmp_path / "x"), "--seed", "3", "--size", "64", "--kind", "xray"]) == 0
    )


def test_unknown_bench_area_is_a_user_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "nonsense", "--json"]) == 2
    assert "nonsense" in capsys.readouterr().err
