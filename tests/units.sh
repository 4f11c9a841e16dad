#!/usr/bin/env bash
# The unit tests in a plain virtualenv: no root, no podman, no Chromium, no Debian package.
#
#   tests/units.sh [pytest arguments]       (make units)
#
# Builds .venv-units from tests/requirements-units.txt with a Python 3.12/3.13 (found as
# bootstrap.sh finds it), links the working copy as the collection fleetsec.divest and runs
# tests/unit. Tests that need a tool this machine lacks (chromium, rpm, dnf, unshare, root for
# mknod) say so and skip; everything else runs.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tests/harness/lib.sh
. "$ROOT/tests/harness/lib.sh"
VENV=${DIVEST_UNITS_VENV:-$ROOT/.venv-units}

PY=$(find_python) || {
    echo "no Python 3.12 or 3.13 found (looked for python3.12/python3.13 on PATH and in pyenv)" >&2
    exit 1
}
make_venv "$VENV" "$PY" "$ROOT/tests/requirements-units.txt"
"$VENV/bin/python" "$ROOT/tests/harness/install_collections.py" --link-only
export ANSIBLE_COLLECTIONS_PATH="$ROOT/.cache/collections"
export ANSIBLE_HOME="$ROOT/.cache/ansible-home-units"
cd "$ROOT"
exec "$VENV/bin/python" -m pytest -q -p no:cacheprovider tests/unit "$@"
