"""RabbitMQ for tests: one throwaway node per pytest worker (Debian's rabbitmq-server on
127.0.0.1, free ports; benchmarks/rabbitmq_node.py), or NDELAB_TEST_AMQP_URL. In CI a missing
broker is a failure."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from ndelab.benchmarks import rabbitmq_node

IN_CI = os.environ.get("CI") == "true"


@pytest.fixture(scope="session")
def amqp_url() -> Iterator[str]:
    env = os.environ.get("NDELAB_TEST_AMQP_URL")
    if env:
        yield env
        return
    if not rabbitmq_node.available():
        why = "RabbitMQ (Debian's rabbitmq-server) is not installed"
        if IN_CI:
            pytest.fail(f"required in CI: {why}")
        pytest.skip(why)
    node = rabbitmq_node.start()
    try:
        yield node.url
    finally:
        node.stop()


@pytest.fixture
def amqp_queue() -> str:
    """A fresh queue name per test (the node is shared by the session)."""
    return f"scans-{uuid.uuid4().hex[:10]}"
