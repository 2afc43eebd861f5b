"""What the line tells whoever watches it: the scan inbox and the batch driver call these six
methods, the Prometheus exporter (app.metrics) implements them. Every method is called on the
caller's own thread and must not block. Here, beside neither, so that the batch engines need
not import the inbox (nor the inbox the engines)."""

from __future__ import annotations

from typing import Protocol


class LineObserver(Protocol):
    def arrived(self, source: str) -> None:
        """A scan arrived from ``source`` ("folder", "amqp" or "batch")."""

    def duplicate(self, source: str) -> None:
        """An arrival was a scan already in the store (or being pre-labelled)."""

    def prelabelled(
        self, *, model: str, version: str, modality: str, seconds: float, calls: int
    ) -> None:
        """A scan was pre-labelled: which model, how long the model ran, how many calls."""

    def failed(self, reason: str) -> None:
        """An arrival failed (a dead letter) with this one-sentence reason or failure kind."""

    def ready(self, seconds_since_arrival: float) -> None:
        """A scan's calls were committed: it is in the review queue."""

    def queue_depth(self, n: int) -> None:
        """Scans not yet ready or failed (arrived or pre-labelling)."""


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


__all__ = ["LineObserver", "NullObserver"]
