"""What the disposition panel writes from a review (Qt-free): the signed disposition, the
PDF report and the calls' CSV. Each first settles the decisions still being written, so
that it reports what the reviewer sees.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ndelab.annotation.disposition import IqOverride, iq_failed
from ndelab.annotation.export.csv import write_calls_csv
from ndelab.annotation.store import disposition, get_scan, iq_overrides
from ndelab.app.pdf_report import write_pdf
from ndelab.app.report import build_report
from ndelab.app.review_session import ReviewSession
from ndelab.volumes.display import Window
from ndelab.volumes.quality.gate import summary_lines
from ndelab.volumes.volume import Volume


def sign_disposition(
    session: ReviewSession, criteria: str, user: str, override_reason: str | None = None
) -> dict[str, Any]:
    """Sentence the part against ``criteria`` and sign it as ``user``; a radiograph whose
    image failed the gate needs ``override_reason`` (an audited override by ``user``)."""
    session.settle("sign the disposition")
    override = None if override_reason is None else IqOverride(user, override_reason)
    return disposition(
        session.store, session.scan_id, criteria, sign_user=user, override_iq=override
    )


def iq_gate(session: ReviewSession) -> dict[str, Any]:
    """What the disposition panel shows of the gate: {"radiograph", "record", "blocked",
    "lines", "overrides"}."""
    scan = get_scan(session.store, session.scan_id)
    radiograph = len(scan["shape"]) == 3 and int(scan["shape"][0]) == 1
    record = scan.get("image_quality")
    return {
        "radiograph": radiograph,
        "record": record,
        "blocked": iq_failed(record),
        "lines": summary_lines(record, radiograph=radiograph),
        "overrides": iq_overrides(session.store, session.scan_id),
    }


def write_pdf_report(
    session: ReviewSession,
    criteria: str,
    volume: Volume | None,
    window: Window | None,
    path: str | Path,
) -> None:
    session.settle("write the report")
    write_pdf(build_report(session.store, session.scan_id, criteria, volume, window), path)


def write_csv(session: ReviewSession, path: str | Path) -> int:
    """The scan's calls as CSV; returns how many rows were written."""
    session.settle("write the CSV")
    return write_calls_csv(session.store, session.scan_id, path)
