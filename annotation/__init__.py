"""ndelab.annotation: indications, review, audit, measurements, criteria, disposition, store.

Qt-free. The GUI and CLI build on this API:

    store = Store(path_or_url)                    # SQLite (WAL) by default, or PostgreSQL
    ids = import_labels(store, volume, labels, "pore", source="model:porenet@1.2", user="ana")
    list_calls(store, scan_id)                     # queue rows
    review(store, call_id, "accept", "ana")        # durable and audited when it returns
    disposition(store, scan_id, "grade2.yaml", sign_user="ana")
    audit(store, scan_id)
"""

from ndelab.annotation.calls import (
    add_indications,
    add_part,
    add_scan,
    apply_change,
    get_call,
    get_mask,
    get_masks,
    get_proposal_mask,
    get_scan,
    list_scans,
)
from ndelab.annotation.criteria import Criteria, Rule, Zone, load_criteria, parse_criteria
from ndelab.annotation.disposition import FORBIDDEN_NEARNESS, CallFacts, ScanFacts, evaluate
from ndelab.annotation.errors import ConflictError, CriteriaError, ReviewError, StoreError
from ndelab.annotation.ingest import import_labels, indications_from_labels
from ndelab.annotation.mask import MaskDelta, SparseMask
from ndelab.annotation.measure import (
    Measurements,
    distance_to_surface_mm,
    measure,
    nearest_neighbour_spacing_mm,
)
from ndelab.annotation.model import (
    ACTIONS,
    CLASSES,
    STATUSES,
    NewIndication,
    Source,
)
from ndelab.annotation.ops import audit, disposition, dispositions, list_calls, nearness, review
from ndelab.annotation.store import Store, data_dir, default_url, open_store, workstation_id
from ndelab.annotation.undo import Change, UndoStack

__all__ = [
    "ACTIONS",
    "CLASSES",
    "FORBIDDEN_NEARNESS",
    "STATUSES",
    "CallFacts",
    "Change",
    "ConflictError",
    "Criteria",
    "CriteriaError",
    "MaskDelta",
    "Measurements",
    "NewIndication",
    "ReviewError",
    "Rule",
    "ScanFacts",
    "Source",
    "SparseMask",
    "Store",
    "StoreError",
    "UndoStack",
    "Zone",
    "add_indications",
    "add_part",
    "add_scan",
    "apply_change",
    "audit",
    "data_dir",
    "default_url",
    "disposition",
    "dispositions",
    "distance_to_surface_mm",
    "evaluate",
    "get_call",
    "get_mask",
    "get_masks",
    "get_proposal_mask",
    "get_scan",
    "import_labels",
    "indications_from_labels",
    "list_calls",
    "list_scans",
    "load_criteria",
    "measure",
    "nearest_neighbour_spacing_mm",
    "nearness",
    "open_store",
    "parse_criteria",
    "review",
    "workstation_id",
]
