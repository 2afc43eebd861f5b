"""The classical radiograph detector: pasted pores on flat and stepped backgrounds, prelabel."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from ndelab.inference.prelabel import prelabel
from ndelab.inference.radiograph.detector import NAME, VERSION, detect, detect_image
from ndelab.volumes.errors import UsageError
from ndelab.volumes.volume import Volume

PORES = [(60.0, 60.0, 6.0), (60.0, 190.0, 8.0), (190.0, 70.0, 5.0), (190.0, 200.0, 10.0)]


def _image(step: bool, seed: int = 0, contrast: float = 0.08) -> np.ndarray:
    """256² intensity: 10000 counts (7000 right of x = 128 with ``step``), bright pores."""
    yy, xx = np.mgrid[0:256, 0:256].astype(np.float64)
    base = np.full((256, 256), 10000.0)
    if step:
        base[:, 128:] = 7000.0
    gain = np.ones_like(base)
    for cy, cx, d in PORES:
        gain += contrast * ((yy - cy) ** 2 + (xx - cx) ** 2 <= (d / 2) ** 2)
    clean = ndimage.gaussian_filter(base * gain, 1.0, mode="nearest")
    rng = np.random.default_rng(seed)
    return clean + rng.standard_normal(clean.shape) * (np.sqrt(clean) + 10.0)


def _hit(calls: list, cy: float, cx: float) -> bool:
    return any(abs(c.centroid_zyx[1] - cy) < 4 and abs(c.centroid_zyx[2] - cx) < 4 for c in calls)


@pytest.mark.parametrize("step", [False, True])
def test_finds_pasted_pores_without_false_calls(step: bool) -> None:
    calls, cand = detect_image(_image(step), pixel_mm=(0.1, 0.1))
    assert all(_hit(calls, cy, cx) for cy, cx, _ in PORES)
    assert len(calls) == len(PORES), [c.centroid_zyx for c in calls]  # none on the step
    assert all(c.class_name == "pore" for c in calls)
    # The background follows the step: no residual along it.
    z = (_image(step) - cand.background) / cand.sigma
    assert abs(float(np.median(z[100:160, 124:132]))) < 0.5


def test_sizes_are_in_mm_and_follow_magnification() -> None:
    img = _image(False)
    d = {}
    for mag in (1.0, 2.0):
        calls, _ = detect_image(img, pixel_mm=(0.1, 0.1), magnification=mag)
        big = next(c for c in calls if abs(c.centroid_zyx[2] - 200) < 4)
        d[mag] = big.evidence["diameter_mm"]
    assert 0.6 < d[1.0] < 1.4  # a 10 px pore at 0.1 mm
    assert d[2.0] == pytest.approx(d[1.0] / 2)


def test_darker_spots_are_inclusions() -> None:
    img = _image(False)
    yy, xx = np.mgrid[0:256, 0:256]
    img = img * (1 - 0.3 * ((yy - 128) ** 2 + (xx - 128) ** 2 <= 9))
    calls, _ = detect_image(img)
    inc = [c for c in calls if c.class_name == "inclusion"]
    assert len(inc) == 1 and abs(inc[0].centroid_zyx[1] - 128) < 3


def test_a_thin_bright_line_is_a_crack() -> None:
    # Oblique (20 degrees): a trace straight along a line-median direction is taken for
    # background, a known limit of the directional background.
    img = _image(False)
    t = np.linspace(-20, 20, 400)
    ys, xs = (
        np.rint(128 + t * np.sin(0.35)).astype(int),
        np.rint(128 + t * np.cos(0.35)).astype(int),
    )
    line = np.zeros(img.shape, bool)
    line[ys, xs] = True
    img = img * (1 + 0.1 * ndimage.binary_dilation(line))
    calls, _ = detect_image(img)
    crack = [c for c in calls if c.class_name == "crack"]
    assert len(crack) == 1 and crack[0].evidence["linear"] == 1.0


def test_a_wide_elongated_cavity_is_a_linear_indication() -> None:
    # An ellipsoidal cavity 32 x 8 px: too wide for a crack, four times longer than wide.
    img = _image(False)
    yy, xx = np.mgrid[0:256, 0:256]
    chord = np.sqrt(np.clip(1 - ((xx - 128) / 16) ** 2 - ((yy - 128) / 4) ** 2, 0, None))
    calls, _ = detect_image(img * (1 + 0.1 * chord))
    (mid,) = [c for c in calls if max(abs(v - 128) for v in c.centroid_zyx[1:]) < 3]
    assert mid.class_name == "linear" and mid.evidence["aspect"] >= 3.0
    assert sum(c.class_name == "pore" for c in calls) == len(PORES)  # round pores stay pores


def test_prelabel_2d_path_returns_the_detector_calls() -> None:
    vol = Volume(data=_image(True)[np.newaxis].astype(np.uint16), spacing_mm=(0.1, 0.1, 0.1))
    res = prelabel(vol, model=NAME)  # the first stage alone (the default adds the second)
    assert (res.model_name, res.model_version) == (NAME, VERSION)
    assert len(res.calls) == len(PORES)
    assert all((c.model_name, c.model_version) == (NAME, VERSION) for c in res.calls)
    assert all(c.mask.shape[0] == 1 and c.mask.any() for c in res.calls)
    again = prelabel(vol, model=NAME)
    assert [c.bbox_zyx for c in again.calls] == [c.bbox_zyx for c in res.calls]


def test_refuses_a_ct_volume() -> None:
    vol = Volume(data=np.zeros((4, 32, 32), np.uint16), spacing_mm=(1.0, 1.0, 1.0))
    with pytest.raises(UsageError):
        detect(vol)


def test_a_ring_energy_window_keeps_pores_on_a_curved_bead() -> None:
    """A rippled bead, thicker at its centre: at a pore the across-bead median is lifted by the
    curvature, and a window at the pixel picks that direction and cancels the pore; judged on a
    ring around the pixel the along-bead direction wins and the pore keeps its contrast."""
    from ndelab.inference.radiograph.detector import DetectorConfig, candidates

    yy, xx = np.mgrid[0:256, 0:256].astype(np.float64)
    bead = np.clip(1 - ((yy - 128) / 40) ** 2, 0, None) * (1 + 0.03 * np.sin(2 * np.pi * xx / 22))
    base = 20000 * np.exp(-0.13 * (8 + 2.0 * bead))
    pores = [
        (128 + o, x) for x, o in zip(range(40, 230, 30), (-10, 5, 0, 8, -6, 12, -3), strict=True)
    ]
    gain = np.ones_like(base)
    for cy, cx in pores:
        gain += 0.06 * ((yy - cy) ** 2 + (xx - cx) ** 2 <= 2.4**2)
    clean = ndimage.gaussian_filter(base * gain, 1.0)
    rng = np.random.default_rng(0)
    img = clean + rng.standard_normal(clean.shape) * 0.8 * (np.sqrt(clean) + 10)

    def snr(ring: tuple[float, float] | None) -> float:
        c = candidates(img, DetectorConfig(energy_ring_px=ring))
        return float(np.median([c.snr[cy - 2 : cy + 3, cx - 2 : cx + 3].max() for cy, cx in pores]))

    assert snr((6.0, 16.0)) > 1.2 * snr(None)


def test_the_structure_tensor_keeps_pores_on_a_steep_flank() -> None:
    """On a bead's flank the image falls steeply across the bead. A median across the slope is
    ranked by the slope, so it returns the pixel itself, pore and all, and its residual is the
    quietest: least energy picks it and the pore is gone. The structure tensor picks the line
    along the flank, where the image does not vary."""
    from ndelab.inference.radiograph.detector import DetectorConfig, candidates

    yy, xx = np.mgrid[0:256, 0:256].astype(np.float64)
    base = 20000.0 - 60.0 * yy  # 20000 to 4700 counts down the image: a steep, straight flank
    pores = [(cy, cx) for cy in (60, 128, 196) for cx in (50, 128, 206)]
    gain = np.ones_like(base)
    for cy, cx in pores:
        gain += 0.05 * ((yy - cy) ** 2 + (xx - cx) ** 2 <= 2.5**2)
    clean = ndimage.gaussian_filter(base * gain, 1.0)
    rng = np.random.default_rng(1)
    img = clean + rng.standard_normal(clean.shape) * (np.sqrt(clean) + 10)

    def snr(direction_by: str) -> float:
        c = candidates(img, DetectorConfig(direction_by=direction_by))  # type: ignore[arg-type]
        return float(np.median([c.snr[cy - 2 : cy + 3, cx - 2 : cx + 3].max() for cy, cx in pores]))

    assert snr("structure") > 1.5 * snr("energy")
    assert snr("structure") > 6.0
