# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The controller-side actions of execute: plan_gate (over a real inventory and a jsonfile fact
cache, the shared ``make_fleet`` fixture of conftest.py), execute_outcome (plain facts) and the
report action's execute phase."""

from __future__ import annotations

import json
import os

import pytest

from ansible.errors import AnsibleActionFail

from ansible_collections.fleetsec.divest.plugins.action import execute_outcome as action_outcome
from ansible_collections.fleetsec.divest.plugins.action import plan_gate as action_gate
from ansible_collections.fleetsec.divest.plugins.action import report as action_report
from ansible_collections.fleetsec.divest.plugins.plugin_utils import _planner

NOW = "2026-11-28T12:00:00Z"
INVENTORY = {"all": {"children": {"linux": {"hosts": {"web1": None, "web2": None, "web3": None, "db1": None,
                                                      "new1": None}}}}}


def finding(product="kesl", version="12.1.0.1508"):
    return {"vendor": "kaspersky", "product": product, "name": product, "version": version, "state": "installed",
            "role": "protection", "evidence": [],
            "removal": {"method": "package", "order": 10, "packages": [product], "purge": True,
                        "residue": [], "reboot": False, "password": "none"}}


def facts(status, findings=()):
    return {"schema": 1, "scanned_at": "2026-11-28T10:00:00Z", "status": status,
            "platform": {"system": "Linux", "distribution": "debian", "version": "12"},
            "scan": {"live": True, "skipped": [], "errors": []}, "findings": list(findings)}


PLAN = _planner.build_plan({
    "web1": {"divest": facts("affected", [finding()]), "groups": ["linux"]},
    "web2": {"divest": facts("affected", [finding()]), "groups": ["linux"]},
    "web3": {"divest": facts("affected", [finding("klnagent", "15.4.0.8873")]), "groups": ["linux"]},
    "db1": {"divest": facts("clean"), "groups": ["linux"]},
}, {"waves": {"canary": 1}}, now=NOW)


def gate(fleet, **args):
    return fleet.action(action_gate, args).run(task_vars=fleet.task_vars())


@pytest.fixture
def plan_file(tmp_path):
    path = tmp_path / "divest-plan.json"
    path.write_text(json.dumps(PLAN))
    return path


def test_gate_from_the_plan_file(plan_file, make_fleet):
    fleet = make_fleet(INVENTORY)
    result = gate(fleet, digest=PLAN["digest"], path=str(plan_file))
    assert result["source"] == "file" and result["digest"] == PLAN["digest"]
    assert result["order"] == ["web1", "web2", "web3"] and result["serial"] == [1, 2]
    assert result["not_in_plan"] == [{"host": "db1", "reason": "clean when the plan was made"},
                                     {"host": "new1", "reason": "not in the plan"}]
    assert result["msg"].startswith("plan %s approved: 3 host(s) to work on in 2 wave(s) (canary: 1, wave-1: 2)"
                                    % PLAN["digest"])
    assert len(result["run_id"]) == 12 and result["changed"] is False


def test_gate_pattern_narrows_the_run(plan_file, make_fleet):
    # the canary web1 has an outcome of this plan: its wave is done
    fleet = make_fleet(INVENTORY, {"web1": {"divest_outcome": {"status": "removed", "digest": PLAN["digest"],
                                                               "check_mode": False}}})
    result = gate(fleet, digest=PLAN["digest"], path=str(plan_file), pattern="web2:web3")
    assert result["order"] == ["web2", "web3"] and result["not_targeted"] == ["web1"]
    assert "1 host(s) of the plan are not targeted by this run" in result["msg"]


@pytest.mark.parametrize("limit", [None, "web2:web3:localhost"])
def test_gate_refuses_to_jump_an_unfinished_canary(plan_file, limit, make_fleet):
    fleet = make_fleet(INVENTORY)
    if limit:
        fleet.inventory.subset(limit)
    args = {"digest": PLAN["digest"], "path": str(plan_file)}
    if not limit:
        args["pattern"] = "web2:web3"
    with pytest.raises(AnsibleActionFail) as info:
        gate(fleet, **args)
    text = str(info.value)
    assert "wave canary is not finished: web1 (no outcome of this plan)" in text and "Nothing was done" in text
    assert "divest_allow_wave_skip" in text
    result = gate(fleet, allow_wave_skip=True, **args)
    assert result["order"] == ["web2", "web3"]


@pytest.mark.parametrize("digest, edit, fragment", [
    ("", None, "no approved plan digest"),
    ("sha256:" + "f" * 64, None, "but the approved digest is sha256:ffff"),
    (PLAN["digest"], lambda d: d["hosts"]["web2"]["actions"][1]["removal"]["packages"].append("bash"),
     "was changed after it was made"),
])
def test_gate_refuses_with_one_message(plan_file, digest, edit, fragment, make_fleet):
    if edit:
        doc = json.loads(plan_file.read_text())
        edit(doc)
        plan_file.write_text(json.dumps(doc))
    with pytest.raises(AnsibleActionFail) as info:
        gate(make_fleet(INVENTORY), digest=digest, path=str(plan_file))
    assert fragment in str(info.value) and "Nothing was done" in str(info.value)


def test_gate_from_the_fact_cache(tmp_path, make_fleet):
    cached = {name: {"divest_plan": _planner.host_part(PLAN, name)} for name in PLAN["hosts"]}
    cached["web3"] = {"divest_plan": dict(cached["web3"], digest="sha256:" + "c" * 64)}
    fleet = make_fleet(INVENTORY, cached)
    result = gate(fleet, digest=PLAN["digest"], path=str(tmp_path / "missing.json"))
    assert result["source"] == "facts" and result["order"] == ["web1", "web2"] and result["serial"] == [1, 1]
    assert {i["host"]: i["reason"] for i in result["not_in_plan"]}["web3"].startswith("its stored plan part is from another plan")
    with pytest.raises(AnsibleActionFail, match="no host of 'all' carries a plan part with the approved digest"):
        gate(fleet, digest="sha256:" + "d" * 64, source="facts")


def test_gate_in_awx_without_any_part_points_at_the_fact_cache_timeout(tmp_path, make_fleet):
    """AWX cleared the hosts' facts (its fact cache timeout): execute refuses and says which
    setting did it; outside AWX the hint is not given."""
    fleet = make_fleet(INVENTORY, {name: {"divest": facts("affected", [finding()])} for name in PLAN["hosts"]})
    awx = {"awx_job_id": 12, "awx_job_template_name": "Divest - execute"}
    with pytest.raises(AnsibleActionFail) as info:
        fleet.action(action_gate, {"digest": PLAN["digest"], "source": "facts"}).run(task_vars=fleet.task_vars(**awx))
    assert "Per-Host Ansible Fact Cache Timeout" in str(info.value) and "Nothing was done" in str(info.value)
    with pytest.raises(AnsibleActionFail) as info:
        gate(fleet, digest=PLAN["digest"], source="facts")
    assert "Fact Cache Timeout" not in str(info.value)


def test_gate_refuses_a_part_edited_in_the_fact_cache(make_fleet):
    cached = {name: {"divest_plan": _planner.host_part(PLAN, name)} for name in PLAN["hosts"]}
    part = json.loads(json.dumps(cached["web2"]["divest_plan"]))
    next(a for a in part["actions"] if a["action"] == "remove")["removal"]["packages"].append("openssh-server")
    cached["web2"] = {"divest_plan": part}
    fleet = make_fleet(INVENTORY, cached)
    with pytest.raises(AnsibleActionFail) as info:
        gate(fleet, digest=PLAN["digest"], source="facts")
    assert "web2 (its content does not match the approved digest" in str(info.value)
    assert "Nothing was done" in str(info.value)
    # limited to web1 alone, the edited part of another host still stops the run: the cache is not trusted
    fleet.inventory.subset("web1:localhost")
    with pytest.raises(AnsibleActionFail, match="web2"):
        gate(fleet, digest=PLAN["digest"], source="facts")


def test_execute_outcome_events_store_plain_facts_and_not_in_check_mode(make_action):
    part = {"wave": "canary", "platform": "linux", "replacement": "clamav", "blockers": [],
            "expect": [{"vendor": "kaspersky", "product": "kesl", "version": "12.1.0.1508", "state": "installed"}]}
    gate_info = {"digest": PLAN["digest"], "run_id": "abc"}
    start = make_action(action_outcome, {"event": "start", "part": part, "gate": gate_info}).run(task_vars={})
    out = start["ansible_facts"]["divest_outcome"]
    assert out["status"] == "running" and out["history"][0]["status"] == "running"
    json.dumps(out)
    scan = {"changed": False, "ansible_facts": {"divest": facts("affected", [finding()])}}
    scanned = make_action(action_outcome, {"event": "scanned", "state": start["state"], "result": scan}).run(task_vars={})
    assert scanned["mode"] == "act"
    # a step result from a host that is gone fails the task: the rescue tells it from a failure
    lost = {"unreachable": True, "msg": "Failed to connect"}
    with pytest.raises(AnsibleActionFail, match="lost contact with the host during re-identify"):
        make_action(action_outcome, {"event": "scanned", "state": start["state"], "result": lost}).run(task_vars={})
    with pytest.raises(AnsibleActionFail, match="lost contact"):
        make_action(action_outcome, {"event": "changed", "state": scanned["state"], "step": "cleanup",
                                     "results": [{"changed": True}, lost]}).run(task_vars={})
    with pytest.raises(AnsibleActionFail, match="needs the state"):
        make_action(action_outcome, {"event": "finish"}).run(task_vars={})
    # check mode: the same decisions, no fact
    dry = make_action(action_outcome, {"event": "start", "part": part, "gate": gate_info}, check_mode=True).run(task_vars={})
    assert "ansible_facts" not in dry and dry["outcome"]["check_mode"] is True and dry["outcome"]["history"] == []


def test_report_execute_phase_reads_outcomes_from_the_fact_cache(tmp_path, plan_file, make_fleet):
    fleet = make_fleet(INVENTORY)
    the_gate = gate(fleet, digest=PLAN["digest"], path=str(plan_file))
    fleet.variable_manager.set_host_facts("web1", {"divest_outcome": {"status": "removed", "digest": PLAN["digest"],
                                                                      "run_id": the_gate["run_id"], "removed": []},
                                                   "divest": facts("clean")})
    fleet.variable_manager.set_nonpersistent_facts("web2", {"divest_outcome": {
        "status": "failed", "reason": "replacement: x", "digest": PLAN["digest"], "run_id": the_gate["run_id"]}})
    args = {"phase": "execute", "dest": str(tmp_path / "reports"), "stats": "divest_execute"}
    result = fleet.action(action_report, args).run(task_vars=fleet.task_vars(divest_gate=the_gate))
    doc = json.loads((tmp_path / "reports" / "divest-execute.json").read_text())
    assert {h["name"]: h["status"] for h in doc["hosts"]} == {"web1": "removed", "web2": "failed",
                                                              "web3": "not_started"}
    assert result["summary"]["status"]["removed"] == 1
    assert result["ansible_stats"]["data"]["divest_execute"]["digest"] == PLAN["digest"]
    assert os.path.exists(tmp_path / "reports" / "divest-execute.html")
    with pytest.raises(AnsibleActionFail, match="needs the result of fleetsec.divest.plan_gate"):
        fleet.action(action_report, args).run(task_vars=fleet.task_vars())
