# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The vendor_facts action: one collector round trip per host, the platform picked from the
connection's shell, the same matcher for Linux and Windows."""

from __future__ import annotations

import json
import pathlib

import pytest

from ansible.errors import AnsibleActionFail

from ansible_collections.fleetsec.divest.plugins.action import vendor_facts as action_vendor_facts

FIXTURES = pathlib.Path(__file__).resolve().parents[2] / "fixtures" / "windows"

LINUX_INVENTORY = {
    "schema": 1, "platform": {"system": "Linux", "distribution": "debian", "version": "12"},
    "root": "/", "live": True, "skipped": [], "errors": [],
    "packages": [{"name": "kesl", "version": "12.1.0-1508", "arch": "amd64", "manager": "dpkg",
                  "status": "installed", "maintainer": "AO Kaspersky Lab"}],
    "units": [], "processes": [], "kernel_modules": [], "paths": [], "repos": [],
}


@pytest.fixture
def run(make_action):
    """``run(args, shell_family="sh", collected=None, check_mode=False)``: run the action on a host
    whose collector returns ``collected``; return (result, the collector calls)."""
    def run(args, shell_family="sh", collected=None, check_mode=False):
        action = make_action(action_vendor_facts, args, check_mode=check_mode, shell_family=shell_family)
        calls = []

        def execute_module(module_name=None, module_args=None, task_vars=None, **kwargs):
            calls.append((module_name, dict(module_args)))
            return collected if collected is not None else {"changed": False, "inventory": LINUX_INVENTORY}

        action._execute_module = execute_module
        return action.run(task_vars={}), calls
    return run


def test_linux_host_runs_the_python_collector_once(run):
    result, calls = run({})
    assert [name for name, dummy in calls] == ["fleetsec.divest.linux_inventory_info"]
    query = calls[0][1]
    assert "kesl" in query["packages"] and "kesl-supervisor" in query["units"]
    assert "display_names" not in query
    facts = result["ansible_facts"]["divest"]
    assert (facts["status"], [f["product"] for f in facts["findings"]]) == ("affected", ["kesl"])
    assert result["changed"] is False and "inventory" not in result


def test_windows_host_runs_the_powershell_collector_with_the_same_matcher(run):
    inventory = json.loads((FIXTURES / "01-win10-kes12-agent.json").read_text(encoding="utf-8"))
    result, calls = run({}, shell_family="powershell", collected={"changed": False, "inventory": inventory})
    assert [name for name, dummy in calls] == ["fleetsec.divest.win_inventory_info"]
    query = calls[0][1]
    assert {"display_names", "publishers", "services", "drivers", "registry_keys"} <= set(query)
    assert "packages" not in query and "root" not in query
    facts = result["ansible_facts"]["divest"]
    assert facts["platform"]["system"] == "Windows"
    assert [f["product"] for f in facts["findings"]] == ["kes", "klnagent-win"]


def test_root_is_passed_to_the_linux_collector_and_refused_on_windows(run):
    dummy, calls = run({"root": "/mnt/image"})
    assert calls[0][1]["root"] == "/mnt/image"
    with pytest.raises(AnsibleActionFail, match="Linux hosts only"):
        run({"root": "/mnt/image"}, shell_family="powershell")


def test_return_inventory_hands_back_the_raw_inventory(run):
    result, dummy = run({"return_inventory": True})
    assert result["inventory"] == LINUX_INVENTORY
    assert "inventory" not in result["ansible_facts"]["divest"]


def test_a_failing_collector_fails_the_task_with_its_message(run):
    result, dummy = run({}, collected={"failed": True, "msg": "root: /mnt/x does not exist"})
    assert result["failed"] is True and "does not exist" in result["msg"]
    assert "ansible_facts" not in result


def test_an_inventory_that_breaks_the_contract_is_refused(run):
    with pytest.raises(AnsibleActionFail, match="unusable inventory"):
        run({}, collected={"inventory": {"platform": {"system": "Plan9"}}})


def test_a_broken_catalog_stops_the_run_before_any_host_is_contacted(tmp_path, run):
    bad = tmp_path / "bad.yml"
    bad.write_text("schema: 1\nvendor: acme\nproducts: []\n")
    with pytest.raises(AnsibleActionFail, match="catalog error: .*products"):
        run({"catalogs": [str(bad)]})


def test_check_mode_returns_real_findings(run):
    result, dummy = run({}, check_mode=True)
    assert result["ansible_facts"]["divest"]["status"] == "affected"
