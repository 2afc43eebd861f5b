"""What the inbox tells whoever watches it (the Prometheus exporter implements this; keep the
names). Every method is called on the inbox's own thread and must not block."""

from __future__ import annotations

from typing import Protocol


class InboxObserver(Protocol):
    def arrived(self, source: str) -> None:
        """A scan arrived from ``source`` ("folder" or "amqp")."""

    def duplicate(self, source: str) -> None:
        """An arrival was a scan already in the store (or being pre-labelled)."""

    def prelabelled(
        self, *, model: str, version: str, modality: str, seconds: float, calls: int
    ) -> None:
        """A scan was pre-labelled: which model, how long the model ran, how many calls."""

    def failed(self, reason: str) -> None:
        """An arrival went to the dead letters with this one-sentence reason."""

    def ready(self, seconds_since_arrival: float) -> None:
        """A scan's calls were committed: it is in the review queue."""

    def queue_depth(self, n: int) -> None:
        """Arrivals not yet ready or failed (arrived or pre-labelling)."""


class NullObserver:
    """Watches nothing (the default)."""

    def arrived(self, source: str) -> None:
        pass

    def duplicate(self, source: str) -> None:
        pass

    def prelabelled(
        self, *, model: str, version: str, modality: str, seconds: float, calls: int
    ) -> None:
        pass

    def failed(self, reason: str) -> None:
        pass

    def ready(self, seconds_since_arrival: float) -> None:
        pass

    def queue_depth(self, n: int) -> None:
        pass
