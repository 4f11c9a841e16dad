# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The drift, verify and counts filters: the execute phase's decisions, for users' own playbooks."""

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.fleetsec.divest.plugins.filter.counts import FilterModule as Counts
from ansible_collections.fleetsec.divest.plugins.filter.drift import FilterModule as Drift
from ansible_collections.fleetsec.divest.plugins.filter.verify import FilterModule as Verify

drift = Drift().filters()["drift"]
verify = Verify().filters()["verify"]
counts = Counts().filters()["counts"]

KESL = {"vendor": "kaspersky", "product": "kesl", "version": "12.1.0.1508", "state": "installed"}


def facts(*findings, status="affected"):
    return {"status": status, "findings": [dict(f, role="protection", evidence=[{"kind": "package", "name": "kesl"}])
                                           for f in findings]}


def test_drift_names_what_changed_and_accepts_an_earlier_removal_of_the_same_plan():
    assert drift([KESL], facts(KESL))["state"] == "match"
    assert drift([KESL], facts(status="clean"))["state"] == "clean"
    moved = drift([KESL], facts(dict(KESL, version="12.2.0.2412")))
    assert moved["state"] == "drifted" and "is now kaspersky/kesl 12.2.0.2412" in moved["message"]
    gone = {"removed": [{"vendor": "kaspersky", "product": "kesl"}]}
    assert drift([KESL, dict(KESL, product="klnagent")], facts(dict(KESL, product="klnagent")), gone)["state"] == "match"
    with pytest.raises(AnsibleFilterError, match="drift: the input must be"):
        drift("kesl", facts())


def test_verify_lists_what_is_still_there_with_its_evidence():
    assert verify(facts(status="clean")) == {"ok": True, "message": "clean", "remaining": []}
    left = verify(facts(KESL))
    assert not left["ok"] and "kaspersky/kesl (installed: package kesl)" in left["message"]
    with pytest.raises(AnsibleFilterError, match="verify: the input must be"):
        verify(["not facts"])


def test_counts_adds_up_module_results_and_ignores_the_rest():
    total = counts({"block": 1}, [{"counts": {"block": 1, "repos": 2}}, {"changed": True}, "junk",
                                  {"counts": {"residue": True}}])
    assert total == {"block": 2, "repos": 2}
