# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tables of Microsoft Defender states, recorded as win_defender_info returns them, and what the
defender role's verdict says about each: healthy or not, the reason a user reads, the steps."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.fleetsec.divest.plugins.plugin_utils import _defender
from ansible_collections.fleetsec.divest.plugins.filter.defender import defender_assess


def state(**changes):
    """A Windows 11 workstation where Defender protects the host; ``changes`` by 'section.key'."""
    info = {
        "changed": False,
        "os": {"server": False, "build": 22631, "product_type": 1, "multi_session": False},
        "feature": {"name": None, "installed": None},
        "service": {"name": "WinDefend", "exists": True, "start_mode": "auto", "state": "running"},
        "status": {
            "AMServiceEnabled": True, "AntivirusEnabled": True, "RealTimeProtectionEnabled": True,
            "AMRunningMode": "Normal", "AntivirusSignatureAge": 0, "AntivirusSignatureVersion": "1.421.1544.0",
            "AntivirusSignatureLastUpdated": "2026-11-27T06:12:40Z", "DefenderSignaturesOutOfDate": False,
            "IsTamperProtected": True, "AMProductVersion": "4.18.24090.11",
        },
        "policy": {"ForceDefenderPassiveMode": None, "DisableAntiSpyware": None, "DisableRealtimeMonitoring": None},
        "security_center": [{"name": "Windows Defender", "product_state": 397568}],
        "reboot_pending": {"pending": False, "sources": []},
        "errors": [],
    }
    for path, value in changes.items():
        section, dummy, key = path.partition("__")
        if key:
            info[section][key] = value
        else:
            info[section] = value
    return info


def server(build=17763, **changes):
    """A Windows Server (2019 by default) where Defender protects the host."""
    base = {"os": {"server": True, "build": build, "product_type": 3, "multi_session": False},
            "feature": {"name": "Windows-Defender-Features" if build == 14393 else "Windows-Defender", "installed": True},
            "security_center": None}
    base.update(changes)
    return state(**base)


#: Client with Kaspersky registered: Windows put Defender into disabled mode.
KES_REGISTERED = state(
    status__AMServiceEnabled=False, status__AntivirusEnabled=False, status__RealTimeProtectionEnabled=False,
    status__AMRunningMode="Not running", status__IsTamperProtected=False,
    security_center=[{"name": "Kaspersky Endpoint Security for Windows", "product_state": 266240},
                     {"name": "Windows Defender", "product_state": 393472}])


def one_line(text):
    return "\n" not in text and "\r" not in text and all(ord(c) >= 32 for c in text)


# --------------------------------------------------------------------------- stage active

ACTIVE = {
    # name: (info, healthy, words in the reason, remediation)
    "client protected": (state(), True, ["protects the host", "Normal", "0 days old"], []),
    "disabled by KES registered": (
        KES_REGISTERED, False,
        ["antivirus is disabled", "real-time protection is off", "Kaspersky Endpoint Security for Windows",
         "Security Center shows Defender off (productState 393472)"],
        ["enable_realtime"]),
    "forced passive by policy (server)": (
        server(status__AMRunningMode="Passive Mode", policy={"ForceDefenderPassiveMode": 1, "DisableAntiSpyware": None,
                                                             "DisableRealtimeMonitoring": None}),
        False, ["ForceDefenderPassiveMode is 1", "passive"], ["clear_passive_mode"]),
    "old signatures": (
        state(status__AntivirusSignatureAge=9, status__DefenderSignaturesOutOfDate=True), False,
        ["signatures are 9 days old (limit 3)"], ["update_signatures"]),
    "service missing on server, feature removed": (
        server(feature={"name": "Windows-Defender", "installed": False},
               service={"name": "WinDefend", "exists": False, "start_mode": None, "state": None}, status=None,
               errors=[{"section": "status", "message": "the namespace root\\Microsoft\\Windows\\Defender does not exist"}]),
        False, ["Windows-Defender feature is not installed"], ["install_feature"]),
    "service missing on server, feature says installed": (
        server(service={"name": "WinDefend", "exists": False, "start_mode": None, "state": None}, status=None),
        False, ["WinDefend service does not exist on this server"], []),
    "service stopped": (
        state(service__state="stopped", status=None,
              errors=[{"section": "status", "message": "MSFT_MpComputerStatus: provider load failure"}]),
        False, ["WinDefend service is stopped", "provider load failure"],
        ["start_service", "update_signatures", "enable_realtime"]),
    "policies left by the vendor": (
        state(policy__DisableAntiSpyware=1, policy__DisableRealtimeMonitoring=1, status__RealTimeProtectionEnabled=False,
              status__IsTamperProtected=False),
        False, ["policy DisableAntiSpyware is 1", "policy DisableRealtimeMonitoring is 1", "real-time protection is off"],
        ["clear_policy", "enable_realtime"]),
    "tamper protection refuses enabling real-time": (
        state(status__RealTimeProtectionEnabled=False, status__IsTamperProtected=True),
        False, ["real-time protection is off", "tamper protection is on"], ["enable_realtime"]),
    "multi-session workstation protected": (
        state(os={"server": False, "build": 22631, "product_type": 3, "multi_session": True}), True,
        ["on in Security Center"], []),
    "multi-session workstation, Defender off in Security Center": (
        state(os={"server": False, "build": 19045, "product_type": 3, "multi_session": True},
              security_center=[{"name": "Windows Defender", "product_state": 393232}]),
        False, ["Security Center shows Defender off (productState 393232)"], []),
    "status unreadable": (
        state(status=None, errors=[{"section": "status", "message": "Get-CimInstance timed out (time limit 30 s)"}]),
        False, ["could not be read", "timed out"], ["update_signatures", "enable_realtime"]),
    "server 2022 protected, no Security Center": (server(build=20348), True, ["protects the host"], []),
    "Bitdefender is not Defender": (
        state(security_center=[{"name": "Bitdefender Endpoint Security Tools", "product_state": 266240}]),
        False, ["Security Center lists no Defender entry"], []),
    "signature age unknown": (state(status__AntivirusSignatureAge=None), False, ["signature age is unknown"],
                              ["update_signatures"]),
}


@pytest.mark.parametrize("info, healthy, words, steps", ACTIVE.values(), ids=list(ACTIVE))
def test_active_stage(info, healthy, words, steps):
    verdict = _defender.assess(copy.deepcopy(info), "active", 3)
    assert verdict["healthy"] is healthy, verdict["reason"]
    assert verdict["checked"] is True
    for word in words:
        assert word in verdict["reason"], verdict["reason"]
    assert verdict["remediation"] == steps
    assert one_line(verdict["reason"])
    assert verdict["product"] == "defender" and verdict["stage"] == "active"


# --------------------------------------------------------------------------- stage ready

READY = {
    "client with KES registered: disabled mode is normal": (KES_REGISTERED, True, ["can take over"], []),
    "forced passive is recorded, not cleared": (
        server(status__AMRunningMode="Passive Mode", policy={"ForceDefenderPassiveMode": 1, "DisableAntiSpyware": None,
                                                             "DisableRealtimeMonitoring": None}),
        True, ["ForceDefenderPassiveMode is 1 (cleared in stage active)"], []),
    "feature not installed on Server 2016": (
        server(build=14393, feature={"name": "Windows-Defender-Features", "installed": False},
               service={"name": "WinDefend", "exists": False, "start_mode": None, "state": None}, status=None),
        False, ["Windows-Defender-Features feature is not installed"], ["install_feature"]),
    "feature not installed on Server 2019": (
        server(build=17763, feature={"name": "Windows-Defender", "installed": False},
               service={"name": "WinDefend", "exists": False, "start_mode": None, "state": None}, status=None),
        False, ["Windows-Defender feature is not installed"], ["install_feature"]),
    "feature installed, waiting for the restart": (
        server(service={"name": "WinDefend", "exists": False, "start_mode": None, "state": None}, status=None,
               reboot_pending={"pending": True, "sources": ["component_based_servicing"]}),
        False, ["must restart"], ["reboot"]),
    "service disabled": (
        state(service__start_mode="disabled", service__state="stopped"), False,
        ["WinDefend service is disabled"], ["start_service"]),
    "old signatures": (state(status__AntivirusSignatureAge=30), False, ["30 days old (limit 3)"], ["update_signatures"]),
    "status unreadable": (
        state(status=None, errors=[{"section": "status", "message": "Access denied"}]), False,
        ["could not be read: Access denied"], []),
    "service stopped is fine while the vendor is there": (state(service__state="stopped"), True, ["can take over"], []),
}


@pytest.mark.parametrize("info, healthy, words, steps", READY.values(), ids=list(READY))
def test_ready_stage(info, healthy, words, steps):
    verdict = _defender.assess(copy.deepcopy(info), "ready", 3)
    assert verdict["healthy"] is healthy, verdict["reason"]
    for word in words:
        assert word in verdict["reason"], verdict["reason"]
    assert verdict["remediation"] == steps
    assert one_line(verdict["reason"])


def test_ready_never_clears_policies_and_records_passive_mode():
    info = server(policy={"ForceDefenderPassiveMode": 1, "DisableAntiSpyware": 1, "DisableRealtimeMonitoring": 1},
                  status__AntivirusSignatureAge=8)
    verdict = _defender.assess(info, "ready", 3)
    assert verdict["passive_mode_forced"] == 1
    assert verdict["remediation"] == ["update_signatures"]


def test_feature_just_installed_needs_a_restart():
    info = server(feature={"name": "Windows-Defender", "installed": True})
    verdict = _defender.assess(info, "ready", 3, reboot_required=True)
    assert verdict["healthy"] is False and verdict["reboot_needed"] is True
    assert "restart" in verdict["reason"]
    assert verdict["remediation"] == ["reboot"]


def test_install_then_restart_and_nothing_after_the_restart():
    info = server(feature={"name": "Windows-Defender", "installed": False},
                  service={"name": "WinDefend", "exists": False, "start_mode": None, "state": None}, status=None)
    verdict = _defender.assess(info, "active", 3, reboot_required=True)
    assert verdict["remediation"] == ["install_feature", "reboot"]


# --------------------------------------------------------------------------- Security Center productState

PRODUCT_STATES = {
    # reference 2.5: middle byte 0x10 / 0x11 on; low byte 0x00 up to date, 0x10 out of date
    262144: (False, True), 393216: (False, True), 266240: (True, True), 397312: (True, True),
    262160: (False, False), 393232: (False, False), 393488: (False, False),
    266256: (True, False), 397328: (True, False), 397584: (True, False), 397568: (True, True), 393472: (False, True),
}


@pytest.mark.parametrize("value, expected", PRODUCT_STATES.items(), ids=[str(v) for v in PRODUCT_STATES])
def test_product_state_decoding(value, expected):
    decoded = _defender.product_state(value)
    assert (decoded["enabled"], decoded["up_to_date"]) == expected


@pytest.mark.parametrize("value", [None, "x", -1, True])
def test_product_state_unknown(value):
    assert _defender.product_state(value) is None


@pytest.mark.parametrize("value, healthy", [(262144, False), (266240, True), (393232, False), (397568, True),
                                            (397312, True), (393472, False)])
def test_security_center_decides_on_workstations(value, healthy):
    verdict = _defender.assess(state(security_center=[{"name": "Windows Defender", "product_state": value}]), "active", 3)
    assert verdict["healthy"] is healthy
    assert verdict["security_center"] is healthy


def test_security_center_is_none_on_servers():
    assert _defender.assess(server(), "active", 3)["security_center"] is None


# --------------------------------------------------------------------------- recorded fields, text, failures

def test_fields_of_a_healthy_verdict():
    verdict = _defender.assess(state(), "active", 3)
    assert verdict["version"] == "4.18.24090.11"
    assert verdict["signatures"] == {"version": "1.421.1544.0", "age_days": 0}
    assert verdict["running_mode"] == "Normal"
    assert verdict["tamper_protected"] is True
    assert verdict["passive_mode_forced"] is None and verdict["reboot_needed"] is False
    assert verdict["eicar"] is None


def test_signature_age_limit_is_inclusive():
    assert _defender.assess(state(status__AntivirusSignatureAge=3), "active", 3)["healthy"] is True
    assert _defender.assess(state(status__AntivirusSignatureAge=4), "active", 3)["healthy"] is False
    assert _defender.assess(state(status__AntivirusSignatureAge=4), "active", 7)["healthy"] is True


def test_hostile_text_stays_one_line():
    info = state(status=None, errors=[{"section": "status", "message": "bad\nline\r\x1b[31mred\u2028end " + "x" * 2000}])
    verdict = _defender.assess(info, "active", 3)
    assert one_line(verdict["reason"]) and len(verdict["reason"]) <= _defender.MAX_TEXT


def test_nothing_read_is_not_checked():
    verdict = _defender.assess({}, "active", 3)
    assert verdict["healthy"] is False and verdict["checked"] is False


@pytest.mark.parametrize("stage, age", [("on", 3), ("active", -1), ("active", "three")])
def test_bad_arguments_are_refused(stage, age):
    with pytest.raises(ValueError):
        _defender.assess(state(), stage, age)


def test_failed_steps_are_named_when_not_healthy():
    info = state(status__RealTimeProtectionEnabled=False)
    out = defender_assess(info, "active", 3, failures=[{"step": "enable_realtime", "message": "Access is denied"}])
    assert "enable_realtime failed: Access is denied" in out["reason"]
    healthy = defender_assess(state(), "active", 3, failures=[{"step": "update_signatures", "message": "rc 2"}])
    assert "failed" not in healthy["reason"]


def test_eicar_not_removed_is_not_healthy():
    out = defender_assess(state(), "active", 3, eicar={"detected": "False", "detail": "still there after 30 s"})
    assert out["healthy"] is False and out["eicar"] is False
    assert "EICAR test file was not removed" in out["reason"] and "still there" in out["reason"]
    ok = defender_assess(state(), "active", 3, eicar={"detected": True, "detail": "removed by Defender"})
    assert ok["healthy"] is True and ok["eicar"] is True and "EICAR" in ok["reason"]


# --------------------------------------------------------------------------- steps the role runs

@pytest.mark.parametrize("settings, steps", [
    ({}, ["clear_passive_mode", "clear_policy", "update_signatures", "enable_realtime"]),
    ({"reenable": False}, ["update_signatures"]),
    ({"reenable": "False", "update_source": "none"}, []),
    ({"update_source": "offline"}, ["clear_passive_mode", "clear_policy", "update_signatures", "enable_realtime"]),
])
def test_steps_follow_the_settings(settings, steps):
    info = state(policy={"ForceDefenderPassiveMode": 1, "DisableAntiSpyware": 1, "DisableRealtimeMonitoring": None},
                 status__RealTimeProtectionEnabled=False, status__AntivirusSignatureAge=10)
    assert defender_assess(info, "active", 3, settings=settings)["steps"] == steps


def test_install_feature_can_be_switched_off_and_reboot_is_never_run():
    info = server(feature={"name": "Windows-Defender", "installed": False},
                  service={"name": "WinDefend", "exists": False, "start_mode": None, "state": None}, status=None)
    assert defender_assess(info, "ready", 3, settings={"install_feature": False})["steps"] == []
    assert _defender.runnable(["install_feature", "reboot"]) == ["install_feature"]


def test_a_healthy_host_gets_no_step():
    for stage in _defender.STAGES:
        assert defender_assess(state(), stage, 3, settings={})["steps"] == []
