# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Static checks of win_defender_info.ps1 (no PowerShell runtime here): it parses with
tree-sitter-powershell, is a read-only Ansible.Basic module supporting check mode, puts a time
limit on every CIM query, and returns exactly the keys of the contract the role, the filter and
the test doubles share."""

from __future__ import annotations

import ast
import re

import pytest
import yaml

pytest.importorskip("tree_sitter", reason="tree-sitter is in tests/requirements.txt")
pytest.importorskip("tree_sitter_powershell", reason="tree-sitter-powershell is in tests/requirements.txt")

from ansible_collections.fleetsec.divest.tests.unit.plugins.modules import win_inventory_contract as contract  # noqa: E402

MODULE = contract.REPO / "plugins" / "modules" / "win_defender_info.ps1"
SOURCE = MODULE.read_text(encoding="utf-8")

#: The contract shared with the role, the defender_assess filter and the test doubles.
CONTRACT = {
    "os": {"server", "build", "product_type", "multi_session"},
    "feature": {"name", "installed"},
    "service": {"name", "exists", "start_mode", "state"},
    "status": {"AMServiceEnabled", "AntivirusEnabled", "RealTimeProtectionEnabled", "AMRunningMode",
               "AntivirusSignatureAge", "AntivirusSignatureVersion", "AntivirusSignatureLastUpdated",
               "DefenderSignaturesOutOfDate", "IsTamperProtected", "AMProductVersion"},
    "policy": {"ForceDefenderPassiveMode", "DisableAntiSpyware", "DisableRealtimeMonitoring"},
    "security_center": {"name", "product_state"},
    "reboot_pending": {"pending", "sources"},
    "errors": {"section", "message"},
}


def _hash_keys(node):
    return {key for key, _value in contract.hash_entries(node)}


def _ordered_hashes(source):
    """Every [Ordered]@{...} literal of the source, as (keys, node)."""
    tree = contract.parse(source)
    found = []
    for node in contract.walk(tree.root_node):
        if node.type == "hash_literal_expression":
            found.append((_hash_keys(node), node))
    return found


def test_parses_without_errors():
    assert contract.syntax_problems(SOURCE, "win_defender_info.ps1") == []


def test_a_damaged_copy_is_caught():
    damaged = SOURCE.replace("    catch {\n", "    catch (\n", 1)
    assert contract.syntax_problems(damaged, "win_defender_info.ps1")


def test_read_only_module_with_check_mode():
    spec = contract.module_spec(MODULE.read_bytes())
    assert spec == {"options": {}, "supports_check_mode": True}
    lines = SOURCE.splitlines()
    assert lines[0] == "#!powershell"
    assert "#AnsibleRequires -CSharpUtil Ansible.Basic" in lines
    assert "Set-StrictMode -Version 2.0" in lines
    body = "\n".join(line for line in lines if not line.lstrip().startswith("#"))
    for verb in ("Set-", "Remove-", "New-Item", "Start-", "Stop-", "Install-", "Uninstall-", "Invoke-Expression",
                 "DeleteSubKey", "DeleteValue", "CreateSubKey", "SetValue", "Restart-", "Update-Mp", "MpCmdRun"):
        assert verb not in body.replace("Set-StrictMode", ""), verb
    assert "OpenSubKey($SubKey, $false)" in SOURCE  # registry keys opened read-only


def test_every_cim_query_has_a_time_limit():
    tree = contract.parse(SOURCE)
    calls = [node for node in contract.walk(tree.root_node)
             if node.type == "command" and contract.text(contract.named(node)[0]).lower() == "get-ciminstance"]
    assert calls
    for call in calls:
        assert "-operationtimeoutsec" in contract._command_arguments(call), contract.text(call)
    assert "Get-WmiObject" not in SOURCE and "gwmi" not in SOURCE.lower()


def test_every_section_runs_in_its_own_try():
    sections = re.findall(r"Invoke-DefenderSection -Section '(\w+)'", SOURCE)
    assert sections == ["os", "feature", "service", "status", "policy", "security_center", "reboot_pending"]
    invoke = SOURCE[SOURCE.index("Function Invoke-DefenderSection"):SOURCE.index("Function Get-DefenderCimInstance")]
    assert "try {" in invoke and "catch {" in invoke and "$info.errors.Add(" in invoke


def test_returns_exactly_the_contract():
    hashes = _ordered_hashes(SOURCE)
    top = [keys for keys, _node in hashes if "reboot_pending" in keys]
    assert top == [set(CONTRACT) | {"status", "security_center"}]
    for section, keys in CONTRACT.items():
        if section == "errors":
            assert any(found == keys for found, _node in hashes), section
            continue
        assert any(found == keys for found, _node in hashes), "%s: no literal with %s" % (section, sorted(keys))
    assert "$module.Result[$name] = $info[$name]" in SOURCE


def test_feature_names_by_build():
    feature = SOURCE[SOURCE.index("Function Get-DefenderFeature"):SOURCE.index("Function Get-DefenderService")]
    assert "'Windows-Defender'" in feature and "'Windows-Defender-Features'" in feature
    assert "-eq 14393" in feature
    assert "$info.os.server -ne $true" in feature  # clients: name and installed stay null


def test_documentation_lists_the_contract():
    stub = MODULE.with_suffix(".py")
    tree = ast.parse(stub.read_text(encoding="utf-8"))
    docs = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            docs[node.targets[0].id] = yaml.safe_load(ast.literal_eval(node.value))
    returned = docs["RETURN"]
    assert set(returned) == set(CONTRACT)
    for section in ("os", "feature", "service", "status", "policy", "reboot_pending"):
        assert set(returned[section]["contains"]) == CONTRACT[section], section
    assert docs["DOCUMENTATION"]["attributes"]["check_mode"]["support"] == "full"
