"""Bad input to the image quality check: one clear sentence, never a traceback."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from ndelab.volumes.errors import NdelabError, UsageError
from ndelab.volumes.phantom import Phantom, make_ct_phantom
from ndelab.volumes.quality import as_radiograph, assess, measure_snr, read_duplex
from ndelab.volumes.volume import Volume

Factory = Callable[[int, float, float], Phantom]


def _sentence(exc: pytest.ExceptionInfo[NdelabError]) -> str:
    text = str(exc.value)
    assert "\n" not in text and "Traceback" not in text
    return text


def test_a_ct_volume_is_refused() -> None:
    ct = make_ct_phantom(24, seed=0).volume
    for call in (
        lambda: measure_snr(ct, (0, 0, 20, 20)),
        lambda: read_duplex(ct, (1, 1, 1, 20)),
        lambda: assess(ct),
    ):
        with pytest.raises(UsageError) as err:
            call()
        assert "3D volume of 24 slices" in _sentence(err)


def test_radiograph_forms_accepted() -> None:
    img = np.arange(12.0).reshape(3, 4)
    for form in (img, img[np.newaxis], Volume(img.astype(np.float32), modality="DX")):
        assert np.array_equal(as_radiograph(form), img)
    with pytest.raises(UsageError, match="not an image"):
        as_radiograph(object())  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="NaN"):
        as_radiograph(np.full((4, 4), np.nan))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"roi": (500, 500, 540, 600)}, "outside the 512 x 512 pixel image"),
        ({"roi": (10, 10, 20, 30)}, "at least 20 x 55"),
        ({"duplex_line": (20, -50, 20, 300)}, "runs outside"),
        ({"duplex_line": (20, 20, 20, 22)}, "must cross the IQI"),
        ({"duplex_line": (20, 20, 20)}, "four numbers"),
        ({"wire_line": (450, 20, 450, 200), "wire_set": "W7"}, "not of the form W10-W16"),
        ({"image_class": "B"}, "material and the penetrated thickness"),
        ({"image_class": "B", "material": "steel", "thickness_mm": -3}, "must be positive"),
        ({"duplex_line": (100, 100, 110, 400), "magnification": 0.5}, "at least 1"),
    ],
)
def test_bad_options_are_one_sentence(
    iqi_phantom: Factory, kwargs: dict[str, Any], match: str
) -> None:
    ph = iqi_phantom(0, 1.2, 1.0)
    with pytest.raises(UsageError, match=match) as err:
        assess(ph.volume, find=False, **kwargs)
    _sentence(err)
