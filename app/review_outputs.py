"""What the disposition panel writes from a review (Qt-free): the signed disposition, the
PDF report and the calls' CSV. Each first settles the decisions still being written, so
that it reports what the reviewer sees.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ndelab.annotation.disposition import IqOverride
from ndelab.annotation.export.csv import write_calls_csv
from ndelab.annotation.store import disposition
from ndelab.app.pdf_report import write_pdf
from ndelab.app.report import build_report
from ndelab.app.review_session import ReviewSession
from ndelab.volumes.display import Window
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
