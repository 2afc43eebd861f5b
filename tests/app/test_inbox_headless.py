"""The inbox runs on a line computer with no display: running it loads no Qt at all."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = """
import sys
from pathlib import Path
from ndelab.annotation.store import Store
from ndelab.app.inbox import FolderSource, InboxService, model_prelabeller
from ndelab.volumes.io import write_volume
from ndelab.volumes.phantom import make_ct_phantom
root = Path(sys.argv[1])
(root / "in").mkdir()
write_volume(make_ct_phantom(24, seed=1, part="cylinder").volume, root / "in" / "a.nrrd")
with Store(root / "db") as store:
    source = FolderSource(root / "in", settle_s=0.1)
    out = InboxService(source, store, model_prelabeller("classical-baseline")).run(
        lambda: False, once=True
    )
    source.close()
assert [o["state"] for o in out] == ["ready"], out
QT = ("PySide6", "pyqtgraph", "vtk", "vtkmodules")
qt = sorted(m for m in sys.modules if m.split(".")[0] in QT)
print("QT", qt)
"""


def test_running_the_inbox_imports_no_qt(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path)], capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "QT []" in run.stdout
