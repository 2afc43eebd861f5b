"""ndelab.annotation.store: the review database (SQLite embedded, PostgreSQL shared).

store = open_store(path_or_url)                # creates or migrates it
ids = import_labels(store, volume, labels, "pore", source=Source("model", "unet", "1.0"),
                    user="ana")
list_calls(store, scan_id)                     # queue rows
review(store, call_id, "accept", "ana")        # durable and audited when it returns
disposition(store, scan_id, "grade2.yaml", sign_user="ana")
audit(store, scan_id)                          # who did what, when and why
"""

from ndelab.annotation.store.audit_log import audit
from ndelab.annotation.store.database import (
    Store,
    data_dir,
    default_url,
    open_store,
    workstation_id,
)
from ndelab.annotation.store.indications import (
    add_indications,
    apply_change,
    get_call,
    get_mask,
    get_masks,
    get_proposal_mask,
    list_calls,
    review,
)
from ndelab.annotation.store.ingest import (
    import_labels,
    indications_from_labels,
    indications_from_masks,
    record_scan,
)
from ndelab.annotation.store.model_aliases import (
    ALIASES,
    alias_history,
    get_alias,
    list_aliases,
    set_alias,
)
from ndelab.annotation.store.scans import (
    add_part,
    add_scan,
    get_scan,
    image_quality,
    list_scans,
    set_image_quality,
)
from ndelab.annotation.store.signing import disposition, dispositions, iq_overrides, nearness
from ndelab.annotation.store.undo import Change, UndoStack

__all__ = [
    "ALIASES",
    "Change",
    "Store",
    "UndoStack",
    "add_indications",
    "add_part",
    "add_scan",
    "alias_history",
    "apply_change",
    "audit",
    "data_dir",
    "default_url",
    "disposition",
    "dispositions",
    "get_alias",
    "get_call",
    "get_mask",
    "get_masks",
    "get_proposal_mask",
    "get_scan",
    "image_quality",
    "import_labels",
    "indications_from_labels",
    "indications_from_masks",
    "iq_overrides",
    "list_aliases",
    "list_calls",
    "list_scans",
    "nearness",
    "open_store",
    "record_scan",
    "review",
    "set_alias",
    "set_image_quality",
    "workstation_id",
]
