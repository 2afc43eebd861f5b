"""The scan inbox (Qt-free): sources that yield arriving scans (a watched folder, RabbitMQ),
and the service that pre-labels each new scan once and commits it with its calls.

    service = InboxService(FolderSource("incoming"), store, model_prelabeller("default"))
    service.run(stop=lambda: False)
"""

from ndelab.app.inbox.folder import FolderSource
from ndelab.app.inbox.prelabel import Prelabelled, Prelabeller, model_prelabeller
from ndelab.app.inbox.service import InboxService, Outcome
from ndelab.app.inbox.source import Arrival, InboxError, ScanSource

__all__ = [
    "Arrival",
    "FolderSource",
    "InboxError",
    "InboxService",
    "Outcome",
    "Prelabelled",
    "Prelabeller",
    "ScanSource",
    "model_prelabeller",
]
