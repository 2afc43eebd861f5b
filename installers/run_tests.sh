#!/usr/bin/env bash
# The whole test suite: lint, import contracts, strict typing of the Qt-free packages, pytest
# (GUI tests under Xvfb). Called by quickstart.sh test, which sets up .venv first.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"

echo "== ruff"
ruff check .
ruff format --check .
echo "== import contracts"
lint-imports
echo "== mypy --strict (Qt-free packages)"
bash installers/typecheck.sh
# QT_QPA_PLATFORM=xcb: GUI tests use the real X server that xvfb-run starts.
xvfb() { QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1920x1080x24 -nolisten tcp" "$@"; }
# The throwaway Prometheus of the metrics tests (in CI a missing one fails them).
if ! command -v prometheus >/dev/null && [ "$(id -u)" = 0 ]; then
    apt-get install -y -q prometheus >/dev/null
fi
echo "== pytest: everything but the GUI, on both cores (the Ray tests on one: one Ray runtime)"
xvfb python -m pytest -n 2 --dist loadgroup -p no:cacheprovider -m "not gui" "$@"
echo "== pytest: GUI tests, one at a time on one screen"
xvfb python -m pytest -p no:cacheprovider -m gui "$@"
