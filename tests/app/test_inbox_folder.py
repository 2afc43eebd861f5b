"""The watched-folder inbox: stable and complete scans only, once each by sha256, dead letters
with their reason, and the inbox goes on."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import pytest
from inbox_helpers import CountingPrelabeller, ct, drop, radiograph, run_until

from ndelab.annotation.store import Store, list_calls, list_scans
from ndelab.annotation.store import inbox as table
from ndelab.app.inbox import FolderSource, InboxService, model_prelabeller
from ndelab.app.inbox.folder import _signature
from ndelab.volumes.io import write_volume

SETTLE = 0.3


@pytest.fixture(scope="module")
def baseline():  # type: ignore[no-untyped-def]
    return model_prelabeller("classical-baseline")


@pytest.fixture
def line(tmp_path: Path) -> tuple[Path, Store]:
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    store = Store(tmp_path / "line.db")
    yield incoming, store
    store.close()


def test_a_file_still_being_written_is_taken_only_when_closed_and_stable(
    line: tuple[Path, Store], baseline: object
) -> None:
    incoming, store = line
    staging = incoming.parent / "staging"
    write_volume(ct(1), staging / "slow.nrrd") if staging.mkdir() is None else None
    payload = (staging / "slow.nrrd").read_bytes()
    finished = threading.Event()

    def slow_writer() -> None:
        with (incoming / "slow.nrrd").open("wb") as out:
            for k in range(10):
                out.write(payload[k * len(payload) // 10 : (k + 1) * len(payload) // 10])
                out.flush()
                time.sleep(SETTLE / 2)  # pauses shorter than the settle time
        finished.set()

    source = FolderSource(incoming, settle_s=SETTLE)
    seen_while_writing: list[bool] = []
    prelabel = CountingPrelabeller(baseline)  # type: ignore[arg-type]
    service = InboxService(source, store, prelabel)
    writer = threading.Thread(target=slow_writer)
    outcomes: list[dict[str, object]] = []

    def report(outcome: dict[str, object]) -> None:
        seen_while_writing.append(not finished.is_set())
        outcomes.append(outcome)

    writer.start()
    service.report = report
    deadline = time.monotonic() + 60
    service.run(lambda: bool(outcomes) or time.monotonic() > deadline)
    writer.join()
    source.close()
    assert [o["state"] for o in outcomes] == ["ready"]
    assert seen_while_writing == [False]
    assert len(prelabel.runs) == 1
    assert (incoming.parent / "done" / "slow.nrrd").read_bytes() == payload


def test_a_header_waits_for_its_data_file_and_both_move_together(
    line: tuple[Path, Store], baseline: object
) -> None:
    incoming, store = line
    staging = incoming.parent / "staging"
    staging.mkdir()
    write_volume(radiograph(2), staging / "weld.mhd")
    shutil.copy(staging / "weld.mhd", incoming / "weld.mhd")  # the header alone, first
    (incoming / "weld.json").write_text('{"part": "weld-7", "serial": "W7", "line": "2"}')
    source = FolderSource(incoming, settle_s=SETTLE, give_up_s=120)
    service = InboxService(source, store, baseline)  # type: ignore[arg-type]
    # Several settle times with the header alone: nothing is taken.
    assert run_until(service, 1, timeout_s=6 * SETTLE) == []
    drop_raw = incoming / ".weld.raw.tmp"
    shutil.copy(staging / "weld.raw", drop_raw)
    drop_raw.replace(incoming / "weld.raw")
    outcomes = run_until(service, 1)
    source.close()
    assert [o["state"] for o in outcomes] == ["ready"]
    assert outcomes[0]["modality"] == "DX"
    assert outcomes[0]["metadata"] == {"part": "weld-7", "serial": "W7", "line": "2"}
    done = incoming.parent / "done"
    assert sorted(p.name for p in done.iterdir()) == ["weld.json", "weld.mhd", "weld.raw"]
    (scan,) = list_scans(store)
    assert scan["path"] == str((done / "weld.mhd").resolve())
    assert not list(incoming.iterdir())


def test_the_same_scan_dropped_twice_is_prelabelled_and_queued_once(
    line: tuple[Path, Store], baseline: object
) -> None:
    incoming, store = line
    drop(ct(3), incoming / "a.nrrd")
    shutil.copy(incoming / "a.nrrd", incoming / ".b.tmp")
    (incoming / ".b.tmp").replace(incoming / "b.nrrd")
    prelabel = CountingPrelabeller(baseline)  # type: ignore[arg-type]
    source = FolderSource(incoming, settle_s=SETTLE)
    service = InboxService(source, store, prelabel)
    outcomes = run_until(service, 2)
    # Later, the scanner retries the first file once more.
    drop(ct(3), incoming / "a.nrrd")
    outcomes += run_until(service, 1)
    source.close()
    assert sorted(o["state"] for o in outcomes) == ["duplicate", "duplicate", "ready"]
    assert len(prelabel.runs) == 1
    (scan,) = list_scans(store)
    assert {o["scan_id"] for o in outcomes} == {scan["id"]}
    ready = next(o for o in outcomes if o["state"] == "ready")
    assert len(list_calls(store, scan["id"])) == ready["calls"]
    assert table.line_summary(store)["scans_stored_twice"] == 0
    # Nothing was deleted: every copy is in done/, under a free name.
    assert len([p for p in (incoming.parent / "done").rglob("*.nrrd")]) == 3


def test_an_unreadable_scan_is_dead_lettered_with_its_reason_and_the_inbox_goes_on(
    line: tuple[Path, Store], baseline: object
) -> None:
    incoming, store = line
    (incoming / "broken.nrrd").write_bytes(b"NRRD0004\ntype: short\nsizes: 4 4\n\n" + b"\0" * 7)
    (incoming / "orphan.raw").write_bytes(b"\0" * 64)  # a data file whose header never comes
    drop(ct(4), incoming / "good.nrrd")
    source = FolderSource(incoming, settle_s=SETTLE, give_up_s=1.0)
    service = InboxService(source, store, baseline)  # type: ignore[arg-type]
    outcomes = run_until(service, 3)
    source.close()
    by_name = {Path(str(o["location"])).name: o for o in outcomes}
    assert by_name["good.nrrd"]["state"] == "ready"
    for name in ("broken.nrrd", "orphan.raw"):
        assert by_name[name]["state"] == "failed"
        reason = (incoming.parent / "dead-letter" / f"{name}.reason.txt").read_text().strip()
        assert reason == by_name[name]["reason"]
        assert name in reason and reason.count("\n") == 0
        assert (incoming.parent / "dead-letter" / name).exists()
    assert table.state_counts(store)["failed"] == 2


def test_an_unchanged_file_has_the_same_signature(tmp_path: Path) -> None:
    f = tmp_path / "x"
    f.write_bytes(b"1")
    before = _signature([f])
    assert _signature([f]) == before
    f.write_bytes(b"12")
    assert _signature([f]) != before


def _write_series():  # type: ignore[no-untyped-def]
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "dicom_synthetic", Path(__file__).parents[1] / "volumes" / "test_dicom_synthetic.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.write_series


def test_a_dicom_series_folder_is_taken_once_with_every_slice(
    line: tuple[Path, Store], baseline: object
) -> None:
    incoming, store = line
    staging = incoming.parent / "staging"
    _write_series()(staging, 8)
    files = sorted(staging.iterdir())
    series = incoming / "series-1"
    series.mkdir()
    done = threading.Event()

    def copy_slowly() -> None:  # a scanner writing slice after slice
        for f in files:
            shutil.copy(f, series / f.name)
            time.sleep(SETTLE / 3)
        done.set()

    seen_early: list[bool] = []
    source = FolderSource(incoming, settle_s=SETTLE)
    service = InboxService(source, store, baseline)  # type: ignore[arg-type]
    outcomes: list[dict[str, object]] = []

    def report(outcome: dict[str, object]) -> None:
        seen_early.append(not done.is_set())
        outcomes.append(outcome)

    writer = threading.Thread(target=copy_slowly)
    writer.start()
    service.report = report
    deadline = time.monotonic() + 60
    service.run(lambda: bool(outcomes) or time.monotonic() > deadline)
    writer.join()
    source.close()
    assert [o["state"] for o in outcomes] == ["ready"] and seen_early == [False]
    (scan,) = list_scans(store)
    assert scan["shape"][0] == len(files)
    assert sorted(p.name for p in (incoming.parent / "done" / "series-1").iterdir()) == [
        f.name for f in files
    ]


class _Recorder:
    """A LineObserver that writes down every call (the Prometheus exporter's view)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, object]] = []

    def arrived(self, source: str) -> None:
        self.calls.append(("arrived", source))

    def duplicate(self, source: str) -> None:
        self.calls.append(("duplicate", source))

    def prelabelled(
        self, *, model: str, version: str, modality: str, seconds: float, calls: int
    ) -> None:
        self.calls.append(("prelabelled", (model, version, modality, seconds >= 0, calls)))

    def failed(self, reason: str) -> None:
        self.calls.append(("failed", reason))

    def ready(self, seconds_since_arrival: float) -> None:
        self.calls.append(("ready", seconds_since_arrival >= 0))

    def queue_depth(self, n: int) -> None:
        self.calls.append(("queue_depth", n))


def test_the_observer_hears_each_arrival_and_its_outcome(
    line: tuple[Path, Store], baseline: object
) -> None:
    incoming, store = line
    drop(ct(5), incoming / "a.nrrd")
    shutil.copy(incoming / "a.nrrd", incoming / ".b")
    (incoming / ".b").replace(incoming / "b.nrrd")
    (incoming / "c.nrrd").write_bytes(b"not a scan")
    recorder = _Recorder()
    source = FolderSource(incoming, settle_s=SETTLE, give_up_s=0.5)
    service = InboxService(source, store, baseline, observer=recorder)  # type: ignore[arg-type]
    outcomes = run_until(service, 3)
    source.close()
    ready = next(o for o in outcomes if o["state"] == "ready")
    events = [name for name, _ in recorder.calls if name != "queue_depth"]
    assert events.count("arrived") == 3
    assert events.count("duplicate") == 1 and events.count("failed") == 1
    assert events.count("prelabelled") == 1 and events.count("ready") == 1
    prelabelled = next(v for k, v in recorder.calls if k == "prelabelled")
    assert prelabelled == ("classical-baseline", "1.0", "CT", True, ready["calls"])
    depths = [v for k, v in recorder.calls if k == "queue_depth"]
    assert max(depths) == 1 and depths[-1] == 0  # type: ignore[type-var]
