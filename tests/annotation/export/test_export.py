"""Data set export: reviewed labels only, split by part, provenance, every format read back."""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import h5py
import nrrd
import numpy as np
import pytest

from ndelab.annotation import NewIndication, Source, SparseMask
from ndelab.annotation.export.coco import rle_decode, rle_encode
from ndelab.annotation.export.dataset import export_dataset, files_sha256, split_parts
from ndelab.annotation.export.volumes import nifti_affine
from ndelab.annotation.measure import measure
from ndelab.annotation.store import Store, add_indications, get_mask, import_labels, review
from ndelab.volumes.errors import UsageError
from ndelab.volumes.io import open_volume, write_volume
from ndelab.volumes.progress import Cancelled
from ndelab.volumes.volume import Volume

SHAPE = (6, 20, 24)
SPACING = (0.5, 0.25, 0.2)
ORIGIN = (10.0, -4.0, 2.5)


@dataclass
class Built:
    scan_ids: list[str] = field(default_factory=list)
    part_of: dict[str, str] = field(default_factory=dict)
    paths: dict[str, Path] = field(default_factory=dict)
    # scan id -> {call id: final class} of the calls that must be exported
    expected: dict[str, dict[str, str]] = field(default_factory=dict)
    excluded: set[str] = field(default_factory=set)
    manual: str = ""


def _write_scan(folder: Path, name: str, seed: int) -> Volume:
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 4000, SHAPE, dtype=np.uint16)
    direction = np.array([[1.0, 0, 0], [0, 0, 1.0], [0, -1.0, 0]])  # y and x swapped, flipped
    vol = Volume(data, spacing_mm=SPACING, origin_mm=ORIGIN, direction=direction)
    path = folder / f"{name}.nrrd"
    write_volume(vol, path)
    return open_volume(path)


def _labels() -> np.ndarray[Any, np.dtype[np.int32]]:
    labels = np.zeros(SHAPE, np.int32)
    labels[1:3, 2:5, 2:6] = 1
    labels[2:5, 8:12, 10:13] = 2
    labels[0:2, 14:17, 15:20] = 3
    return labels


def build(store: Store, folder: Path, n_parts: int = 4) -> Built:
    """n_parts parts with one scan each (part 0 has two); per scan: one accepted, one rejected
    and one corrected (class and mask) model call; part 0's first scan also has an open call
    and an accepted manual call."""
    b = Built()
    for p in range(n_parts):
        for s in range(2 if p == 0 else 1):
            vol = _write_scan(folder, f"part{p}_scan{s}", seed=10 * p + s)
            made = import_labels(
                store,
                vol,
                _labels(),
                {1: "pore", 2: "pore", 3: "crack"},
                source="model:porenet@2.1",
                user="runner",
                scores=[0.9, 0.8, 0.4],
                part_name=f"casting {p}",
                part_id=b.part_of.get(b.scan_ids[-1]) if s else None,
                sha256=files_sha256(vol),
            )
            sid = made["scan_id"]
            b.scan_ids.append(sid)
            b.part_of[sid] = made["part_id"]
            b.paths[sid] = Path(str(vol.source))
            a, r, c = made["call_ids"]
            review(store, a, "accept", "ana")
            review(store, r, "reject", "ben", reason="streak artefact")
            new = np.zeros(SHAPE, bool)
            new[0:2, 14:17, 15:18] = True  # trimmed
            review(store, c, "correct", "ana", cls="inclusion", mask=SparseMask.from_local(new))
            b.expected[sid] = {a: "pore", c: "inclusion"}
            b.excluded.add(r)
    first = b.scan_ids[0]
    extra = np.zeros(SHAPE, bool)
    extra[4:6, 1:3, 18:22] = True
    extra_mask = SparseMask.from_local(extra)
    items = [
        NewIndication(
            mask=extra_mask,
            cls="lack-of-fusion",
            source=Source("manual"),
            measurements=measure(extra_mask, SPACING),
        )
    ]
    (manual,) = add_indications(store, first, items, user="ana")
    review(store, manual, "accept", "ana")
    b.expected[first][manual] = "lack-of-fusion"
    b.manual = manual
    open_mask = SparseMask.from_local(np.ones((2, 3, 3), bool), (3, 16, 2))
    open_item = NewIndication(
        mask=open_mask,
        cls="pore",
        source=Source("model", "porenet", "2.1"),
        measurements=measure(open_mask, SPACING),
    )
    (open_call,) = add_indications(store, first, [open_item], user="runner")
    b.excluded.add(open_call)  # never reviewed: not a label, and the scan gets a warning
    return b


@pytest.fixture
def built(store: Store, tmp_path: Path) -> Built:
    folder = tmp_path / "scans"
    folder.mkdir()
    return build(store, folder)


def _manifest(out: Path) -> dict[str, Any]:
    return json.loads((out / "manifest.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def test_hdf5_holds_only_reviewed_labels_with_provenance(
    store: Store, built: Built, tmp_path: Path
) -> None:
    out = tmp_path / "ds"
    summary = export_dataset(store, out, fmt="hdf5", val_fraction=0.25, seed=3)
    json.dumps(summary)  # JSON-ready
    man = _manifest(out)
    assert {s["id"] for s in man["scans"]} == set(built.scan_ids)
    exported = {lab["provenance"]["call_id"]: lab for lab in man["labels"]}
    expected = {cid: cls for calls in built.expected.values() for cid, cls in calls.items()}
    assert {cid: lab["class"] for cid, lab in exported.items()} == expected
    assert not built.excluded & set(exported)
    assert summary["labels"] == len(expected) == 2 * len(built.scan_ids) + 1
    assert summary["classes"] == {
        "pore": len(built.scan_ids),
        "crack": 0,
        "inclusion": len(built.scan_ids),
        "lack-of-fusion": 1,
        "other": 0,
        "linear": 0,
    }
    lab = next(v for v in exported.values() if v["class"] == "inclusion")
    prov = lab["provenance"]
    sid = lab["scan_id"]
    assert prov["scan"]["id"] == sid and prov["scan"]["path"] == str(built.paths[sid])
    assert prov["scan"]["sha256"] == files_sha256(open_volume(built.paths[sid]))
    assert prov["model"] == {
        "kind": "model",
        "name": "porenet",
        "version": "2.1",
        "class": "crack",
        "score": pytest.approx(0.4),
    }
    assert prov["reviewer"] == "ana" and prov["decision"] == "correct"
    assert prov["reviewed_at"].endswith("+00:00")
    assert exported[built.manual]["provenance"]["model"]["kind"] == "manual"
    assert man["ndelab_version"] and man["exported_at"].endswith("+00:00")
    assert man["store"] == store.name and man["format"] == "hdf5"
    assert summary["warnings"] == [
        f"scan {built.scan_ids[0]} still has 1 open (proposed) call(s); they are not labelled"
    ]

    entry = next(s for s in man["scans"] if s["id"] == built.scan_ids[0])
    h5_path = out / entry["files"][0]
    assert h5_path.name == f"{built.scan_ids[0]}.h5"
    assert entry["split"] == man["parts"][built.part_of[built.scan_ids[0]]]
    with h5py.File(h5_path, "r") as fh:
        image, labels, classes = fh["image"][()], fh["labels"][()], fh["classes"][()]
        assert fh["labels"].dtype == np.uint16 and fh["classes"].dtype == np.uint8
        assert list(fh.attrs["spacing_mm"]) == list(SPACING)
        assert list(fh.attrs["origin_mm"]) == list(ORIGIN)
        instances = json.loads(fh.attrs["instances"])
    np.testing.assert_array_equal(image, open_volume(built.paths[built.scan_ids[0]]).array())
    by_call = {i["provenance"]["call_id"]: i["instance_id"] for i in instances}
    assert set(by_call) == set(built.expected[built.scan_ids[0]])
    for cid, inst in by_call.items():
        want = np.zeros(SHAPE, bool)
        get_mask(store, cid).paste(want)
        np.testing.assert_array_equal(labels == inst, want)
        code = {"pore": 1, "inclusion": 3, "lack-of-fusion": 4}[
            built.expected[built.scan_ids[0]][cid]
        ]
        assert np.all(classes[want] == code)
    assert np.count_nonzero(labels) == np.count_nonzero(classes)


def test_split_is_by_part_and_deterministic(store: Store, built: Built, tmp_path: Path) -> None:
    a = export_dataset(store, tmp_path / "a", fmt="hdf5", val_fraction=0.5, seed=7)
    b = export_dataset(store, tmp_path / "b", fmt="hdf5", val_fraction=0.5, seed=7)
    ma, mb = _manifest(tmp_path / "a"), _manifest(tmp_path / "b")
    assert ma["parts"] == mb["parts"] and a["splits"] == b["splits"]
    assert set(ma["parts"].values()) == {"train", "val"}
    for scan in ma["scans"]:
        assert scan["split"] == ma["parts"][scan["part_id"]]
        assert scan["files"][0].startswith(f"{scan['split']}/")
    # The two scans of part 0 land together.
    first, second = built.scan_ids[:2]
    splits = {s["id"]: s["split"] for s in ma["scans"]}
    assert splits[first] == splits[second]
    assert a["splits"]["train"]["parts"] + a["splits"]["val"]["parts"] == len(ma["parts"])
    assert a["splits"]["train"]["scans"] + a["splits"]["val"]["scans"] == len(built.scan_ids)


def test_split_parts_rules() -> None:
    parts = [f"p{i}" for i in range(10)]
    s = split_parts(parts, 0.2, seed=1)
    assert sum(v == "val" for v in s.values()) == 2
    assert split_parts(list(reversed(parts)), 0.2, seed=1) == s
    assert any(split_parts(parts, 0.2, seed=k) != s for k in range(2, 6))
    assert set(split_parts(parts, 0.0, seed=1).values()) == {"train"}
    assert split_parts(["a"], 0.2, seed=0) == {"a": "train"}
    assert sorted(split_parts(["a", "b"], 0.01, seed=0).values()) == ["train", "val"]
    assert set(split_parts(parts, 1.0, seed=0).values()) == {"val"}


def test_changed_or_missing_scan_file_is_skipped_with_a_warning(
    store: Store, built: Built, tmp_path: Path
) -> None:
    changed, missing = built.scan_ids[1], built.scan_ids[2]
    path = built.paths[changed]
    raw = bytearray(path.read_bytes())
    raw[-1] ^= 0xFF  # one voxel differs: same shape, different sha256
    path.write_bytes(bytes(raw))
    built.paths[missing].unlink()
    summary = export_dataset(store, tmp_path / "ds", fmt="hdf5")
    skipped = {s["scan_id"]: s["reason"] for s in summary["skipped"]}
    assert set(skipped) == {changed, missing}
    assert "changed since it was reviewed" in skipped[changed] and str(path) in skipped[changed]
    assert "is missing" in skipped[missing]
    assert set(skipped.values()) < set(summary["warnings"])
    assert summary["scans"] == len(built.scan_ids) - 2
    man = _manifest(tmp_path / "ds")
    assert {s["id"] for s in man["scans"]} == set(built.scan_ids) - {changed, missing}


def test_nrrd_files_read_back_with_geometry(store: Store, built: Built, tmp_path: Path) -> None:
    out = tmp_path / "ds"
    export_dataset(store, out, fmt="nrrd")
    man = _manifest(out)
    entry = man["scans"][0]
    files = {Path(f).name: out / f for f in entry["files"]}
    assert set(files) == {"image.nrrd", "labels.nrrd", "classes.nrrd"}
    labels, header = nrrd.read(str(files["labels.nrrd"]), index_order="C")
    image, _ = nrrd.read(str(files["image.nrrd"]), index_order="C")
    classes, _ = nrrd.read(str(files["classes.nrrd"]), index_order="C")
    assert labels.dtype == np.uint16 and labels.shape == SHAPE
    np.testing.assert_array_equal(image, open_volume(entry["path"]).array())
    steps = np.asarray(header["space directions"], float)  # rows: x, y, z file axes
    np.testing.assert_allclose(np.linalg.norm(steps, axis=1), SPACING[::-1])
    np.testing.assert_allclose(header["space origin"], ORIGIN[::-1])
    for inst, cid in zip(entry["labels"], entry["call_ids"], strict=True):
        want = np.zeros(SHAPE, bool)
        get_mask(store, cid).paste(want)
        np.testing.assert_array_equal(labels == inst, want)
    assert set(np.unique(classes)) <= {0, 1, 3, 4}
    assert json.loads(header["ndelab_instances"])[0]["provenance"]["call_id"] in entry["call_ids"]


def test_nifti_files_read_back_with_ras_affine(store: Store, built: Built, tmp_path: Path) -> None:
    nibabel: Any = importlib.import_module("nibabel")  # a dependency of the nifti export
    out = tmp_path / "ds"
    export_dataset(store, out, fmt="nifti")
    entry = _manifest(out)["scans"][0]
    files = {Path(f).name: out / f for f in entry["files"]}
    img = nibabel.load(str(files["image.nii.gz"]))
    lab = nibabel.load(str(files["labels.nii.gz"]))
    vol = open_volume(entry["path"])
    # NIfTI arrays are (x, y, z); ours (z, y, x).
    np.testing.assert_array_equal(np.asarray(img.dataobj).transpose(2, 1, 0), vol.array())
    labels = np.asarray(lab.dataobj).transpose(2, 1, 0)
    assert labels.dtype == np.uint16
    want = np.zeros(SHAPE, bool)
    get_mask(store, entry["call_ids"][0]).paste(want)
    np.testing.assert_array_equal(labels == entry["labels"][0], want)
    assert int(img.header["qform_code"]) == 1 and int(img.header["sform_code"]) == 1
    np.testing.assert_allclose(img.affine, nifti_affine(vol))
    # A voxel's RAS position is its ndelab world position (z, y, x; LPS) reversed, x, y negated.
    zyx = np.array([3.0, 5.0, 7.0])
    lps = vol.index_to_world(zyx)[::-1]
    ras = img.affine @ np.array([zyx[2], zyx[1], zyx[0], 1.0])
    np.testing.assert_allclose(ras[:3], lps * np.array([-1, -1, 1]))


def test_coco_json_and_masks_decode_to_the_stored_masks(
    store: Store, built: Built, tmp_path: Path
) -> None:
    out = tmp_path / "ds"
    summary = export_dataset(store, out, fmt="coco", val_fraction=0.25)
    docs = {
        s: json.loads((out / f"annotations/instances_{s}.json").read_text())
        for s in ("train", "val")
    }
    assert "annotations/instances_train.json" in summary["files"]
    cats = {c["id"]: c["name"] for c in docs["train"]["categories"]}
    assert cats == {
        1: "pore",
        2: "crack",
        3: "inclusion",
        4: "lack-of-fusion",
        5: "other",
        6: "linear",
    }
    images = {i["id"]: i for d in docs.values() for i in d["images"]}
    anns = [a for d in docs.values() for a in d["annotations"]]
    # Every exported call appears on each slice it spans; nothing else appears.
    expected = {cid for calls in built.expected.values() for cid in calls}
    assert {a["attributes"]["call_id"] for a in anns} == expected
    manual_anns = [a for a in anns if a["attributes"]["call_id"] == built.manual]
    assert sorted(a["attributes"]["slice"] for a in manual_anns) == [4, 5]
    ann = manual_anns[0]
    image = images[ann["image_id"]]
    assert ann["category_id"] == 4 and ann["iscrowd"] == 0
    assert ann["attributes"]["provenance"]["reviewer"] == "ana"
    assert image["scan_id"] == built.scan_ids[0]
    z = image["slice_index"]
    want = np.zeros(SHAPE, bool)
    get_mask(store, built.manual).paste(want)
    got = rle_decode(ann["segmentation"])
    np.testing.assert_array_equal(got, want[z])
    ys, xs = np.nonzero(want[z])
    assert ann["bbox"] == [xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1]
    assert ann["area"] == int(want[z].sum())
    png = cv2.imread(str(out / image["file_name"]), cv2.IMREAD_UNCHANGED)
    assert png is not None and png.dtype == np.uint16
    np.testing.assert_array_equal(png, open_volume(built.paths[built.scan_ids[0]]).slice(0, z))
    # Only slices holding a label become images (a CT scan here has 6 slices).
    for img in images.values():
        assert any(a["image_id"] == img["id"] for a in anns)


def test_rle_round_trip_and_column_order() -> None:
    rng = np.random.default_rng(0)
    for _ in range(20):
        m = rng.random((7, 9)) < 0.3
        assert np.array_equal(rle_decode(rle_encode(m)), m)
    m = np.zeros((2, 3), bool)
    m[0, 0] = m[1, 0] = True  # the first column, down the rows
    assert rle_encode(m)["counts"] == [0, 2, 4]
    assert rle_encode(np.zeros((2, 2), bool))["counts"] == [4]


def test_bad_options_and_cancel(store: Store, built: Built, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="unknown export format"):
        export_dataset(store, tmp_path / "x", fmt="zip")
    with pytest.raises(UsageError, match="between 0 and 1"):
        export_dataset(store, tmp_path / "x", val_fraction=1.5)
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "a.txt").write_text("x")
    with pytest.raises(UsageError, match="not empty"):
        export_dataset(store, busy)
    seen: list[float] = []
    with pytest.raises(Cancelled):
        export_dataset(store, tmp_path / "c", progress=seen.append, cancel=lambda: len(seen) >= 1)
    assert not (tmp_path / "c").exists()
    done: list[float] = []
    export_dataset(store, tmp_path / "d", progress=done.append)
    assert done[-1] == 1.0 and done == sorted(done)


def test_coco_radiographs_keep_negatives_and_shift_signed_values(
    store: Store, tmp_path: Path
) -> None:
    folder = tmp_path / "scans"
    folder.mkdir()
    data = np.arange(-600, 600, dtype=np.int16).reshape(1, 30, 40)
    ids = []
    for name in ("dx_hit", "dx_clean"):
        path = folder / f"{name}.npy"
        write_volume(Volume(data, modality="DX"), path)
        vol = open_volume(path)
        labels = np.zeros(vol.shape, np.int32)
        labels[0, 5:9, 10:20] = 1
        made = import_labels(
            store, vol, labels, "crack", source="model:weldnet@1", user="r", part_name=name
        )
        action = ("accept", None) if name == "dx_hit" else ("reject", "scratch on the plate")
        review(store, made["call_ids"][0], action[0], "ana", reason=action[1])
        ids.append((made["scan_id"], made["call_ids"][0]))
    out = tmp_path / "ds"
    summary = export_dataset(store, out, fmt="coco", val_fraction=0.0)
    assert summary["splits"]["train"]["scans"] == 2 and summary["labels"] == 1
    doc = json.loads((out / "annotations/instances_train.json").read_text())
    assert json.loads((out / "annotations/instances_val.json").read_text())["images"] == []
    images = {i["scan_id"]: i for i in doc["images"]}
    assert set(images) == {ids[0][0], ids[1][0]}  # the all-rejected radiograph is a negative
    assert images[ids[1][0]]["file_name"] == f"images/train/{ids[1][0]}.png"
    (ann,) = doc["annotations"]
    assert ann["image_id"] == images[ids[0][0]]["id"] and ann["category_id"] == 2
    assert ann["bbox"] == [10, 5, 10, 4] and ann["area"] == 40
    mapping = images[ids[0][0]]["value_mapping"]
    assert mapping == {"scale": 1.0, "offset": -32768.0}
    png = cv2.imread(str(out / images[ids[0][0]]["file_name"]), cv2.IMREAD_UNCHANGED)
    assert png is not None
    np.testing.assert_array_equal(png * mapping["scale"] + mapping["offset"], data[0])


def test_scan_hash_matches_the_workstations(tmp_path: Path) -> None:
    """Export re-checks a scan with the same hash the workstation recorded (app.workspace)."""
    from ndelab.app.workspace import volume_sha256

    data = np.arange(2 * 3 * 4, dtype=np.uint16).reshape(2, 3, 4)
    for name in ("a.nrrd", "b.mhd"):
        write_volume(Volume(data), tmp_path / name)
        vol = open_volume(tmp_path / name)
        assert files_sha256(vol) == volume_sha256(vol)
    assert files_sha256(Volume(data)) is None
