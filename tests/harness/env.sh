# shellcheck shell=bash
# Shared environment for the harness scripts and the Makefile. Source it; it only exports.
# Everything lives inside the repository (.venv, .cache), nothing is written to /etc.
#
# The checkout is always the one this file lives in (its physical path), never a DIVEST_ROOT
# inherited from a shell that sourced another checkout's env.sh: that shell would otherwise
# create, reach and remove the other checkout's containers.
DIVEST_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
DIVEST_CACHE="$DIVEST_ROOT/.cache"
# This checkout's namespace: the first 8 hex digits of sha256(DIVEST_ROOT). Every container the
# harness and the demo create is named divest-<ns>-<scenario>-<host> and labelled
# divest.checkout=<ns>, and every removal filters on that label (tests/harness/README.md).
# demo.py, molecule/shared/testlib.py and molecule/shared/{create,destroy}.yml derive the same
# value from their own location.
DIVEST_NS=$(printf '%s' "$DIVEST_ROOT" | sha256sum | cut -c1-8)
mkdir -p "$DIVEST_CACHE"
export DIVEST_ROOT DIVEST_CACHE DIVEST_NS
export CONTAINERS_CONF="$DIVEST_ROOT/containers.conf"
export ANSIBLE_COLLECTIONS_PATH="$DIVEST_CACHE/collections"
export ANSIBLE_CONFIG="$DIVEST_ROOT/ansible.cfg"
# Ansible's and molecule's own state (molecule keeps each scenario's state, facts and reports in
# $ANSIBLE_HOME/tmp/molecule.<hash of the checkout directory's *name*>.<scenario>, which two
# checkouts with the same directory name would share under ~/.ansible).
export ANSIBLE_HOME="$DIVEST_CACHE/ansible-home"
export PATH="$DIVEST_ROOT/.venv/bin:$PATH"
# The test image is shared by every checkout of the machine (tests/harness/image.sh).
export DIVEST_TEST_IMAGE=${DIVEST_TEST_IMAGE:-localhost/fleetsec-debian:12}
