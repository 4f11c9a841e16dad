# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""fleetsec.divest.fact_handoff: AWX's <host> fact files reach the job and come back, on every
ansible-core; a sliced identify without the findings store is refused with one message. (The
whole flow over ansible-runner and containers: tests/awx.)"""

from __future__ import annotations

import json
import os

import pytest

from ansible.errors import AnsibleActionFail

from ansible_collections.fleetsec.divest.plugins.action import fact_handoff
from ansible_collections.fleetsec.divest.plugins.plugin_utils._hostfacts import FindingsStore, HostFacts

INVENTORY = {"all": {"hosts": {"web1": None, "web2": None}}}
AWX = {"awx_job_id": 7, "awx_job_template_name": "Divest - plan", "awx_job_launch_type": "manual"}
SLICE = {"awx_job_id": 8, "awx_job_template_name": "Divest - identify", "awx_job_launch_type": "workflow",
         "awx_workflow_job_name": "Divest - identify", "awx_workflow_job_id": 3}


def awx_writes(fleet, name, facts):
    """What AWX's start_fact_cache writes: <dir>/<host>, plain JSON."""
    os.makedirs(fleet.cache_dir, exist_ok=True)
    with open(os.path.join(fleet.cache_dir, name), "w") as fh:
        json.dump(facts, fh)


def awx_reads(fleet, name):
    """What AWX's finish_fact_cache reads back."""
    with open(os.path.join(fleet.cache_dir, name)) as fh:
        return json.load(fh)


def run(fleet, args, **extra):
    return fleet.action(fact_handoff, args).run(task_vars=fleet.task_vars(**extra))


def test_awx_facts_reach_the_job_and_the_jobs_facts_reach_awx(make_fleet):
    fleet = make_fleet(INVENTORY)
    awx_writes(fleet, "web1", {"divest": {"status": "affected", "scanned_at": "2026-01-01T00:00:00Z"}, "os": "x"})
    result = run(fleet, {"step": "start", "phase": "plan"}, **AWX)
    assert not result.get("failed"), result
    # whatever the naming of this ansible-core, the job now reads AWX's facts
    assert HostFacts(fleet.task_vars()).value("web1", "divest")["status"] == "affected"
    # the job adds a fact (as the plan does with its parts) ...
    HostFacts(fleet.task_vars()).store().merge("web1", {"divest_plan": {"digest": "sha256:1"}})
    result = run(fleet, {"step": "finish", "phase": "plan"}, **AWX)
    assert not result.get("failed"), result
    # ... and AWX reads back all of them under its own naming, AWX's facts kept
    back = awx_reads(fleet, "web1")
    assert back["divest_plan"] == {"digest": "sha256:1"} and back["os"] == "x" and back["divest"]["status"] == "affected"
    assert result["naming"] in ("awx", "prefixed")
    assert result["saved"] == (1 if result["naming"] == "prefixed" else 0)


def test_outside_awx_nothing_is_written_under_awx_naming(make_fleet):
    fleet = make_fleet(INVENTORY)
    HostFacts(fleet.task_vars()).store().merge("web2", {"divest": {"status": "clean"}})
    result = run(fleet, {"step": "finish", "phase": "identify"})
    assert result["saved"] == 0


def test_a_sliced_identify_without_a_store_says_its_findings_would_be_lost(make_fleet):
    fleet = make_fleet(INVENTORY)
    with pytest.raises(AnsibleActionFail, match="AWX stores no facts for sliced jobs .*divest_findings_store"):
        fleet.action(fact_handoff, {"step": "finish", "phase": "identify"}).run(task_vars=fleet.task_vars(**SLICE))


def test_a_sliced_identify_hands_its_findings_on_through_the_store(make_fleet, tmp_path):
    store = str(tmp_path / "findings")
    fleet = make_fleet(INVENTORY, {"web1": {"divest": {"status": "affected", "scanned_at": "2026-02-01T00:00:00Z"}}})
    result = run(fleet, {"step": "finish", "phase": "identify", "store": store, "hosts": ["web1", "web2"]}, **SLICE)
    assert not result.get("failed") and result["store_saved"] == 1, result
    # a later, unsliced job (a fresh cache: AWX stored nothing for the slice) takes them in
    later = make_fleet(INVENTORY, {"web1": {"divest": {"status": "clean", "scanned_at": "2025-12-01T00:00:00Z"}}})
    result = run(later, {"step": "start", "phase": "report", "store": store}, **AWX)
    assert result["store_loaded"] == 1, result
    assert HostFacts(later.task_vars()).value("web1", "divest")["status"] == "affected"  # the newer scan wins
    # an older stored scan never replaces a newer cached one
    assert not FindingsStore.newer({"scanned_at": "2025-01-01T00:00:00Z"}, {"scanned_at": "2026-01-01T00:00:00Z"})


@pytest.mark.parametrize("name", ["../etc", ".hidden", "a/b", ""])
def test_host_names_that_are_not_plain_file_names_are_never_written(tmp_path, name):
    store = FindingsStore(str(tmp_path))
    assert store.write([(name, {"status": "clean"})]) == 0
    assert os.listdir(str(tmp_path)) == []


def test_awx_facts_taken_in_on_a_full_disk_fail_the_job_and_leave_no_half_entry(make_fleet):
    """Taking AWX's files into the cache on a full disk (a file size limit): the job fails with the
    reason, and no half-written cache entry is left for a host (ansible-core's own set would have
    renamed one into place)."""
    import resource
    fleet = make_fleet(INVENTORY)
    if fact_handoff.AwxFactFiles(getattr(fleet.variable_manager, "_fact_cache", None)).naming != "prefixed":
        pytest.skip("ansible-core before 2.19: AWX's files are the cache's own, nothing is taken in")
    awx_writes(fleet, "web1", {"divest": {"status": "affected", "note": "x" * 4000}})
    before = sorted(os.listdir(fleet.cache_dir))
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1000, hard))
    try:
        with pytest.raises(AnsibleActionFail, match="cannot hand the facts over between jobs: .*File too large"):
            run(fleet, {"step": "start", "phase": "plan"}, **AWX)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    assert sorted(os.listdir(fleet.cache_dir)) == before            # AWX's file only, nothing beside it
    assert awx_reads(fleet, "web1")["divest"]["status"] == "affected"


def test_a_store_write_that_fails_keeps_the_file_and_leaves_no_temporary_one(tmp_path):
    """A full disk (here a file size limit) while a findings store entry is written: the error
    is raised (the task fails with it), the entry is as it was, no temporary file is left."""
    import resource
    store = FindingsStore(str(tmp_path))
    assert store.write([("web1", {"status": "clean"})]) == 1
    before = (tmp_path / "web1.json").read_bytes()
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (len(before) + 16, hard))
    try:
        with pytest.raises(OSError):
            store.write([("web1", {"status": "affected", "note": "x" * 500})])
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    assert os.listdir(str(tmp_path)) == ["web1.json"] and (tmp_path / "web1.json").read_bytes() == before


def test_an_outcome_recorded_in_an_awx_job_reaches_awxs_file_at_once(make_fleet):
    """A cancelled or killed execute job never runs its last hand-off task: each recorded outcome
    must already be in AWX's <host> file (ansible-core 2.19+; before, the cache's file is AWX's)."""
    from ansible_collections.fleetsec.divest.plugins.action import execute_outcome

    fleet = make_fleet(INVENTORY)
    awx_writes(fleet, "web1", {"os": "x", "divest_outcome": {"status": "removed", "digest": "sha256:old"}})
    part = {"wave": "canary", "platform": "linux", "replacement": "clamav", "blockers": [],
            "expect": [{"vendor": "kaspersky", "product": "kesl", "version": "12.1.0.1508", "state": "installed"}]}
    args = {"event": "start", "part": part, "gate": {"digest": "sha256:new", "run_id": "r1"}}
    outside = fleet.action(execute_outcome, args).run(task_vars=dict(fleet.task_vars(), inventory_hostname="web1"))
    assert awx_reads(fleet, "web1")["divest_outcome"]["digest"] == "sha256:old", "written outside an AWX job"
    result = fleet.action(execute_outcome, args).run(task_vars=dict(fleet.task_vars(**AWX), inventory_hostname="web1"))
    assert not result.get("failed") and not result.get("warnings"), result
    back = awx_reads(fleet, "web1")
    naming = fact_handoff.AwxFactFiles(getattr(fleet.variable_manager, "_fact_cache", None)).naming
    if naming == "prefixed":
        # AWX would store the running outcome of this job, its other facts kept
        assert back["divest_outcome"] == result["ansible_facts"]["divest_outcome"] and back["os"] == "x"
        assert back["divest_outcome"]["status"] == "running" and back["divest_outcome"]["digest"] == "sha256:new"
    else:
        # 2.16 - 2.18: the cache's own file is AWX's; nothing is written beside it
        assert back == {"os": "x", "divest_outcome": {"status": "removed", "digest": "sha256:old"}}
    assert outside["outcome"]["status"] == "running"
    # check mode records nothing, in AWX's file either
    dry = fleet.action(execute_outcome, args, check_mode=True).run(
        task_vars=dict(fleet.task_vars(**AWX), inventory_hostname="web2"))
    assert "ansible_facts" not in dry and not os.path.exists(os.path.join(fleet.cache_dir, "web2"))


def test_an_awx_fact_file_that_cannot_be_written_is_a_warning(make_fleet, monkeypatch):
    from ansible_collections.fleetsec.divest.plugins.action import execute_outcome
    from ansible_collections.fleetsec.divest.plugins.plugin_utils import _hostfacts

    fleet = make_fleet(INVENTORY)
    if fact_handoff.AwxFactFiles(getattr(fleet.variable_manager, "_fact_cache", None)).naming != "prefixed":
        pytest.skip("ansible-core before 2.19: the fact cache writes AWX's file itself")

    def full(path, data):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(_hostfacts, "_write_json_file", full)
    part = {"wave": "canary", "platform": "linux", "replacement": "clamav", "blockers": [], "expect": []}
    result = fleet.action(execute_outcome, {"event": "start", "part": part, "gate": {"digest": "sha256:n", "run_id": "r"}}).run(
        task_vars=dict(fleet.task_vars(**AWX), inventory_hostname="web1"))
    assert not result.get("failed") and result["ansible_facts"]["divest_outcome"]["status"] == "running"
    assert any("No space left" in w for w in result["warnings"])


def test_unreadable_awx_files_and_store_entries_are_named_and_left_as_they_are(make_fleet, tmp_path, monkeypatch):
    """A broken AWX fact file or findings store entry (cut short, not an object, no findings) is
    not taken in, is named with its reason in the result and in one warning, and stays on disk as
    it was; the readable ones are taken in as usual."""
    warnings = []
    monkeypatch.setattr(fact_handoff.display, "warning", warnings.append)
    fleet = make_fleet({"all": {"hosts": {name: None for name in ("web1", "web2", "web3", "db1")}}})
    awx_writes(fleet, "web2", {"divest": {"status": "affected", "scanned_at": "2026-01-01T00:00:00Z"}})
    with open(os.path.join(fleet.cache_dir, "web1"), "w") as fh:
        fh.write('{"divest": {"status": "aff')
    awx_writes(fleet, "web3", ["not", "an", "object"])
    store = tmp_path / "findings"
    store.mkdir()
    (store / "db1.json").write_text('{"divest": {"status": "clean", "scanned_at": "2026-02-01T00:00:00Z"}}')
    (store / "web2.json").write_text('{"divest": {"status": "cle')
    (store / "web3.json").write_text('{"findings": []}')
    before = {path: open(os.path.join(fleet.cache_dir, path), "rb").read() for path in ("web1", "web3")}
    result = run(fleet, {"step": "start", "phase": "plan", "store": str(store)}, **AWX)
    assert not result.get("failed"), result
    # ansible-core 2.19+ ("prefixed"): AWX's files are not the cache's own and are read here; before,
    # they are the cache itself, read by ansible-core's plugin
    prefixed = result["naming"] == "prefixed"
    assert result["loaded"] == (1 if prefixed else 0) and result["store_loaded"] == 1
    unreadable = {(item["host"], item["source"]): item["reason"] for item in result["unreadable"]}
    assert set(unreadable) == {("web2", "store"), ("web3", "store")} | ({("web1", "awx"), ("web3", "awx")} if prefixed else set())
    assert "Unterminated string" in unreadable[("web2", "store")] and "no 'divest' mapping" in unreadable[("web3", "store")]
    warnings = [text for text in warnings if text.startswith("fleetsec.divest.fact_handoff")]    # not the plugin's own
    assert len(warnings) == 1 and "%d file(s)" % len(unreadable) in warnings[0]
    assert "web2 (findings store: Unterminated" in warnings[0]
    facts = HostFacts(fleet.task_vars())
    assert facts.value("web2", "divest")["status"] == "affected" and facts.value("db1", "divest")["status"] == "clean"
    assert (store / "web2.json").read_text() == '{"divest": {"status": "cle'
    if prefixed:
        assert "Unterminated string" in unreadable[("web1", "awx")] and "JSON object" in unreadable[("web3", "awx")]
        assert "web1 (AWX's fact file: Unterminated" in warnings[0]
        assert facts.value("web1", "divest") is None and facts.value("web3", "divest") is None
        assert {path: open(os.path.join(fleet.cache_dir, path), "rb").read() for path in ("web1", "web3")} == before
