"""save_phantom: NRRD files that pynrrd reads back with their geometry, and defects.json."""

from __future__ import annotations

import json
from pathlib import Path

import nrrd
import numpy as np
import pytest

from ndelab.volumes.errors import UsageError, VolumeWriteError
from ndelab.volumes.phantom import make_ct_phantom, make_radiograph, save_phantom


def test_ct_round_trip(tmp_path: Path) -> None:
    ph = make_ct_phantom(48, seed=4, shape=(40, 48, 56), spacing_mm=0.25)
    ph.volume.origin_mm = (1.0, 2.0, 3.0)
    written = save_phantom(ph, tmp_path / "out")
    assert set(written) == {"volume", "labels", "classes", "part_mask", "defects"}
    for key, array in [
        ("volume", ph.volume.data),
        ("labels", ph.labels),
        ("classes", ph.classes),
        ("part_mask", ph.part_mask.astype(np.uint8)),
    ]:
        data, header = nrrd.read(written[key], index_order="C")
        assert data.dtype == array.dtype and np.array_equal(data, array), key
        assert np.allclose(header["space directions"], np.eye(3) * 0.25)
        assert list(header["space origin"]) == [3.0, 2.0, 1.0]  # x, y, z
        assert list(header["sizes"]) == [56, 48, 40]
    truth = json.loads(Path(written["defects"]).read_text())
    assert truth["seed"] == 4 and truth["spacing_mm"] == [0.25, 0.25, 0.25]
    assert [d["id"] for d in truth["defects"]] == [d.id for d in ph.defects]
    for entry, d in zip(truth["defects"], ph.defects, strict=True):
        assert entry["volume_vox"] == d.volume_vox and entry["kind"] == d.kind
        assert entry["bbox_zyx"] == list(d.bbox_zyx)
        assert entry["equivalent_diameter_mm"] == pytest.approx(
            d.equivalent_diameter_vox * 0.25, abs=1e-3
        )
    assert truth["metadata"]["diconde"]["material"] == "A356 aluminium"


def test_direction_is_written_in_nrrd_axis_order(tmp_path: Path) -> None:
    ph = make_radiograph(96, seed=1, spacing_mm=0.2)
    # Swap the y and x world directions: index axis y now steps along world x.
    ph.volume.direction = np.array([[1.0, 0, 0], [0, 0, 1.0], [0, 1.0, 0]])
    written = save_phantom(ph, tmp_path)
    data, header = nrrd.read(written["volume"], index_order="C")
    assert data.shape == (1, 96, 96)
    # File axis 0 is x (index axis 2), which steps along world y, i.e. NRRD's second coordinate.
    assert np.allclose(header["space directions"][0], [0.0, 0.2, 0.0])
    assert np.allclose(header["space directions"][1], [0.2, 0.0, 0.0])
    assert header["modality"] == "DX"


def test_bad_format_and_unwritable_folder(tmp_path: Path) -> None:
    ph = make_radiograph(64, seed=0)
    with pytest.raises(UsageError, match="tiff"):
        save_phantom(ph, tmp_path, fmt="tiff")
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(VolumeWriteError, match="file"):
        save_phantom(ph, blocker / "sub")


def test_a_radiograph_phantom_volume_opens_as_a_radiograph(tmp_path: Path) -> None:
    """The phantom folder's volume.nrrd names its modality with the plain "modality" key;
    opened on its own (``ndelab open volume.nrrd``) it must still read as DX, not CT."""
    from ndelab.volumes.io import open_volume

    save_phantom(make_radiograph(128, seed=3), tmp_path / "ph")
    vol = open_volume(tmp_path / "ph" / "volume.nrrd")
    assert vol.modality == "DX" and vol.is_2d
