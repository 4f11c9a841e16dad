#!/usr/bin/env bash
# Install everything the demo and the tests need, inside the repository where possible.
# Idempotent: a second run only checks, and reuses what the first one built.
#
#   tests/harness/bootstrap.sh demo    Debian packages, .venv, collections, image, fake packages
#   tests/harness/bootstrap.sh test    the same, plus Chromium and the ansible-core 2.16 and 2.18 venvs
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=tests/harness/env.sh
. "$ROOT/tests/harness/env.sh"
purpose=${1:-test}

# shellcheck source=tests/harness/lib.sh
. "$ROOT/tests/harness/lib.sh"

# --- Debian packages ---------------------------------------------------------------------------
debs=(podman runc debootstrap apt-utils rpm dnf python3-dnf createrepo-c gcc libc6-dev)
[ "$purpose" = test ] && debs+=(chromium shellcheck)
missing=()
for p in "${debs[@]}"; do
    dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "missing Debian packages: ${missing[*]} (run as root, or install them)" >&2
        exit 1
    fi
    say "apt-get install ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- Python ------------------------------------------------------------------------------------
PY=$(find_python) || {
    echo "no Python 3.12 or 3.13 found (looked for python3.12/python3.13 on PATH and in pyenv)" >&2
    exit 1
}
make_venv "$ROOT/.venv" "$PY" "$ROOT/tests/requirements.txt"

if [ "$purpose" = test ]; then
    # Oldest supported ansible-core; 2.16 runs on Python 3.11.
    PY311=$(command -v python3.11 || true)
    [ -z "$PY311" ] && command -v pyenv >/dev/null && PY311=$(PYENV_VERSION=$(pyenv versions --bare | grep -E '^3\.11\.' | tail -1) pyenv which python3.11 2>/dev/null || true)
    [ -n "$PY311" ] || { echo "no Python 3.11 found for the ansible-core 2.16 smoke run" >&2; exit 1; }
    make_venv "$ROOT/.venv-2.16" "$PY311" "$ROOT/tests/requirements-2.16.txt"
    # Newest ansible-core before the fact cache's s1_ naming: the AWX stage runs on it too (tests/awx).
    make_venv "$ROOT/.venv-2.18" "$PY" "$ROOT/tests/requirements-2.18.txt"
fi

# --- Collections we depend on, from PyPI's ansible package (Galaxy is unreachable) --------------
"$ROOT/.venv/bin/python" "$ROOT/tests/harness/install_collections.py"

# --- Test image and fake vendor packages -------------------------------------------------------
"$ROOT/tests/harness/image.sh"
"$ROOT/.venv/bin/python" "$ROOT/tests/harness/build_packages.py" --quiet
say "bootstrap ($purpose) complete"
