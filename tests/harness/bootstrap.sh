#!/usr/bin/env bash
# Install everything the demo and the tests need, inside the repository where possible.
# Idempotent: a second run only checks, and reuses what the first one built.
#
#   tests/harness/bootstrap.sh demo    Debian packages, .venv, collections, image, fake packages
#   tests/harness/bootstrap.sh test    the same, plus Chromium and the ansible-core 2.16 venv
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=tests/harness/env.sh
. "$ROOT/tests/harness/env.sh"
purpose=${1:-test}

say() { printf '== %s\n' "$*"; }

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
# A python3.12 / python3.13 that runs, else pyenv's, else a clear error.
find_python() {
    local v cand
    for v in 3.12 3.13; do
        cand=$(command -v "python$v" 2>/dev/null) && "$cand" -c 'import venv' 2>/dev/null && { echo "$cand"; return; }
    done
    if command -v pyenv >/dev/null 2>&1; then
        for v in 3.12 3.13; do
            for full in $(pyenv versions --bare 2>/dev/null | grep -E "^${v//./\\.}\.[0-9]+$" | sort -V -r); do
                cand="$(pyenv root)/versions/$full/bin/python$v"
                [ -x "$cand" ] && "$cand" -c 'import venv' 2>/dev/null && { echo "$cand"; return; }
            done
        done
    fi
    return 1
}

make_venv() {  # make_venv DIR PYTHON REQUIREMENTS
    local dir=$1 py=$2 req=$3 stamp
    stamp="$dir/.requirements.sha256"
    if [ -x "$dir/bin/python" ] && [ -f "$stamp" ] && sha256sum -c --status "$stamp" 2>/dev/null; then
        return
    fi
    say "venv $dir from $req"
    rm -rf "$dir"
    "$py" -m venv "$dir"
    "$dir/bin/pip" install -q --disable-pip-version-check --no-cache-dir -r "$req" 2>&1 \
        | grep -v -e 'is ignored' -e '^$' || true
    "$dir/bin/python" -c 'import ansible' || { echo "venv $dir is broken" >&2; exit 1; }
    sha256sum "$req" >"$stamp"
}

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
fi

# --- Collections we depend on, from PyPI's ansible package (Galaxy is unreachable) --------------
"$ROOT/.venv/bin/python" "$ROOT/tests/harness/install_collections.py"

# --- Test image and fake vendor packages -------------------------------------------------------
"$ROOT/tests/harness/image.sh"
"$ROOT/.venv/bin/python" "$ROOT/tests/harness/build_packages.py" --quiet
say "bootstrap ($purpose) complete"
