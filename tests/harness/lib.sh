# shellcheck shell=bash
# Functions shared by bootstrap.sh and units.sh. Source it (after env.sh); it only defines.

say() { printf '== %s\n' "$*"; }

# A python3.12 / python3.13 that runs, else pyenv's, else nothing (return 1).
find_python() {
    local v cand full
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

# make_venv DIR PYTHON REQUIREMENTS: a virtualenv with exactly these requirements; rebuilt only
# when the requirements file changed.
make_venv() {
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
