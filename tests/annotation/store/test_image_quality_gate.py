"""Migration 0004: a scan's image-quality record round-trips, changes with an audit event, and
a failed image blocks the signature unless an audited override says who and why."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from alembic import command
from sqlalchemy import create_engine, inspect

from ndelab.annotation import ReviewError
from ndelab.annotation.disposition import IqOverride
from ndelab.annotation.store import (
    Store,
    audit,
    disposition,
    get_scan,
    image_quality,
    iq_overrides,
    record_scan,
    set_image_quality,
)
from ndelab.annotation.store.database import alembic_config
from ndelab.volumes.volume import Volume

CRITERIA = Path(__file__).resolve().parents[3] / "resources" / "criteria" / "weld-level-B.yaml"


def _record(acceptable: bool) -> dict[str, Any]:
    return {
        "status": "acceptable" if acceptable else "not interpretable",
        "acceptable": acceptable,
        "reason": "SNRn 47 is below the 70 the class A table requires at 7.6 mm steel",
        "failed": None if acceptable else "snrn",
        "class": "A",
        "srb_um": 93.8,
        "srb_max_um": 130.0,
        "snrn": 47.3 if not acceptable else 88.0,
        "snrn_min": 70.0,
        "iqi": {"single_wire": {"smallest_visible": "W13"}},
        "measured_at": "2026-12-02T10:00:00+00:00",
    }


def _radiograph() -> Volume:
    data = np.full((1, 64, 64), 1000, np.uint16)
    return Volume(data=data, spacing_mm=(0.1, 0.1, 0.1), modality="DX")


def test_the_column_round_trips_through_migration_0004(tmp_path: Path) -> None:
    path = tmp_path / "iq.db"
    with Store(path) as store:
        _, scan = record_scan(store, _radiograph(), user="ana", image_quality=_record(False))
        assert image_quality(store, scan) == _record(False)
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0003")
        assert "image_quality" not in {c["name"] for c in inspect(conn).get_columns("scans")}
        command.upgrade(alembic_config(conn), "0004")
        assert "image_quality" in {c["name"] for c in inspect(conn).get_columns("scans")}
    engine.dispose()
    with Store(path) as store:
        assert image_quality(store, scan) is None  # dropped with the column, NULL again
        set_image_quality(store, scan, _record(True), user="ana")
        assert image_quality(store, scan) == _record(True)


def test_a_new_record_bumps_the_revision_and_is_audited(tmp_path: Path) -> None:
    with Store(tmp_path / "a.db") as store:
        _, scan = record_scan(store, _radiograph(), user="ana")
        assert image_quality(store, scan) is None
        set_image_quality(store, scan, _record(False), user="kim")
        set_image_quality(store, scan, _record(True), user="kim")
        row = get_scan(store, scan)
        assert row["revision"] == 3 and row["updated_by"] == "kim"
        events = [e for e in audit(store, scan) if e["action"] == "image_quality"]
        assert [e["after"]["image_quality"]["acceptable"] for e in events] == [False, True]
        assert events[1]["before"]["image_quality"]["acceptable"] is False
        with pytest.raises(ReviewError, match="not in database"):
            set_image_quality(store, "no-such-scan", _record(True), user="kim")


def test_a_failed_image_is_not_sentenced_without_an_audited_override(tmp_path: Path) -> None:
    with Store(tmp_path / "g.db") as store:
        _, scan = record_scan(store, _radiograph(), user="ana", image_quality=_record(False))
        preview = disposition(store, scan, CRITERIA)  # a preview is never refused
        assert preview["image_quality"]["status"] == "not interpretable"
        with pytest.raises(ReviewError, match=r"not interpretable \(normalised SNR \(SNRn\)"):
            disposition(store, scan, CRITERIA, sign_user="ana")
        with pytest.raises(ReviewError, match="needs a reason"):
            disposition(store, scan, CRITERIA, sign_user="ana", override_iq=IqOverride("lead", " "))
        assert not [e for e in audit(store, scan) if e["entity_type"] == "disposition"]
        why = "SNR checked on a second exposure, report 17"
        signed = disposition(
            store, scan, CRITERIA, sign_user="ana", override_iq=IqOverride("lead", why)
        )
        assert signed["iq_override"]["user"] == "lead"
        granted = iq_overrides(store, scan)
        assert len(granted) == 1 and granted[0]["reason"] == why
        assert granted[0]["image_quality"]["failed"] == "snrn"
        assert granted[0]["disposition_id"] == signed["id"]
        ev = next(e for e in audit(store, scan) if e["action"] == "override_iq")
        assert ev["user"] == "lead" and ev["reason"] == why and ev["at"]


def test_an_acceptable_radiograph_or_a_ct_signs_as_before(tmp_path: Path) -> None:
    with Store(tmp_path / "ok.db") as store:
        _, ok = record_scan(store, _radiograph(), user="ana", image_quality=_record(True))
        assert disposition(store, ok, CRITERIA, sign_user="ana")["iq_override"] is None
        _, ct = record_scan(store, Volume(data=np.zeros((8, 8, 8), np.uint16)), user="ana")
        assert disposition(store, ct, CRITERIA, sign_user="ana")["image_quality"] is None
        assert iq_overrides(store, ok) == [] == iq_overrides(store, ct)


def test_an_unmeasured_radiograph_needs_the_override_too(tmp_path: Path) -> None:
    with Store(tmp_path / "none.db") as store:
        _, scan = record_scan(store, _radiograph(), user="ana")  # never measured
        assert disposition(store, scan, CRITERIA)["image_quality"] is None  # preview: fine
        with pytest.raises(ReviewError, match="image quality was never measured"):
            disposition(store, scan, CRITERIA, sign_user="ana")
        assert not [e for e in audit(store, scan) if e["entity_type"] == "disposition"]
        why = "IQIs read by eye on the second exposure"
        signed = disposition(
            store, scan, CRITERIA, sign_user="ana", override_iq=IqOverride("lead", why)
        )
        (granted,) = iq_overrides(store, scan)
        assert granted["reason"] == why and granted["user"] == "lead"
        assert granted["image_quality"]["status"] == "not measured"
        assert granted["disposition_id"] == signed["id"]
