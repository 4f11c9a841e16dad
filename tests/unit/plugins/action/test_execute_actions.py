# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The controller-side actions of execute: plan_gate (over a real inventory and a jsonfile fact
cache), execute_outcome (plain facts) and the report action's execute phase."""

from __future__ import annotations

import json
import os
from unittest.mock import MagicMock

import pytest
import yaml

from ansible import constants as C
from ansible.errors import AnsibleActionFail
from ansible.inventory.manager import InventoryManager
from ansible.parsing.dataloader import DataLoader
from ansible.playbook.task import Task
from ansible.plugins.loader import cache_loader
from ansible.vars.hostvars import HostVars
from ansible.vars.manager import VariableManager

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


class Fleet(object):
    def __init__(self, tmp_path, monkeypatch, cached=None):
        monkeypatch.setattr(C, "CACHE_PLUGIN", "jsonfile")
        monkeypatch.setenv("ANSIBLE_CACHE_PLUGIN", "jsonfile")
        monkeypatch.setenv("ANSIBLE_CACHE_PLUGIN_CONNECTION", str(tmp_path / "facts"))
        monkeypatch.setenv("ANSIBLE_CACHE_PLUGIN_TIMEOUT", "0")
        seed = cache_loader.get("jsonfile")
        for name, value in (cached or {}).items():
            seed.set(name, value)
        (tmp_path / "inventory.yml").write_text(yaml.safe_dump(INVENTORY))
        self.loader = DataLoader()
        self.inventory = InventoryManager(loader=self.loader, sources=[str(tmp_path / "inventory.yml")])
        self.vm = VariableManager(loader=self.loader, inventory=self.inventory)
        self.hostvars = HostVars(inventory=self.inventory, variable_manager=self.vm, loader=self.loader)

    def task_vars(self, **extra):
        groups = {n: [h.name for h in g.get_hosts()] for n, g in self.inventory.groups.items()}
        return dict({"hostvars": self.hostvars, "groups": groups}, **extra)


def make(module, args, action, check_mode=False):
    task = MagicMock(Task)
    task.args = args
    task.action = action
    task.async_val = 0
    task.check_mode = check_mode
    task.diff = False
    task.run_once = True
    connection = MagicMock()
    connection._shell.tmpdir = None
    obj = module.ActionModule(task, connection, MagicMock(), loader=None, templar=None, shared_loader_obj=None)
    obj._load_name = action
    return obj


def gate(fleet, **args):
    return make(action_gate, args, "fleetsec.divest.plan_gate").run(task_vars=fleet.task_vars())


@pytest.fixture
def plan_file(tmp_path):
    path = tmp_path / "divest-plan.json"
    path.write_text(json.dumps(PLAN))
    return path


def test_gate_from_the_plan_file(tmp_path, monkeypatch, plan_file):
    fleet = Fleet(tmp_path, monkeypatch)
    result = gate(fleet, digest=PLAN["digest"], path=str(plan_file))
    assert result["source"] == "file" and result["digest"] == PLAN["digest"]
    assert result["order"] == ["web1", "web2", "web3"] and result["serial"] == [1, 2]
    assert result["not_in_plan"] == [{"host": "db1", "reason": "clean when the plan was made"},
                                     {"host": "new1", "reason": "not in the plan"}]
    assert result["msg"].startswith("plan %s approved: 3 host(s) to work on in 2 wave(s) (canary: 1, wave-1: 2)"
                                    % PLAN["digest"])
    assert len(result["run_id"]) == 12 and result["changed"] is False


def test_gate_pattern_narrows_the_run(tmp_path, monkeypatch, plan_file):
    # the canary web1 has an outcome of this plan: its wave is done
    fleet = Fleet(tmp_path, monkeypatch, {"web1": {"divest_outcome": {"status": "removed", "digest": PLAN["digest"],
                                                                      "check_mode": False}}})
    result = gate(fleet, digest=PLAN["digest"], path=str(plan_file), pattern="web2:web3")
    assert result["order"] == ["web2", "web3"] and result["not_targeted"] == ["web1"]
    assert "1 host(s) of the plan are not targeted by this run" in result["msg"]


@pytest.mark.parametrize("limit", [None, "web2:web3:localhost"])
def test_gate_refuses_to_jump_an_unfinished_canary(tmp_path, monkeypatch, plan_file, limit):
    fleet = Fleet(tmp_path, monkeypatch)
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
def test_gate_refuses_with_one_message(tmp_path, monkeypatch, plan_file, digest, edit, fragment):
    if edit:
        doc = json.loads(plan_file.read_text())
        edit(doc)
        plan_file.write_text(json.dumps(doc))
    with pytest.raises(AnsibleActionFail) as info:
        gate(Fleet(tmp_path, monkeypatch), digest=digest, path=str(plan_file))
    assert fragment in str(info.value) and "Nothing was done" in str(info.value)


def test_gate_from_the_fact_cache(tmp_path, monkeypatch):
    cached = {name: {"divest_plan": _planner.host_part(PLAN, name)} for name in PLAN["hosts"]}
    cached["web3"] = {"divest_plan": dict(cached["web3"], digest="sha256:" + "c" * 64)}
    fleet = Fleet(tmp_path, monkeypatch, cached)
    result = gate(fleet, digest=PLAN["digest"], path=str(tmp_path / "missing.json"))
    assert result["source"] == "facts" and result["order"] == ["web1", "web2"] and result["serial"] == [1, 1]
    assert {i["host"]: i["reason"] for i in result["not_in_plan"]}["web3"].startswith("its stored plan part is from another plan")
    with pytest.raises(AnsibleActionFail, match="no host of 'all' carries a plan part with the approved digest"):
        gate(fleet, digest="sha256:" + "d" * 64, source="facts")


def test_gate_refuses_a_part_edited_in_the_fact_cache(tmp_path, monkeypatch):
    cached = {name: {"divest_plan": _planner.host_part(PLAN, name)} for name in PLAN["hosts"]}
    part = json.loads(json.dumps(cached["web2"]["divest_plan"]))
    next(a for a in part["actions"] if a["action"] == "remove")["removal"]["packages"].append("openssh-server")
    cached["web2"] = {"divest_plan": part}
    fleet = Fleet(tmp_path, monkeypatch, cached)
    with pytest.raises(AnsibleActionFail) as info:
        gate(fleet, digest=PLAN["digest"], source="facts")
    assert "web2 (its content does not match the approved digest" in str(info.value)
    assert "Nothing was done" in str(info.value)
    # limited to web1 alone, the edited part of another host still stops the run: the cache is not trusted
    fleet.inventory.subset("web1:localhost")
    with pytest.raises(AnsibleActionFail, match="web2"):
        gate(fleet, digest=PLAN["digest"], source="facts")


def test_execute_outcome_events_store_plain_facts_and_not_in_check_mode():
    part = {"wave": "canary", "platform": "linux", "replacement": "clamav", "blockers": [],
            "expect": [{"vendor": "kaspersky", "product": "kesl", "version": "12.1.0.1508", "state": "installed"}]}
    gate_info = {"digest": PLAN["digest"], "run_id": "abc"}
    start = make(action_outcome, {"event": "start", "part": part, "gate": gate_info}, "x").run(task_vars={})
    out = start["ansible_facts"]["divest_outcome"]
    assert out["status"] == "running" and out["history"][0]["status"] == "running"
    json.dumps(out)
    scan = {"changed": False, "ansible_facts": {"divest": facts("affected", [finding()])}}
    scanned = make(action_outcome, {"event": "scanned", "state": start["state"], "result": scan}, "x").run(task_vars={})
    assert scanned["mode"] == "act"
    # a step result from a host that is gone fails the task: the rescue tells it from a failure
    lost = {"unreachable": True, "msg": "Failed to connect"}
    with pytest.raises(AnsibleActionFail, match="lost contact with the host during re-identify"):
        make(action_outcome, {"event": "scanned", "state": start["state"], "result": lost}, "x").run(task_vars={})
    with pytest.raises(AnsibleActionFail, match="lost contact"):
        make(action_outcome, {"event": "changed", "state": scanned["state"], "step": "cleanup",
                              "results": [{"changed": True}, lost]}, "x").run(task_vars={})
    with pytest.raises(AnsibleActionFail, match="needs the state"):
        make(action_outcome, {"event": "finish"}, "x").run(task_vars={})
    # check mode: the same decisions, no fact
    dry = make(action_outcome, {"event": "start", "part": part, "gate": gate_info}, "x", check_mode=True).run(task_vars={})
    assert "ansible_facts" not in dry and dry["outcome"]["check_mode"] is True and dry["outcome"]["history"] == []


def test_report_execute_phase_reads_outcomes_from_the_fact_cache(tmp_path, monkeypatch, plan_file):
    fleet = Fleet(tmp_path, monkeypatch)
    the_gate = gate(fleet, digest=PLAN["digest"], path=str(plan_file))
    fleet.vm.set_host_facts("web1", {"divest_outcome": {"status": "removed", "digest": PLAN["digest"],
                                                        "run_id": the_gate["run_id"], "removed": []},
                                     "divest": facts("clean")})
    fleet.vm.set_nonpersistent_facts("web2", {"divest_outcome": {"status": "failed", "reason": "replacement: x",
                                                                 "digest": PLAN["digest"], "run_id": the_gate["run_id"]}})
    args = {"phase": "execute", "dest": str(tmp_path / "reports"), "stats": "divest_execute"}
    result = make(action_report, args, "fleetsec.divest.report").run(task_vars=fleet.task_vars(divest_gate=the_gate))
    doc = json.loads((tmp_path / "reports" / "divest-execute.json").read_text())
    assert {h["name"]: h["status"] for h in doc["hosts"]} == {"web1": "removed", "web2": "failed",
                                                              "web3": "not_started"}
    assert result["summary"]["status"]["removed"] == 1
    assert result["ansible_stats"]["data"]["divest_execute"]["digest"] == PLAN["digest"]
    assert os.path.exists(tmp_path / "reports" / "divest-execute.html")
    with pytest.raises(AnsibleActionFail, match="needs the result of fleetsec.divest.plan_gate"):
        make(action_report, args, "fleetsec.divest.report").run(task_vars=fleet.task_vars())
