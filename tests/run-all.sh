#!/usr/bin/env bash
# Every test of the collection, in the order that fails fastest. Called by `make test`
# (after tests/harness/bootstrap.sh test) and therefore by CI.
#
#   tests/run-all.sh                 all stages
#   tests/run-all.sh units lint      only these stages
#
# Stages: units, lint, build, sanity, compat, awx, windows, molecule.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
# shellcheck source=tests/harness/env.sh
. "$ROOT/tests/harness/env.sh"

stages=("$@")
[ ${#stages[@]} -eq 0 ] && stages=(units lint build sanity compat awx windows molecule)
# Molecule scenarios, cheapest first; each one creates and destroys its own containers.
SCENARIOS=${DIVEST_SCENARIOS:-$(find molecule -mindepth 2 -maxdepth 2 -name molecule.yml -printf '%h\n' | xargs -n1 basename | sort | tr '\n' ' ')}

timings=()
stage() {
    local name=$1 start=$SECONDS
    printf '\n======== %s\n' "$name"
    "stage_$name"
    timings+=("$(printf '%-9s %4ds' "$name" $((SECONDS - start)))")
}

stage_units() {
    python -m pytest -q -p no:cacheprovider
}

stage_lint() {
    ansible-lint --offline -q
}

# The tarball users get: it builds, installs, and carries only what users need.
stage_build() {
    local scratch tarball
    scratch=$(mktemp -d)
    # shellcheck disable=SC2064
    trap "rm -rf '$scratch'" RETURN
    ansible-galaxy collection build --force --output-path "$scratch" . >/dev/null
    tarball=$(find "$scratch" -name 'fleetsec-divest-*.tar.gz')
    if tar tzf "$tarball" | grep -E '^(tests|molecule|\.ci|\.cache|\.venv)/'; then
        echo "the collection tarball carries development files (above): fix build_ignore in galaxy.yml" >&2
        return 1
    fi
    ANSIBLE_COLLECTIONS_PATH="$scratch/installed" ansible-galaxy collection install --no-deps \
        -p "$scratch/installed" "$tarball" >/dev/null
    # linux_remove's O(root) comes from our documentation fragment: it must be in the tarball too
    ANSIBLE_COLLECTIONS_PATH="$scratch/installed" ansible-doc fleetsec.divest.vendor_facts fleetsec.divest.linux_remove \
        | grep -- '--installroot' >/dev/null  # not -q: grep reads it all, no SIGPIPE under pipefail
    ANSIBLE_COLLECTIONS_PATH="$scratch/installed" ansible localhost -m fleetsec.divest.vendor_facts -o \
        | grep '"status"' >/dev/null
    # What Galaxy and Automation Hub run on every upload (a README per role, the documentation,
    # ansible-lint): it must accept the tarball without a warning. It runs offline here.
    if ! (cd "$scratch" && python -m galaxy_importer.main "$tarball" >"$scratch/importer.log" 2>&1); then
        cat "$scratch/importer.log" >&2
        echo "galaxy-importer refuses the collection tarball (above)" >&2
        return 1
    fi
    if grep -E '^(WARNING|ERROR)' "$scratch/importer.log" >&2; then
        echo "galaxy-importer warns about the collection tarball (above)" >&2
        return 1
    fi
    echo "$(basename "$tarball"): $(tar tzf "$tarball" | wc -l) entries, installs, runs and passes galaxy-importer"
}

# ansible-test wants the collection at ansible_collections/<ns>/<name> and only tests what it
# finds there: copy the files git would commit (tracked + untracked, not ignored) to a scratch
# directory outside this checkout (inside it, ansible-test would ask our git, which ignores
# .cache, and skip every target). Its virtualenvs stay in .cache between runs.
stage_sanity() {
    local scratch dest home="$DIVEST_CACHE/ansible-test-home" pyver pipver
    scratch=$(mktemp -d)
    # shellcheck disable=SC2064
    trap "rm -rf '$scratch'" RETURN
    dest="$scratch/ansible_collections/fleetsec/divest"
    mkdir -p "$dest"
    git ls-files -z --cached --others --exclude-standard \
        | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done \
        | tar --null -T - -cf - | tar -C "$dest" -xf -
    pyver=$(python -c 'import sys; print("%d.%d" % sys.version_info[:2])')
    # ansible-test bootstraps pip in its venvs from a URL we cannot reach; give it a local
    # stand-in that uses ensurepip (tests/harness/get_pip_standin.py).
    pipver=$(python -c "import types; from ansible_test._internal.python_requirements import get_venv_packages as g; print(g(types.SimpleNamespace(version='$pyver'))['pip'])")
    mkdir -p "$home/.ansible/test/cache"
    cp "$ROOT/tests/harness/get_pip_standin.py" "$home/.ansible/test/cache/get_pip_${pipver//./_}.py"
    local excludes=()
    while IFS= read -r f; do excludes+=(--exclude "$f"); done < <(cd "$dest" && find plugins -name '*.ps1' -o -name '*.psm1' | sort)
    # No pwsh exists here: the PowerShell files are left out of validate-modules only; their
    # syntax is checked by tests/unit (tree-sitter PowerShell grammar).
    (cd "$dest" && HOME="$home" ansible-test sanity --color no --python "$pyver" \
        --skip-test validate-modules)
    (cd "$dest" && HOME="$home" ansible-test sanity --color no --python "$pyver" \
        --test validate-modules "${excludes[@]}")
}

# Oldest supported ansible-core (meta/runtime.yml): 2.16 on Python 3.11.
stage_compat() {
    local venv="$ROOT/.venv-2.16"
    "$venv/bin/ansible" --version | sed -n 1p  # sed reads it all: no SIGPIPE under pipefail
    PATH="$venv/bin:$PATH" "$venv/bin/python" -m pytest -q -p no:cacheprovider tests/unit
    PATH="$venv/bin:$PATH" "$venv/bin/ansible-playbook" tests/compat/playbook.yml
}

# The AWX flow as AWX runs it (ansible-runner, AWX's fact-cache write-back and artifacts), over
# harness containers, on ansible-core 2.18 (.venv-2.18) and the newest (.venv): tests/awx.
stage_awx() {
    python -m pytest -q -p no:cacheprovider tests/awx
}

# The Windows execute flow at playbook level (identify scan, plan, execute --check, execute,
# again) against stateful test doubles of ansible.windows and of the hosts (tests/windows),
# on the newest ansible-core (.venv) and on 2.16 (.venv-2.16). No Windows runs here.
stage_windows() {
    python -m pytest -q -p no:cacheprovider tests/windows
    DIVEST_WINFLOW_VENV="$ROOT/.venv-2.16" "$ROOT/.venv-2.16/bin/python" -m pytest -q -p no:cacheprovider tests/windows
}

stage_molecule() {
    local s
    for s in $SCENARIOS; do
        local start=$SECONDS
        printf -- '-------- molecule %s\n' "$s"
        # CI keeps only the end of the output: on failure, repeat what failed where it is seen.
        local log="$DIVEST_CACHE/molecule-$s.log"
        if ! molecule test -s "$s" 2>&1 | tee "$log"; then
            printf '\n======== molecule %s failed; what failed:\n' "$s"
            sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -aE '(FAILED |^.{0,12}E  |fatal: |ERROR )' | tail -n 40
            return 1
        fi
        timings+=("$(printf '  %-16s %4ds' "$s" $((SECONDS - start)))")
    done
}

for s in "${stages[@]}"; do stage "$s"; done
printf '\n======== all passed\n'
printf '%s\n' "${timings[@]}"
