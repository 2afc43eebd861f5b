#!/usr/bin/env bash
# ndelab quick start on Debian (run as root or with sudo), from the repository root:
#   bash installers/quickstart.sh demo   set up .venv and open the workstation on the demo part
#   bash installers/quickstart.sh test   set up everything and run the whole test suite
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-demo}
case "$mode" in demo|test) ;; *) echo "usage: $0 demo|test" >&2; exit 2 ;; esac

# Debian packages Qt's xcb platform needs (DESIGN.md lists how each was found).
QT_RUNTIME=(libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0 libxkbcommon-x11-0 libxcb-image0
  libxcb-render-util0 libxcb-randr0 libxcb-shape0 libxcb-xfixes0 libxcb-xkb1 libxcb-sync1
  libx11-xcb1 libegl1 libgl1 libegl-mesa0 libglx-mesa0 libgl1-mesa-dri libfontconfig1
  libdbus-1-3 libglib2.0-0)
BUILD=(g++ python3-venv)
TEST_EXTRA=(xvfb xauth xdotool postgresql poppler-utils rabbitmq-server prometheus)

missing=()
want=("${QT_RUNTIME[@]}" "${BUILD[@]}")
[ "$mode" = test ] && want+=("${TEST_EXTRA[@]}")
for pkg in "${want[@]}"; do
  # python3-venv only matters when this python cannot make a venv by itself.
  if [ "$pkg" = python3-venv ] && python3 -c 'import ensurepip, venv' 2>/dev/null; then continue; fi
  if [ "$pkg" = g++ ] && command -v g++ >/dev/null; then continue; fi
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

echo "== setting up .venv"
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
# The build tools go in first: the editable install builds the C++ kernels without isolation.
.venv/bin/python -m pip install -q "scikit-build-core>=0.10" "pybind11>=2.12" cmake ninja
extras=""; [ "$mode" = test ] && extras="[test]"
.venv/bin/python -m pip install -q --no-build-isolation -e ".${extras}"

if [ "$mode" = demo ]; then
  if [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
    echo "No display: run this from a desktop session (or: xvfb-run -a bash $0 demo)." >&2
    exit 2
  fi
  exec .venv/bin/ndelab demo
fi

exec bash installers/run_tests.sh
