#!/usr/bin/env bash
# `make python-install`: installs the CMake-built Python package (BUILD_DIR/python) with Debian's pip, offline.
#   bash scripts/python_install.sh BUILD_DIR [VENV]
#   VENV given: into that venv (created with --system-site-packages when absent, so Debian's numpy/sklearn/dask
#               are used); the venv is usable by any user who can read it.
#   SYSTEM=1:   into the system Python (/usr/local/lib/python3.11/dist-packages; Debian's pip requires
#               --break-system-packages for that, which only bypasses the EXTERNALLY-MANAGED marker).
#   otherwise:  for the current user (--user, ~/.local; the same marker needs --break-system-packages there too).
set -euo pipefail
BUILD_DIR="$(realpath "${1:?usage: python_install.sh BUILD_DIR [VENV]}")"
VENV="${2:-}"
PKG="$BUILD_DIR/python"
[[ -f "$PKG/setup.py" && -n "$(ls "$PKG"/nomaly/_nomaly*.so 2>/dev/null)" ]] ||
  { echo "python_install: $PKG has no built package; run: cmake --build $BUILD_DIR --target nomaly_python_files" >&2; exit 1; }
pre=()
args=(--no-build-isolation --no-index --no-deps --no-cache-dir --disable-pip-version-check --quiet)
if [[ -n "$VENV" ]]; then
  # --without-pip: Debian's pip installs into the venv through --python (pip >= 22.3), no ensurepip run.
  [[ -x "$VENV/bin/python" ]] || /usr/bin/python3 -m venv --system-site-packages --without-pip "$VENV"
  PY="$VENV/bin/python"; pre=(--python "$PY")
elif [[ "${SYSTEM:-0}" == 1 ]]; then
  PY=/usr/bin/python3; args+=(--break-system-packages)
else
  PY=/usr/bin/python3; args+=(--user --break-system-packages)
fi
# pip builds in a copy of the package folder so the build tree stays clean.
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
cp -r "$PKG/setup.py" "$PKG/nomaly" "$work/"
rm -rf "$work/nomaly/__pycache__"
(cd "$work" && /usr/bin/python3 -m pip "${pre[@]}" install "${args[@]}" .)
echo "python_install: installed nomaly for $("$PY" -c 'import sys; print(sys.executable)') ($(cd / && "$PY" -c 'import nomaly, os; print(os.path.dirname(nomaly.__file__))'))"
