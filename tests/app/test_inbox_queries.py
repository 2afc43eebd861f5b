"""What the inbox panel shows, read from the store (Qt-free)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ndelab.annotation.store import Store
from ndelab.annotation.store import inbox as table
from ndelab.annotation.store.ingest import scan_record
from ndelab.app.inbox.queries import inbox_view
from ndelab.volumes.volume import Volume


def test_the_view_counts_states_and_names_rows_by_where_the_scan_is(tmp_path: Path) -> None:
    volume = Volume(np.zeros((2, 4, 4), np.uint16), spacing_mm=(1, 1, 1), source="/x/a.npy")
    with Store(tmp_path / "q.db") as store:
        a = table.arrive(
            store,
            source="folder",
            location="/in/a.npy",
            metadata={"part": "housing", "serial": "7"},
            owner="o",
        )
        table.claim(store, a, "a" * 64, owner="o")
        record = scan_record(store, volume, user="u", sha256="a" * 64, path="/done/a.npy")
        table.commit_ready(store, a, record, ([], []), model="m@1")
        b = table.arrive(store, source="folder", location="/in/b.npy", metadata={}, owner="o")
        table.claim(store, b, "a" * 64, owner="o")
        c = table.arrive(store, source="amqp", location="/in/c.nrrd", metadata={}, owner="o")
        table.fail(store, c, "/in/c.nrrd: is not a NRRD file")
        view = inbox_view(store)
    by_id = {r.id: r for r in view.rows}
    assert by_id[a].label == "ready for review" and by_id[a].name == "a.npy"
    assert by_id[a].scan_path == "/done/a.npy" and by_id[a].part == "housing / 7"
    assert by_id[b].state == "duplicate" and by_id[b].name == "b.npy"
    assert by_id[c].note == "/in/c.nrrd: is not a NRRD file"
    assert view.summary() == (
        "arrived 0 · pre-labelling 0 · ready for review 1 · failed 1 · duplicates caught 1"
    )
    assert view.ready_ids() == {a}
