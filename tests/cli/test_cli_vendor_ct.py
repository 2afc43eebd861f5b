"""`ndelab info` on the vendor CT formats: a phoenix .pcr and a Nikon .vol opened directly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ndelab.cli import main


def test_info_json_on_a_pcr_and_a_nikon_vol(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    np.arange(24, dtype="<u2").tofile(tmp_path / "part.vol")
    (tmp_path / "part.pcr").write_text(
        "[VolumeData]\nVolume_SizeX=4\nVolume_SizeY=3\nVolume_SizeZ=2\nFormat=5\n"
        "VoxelSizeRec=0.02\nMin=0\nMax=1.5\n",
        newline="\r\n",
    )
    assert main(["info", str(tmp_path / "part.pcr"), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["format"] == "pcr" and info["shape"] == [2, 3, 4] and info["dtype"] == "uint16"
    assert info["spacing_mm"] == pytest.approx([0.02, 0.02, 0.02])

    np.zeros(24, dtype="<f4").tofile(tmp_path / "ring.vol")
    (tmp_path / "ring.xtekVolume").write_text(
        "[XTekCT]\nVoxelsX=4\nVoxelsY=3\nVoxelsZ=2\nVoxelSizeX=0.5\nUnits=mm\n", newline="\r\n"
    )
    assert main(["info", str(tmp_path / "ring.vol")]) == 0
    out = capsys.readouterr().out
    assert "format: xtek" in out and "shape: [2, 3, 4]" in out and "float32" in out


def test_info_on_a_pcr_missing_its_volume_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "gone.pcr").write_text(
        "[VolumeData]\nVolume_SizeX=4\nVolume_SizeY=3\nVolume_SizeZ=2\n"
    )
    assert main(["info", str(tmp_path / "gone.pcr")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no 'gone.vol' is beside it" in err
