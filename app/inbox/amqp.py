"""Scans announced on a RabbitMQ queue (pika).

The queue is durable and consumed with a prefetch (basic_qos), so unacknowledged messages stay
with the broker. Each message is a JSON object naming the scan's location (an absolute path on
storage this machine reads) and its metadata:

    {"location": "/line/3/scans/A1234.nrrd", "part": "housing", "serial": "A1234", "line": "3"}

(metadata may also come as {"metadata": {...}}). A message is acknowledged only after the
scan's calls are committed to the store (or it is recognised as a duplicate). A message that
cannot be parsed, or a scan that cannot be read, is published to the dead-letter exchange
QUEUE.dlx (bound to the durable queue QUEUE.dead-letter) with its one-sentence reason in the
``x-ndelab-reason`` header, confirmed by the broker, and only then acknowledged on the main
queue: a dead letter is never lost, and never blocks the queue.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pika
import pika.exceptions

from ndelab.app.inbox.source import Arrival, InboxError, clean_metadata

log = logging.getLogger(__name__)

REASON_HEADER = "x-ndelab-reason"
# Pre-labelling a big scan blocks pika's I/O loop; a long heartbeat keeps the broker from
# closing the connection meanwhile (unless the URL sets its own).
DEFAULT_HEARTBEAT_S = 600


def where(url: str) -> str:
    """The broker's address without credentials, for messages."""
    params = pika.URLParameters(url)
    return f"amqp://{params.host}:{params.port}{params.virtual_host and '/' + params.virtual_host}"


def connect(url: str) -> pika.BlockingConnection:
    try:
        params = pika.URLParameters(url)
    except Exception as exc:
        raise InboxError(f"AMQP URL is not usable ({exc})") from exc
    if "heartbeat" not in url:
        params.heartbeat = DEFAULT_HEARTBEAT_S
    try:
        return pika.BlockingConnection(params)
    except pika.exceptions.AMQPError as exc:
        raise InboxError(
            f"RabbitMQ at {where(url)} cannot be reached ({type(exc).__name__}: {exc})"
        ) from exc


def dead_letter_names(queue: str) -> tuple[str, str]:
    """The dead-letter exchange and queue of ``queue``."""
    return f"{queue}.dlx", f"{queue}.dead-letter"


def declare(channel: Any, queue: str) -> None:
    """The durable queue, and its dead-letter exchange and queue (idempotent)."""
    exchange, dlq = dead_letter_names(queue)
    channel.queue_declare(queue=queue, durable=True)
    channel.exchange_declare(exchange=exchange, exchange_type="direct", durable=True)
    channel.queue_declare(queue=dlq, durable=True)
    channel.queue_bind(queue=dlq, exchange=exchange, routing_key=queue)


def parse_message(body: bytes) -> tuple[Path, dict[str, str]]:
    """The scan's location and metadata from a message body; InboxError if malformed."""
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InboxError(f"message is not JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise InboxError("message must be a JSON object with a 'location'")
    location = data.get("location")
    if not isinstance(location, str) or not location:
        raise InboxError("message names no 'location' (the scan's path)")
    path = Path(location)
    if not path.is_absolute():
        raise InboxError(f"message location '{location}' must be an absolute path")
    raw = data.get("metadata") or {}
    if not isinstance(raw, dict):
        raise InboxError("message 'metadata' must be a JSON object")
    raw = {**raw, **{k: data[k] for k in ("part", "serial", "line") if k in data}}
    return path, clean_metadata(raw, "message")


class AmqpSource:
    """Arrivals from one RabbitMQ queue."""

    name = "amqp"

    def __init__(self, url: str, queue: str, *, prefetch: int = 1, poll_s: float = 0.5) -> None:
        self.url = url
        self.queue = queue
        self.poll_s = poll_s
        self.connection = connect(url)
        self.channel = self.connection.channel()
        self.channel.confirm_delivery()  # dead letters are confirmed before the ack
        declare(self.channel, queue)
        self.channel.basic_qos(prefetch_count=prefetch)

    def arrivals(self, stop: Callable[[], bool], *, once: bool = False) -> Iterator[Arrival]:
        try:
            for method, props, body in self.channel.consume(
                self.queue, inactivity_timeout=self.poll_s
            ):
                if method is None:
                    if once or stop():
                        break
                    continue
                yield self._arrival(method, props, body)
                if stop():
                    break
        except pika.exceptions.AMQPError as exc:
            raise InboxError(
                f"RabbitMQ at {where(self.url)} dropped the connection ({type(exc).__name__})"
            ) from exc
        finally:
            if self.channel.is_open:
                # Unacknowledged prefetched messages go back to the queue.
                self.channel.cancel()

    def _arrival(self, method: Any, props: Any, body: bytes) -> Arrival:
        tag = method.delivery_tag

        def ack() -> None:
            self.channel.basic_ack(delivery_tag=tag)

        def reject(reason: str) -> None:
            exchange, _ = dead_letter_names(self.queue)
            headers = dict(props.headers or {})
            headers[REASON_HEADER] = reason
            headers["x-ndelab-queue"] = self.queue
            self.channel.basic_publish(
                exchange=exchange,
                routing_key=self.queue,
                body=body,
                properties=pika.BasicProperties(
                    delivery_mode=pika.DeliveryMode.Persistent,
                    content_type=props.content_type or "application/json",
                    message_id=props.message_id,
                    headers=headers,
                ),
                mandatory=True,
            )
            self.channel.basic_ack(delivery_tag=tag)

        try:
            location, metadata = parse_message(body)
            error = None
        except InboxError as exc:
            location, metadata, error = Path(f"amqp:{self.queue}"), {}, str(exc)
        return Arrival(
            source=self.name,
            location=location,
            metadata=metadata,
            delivery=str(props.message_id or tag),
            redelivered=bool(method.redelivered),
            error=error,
            _ack=ack,
            _reject=reject,
        )

    def close(self) -> None:
        try:
            if self.connection.is_open:
                self.connection.close()
        except pika.exceptions.AMQPError:
            pass


def publish(channel: Any, queue: str, message: dict[str, Any], *, message_id: str = "") -> None:
    """Announce a scan (persistent; the caller's channel should have confirms on)."""
    channel.basic_publish(
        exchange="",
        routing_key=queue,
        body=json.dumps(message).encode("utf-8"),
        properties=pika.BasicProperties(
            delivery_mode=pika.DeliveryMode.Persistent,
            content_type="application/json",
            message_id=message_id or None,
        ),
    )
