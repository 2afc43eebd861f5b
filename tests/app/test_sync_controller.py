"""The window's sync state: what the status bar says, and refusals raised once."""

from __future__ import annotations


def test_the_sync_state_reports_refusals_once(qapp: object) -> None:
    from ndelab.app.sync_controller import SyncController

    ctrl = SyncController()
    ctrl.remote_url = "postgresql+psycopg://lena@server/ndelab"
    refused = {"event_id": "e1", "entity_type": "disposition", "entity_id": "d1"}
    result = {
        "pushed": 4,
        "pulled": 0,
        "open_conflicts": 0,
        "refused": 1,
        "refused_changes": [refused],
        "refused_message": "server refused 1 change(s)",
    }
    assert ctrl.new_refusal(result) == "server refused 1 change(s)"
    assert ctrl.new_refusal(result) is None  # the next background sync does not nag
    ctrl._done(result)
    assert "1 change(s) refused by the server" in ctrl.text()
    ctrl.deleteLater()
