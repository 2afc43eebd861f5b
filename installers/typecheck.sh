#!/usr/bin/env bash
# mypy --strict over the Qt-free packages (and app's Qt-free edit session, shortcut list, scan drift,
# batch engines and metrics). They install as ndelab.<folder>, so mypy reads them
# through a folder of links laid out as the installed package.
set -euo pipefail
cd "$(dirname "$0")/.."
root=build/typecheck
rm -rf "$root"; mkdir -p "$root/ndelab"
for pkg in volumes native annotation inference app; do ln -s "../../../$pkg" "$root/ndelab/$pkg"; done
cd "$root"
../../.venv/bin/mypy --config-file ../../pyproject.toml -p ndelab.volumes -p ndelab.native \
  -p ndelab.annotation -p ndelab.inference -p ndelab.app.editing -p ndelab.app.shortcuts \
  -p ndelab.app.engines -p ndelab.app.metrics -p ndelab.app.inbox \
  -m ndelab.app.scan_drift -m ndelab.app.drift_colours
