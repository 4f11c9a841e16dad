# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Smoke test of the Windows test doubles at playbook level (playbooks/doubles_smoke.yml).

One ansible-playbook run on three local-connection "Windows hosts": a password-protected KES
workstation with a Network Agent that first answers 1618, a Server 2019 without the Defender
feature, and a workstation lost on reboot. The assertions are what a real host would show.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess

import pytest

import hosts
import winflow

KES_PASSWORD = "Sup3r-Secret!"
AGENT_PASSWORD = "Ag3nt-Pa55"


@pytest.fixture(scope="module")
def catalogs():
    from ansible_collections.fleetsec.divest.plugins.plugin_utils import _catalog
    return [_catalog.load_catalog(str(winflow.REPO / "catalog" / "kaspersky.yml"))]


@pytest.fixture(scope="module")
def query(catalogs):
    from ansible_collections.fleetsec.divest.plugins.plugin_utils import _matcher
    return _matcher.build_query(catalogs, "windows")


@pytest.fixture(scope="module")
def smoke(tmp_path_factory, query):
    if not winflow.ANSIBLE_PLAYBOOK.exists():
        pytest.skip("no .venv with ansible-core")
    tmp = tmp_path_factory.mktemp("windoubles")
    collections = winflow.build_collections(tmp / "collections")
    workstation = hosts.workstation_kes_agent(password_protected=True, agent_password=AGENT_PASSWORD)
    workstation["products"][hosts.AGENT_CODE_WS]["exit_codes"] = [1618, 1618, 0]
    lost = hosts.with_link(hosts.workstation_kes_agent(faults=["lost_on_reboot"]),
                           "C:\\ProgramData\\Kaspersky Lab\\KES.12.6\\Quarantine", "D:\\Data\\Quarantine")
    states = {"ws1": workstation, "srv1": hosts.server_ksws_agent(feature_installed=False), "lost1": lost}
    state_dir = tmp / "state"
    winflow.write_states(state_dir, states)
    inventory = winflow.write_inventory(tmp / "inventory.yml", {"workstations": ["ws1"], "servers": ["srv1"], "lost": ["lost1"]})
    out = tmp / "out"
    out.mkdir()
    run = winflow.run_playbook("doubles_smoke.yml", inventory, collections=collections, state_dir=state_dir, work_dir=tmp,
                               extra_vars={
                                   "smoke_query": query, "smoke_out": str(out), "kes_code": hosts.KES_CODE,
                                   "agent_code": hosts.AGENT_CODE_WS, "ksws_code": hosts.KSWS_CODE,
                                   "kes_password": KES_PASSWORD,
                                   "agent_password_hex": hosts.uninstall_password_hex(AGENT_PASSWORD)})
    results = {host: json.loads((out / ("%s.json" % host)).read_text()) for host in states if (out / ("%s.json" % host)).exists()}
    return {"run": run, "results": results, "state_dir": state_dir, "collections": collections, "tmp": tmp}


def state(smoke, host):
    return winflow.read_state(smoke["state_dir"], host)


def test_the_playbook_runs(smoke):
    assert smoke["run"]["rc"] == 0, smoke["run"]["stdout"][-4000:] + smoke["run"]["stderr"][-2000:]
    assert set(smoke["results"]) == {"ws1", "srv1", "lost1"}


def test_without_the_password_msiexec_fails_with_1603_and_its_log(smoke):
    failed = smoke["results"]["ws1"]["kes_no_password"]
    assert failed["failed"] is True and failed["rc"] == 1603
    assert failed["msg"].startswith("unexpected rc from '\"C:\\Windows\\System32\\msiexec.exe\" /x %s /L*V " % hosts.KES_CODE)
    assert failed["msg"].endswith("': see rc, stdout, and stderr for more details")
    assert "Return value 3." in failed["log"] and "Error 27300" in failed["log"]
    assert state(smoke, "ws1")["files"]["C:\\Windows\\Temp\\divest-kes.log"] == failed["log"]


def test_check_mode_reports_the_change_and_makes_none(smoke):
    result = smoke["results"]["ws1"]["kes_check"]
    assert result["changed"] is True and result["rc"] == 0
    calls = [call for call in state(smoke, "ws1")["calls"] if call["check_mode"]]
    assert [call["module"] for call in calls] == ["ansible.windows.win_package"]


def test_with_the_password_kes_goes_and_asks_for_a_reboot(smoke):
    removed = smoke["results"]["ws1"]["kes_removed"]
    assert removed["rc"] == 3010 and removed["reboot_required"] is True and removed["changed"] is True
    again = smoke["results"]["ws1"]["kes_again"]
    assert again["changed"] is False and again["rc"] == 0


def test_the_password_is_recorded_redacted_with_a_hash_of_the_raw_arguments(smoke):
    text = (smoke["state_dir"] / "ws1.json").read_text()
    assert KES_PASSWORD not in text and hosts.uninstall_password_hex(AGENT_PASSWORD) not in text
    packages = [call for call in state(smoke, "ws1")["calls"] if call["module"] == "ansible.windows.win_package"]
    kes = [call for call in packages if "KLPASSWD" in (call["args"]["arguments"] or "")]
    assert kes[0]["args"]["arguments"] == "KLLOGIN=KLAdmin KLPASSWD=******** REBOOT=ReallySuppress"
    raw = "KLLOGIN=KLAdmin KLPASSWD=%s REBOOT=ReallySuppress" % KES_PASSWORD
    assert kes[0]["arguments_sha256"] == hashlib.sha256(raw.encode()).hexdigest()
    agent = [call for call in packages if "KLUNINSTPASSWD" in (call["args"]["arguments"] or "")]
    assert [call["result"]["rc"] for call in agent] == [1618, 1618, 0]
    raw = "KLUNINSTPASSWD=%s" % hosts.uninstall_password_hex(AGENT_PASSWORD)
    assert agent[-1]["arguments_sha256"] == hashlib.sha256(raw.encode()).hexdigest()


def test_the_agent_succeeds_after_two_1618(smoke):
    agent = smoke["results"]["ws1"]["agent_removed"]
    assert agent["attempts"] == 3 and agent["rc"] == 0 and agent["reboot_required"] is False


def test_the_host_after_removal_and_reboot(smoke):
    host = state(smoke, "ws1")
    assert list(host["products"]) == [hosts.SEVENZIP_CODE]
    assert list(host["services"]) == ["WinDefend"]
    assert host["drivers"] == {} and host["processes"] == []
    assert host["reboot_pending"] is False and host["boot_count"] == 1
    # The residue stays for the cleanup step.
    assert "C:\\ProgramData\\Kaspersky Lab\\KES.12.6" in host["paths"]
    assert "C:\\ProgramData\\KasperskyLab\\adminkit" in host["paths"]
    assert "C:\\Program Files (x86)\\Kaspersky Lab\\KES" not in host["paths"]
    assert "HKLM:\\SOFTWARE\\WOW6432Node\\KasperskyLab\\protected\\KES" in host["registry"]
    assert "HKLM:\\SYSTEM\\CurrentControlSet\\Services\\klif" not in host["registry"]


def test_defender_is_disabled_with_kes_and_takes_over_after_the_reboot(smoke):
    results = smoke["results"]["ws1"]
    before, pending, after = results["defender_before"], results["defender_pending"], results["defender_after"]
    assert before["status"]["AntivirusEnabled"] is False and before["status"]["AMRunningMode"] == "Not running"
    assert {"name": "Kaspersky Endpoint Security for Windows", "product_state": 266240} in before["security_center"]
    assert pending["reboot_pending"] == {"pending": True, "sources": ["pending_file_rename_operations"]}
    assert pending["status"]["AntivirusEnabled"] is False  # KES needed a reboot: Defender waits for it
    assert [row["name"] for row in pending["security_center"]] == ["Windows Defender"]
    status = after["status"]
    assert (status["AMServiceEnabled"], status["AntivirusEnabled"], status["RealTimeProtectionEnabled"]) == (True, True, True)
    assert status["AMRunningMode"] == "Normal" and after["reboot_pending"]["pending"] is False
    assert after["security_center"] == [{"name": "Windows Defender", "product_state": 397584}]  # signatures 45 days old
    assert set(after) == {"os", "feature", "service", "status", "policy", "security_center", "reboot_pending", "errors",
                          "changed", "failed"}
    assert after["feature"] == {"name": None, "installed": None}


def test_realtime_eicar_and_signatures(smoke):
    results = smoke["results"]["ws1"]
    assert results["realtime"]["error"] == [] and results["realtime"]["result"] == {"RealTimeProtectionEnabled": True}
    assert set(results["realtime"]) >= {"output", "error", "host_out", "host_err", "result", "changed", "warning",
                                        "verbose", "debug", "information"}
    assert results["eicar"]["result"]["detected"] is True
    assert results["signatures"]["rc"] == 0
    assert state(smoke, "ws1")["defender"]["signature_age"] == 0


def test_server_gets_the_feature_at_reboot(smoke):
    results = smoke["results"]["srv1"]
    before, after = results["defender_before"], results["defender_after"]
    assert before["feature"] == {"name": "Windows-Defender", "installed": False} and before["status"] is None
    assert before["service"]["exists"] is False and before["security_center"] is None
    assert results["feature"]["reboot_required"] is True and results["feature"]["exitcode"] == "SuccessRestartRequired"
    assert results["ksws_removed"]["rc"] == 3010
    assert after["feature"]["installed"] is True and after["service"]["state"] == "running"
    assert after["status"]["AMRunningMode"] == "Normal" and after["security_center"] is None
    assert state(smoke, "srv1")["features"]["Windows-Defender"] == "installed"


def test_lost_on_reboot_fails_with_the_real_message(smoke):
    results = smoke["results"]["lost1"]
    assert results["rebooted"]["failed"] is True
    assert results["rebooted"]["msg"] == "Timed out waiting for last boot time check (timeout=600)"
    assert "Install-WindowsFeature" in results["client_feature"]["msg"]


def test_a_link_target_is_never_deleted(smoke):
    results = smoke["results"]["lost1"]
    assert results["folder_with_link"]["changed"] is True
    assert results["link_target"]["failed"] is True and "DOUBLE VIOLATION" in results["link_target"]["msg"]
    host = state(smoke, "lost1")
    assert host["links"] == {} and "D:\\Data\\Quarantine" in host["paths"]
    assert host["violations"] == [{"path": "D:\\Data\\Quarantine", "link": "C:\\ProgramData\\Kaspersky Lab\\KES.12.6\\Quarantine",
                                   "target": "D:\\Data\\Quarantine"}]


def test_the_inventories_pass_the_collector_contract(smoke):
    pytest.importorskip("tree_sitter")
    pytest.importorskip("tree_sitter_powershell")
    from ansible_collections.fleetsec.divest.tests.unit.plugins.modules import win_inventory_contract as contract
    emitted = contract.collector_contract()
    for host, key in (("ws1", "inventory_before"), ("ws1", "inventory_after"), ("srv1", "inventory_after")):
        inventory = smoke["results"][host][key]["inventory"]
        assert set(inventory) == set(emitted.top_level)
        assert set(inventory["platform"]) == set(emitted.platform)
        for section, keys in emitted.sections.items():
            for item in inventory[section]:
                assert set(item) == set(keys), (host, key, section)


def test_the_matcher_finds_the_products_in_the_double_inventory(smoke, catalogs):
    from ansible_collections.fleetsec.divest.plugins.plugin_utils import _matcher
    facts = _matcher.match(smoke["results"]["ws1"]["inventory_before"]["inventory"], catalogs)
    found = {finding["product"] for finding in facts["findings"]}
    assert {"kes", "ksc-agent"} <= found or {"kes"} <= found, facts["findings"]


def test_ansible_doc_shows_the_double(smoke):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=smoke["collections"], ANSIBLE_HOME=str(smoke["tmp"] / "ansible-home"),
               ANSIBLE_NOCOLOR="1")
    doc = subprocess.run([str(winflow.VENV / "ansible-doc"), "ansible.windows.win_package"], env=env,
                         capture_output=True, text=True, timeout=120, check=False)
    assert doc.returncode == 0, doc.stderr
    assert "Test double, never shipped" in doc.stdout
    assert str(winflow.WINDOWS_DOUBLES / "plugins" / "modules" / "win_package.py") in doc.stdout
