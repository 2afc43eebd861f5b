"""After the inbox commits a scan: the champion's run is recorded and the shadow model runs
beside it, its calls stored in shadow (never listed for review)."""

from __future__ import annotations

from pathlib import Path

from inbox_helpers import ct, drop, run_until

from ndelab.annotation.store import Store, list_calls, list_scans, set_alias
from ndelab.annotation.store.model_runs import model_runs
from ndelab.app.inbox import FolderSource, InboxService, model_prelabeller
from ndelab.app.inbox.after_ready import after_ready_hook


def test_the_inbox_records_the_champion_run_and_runs_the_shadow_alias(tmp_path: Path) -> None:
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    store = Store(tmp_path / "line.db")
    try:
        set_alias(store, "shadow", "ndelab-unet3d", "1.0.1", user="lead", reason="A/B")
        drop(ct(5), incoming / "a.nrrd")
        source = FolderSource(incoming, settle_s=0.3)
        service = InboxService(
            source,
            store,
            model_prelabeller("classical-baseline", store),
            after_ready=after_ready_hook(store, "inbox"),
        )
        (outcome,) = run_until(service, 1)
        source.close()
        assert outcome["state"] == "ready"
        (scan,) = list_scans(store)
        runs = {(r["role"], r["name"]) for r in model_runs(store) if r["scan_id"] == scan["id"]}
        assert runs == {("champion", "classical-baseline"), ("shadow", "ndelab-unet3d")}
        champion_calls = list_calls(store, scan["id"])
        assert len(champion_calls) == outcome["calls"]
        assert {c["source"]["name"] for c in champion_calls} <= {"classical-baseline"}
        shadow_calls = list_calls(store, scan["id"], role="shadow")
        assert all(c["source"]["name"] == "ndelab-unet3d" for c in shadow_calls)
    finally:
        store.close()


def test_no_shadow_when_none_is_set(tmp_path: Path) -> None:
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    store = Store(tmp_path / "line.db")
    try:
        drop(ct(6), incoming / "a.nrrd")
        source = FolderSource(incoming, settle_s=0.3)
        service = InboxService(
            source,
            store,
            model_prelabeller("classical-baseline", store),
            after_ready=after_ready_hook(store, "inbox"),
        )
        run_until(service, 1)
        source.close()
        assert {r["role"] for r in model_runs(store)} == {"champion"}
    finally:
        store.close()
