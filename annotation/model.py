"""Vocabulary of the review workflow: classes, statuses, actions, sources, new indications."""

from __future__ import annotations

from dataclasses import dataclass

from ndelab.annotation.errors import ReviewError
from ndelab.annotation.mask import SparseMask
from ndelab.annotation.measure import Measurements

#: "linear": a linear indication, longer than three times its width and not called a crack
#: (an elongated cavity, a slag line; ASME's elongated indication). Last, so the class codes
#: of exported data sets made before it keep their meaning.
CLASSES = ("pore", "crack", "inclusion", "lack-of-fusion", "other", "linear")
PROPOSED, ACCEPTED, REJECTED, CORRECTED = "proposed", "accepted", "rejected", "corrected"
STATUSES = (PROPOSED, ACCEPTED, REJECTED, CORRECTED)
#: Statuses a disposition counts: a person confirmed the call (as proposed or as corrected).
REVIEWED_COUNTED = (ACCEPTED, CORRECTED)
ACTIONS = ("accept", "reject", "correct", "reopen")
SOURCE_KINDS = ("model", "sam", "manual")
#: Serving roles of a call. Engineers see and decide only the champion's calls; a shadow
#: model's calls are kept for the A/B against their decisions and never shown or counted.
CHAMPION, SHADOW = "champion", "shadow"
ROLES = (CHAMPION, SHADOW)


def check_role(role: str) -> str:
    if role not in ROLES:
        raise ReviewError(f"unknown call role {role!r}; use one of {', '.join(ROLES)}")
    return role


#: action -> (statuses it may start from, status it leads to)
TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "accept": ((PROPOSED, REJECTED), ACCEPTED),
    "reject": ((PROPOSED, ACCEPTED, CORRECTED), REJECTED),
    "correct": ((PROPOSED, ACCEPTED, REJECTED, CORRECTED), CORRECTED),
    "reopen": ((ACCEPTED, REJECTED, CORRECTED), PROPOSED),
}


def check_class(cls: str) -> str:
    if cls not in CLASSES:
        raise ReviewError(f"unknown indication class {cls!r}; use one of {', '.join(CLASSES)}")
    return cls


def next_status(action: str, status: str, call_id: str) -> str:
    """Status after ``action``, or ReviewError when the action is not allowed from ``status``."""
    if action not in TRANSITIONS:
        raise ReviewError(f"unknown review action {action!r}; use one of {', '.join(ACTIONS)}")
    sources, target = TRANSITIONS[action]
    if status not in sources:
        raise ReviewError(
            f"call {call_id} is {status}; it cannot be {action}ed from there"
            if action != "reopen"
            else f"call {call_id} is already open (proposed)"
        )
    return target


@dataclass(frozen=True)
class Source:
    """Where a call came from: a model (name and version), SAM, or a person (manual)."""

    kind: str
    name: str | None = None
    version: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in SOURCE_KINDS:
            raise ReviewError(
                f"unknown source kind {self.kind!r}; use one of {', '.join(SOURCE_KINDS)}"
            )

    @classmethod
    def parse(cls, text: str) -> Source:
        """'model:NAME@VERSION', 'sam', 'sam:vit_b', or 'manual'."""
        kind, _, rest = text.partition(":")
        name, _, version = rest.partition("@")
        return cls(kind.strip(), name.strip() or None, version.strip() or None)

    def as_dict(self) -> dict[str, str | None]:
        return {"kind": self.kind, "name": self.name, "version": self.version}


@dataclass(frozen=True)
class NewIndication:
    """An indication ready to be stored as a proposed call."""

    mask: SparseMask
    cls: str
    source: Source
    measurements: Measurements
    score: float | None = None
    distance_to_surface_mm: float | None = None
