"""What the inbox does once a scan is committed and acknowledged: record the champion's run
(so the A/B counts a scan where it found nothing) and run the shadow model beside it, its
calls stored in shadow (never shown, never counted), the same function batch pre-labelling
uses (app.shadow)."""

from __future__ import annotations

from collections.abc import Callable

from ndelab.annotation.model import CHAMPION
from ndelab.annotation.store import Store
from ndelab.annotation.store.model_runs import record_run
from ndelab.app.inbox.prelabel import Prelabelled
from ndelab.app.shadow import default_shadow, prelabel_with_shadow
from ndelab.volumes.volume import Volume

AfterReady = Callable[[str, Volume, Prelabelled], None]


def after_ready_hook(store: Store, user: str, shadow: str | None = "alias") -> AfterReady:
    """``shadow``: NAME@VERSION, None for no shadow, or "alias" for the store's shadow alias,
    read again for every scan (an alias set while the inbox runs takes effect)."""

    def after(scan_id: str, volume: Volume, result: Prelabelled) -> None:
        record_run(
            store,
            scan_id,
            result.model,
            result.version,
            role=CHAMPION,
            calls=len(result.items),
            user=user,
        )
        spec = default_shadow(store) if shadow == "alias" else shadow
        if spec is None or (
            spec.partition("@")[0] == result.model
            and (spec.partition("@")[2] in ("", result.version))
        ):
            return  # no shadow, or the shadow is what serves: nothing to compare
        prelabel_with_shadow(
            store,
            scan_id,
            volume,
            user,
            champion=None,
            shadow=spec,
            part_mask=result.part_mask,
        )

    return after


__all__ = ["AfterReady", "after_ready_hook"]
