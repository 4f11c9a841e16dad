# shellcheck shell=bash
# Shared environment for the harness scripts and the Makefile. Source it; it only exports.
# Everything lives inside the repository (.venv, .cache), nothing is written to /etc.
DIVEST_ROOT=${DIVEST_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
DIVEST_CACHE="$DIVEST_ROOT/.cache"
mkdir -p "$DIVEST_CACHE"
export DIVEST_ROOT DIVEST_CACHE
export CONTAINERS_CONF="$DIVEST_ROOT/containers.conf"
export ANSIBLE_COLLECTIONS_PATH="$DIVEST_CACHE/collections"
export ANSIBLE_CONFIG="$DIVEST_ROOT/ansible.cfg"
export PATH="$DIVEST_ROOT/.venv/bin:$PATH"
export DIVEST_TEST_IMAGE=${DIVEST_TEST_IMAGE:-localhost/fleetsec-debian:12}
