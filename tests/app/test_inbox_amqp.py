# ruff: noqa: F811  (pytest fixtures imported from rabbit_fixtures)
"""The RabbitMQ inbox against a real broker (a throwaway node): ack only after the commit,
redeliveries recognised by sha256, dead letters with their reason, and the inbox goes on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pika
import pytest
from inbox_helpers import CountingPrelabeller, ct, drop, radiograph, run_until
from rabbit_fixtures import amqp_queue, amqp_url  # noqa: F401  (fixtures)

from ndelab.annotation.errors import StoreError
from ndelab.annotation.store import Store, list_calls, list_scans
from ndelab.annotation.store import inbox as table
from ndelab.app.inbox import InboxService, model_prelabeller
from ndelab.app.inbox.amqp import REASON_HEADER, AmqpSource, dead_letter_names, declare, publish


@pytest.fixture(scope="module")
def baseline():  # type: ignore[no-untyped-def]
    return model_prelabeller("classical-baseline")


def _channel(url: str) -> tuple[pika.BlockingConnection, Any]:
    connection = pika.BlockingConnection(pika.URLParameters(url))
    channel = connection.channel()
    channel.confirm_delivery()
    return connection, channel


def _depth(url: str, queue: str) -> int:
    connection, channel = _channel(url)
    try:
        return int(channel.queue_declare(queue=queue, passive=True).method.message_count)
    finally:
        connection.close()


def _announce(url: str, queue: str, *messages: dict[str, Any] | bytes) -> None:
    connection, channel = _channel(url)
    declare(channel, queue)
    for m in messages:
        if isinstance(m, bytes):
            channel.basic_publish("", queue, m, pika.BasicProperties(delivery_mode=2))
        else:
            publish(channel, queue, m)
    connection.close()


def test_scans_announced_twice_are_prelabelled_once_and_acked(
    amqp_url: str, amqp_queue: str, tmp_path: Path, baseline: object
) -> None:
    a = drop(ct(10), tmp_path / "a.nrrd")
    b = drop(radiograph(11), tmp_path / "b.mhd")
    meta = {"part": "housing", "serial": "H1", "line": "3"}
    _announce(
        amqp_url,
        amqp_queue,
        {"location": str(a), **meta},
        {"location": str(b), "metadata": {"part": "weld"}},
        {"location": str(a), **meta},  # the scanner announced it again
    )
    prelabel = CountingPrelabeller(baseline)  # type: ignore[arg-type]
    with Store(tmp_path / "line.db") as store:
        source = AmqpSource(amqp_url, amqp_queue)
        outcomes = run_until(InboxService(source, store, prelabel), 3)
        source.close()
        assert [o["state"] for o in outcomes] == ["ready", "ready", "duplicate"]
        assert outcomes[0]["metadata"] == meta
        assert len(prelabel.runs) == 2
        assert len(list_scans(store)) == 2
        assert outcomes[2]["scan_id"] == outcomes[0]["scan_id"]
    assert _depth(amqp_url, amqp_queue) == 0  # all three acknowledged


def test_a_message_is_not_acked_until_its_calls_are_committed(
    amqp_url: str, amqp_queue: str, tmp_path: Path, baseline: object
) -> None:
    scan = drop(ct(12), tmp_path / "c.nrrd")
    _announce(amqp_url, amqp_queue, {"location": str(scan)})
    store = Store(tmp_path / "line.db")
    real_commit = table.commit_ready

    def failing_commit(*args: Any, **kwargs: Any) -> Any:
        raise StoreError(f"database {store.name} is locked by another program")

    source = AmqpSource(amqp_url, amqp_queue)
    service = InboxService(source, store, baseline)  # type: ignore[arg-type]
    table.commit_ready = failing_commit  # type: ignore[assignment]
    try:
        with pytest.raises(StoreError):
            run_until(service, 1)
    finally:
        table.commit_ready = real_commit  # type: ignore[assignment]
        source.close()
    # Nothing committed, nothing acknowledged: the broker still holds the message.
    assert list_scans(store) == []
    assert _depth(amqp_url, amqp_queue) == 1
    # A new run gets it again (redelivered), and this time commits and acknowledges.
    source = AmqpSource(amqp_url, amqp_queue)
    outcomes = run_until(InboxService(source, store, baseline), 1)  # type: ignore[arg-type]
    source.close()
    assert outcomes[0]["state"] == "ready" and outcomes[0]["redelivered"] is True
    assert outcomes[0]["attempts"] == 2  # the same arrival row, tried twice
    assert len(list_calls(store, outcomes[0]["scan_id"])) == outcomes[0]["calls"]
    assert _depth(amqp_url, amqp_queue) == 0
    store.close()


def test_bad_messages_and_unreadable_scans_are_dead_lettered_with_their_reason(
    amqp_url: str, amqp_queue: str, tmp_path: Path, baseline: object
) -> None:
    good = drop(ct(13), tmp_path / "good.nrrd")
    (tmp_path / "broken.nrrd").write_bytes(b"NRRD0004\nsizes: 4\n\nxx")
    _announce(
        amqp_url,
        amqp_queue,
        b"{not json",
        {"serial": "no location"},
        {"location": str(tmp_path / "broken.nrrd")},
        {"location": str(tmp_path / "missing.nrrd")},
        {"location": str(good)},
    )
    with Store(tmp_path / "line.db") as store:
        source = AmqpSource(amqp_url, amqp_queue)
        outcomes = run_until(InboxService(source, store, baseline), 5)  # type: ignore[arg-type]
        source.close()
        assert [o["state"] for o in outcomes] == ["failed"] * 4 + ["ready"]
        assert table.state_counts(store)["failed"] == 4
    assert _depth(amqp_url, amqp_queue) == 0
    _, dlq = dead_letter_names(amqp_queue)
    connection, channel = _channel(amqp_url)
    letters = []
    while True:
        method, props, body = channel.basic_get(dlq, auto_ack=True)
        if method is None:
            break
        letters.append((props.headers[REASON_HEADER], body))
    connection.close()
    assert [r for r, _ in letters] == [o["reason"] for o in outcomes[:4]]
    assert letters[0][1] == b"{not json"  # the message itself, unchanged
    assert "no 'location'" in letters[1][0]
    assert "broken.nrrd" in letters[2][0] and "missing.nrrd" in letters[3][0]
    assert json.loads(letters[3][1])["location"].endswith("missing.nrrd")
