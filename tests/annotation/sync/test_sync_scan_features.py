# ruff: noqa: F811  (pytest fixtures imported from pg_fixtures)
"""A scan's drift features travel with its row through the shared PostgreSQL (scans sync
whole), and a scan recorded without them arrives without them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pg_fixtures import PgServer, pg_server, pg_url  # noqa: F401  (fixtures)

from ndelab.annotation.store import Store, get_scan, record_scan
from ndelab.annotation.store.model_outcomes import scan_inputs
from ndelab.annotation.sync.engine import sync
from ndelab.volumes.features import scan_features
from ndelab.volumes.phantom import make_ct_phantom
from ndelab.volumes.volume import Volume

pytestmark = pytest.mark.postgres


def test_a_synced_scan_keeps_its_features(tmp_path: Path, pg_url: str) -> None:
    volume = make_ct_phantom(48, seed=10004).volume
    features = scan_features(volume)
    with (
        Store(tmp_path / "a.db", workstation="ws-a") as a,
        Store(tmp_path / "b.db", workstation="ws-b") as b,
    ):
        _, measured = record_scan(a, volume, user="ana", features=features)
        bare = Volume(np.zeros((4, 8, 8), np.uint8), spacing_mm=(0.1, 0.1, 0.1))
        _, older = record_scan(a, bare, user="ana")
        sync(a, pg_url, "ana")
        sync(b, pg_url, "ben")
        assert get_scan(b, measured)["features"] == features == get_scan(a, measured)["features"]
        assert get_scan(b, older)["features"] is None
        with Store(pg_url) as server:
            assert get_scan(server, measured)["features"] == features
        assert {r["id"]: r["features"] for r in scan_inputs(b)} == {
            r["id"]: r["features"] for r in scan_inputs(a)
        }
