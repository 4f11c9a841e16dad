# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the doubles' state library and of their contracts (no ansible-playbook run)."""

from __future__ import annotations

import ast
import pathlib

import pytest
import yaml

import hosts
import winflow

wd = winflow.windouble()
REAL_WINDOWS = winflow.CACHE_COLLECTIONS / "ansible_collections" / "ansible" / "windows" / "plugins" / "modules"
DOUBLE_WINDOWS = winflow.WINDOWS_DOUBLES / "plugins" / "modules"
DOUBLE_FILES = sorted(winflow.DOUBLES.rglob("*.py"))
MODULES = ["win_package", "win_service", "win_regedit", "win_feature", "win_file", "win_command", "win_copy",
           "win_powershell", "win_reboot"]


def docs(path, name="DOCUMENTATION"):
    for node in ast.parse(pathlib.Path(path).read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == name:
            return yaml.safe_load(node.value.value)
    raise AssertionError("%s has no %s" % (path, name))


def option_contract(options):
    return {name: (spec.get("type", "str"), spec.get("elements"), spec.get("choices"), spec.get("default"),
                   sorted(spec.get("aliases") or []))
            for name, spec in (options or {}).items()}


@pytest.mark.parametrize("path", DOUBLE_FILES, ids=[path.name for path in DOUBLE_FILES])
def test_every_double_says_it_is_a_test_double_and_has_documentation(path):
    text = path.read_text(encoding="utf-8")
    assert "TEST DOUBLE" in text.split('"""', 1)[0] or "TEST DOUBLE" in text[:600]
    if "plugins/modules" in str(path) or path.parent.name == "fleetsec":
        if path.name != "__init__.py":
            assert docs(path)["short_description"].startswith("TEST DOUBLE")


@pytest.mark.parametrize("name", MODULES)
def test_double_options_are_the_real_modules(name):
    real = docs(REAL_WINDOWS / ("%s.py" % name))["options"]
    double = docs(DOUBLE_WINDOWS / ("%s.py" % name))["options"]
    assert option_contract(double) == option_contract(real)


def test_inventory_double_options_are_the_real_modules():
    real = docs(winflow.REPO / "plugins" / "modules" / "win_inventory_info.py")["options"]
    double = docs(winflow.FLEETSEC_DOUBLES / "win_inventory_info.py")["options"]
    assert option_contract(double) == option_contract(real)


def test_defender_double_returns_the_documented_keys():
    real = docs(winflow.REPO / "plugins" / "modules" / "win_defender_info.py", "RETURN")
    info = wd.defender_info(hosts.workstation_kes_agent())
    assert set(info) == set(real)
    for key, spec in real.items():
        if isinstance(info[key], dict) and "contains" in spec:
            assert set(info[key]) == set(spec["contains"]), key


@pytest.fixture(scope="module")
def catalogs():
    from ansible_collections.fleetsec.divest.plugins.plugin_utils import _catalog
    return [_catalog.load_catalog(str(winflow.REPO / "catalog" / "kaspersky.yml"))]


BUILDERS = {
    "workstation": lambda: hosts.workstation_kes_agent(password_protected=True, agent_password="x"),
    "workstation11": lambda: hosts.workstation_kes_agent(build=22631),
    "server2019": hosts.server_ksws_agent,
    "server2016-no-feature": lambda: hosts.server_ksws_agent(feature_installed=False, build=14393),
    "clean": hosts.clean_workstation,
}


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_inventory_view_passes_the_collector_contract(name, catalogs):
    pytest.importorskip("tree_sitter")
    pytest.importorskip("tree_sitter_powershell")
    from ansible_collections.fleetsec.divest.plugins.plugin_utils import _matcher
    from ansible_collections.fleetsec.divest.tests.unit.plugins.modules import win_inventory_contract as contract
    emitted = contract.collector_contract()
    inventory = wd.inventory(BUILDERS[name](), _matcher.build_query(catalogs, "windows"))
    assert set(inventory) == set(emitted.top_level)
    assert set(inventory["platform"]) == set(emitted.platform)
    for section, keys in emitted.sections.items():
        for item in inventory[section]:
            assert set(item) == set(keys), section
    assert inventory["platform"]["build"].isdigit()


def test_matcher_reads_the_double_inventories(catalogs):
    from ansible_collections.fleetsec.divest.plugins.plugin_utils import _matcher
    query = _matcher.build_query(catalogs, "windows")
    found = {}
    for name, build in BUILDERS.items():
        facts = _matcher.match(wd.inventory(build(), query), catalogs)
        found[name] = sorted({finding["product"] for finding in facts["findings"]})
    assert "kes" in found["workstation"] and "ksws" in found["server2019"]
    assert found["clean"] == []


def test_inventory_honours_the_options():
    state = hosts.workstation_kes_agent()
    inventory = wd.inventory(state, {"display_names": ["kaspersky endpoint security for windows"], "services": ["re:AVP.*"],
                                     "paths": ["%ProgramFiles(x86)%\\Kaspersky Lab\\KES*"],
                                     "registry_keys": ["HKLM:\\SYSTEM\\CurrentControlSet\\Services\\kl*"]})
    assert [entry["key"] for entry in inventory["uninstall"]] == [hosts.KES_CODE]
    assert [service["Name"] for service in inventory["services"]] == ["AVP21.18"]
    assert [path["path"] for path in inventory["paths"]] == ["C:\\Program Files (x86)\\Kaspersky Lab\\KES"]
    assert inventory["paths"][0]["pattern"] == "%ProgramFiles(x86)%\\Kaspersky Lab\\KES*"
    assert "HKLM:\\SYSTEM\\CurrentControlSet\\Services\\klif" in [key["path"] for key in inventory["registry_keys"]]
    assert inventory["drivers"] == [] and inventory["processes"] == []
    by_publisher = wd.inventory(state, {"publishers": ["kaspersky"]})
    assert len(by_publisher["uninstall"]) == 2
    server = wd.inventory(hosts.server_ksws_agent(), {"security_center": ["re:.*"]})
    assert server["skipped"][0]["section"] == "security_center" and server["security_center"] == []


def test_defender_takes_over_at_once_when_no_reboot_is_needed():
    state = hosts.workstation_kes_agent()
    state["products"][hosts.KES_CODE]["reboot"] = False
    assert wd.defender_status(state)["AMRunningMode"] == "Not running"
    wd.remove_product(state, hosts.KES_CODE)
    assert wd.defender_status(state)["AMRunningMode"] == "Normal"


@pytest.mark.parametrize("blocker", ["fault", "policy", "service"])
def test_defender_stays_off_after_the_reboot_when_something_blocks_it(blocker):
    state = hosts.workstation_kes_agent(faults=["defender_stays_disabled"] if blocker == "fault" else None)
    if blocker == "policy":
        state["registry"][wd.POLICY_KEYS["DisableAntiSpyware"]] = {"DisableAntiSpyware": {"type": "dword", "data": 1}}
    if blocker == "service":
        state["services"]["WinDefend"]["StartMode"] = "Disabled"
    wd.remove_product(state, hosts.KES_CODE)
    wd.reboot(state)
    status = wd.defender_status(state)
    assert status is None or status["AntivirusEnabled"] is False
    assert wd.security_center_rows(state)[-1]["productState"] == wd.SC_DISABLED


def test_server_passive_mode_by_policy():
    info = wd.defender_info(hosts.server_ksws_agent(passive=True))
    assert info["status"]["AMRunningMode"] == "Passive Mode" and info["policy"]["ForceDefenderPassiveMode"] == 1
    assert info["feature"] == {"name": "Windows-Defender", "installed": True} and info["security_center"] is None
    assert wd.defender_info(hosts.server_ksws_agent(build=14393))["feature"]["name"] == "Windows-Defender-Features"


def test_redaction_keeps_the_text_and_hides_the_passwords():
    args = {"arguments": "KLLOGIN=KLAdmin KLPASSWD=\"a b\" KLUNINSTPASSWD=6100 REBOOT=ReallySuppress",
            "url_password": "secret", "product_id": "{X}"}
    clean = wd.redact(args)
    assert clean["arguments"] == "KLLOGIN=KLAdmin KLPASSWD=******** KLUNINSTPASSWD=******** REBOOT=ReallySuppress"
    assert clean["url_password"] == "********" and clean["product_id"] == "{X}"


def test_states_round_trip(tmp_path):
    winflow.write_states(tmp_path, {"h1": hosts.clean_workstation()})
    with wd.locked_state(str(tmp_path), "h1") as state:
        state["faults"]["tamper_protected"] = True
    assert winflow.read_state(tmp_path, "h1")["faults"] == {"tamper_protected": True}
    assert sorted(path.name for path in tmp_path.iterdir()) == ["h1.json", "h1.json.lock"]
