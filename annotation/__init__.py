"""ndelab.annotation: the Qt-free core of review: indications, masks, measurements, edits,
acceptance criteria and the disposition rules. It knows nothing of databases.

Subpackages build on it (the core imports none of them; import-linter checks it):

    ndelab.annotation.store    the review database: schema, migrations, records, audit, undo,
                               ingest of model output, signing a disposition
    ndelab.annotation.sync     push/pull with the shared PostgreSQL, conflicts, credentials,
                               the server's roles
    ndelab.annotation.export   reviewed labels as data sets (HDF5, NIfTI, NRRD, COCO, DICOM SEG)
"""

from ndelab.annotation.criteria import Criteria, Rule, Zone, load_criteria, parse_criteria
from ndelab.annotation.disposition import FORBIDDEN_NEARNESS, CallFacts, ScanFacts, evaluate
from ndelab.annotation.errors import ConflictError, CriteriaError, ReviewError, StoreError
from ndelab.annotation.mask import MaskDelta, SparseMask
from ndelab.annotation.measure import (
    Measurements,
    distance_to_surface_mm,
    nearest_neighbour_spacing_mm,
)
from ndelab.annotation.model import ACTIONS, CLASSES, STATUSES, NewIndication, Source

__all__ = [
    "ACTIONS",
    "CLASSES",
    "FORBIDDEN_NEARNESS",
    "STATUSES",
    "CallFacts",
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
    "StoreError",
    "Zone",
    "distance_to_surface_mm",
    "evaluate",
    "load_criteria",
    "nearest_neighbour_spacing_mm",
    "parse_criteria",
]
