# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Realistic states of Windows hosts for the test doubles (tests/windows/README.md).

Names, versions, product codes, services, drivers and folders follow the vendor footprint the
recorded inventories (tests/unit/fixtures/windows/01 and 02) are built from. Test data only:
never copy these facts into shipped files.

Every builder returns a fresh dict; change it before ``winflow.write_states``. ``faults`` is a
set or dict of fault names (``_windouble.FAULTS``).
"""

from __future__ import annotations

import copy

VENDOR = "AO Kaspersky Lab"
PF86 = "C:\\Program Files (x86)\\Kaspersky Lab"
DATA = "C:\\ProgramData\\Kaspersky Lab"
DATA_KL = "C:\\ProgramData\\KasperskyLab"
SOFT = "HKLM:\\SOFTWARE\\WOW6432Node\\KasperskyLab"
SERVICES_KEY = "HKLM:\\SYSTEM\\CurrentControlSet\\Services"
DRIVERS_DIR = "C:\\Windows\\system32\\DRIVERS"

KES_CODE = "{9A017278-F7F4-4DF9-A482-0B97B70DD7ED}"
AGENT_CODE_WS = "{1A7B331A-ABBE-4230-995E-BCD99C5A18CF}"
AGENT_CODE_SRV = "{0F05E4E5-5A89-482C-9A62-47CC58643788}"
KSWS_CODE = "{5E0B1A4C-8D3F-4B9E-A1C7-2F6D0E9B3A58}"
SEVENZIP_CODE = "{23170F69-40C1-2702-2408-000001000000}"

KES_DRIVERS = [
    ("klif", "Kaspersky Lab Driver", "Running", "Boot"),
    ("klhk", "Kaspersky Lab service driver", "Running", "Boot"),
    ("klelam", "Kaspersky Lab ELAM driver", "Stopped", "Boot"),
    ("klim6", "Kaspersky Lab NDIS 6 Filter", "Running", "Manual"),
    ("kneps", "Kaspersky Lab NDIS Filter", "Running", "System"),
    ("klwfp", "Kaspersky Lab WFP Network Driver", "Running", "System"),
    ("klbackupflt", "Kaspersky Lab backup filter driver", "Running", "System"),
    ("klids", "klids", "Running", "Manual"),
]
KSWS_DRIVERS = [
    ("klam", "Kaspersky Security Anti-Malware driver", "Running", "Boot"),
    ("klif", "Kaspersky Lab Driver", "Running", "Boot"),
    ("klelam", "Kaspersky Lab ELAM driver", "Stopped", "Boot"),
]


def _faults(faults):
    if not faults:
        return {}
    if isinstance(faults, dict):
        return dict(faults)
    return {name: True for name in faults}


def _os_client(build=19045):
    win11 = build >= 22000
    return {"caption": "Microsoft Windows %s Enterprise" % ("11" if win11 else "10"), "version": "10.0.%d" % build,
            "build": build, "product_type": 1, "edition_id": "Enterprise", "server": False, "multi_session": False}


def _os_server(build=17763):
    year = {14393: "2016", 17763: "2019", 20348: "2022", 26100: "2025"}[build]
    return {"caption": "Microsoft Windows Server %s Standard" % year, "version": "10.0.%d" % build,
            "build": build, "product_type": 3, "edition_id": "ServerStandard", "server": True, "multi_session": False}


def _defender_service(state="Running", start_mode="Auto"):
    return {"DisplayName": "Microsoft Defender Antivirus Service",
            "PathName": '"C:\\ProgramData\\Microsoft\\Windows Defender\\Platform\\4.18.24090.11-0\\MsMpEng.exe"',
            "State": state, "StartMode": start_mode, "product": None}


def _base(os_info, faults):
    return {
        "schema": 1,
        "os": os_info,
        "products": {},
        "uninstall_extra": [],
        "services": {},
        "drivers": {},
        "processes": [],
        "registry": {},
        "paths": {"C:\\Windows": {"type": "directory"}, "C:\\Program Files": {"type": "directory"},
                  "C:\\Program Files (x86)": {"type": "directory"}, "C:\\ProgramData": {"type": "directory"}},
        "links": {},
        "files": {},
        "certificates": [],
        "security_center": [],
        "features": {},
        "defender": {"signature_age": 0, "signature_version": "1.421.1620.0", "product_version": "4.18.24090.11",
                     "realtime_disabled_locally": False},
        "reboot_pending": False,
        "reboot_sources": [],
        "boot_count": 0,
        "faults": _faults(faults),
        "violations": [],
        "calls": [],
    }


def _add_product(state, code, product, services=(), drivers=(), processes=(), paths=(), registry_keys=()):
    product = dict(product)
    product.setdefault("hive", "HKLM")
    product.setdefault("WindowsInstaller", True)
    product.setdefault("QuietUninstallString", None)
    product.setdefault("UninstallString", "MsiExec.exe /X%s" % code)
    product.setdefault("exit_codes", [])
    product.setdefault("residue", {"paths": [], "registry_keys": [], "services": [], "drivers": []})
    product["paths"] = list(paths)
    product["registry_keys"] = list(registry_keys)
    state["products"][code] = product
    for name, display, path, protected in services:
        state["services"][name] = {"DisplayName": display, "PathName": path, "State": "Running", "StartMode": "Auto",
                                   "product": code, "protected": protected}
    for name, display, run_state, start_mode in drivers:
        path = ("\\??\\%s\\KES.12.6\\Bases\\klids.sys" % DATA) if name == "klids" else "%s\\%s.sys" % (DRIVERS_DIR, name)
        state["drivers"][name] = {"DisplayName": display, "PathName": path, "State": run_state,
                                  "StartMode": start_mode, "product": code}
        state["registry"]["%s\\%s" % (SERVICES_KEY, name)] = {"Start": {"type": "dword", "data": 0}}
        product["registry_keys"].append("%s\\%s" % (SERVICES_KEY, name))
    for name, pid, path in processes:
        state["processes"].append({"name": name, "pid": pid, "path": path, "product": code})
    for path in paths:
        state["paths"][path] = {"type": "directory"}
    for key in registry_keys:
        state["registry"].setdefault(key, {})
    return product


def _vendor_roots(state):
    for path in (PF86, DATA, DATA_KL):
        state["paths"][path] = {"type": "directory"}
    state["registry"].setdefault(SOFT, {})


def _add_sevenzip(state):
    _add_product(state, SEVENZIP_CODE, {
        "DisplayName": "7-Zip 24.08 (x64 edition)", "DisplayVersion": "24.08.00.0", "Publisher": "Igor Pavlov",
        "InstallLocation": "C:\\Program Files\\7-Zip\\", "view": "64", "kind": "other", "registers_av": False,
        "reboot": False, "password": None}, paths=["C:\\Program Files\\7-Zip"])


def _add_agent(state, code, agent_password):
    _add_product(state, code, {
        "DisplayName": "Kaspersky Security Center Network Agent", "DisplayVersion": "15.1.0.20748", "Publisher": VENDOR,
        "InstallLocation": "%s\\NetworkAgent\\" % PF86, "view": "32", "UninstallString": "MsiExec.exe /I%s" % code,
        "kind": "agent", "registers_av": False, "reboot": False,
        "password": agent_password, "login": None, "password_property": "KLUNINSTPASSWD",
        "residue": {"paths": ["%s\\adminkit" % DATA_KL], "registry_keys": ["%s\\Components\\34" % SOFT],
                    "services": [], "drivers": []},
    }, services=[("klnagent", "Kaspersky Security Center Network Agent", '"%s\\NetworkAgent\\klnagent.exe"' % PF86, False)],
        processes=[("klnagent.exe", 2948, "%s\\NetworkAgent\\klnagent.exe" % PF86)],
        paths=["%s\\NetworkAgent" % PF86, "%s\\adminkit" % DATA_KL],
        registry_keys=["%s\\Components\\34\\1103\\1.0.0.0" % SOFT, "%s\\Components\\34" % SOFT])


def workstation_kes_agent(password_protected=False, agent_password=None, build=19045, password="Sup3r-Secret!",
                          login="KLAdmin", faults=None, tamper_protected=False):
    """Managed Windows 10 (build 19045) or 11 (build >= 22000) workstation: KES 12.6 + Network Agent 15.1.

    KES is registered in Security Center, so Defender is in disabled mode. With
    ``password_protected`` the uninstall needs KLLOGIN/KLPASSWD (``password``, ``login``); with
    ``agent_password`` the agent's needs KLUNINSTPASSWD (hex of the UTF-16LE bytes).
    """
    state = _base(_os_client(build), faults)
    _vendor_roots(state)
    kes = _add_product(state, KES_CODE, {
        "DisplayName": "Kaspersky Endpoint Security for Windows", "DisplayVersion": "12.6.0.438", "Publisher": VENDOR,
        "InstallLocation": "%s\\KES\\" % PF86, "view": "32", "kind": "protection", "registers_av": True, "reboot": True,
        "password": password if password_protected else None, "login": login if password_protected else None,
        "password_property": "KLPASSWD",
        "residue": {"paths": ["%s\\KES.12.6" % DATA], "registry_keys": ["%s\\protected\\KES" % SOFT],
                    "services": [], "drivers": []},
    }, services=[("AVP21.18", "Kaspersky Endpoint Security Service", '"%s\\KES\\avp.exe" -r' % PF86, True)],
        drivers=KES_DRIVERS,
        processes=[("avp.exe", 3120, None), ("avpui.exe", 7344, "%s\\KES\\avpui.exe" % PF86)],
        paths=["%s\\KES" % PF86, "%s\\KES.12.6" % DATA],
        registry_keys=["%s\\protected\\KES" % SOFT])
    kes["security_center"] = True
    state["security_center"].append({"displayName": "Kaspersky Endpoint Security for Windows", "productState": 266240,
                                     "pathToSignedProductExe": "%s\\KES\\avpui.exe" % PF86, "product": KES_CODE})
    _add_agent(state, AGENT_CODE_WS, agent_password)
    _add_sevenzip(state)
    state["services"]["WinDefend"] = _defender_service()
    state["defender"].update(signature_age=45, signature_version="1.381.2140.0", tamper_protected=tamper_protected)
    return state


def server_ksws_agent(feature_installed=True, build=17763, passive=True, agent_password=None, faults=None):
    """Windows Server 2019 (17763) or 2016 (14393): Kaspersky Security 11 for Windows Server + Network Agent.

    ``feature_installed``: the Defender feature (Windows-Defender, Windows-Defender-Features on
    2016) is installed and WinDefend runs, in passive mode by policy when ``passive``;
    otherwise the feature is available but not installed and there is no WinDefend service.
    """
    state = _base(_os_server(build), faults)
    _vendor_roots(state)
    ksws_dir = "%s\\Kaspersky Security 11" % PF86
    _add_product(state, KSWS_CODE, {
        "DisplayName": "Kaspersky Security 11 for Windows Server", "DisplayVersion": "11.0.1.897", "Publisher": VENDOR,
        "InstallLocation": ksws_dir + "\\", "view": "64", "kind": "protection", "registers_av": True, "reboot": True,
        "password": None, "login": None, "password_property": None,
        "residue": {"paths": ["%s\\Kaspersky Security 11" % DATA], "registry_keys": [], "services": [], "drivers": []},
    }, services=[("KAVFS", "Kaspersky Security Service", '"%s\\kavfs.exe"' % ksws_dir, True),
                 ("KAVFSGT", "Kaspersky Security Management Service", '"%s\\kavfsgt.exe"' % ksws_dir, True),
                 ("kavfsslp", "Kaspersky Security Exploit Prevention Service", '"%s\\kavfsslp.exe"' % ksws_dir, True)],
        drivers=KSWS_DRIVERS,
        processes=[("kavfs.exe", 2264, None), ("kavfsgt.exe", 2312, "%s\\kavfsgt.exe" % ksws_dir),
                   ("kavfsslp.exe", 2340, "%s\\kavfsslp.exe" % ksws_dir), ("kavtray.exe", 6120, "%s\\kavtray.exe" % ksws_dir)],
        paths=[ksws_dir, "%s\\Kaspersky Security 11" % DATA],
        registry_keys=["HKLM:\\SOFTWARE\\KasperskyLab\\Kaspersky Security 11"])
    _add_agent(state, AGENT_CODE_SRV, agent_password)
    feature = "Windows-Defender-Features" if build == 14393 else "Windows-Defender"
    state["features"] = {feature: "installed" if feature_installed else "available", "Windows-Defender-Gui": "available"}
    if build == 14393:
        state["features"]["Windows-Defender"] = "installed" if feature_installed else "available"
    if feature_installed:
        state["services"]["WinDefend"] = _defender_service()
        if passive:
            state["registry"]["HKLM:\\SOFTWARE\\Policies\\Microsoft\\Windows Advanced Threat Protection"] = {
                "ForceDefenderPassiveMode": {"type": "dword", "data": 1}}
        state["defender"].update(signature_age=3)
    else:
        state["defender"].update(signature_age=400, signature_version="1.285.0.0")
    return state


def clean_workstation(build=22631, faults=None):
    """A Windows 11 workstation without Kaspersky: Defender active, signatures current."""
    state = _base(_os_client(build), faults)
    _add_sevenzip(state)
    state["services"]["WinDefend"] = _defender_service()
    return state


def with_link(state, link, target):
    """A junction ``link`` -> ``target`` (win_file refuses to delete the target's contents)."""
    state = copy.deepcopy(state)
    state["links"][link] = target
    state["paths"][target] = {"type": "directory"}
    return state


def uninstall_password_hex(password):
    """KLUNINSTPASSWD's encoding: the hex of the password's UTF-16LE bytes."""
    return password.encode("utf-16-le").hex().upper()
