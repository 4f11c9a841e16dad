# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Exact findings for the recorded Windows inventories, through the ``vendor_findings`` filter.

Every fixture in tests/unit/fixtures/windows goes through ``fleetsec.divest.vendor_findings``
(the filter a playbook uses on a recorded inventory) with the shipped catalog. EXPECTED pins,
per fixture: the status, the findings in output order (product, state, version), each
finding's evidence as (kind, name) in the order the matcher lists it, and its removal recipe
(method, product codes, order, password, reboot). Why each outcome is right is said next to
it; the rules themselves are in catalog/kaspersky.yml and docs/kaspersky.md.

Two rules of the shipped catalog shape every expectation:

* Signals shared by several products (the AVP / AVP<version> service, avp.exe, avpui.exe, the
  kl* drivers, the root certificate, the KasperskyLab keys and folders) are vendor leftovers:
  they appear only in a `leftovers` finding, and only when no product is found. So the
  service AVP21.18 explains nothing on a host whose KES has an Uninstall entry (fixture 01):
  the matcher gives a signal to the first product listing it, installed or not, and KES
  listing AVP<version> would make a phantom KES out of the home product's AVP21.9 (fixture 04).
* An Uninstall entry makes a product installed only when its Publisher names the vendor.
"""

from __future__ import annotations

import copy
import json
import pathlib
import re

import pytest

from ansible_collections.fleetsec.divest.plugins.filter.vendor_findings import FilterModule
from ansible_collections.fleetsec.divest.plugins.plugin_utils._catalog import ROLE_RANK, load_catalog

FIXTURES = pathlib.Path(__file__).resolve().parents[2] / "fixtures" / "windows"
SCANNED = "2026-11-27T10:00:00Z"
vendor_findings = FilterModule().filters()["vendor_findings"]

MSI = {"REBOOT": "ReallySuppress"}
NOT_MSI_NOTE = "no Windows Installer product code in the Uninstall entry; use the vendor uninstaller"
KES_CODE = "{9A017278-F7F4-4DF9-A482-0B97B70DD7ED}"
AGENT_CODE = "{1A7B331A-ABBE-4230-995E-BCD99C5A18CF}"
SKIPPED_SC = [{"section": "security_center",
               "reason": "the namespace root\\SecurityCenter2 does not exist on this host"}]
CAP_NOTE = [{"section": "uninstall", "message": "1 values longer than 512 characters were truncated", "limit": True}]


def load(name):
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def findings_of(inventory):
    return vendor_findings(inventory, scanned_at=SCANNED)


def F(product, state, version, evidence, **removal):
    """One expected finding; ``removal`` lists the recipe keys that are checked."""
    return {"product": product, "state": state, "version": version, "evidence": evidence, "removal": removal}


def KES(codes, version="12.6.0.438", evidence=None):
    return F("kes", "installed", version, evidence, method="msi", product_codes=codes, order=10,
             properties=MSI, password="optional", password_properties={"login": "KLLOGIN", "password": "KLPASSWD"},
             success_codes=[0, 1641, 3010], absent_codes=[1605], reboot=True)


def AGENT(codes, evidence):
    return F("klnagent-win", "installed", "15.1.0.20748", evidence, method="msi", product_codes=codes, order=50,
             properties=MSI, password="optional",
             password_properties={"password": "KLUNINSTPASSWD", "encoding": "utf16le-hex"},
             success_codes=[0, 1641, 3010], absent_codes=[1605], reboot=False)


AGENT_EVIDENCE = [("uninstall_entry", "Kaspersky Security Center Network Agent"), ("service", "klnagent"),
                  ("process", "klnagent.exe")]

EXPECTED = {
    # KES 12.6 and the agent, both 32-bit MSIs: the product codes come from the entries' keys.
    # AVP21.18, avp.exe and avpui.exe (the engine, shared with the home products) go to KES,
    # the installed product; the eight kl* drivers, the keys and folders are leftovers signals:
    # a product is found, so they add nothing.
    "01-win10-kes12-agent.json": {
        "status": "affected",
        "findings": [
            KES([KES_CODE], evidence=[("uninstall_entry", "Kaspersky Endpoint Security for Windows"),
                                      ("service", "AVP21.18"), ("process", "avp.exe"), ("process", "avpui.exe"),
                                      ("security_center", "Kaspersky Endpoint Security for Windows")]),
            AGENT([AGENT_CODE], AGENT_EVIDENCE),
        ],
        "scan": {"live": True, "skipped": [], "errors": []},
    },
    # Fixture 01 on Windows 11 Enterprise multi-session (ProductType 3): the same findings, and
    # Security Center, read because its namespace exists, is evidence as on any client. The
    # ProgramData folder whose link type self-defence hid is still a (leftovers) signal.
    "10-win11-multisession-kes-selfdefence.json": {
        "status": "affected",
        "findings": [
            KES([KES_CODE], evidence=[("uninstall_entry", "Kaspersky Endpoint Security for Windows"),
                                      ("service", "AVP21.18"), ("process", "avp.exe"), ("process", "avpui.exe"),
                                      ("security_center", "Kaspersky Endpoint Security for Windows")]),
            AGENT([AGENT_CODE], AGENT_EVIDENCE),
        ],
        "scan": {"live": True, "skipped": [], "errors": []},
    },
    # KSWS 11 (64-bit view entry) with its three services and four processes; the agent's
    # AGT_GUID. Security Center is skipped on a server, which is not an error.
    "02-srv2019-ksws11-agent.json": {
        "status": "affected",
        "findings": [
            F("ksws", "installed", "11.0.1.897",
              [("uninstall_entry", "Kaspersky Security 11 for Windows Server"), ("service", "KAVFS"),
               ("service", "KAVFSGT"), ("service", "kavfsslp"), ("process", "kavfs.exe"), ("process", "kavfsgt.exe"),
               ("process", "kavfsslp.exe"), ("process", "kavtray.exe")],
              method="msi", product_codes=["{5E0B1A4C-8D3F-4B9E-A1C7-2F6D0E9B3A58}"], order=10, password="optional",
              reboot=True),
            AGENT(["{0F05E4E5-5A89-482C-9A62-47CC58643788}"], AGENT_EVIDENCE),
        ],
        "scan": {"live": True, "skipped": SKIPPED_SC, "errors": []},
    },
    # Russian names and a Cyrillic Publisher: KES ("... для Windows"), the agent (Cyrillic
    # "Агент", the documented *Agent*Kaspersky Security Center* shape) and the orphaned home
    # "Антивирус Касперского" (no Latin "Kaspersky" at all), an MSI entry: removable by code.
    "03-win10-ru-kes-agent-kav.json": {
        "status": "affected",
        "findings": [
            KES(["{3C1E6A72-0B5D-4F8E-9A21-7D4C8E0F6B13}"],
                evidence=[("uninstall_entry", "Kaspersky Endpoint Security для Windows"),
                          ("service", "AVP21.18"), ("process", "avp.exe"), ("process", "avpui.exe"),
                          ("security_center", "Kaspersky Endpoint Security для Windows")]),
            F("home", "installed", "21.3.10.391", [("uninstall_entry", "Антивирус Касперского")],
              method="msi", product_codes=["{B8B2C1A4-6F1D-4E7A-9C3E-5D2F8A1B0C7E}"], order=10, password="none",
              reboot=True),
            AGENT(["{8F2D4B61-C3A7-4E0D-B59F-1A6E7C2D9F04}"],
                  [("uninstall_entry", "Агент администрирования Kaspersky Security Center"), ("service", "klnagent"),
                   ("process", "klnagent.exe")]),
        ],
        "scan": {"live": True, "skipped": [], "errors": []},
    },
    # Home PC: Kaspersky Standard registered per user (HKU) by startup.exe, not an MSI, so
    # `manual` with the matcher's note; VPN and Safe Kids are MSIs; Password Manager is a
    # per-user uninstall.exe: manual. AVP21.9 / avp.exe / avpui.exe (the engine, shared with
    # KES) go to the installed home product and do NOT make a phantom KES; ksde.exe /
    # ksdeui.exe are the VPN's (assumed mapping).
    # Findings come in catalog order (the home extras are listed before the home products).
    "04-win11-consumer-standard-hku.json": {
        "status": "affected",
        "findings": [
            F("vpn", "installed", "21.9.6.465",
              [("uninstall_entry", "Kaspersky VPN Secure Connection"), ("process", "ksde.exe"),
               ("process", "ksdeui.exe")],
              method="msi", product_codes=["{6D8A0C3F-2E71-4B95-8F4A-D1C7B3E92A60}"], order=70, reboot=True),
            F("password-manager", "installed", "9.0.2.1186", [("uninstall_entry", "Kaspersky Password Manager")],
              method="manual", product_codes=None, note=NOT_MSI_NOTE, order=70, reboot=False),
            F("safe-kids", "installed", "1.0.5.1360", [("uninstall_entry", "Kaspersky Safe Kids")],
              method="msi", product_codes=["{E4A91F27-5B3C-4D80-A6E2-0C9B7D15F3E8}"], order=70, reboot=True),
            F("home", "installed", "21.9.6.465",
              [("uninstall_entry", "Kaspersky Standard"), ("service", "AVP21.9"), ("process", "avp.exe"),
               ("process", "avpui.exe"), ("security_center", "Kaspersky Standard")],
              method="manual", product_codes=None, note=NOT_MSI_NOTE, order=10, password="none", reboot=True),
        ],
        "scan": {"live": True, "skipped": [], "errors": []},
    },
    # KSC server: the Web Console is its own product (listed before the console, whose pattern
    # also matches "... Web Console", and before the generic server patterns); the console
    # {5D35D57A-...}; the server with CSAdminServer and klserver.exe; the agent.
    "05-srv2022-ksc-admin-server.json": {
        "status": "affected",
        "findings": [
            AGENT([AGENT_CODE], AGENT_EVIDENCE),
            F("ksc-web-console-win", "installed", "15.1.523",
              [("uninstall_entry", "Kaspersky Security Center 15.1 Web Console")],
              method="msi", product_codes=["{C0E8B4D2-91A6-4F57-B2D8-6E3A0F9C1B75}"], order=80, reboot=False),
            F("ksc-console", "installed", "15.1.0.20748",
              [("uninstall_entry", "Kaspersky Security Center 15.1 Administration Console")],
              method="msi", product_codes=["{5D35D57A-30B9-493B-819F-C6C2181A0A1A}"], order=80, reboot=False),
            F("ksc", "installed", "15.1.0.20748",
              [("uninstall_entry", "Kaspersky Security Center 15.1 Administration Server"),
               ("service", "CSAdminServer"), ("process", "klserver.exe")],
              method="msi", product_codes=["{7A2C5E91-4F0B-4D63-8E1A-B3C9D6F20E47}"], order=90, reboot=False),
        ],
        "scan": {"live": True, "skipped": SKIPPED_SC, "errors": []},
    },
    # KAV 6.0 for Windows Workstations, Publisher "Kaspersky Lab": the legacy product, not a
    # home product (the home Anti-Virus pattern would match too; kav-legacy comes first).
    # Service AVP is the shared engine service: it goes to the installed kav-legacy.
    "06-win7-kav6-legacy.json": {
        "status": "affected",
        "findings": [
            F("kav-legacy", "installed", "6.0.3.837",
              [("uninstall_entry", "Kaspersky Anti-Virus 6.0 for Windows Workstations"), ("service", "AVP"),
               ("process", "avp.exe"), ("security_center", "Kaspersky Anti-Virus 6.0 for Windows Workstations")],
              method="msi", product_codes=["{2D1B6E90-7C4A-4F3B-8D5E-A9C0B1F27364}"], order=10, reboot=True),
        ],
        "scan": {"live": True, "skipped": [], "errors": []},
    },
    # After the UltraAV swap: UltraAV (Publisher Pango Group) is not Kaspersky's; what
    # Kaspersky left is one `leftovers` finding, so the host is residual.
    "07-win11-ultraav-leftovers.json": {
        "status": "residual",
        "findings": [
            F("leftovers", "residual", None,
              [("driver", "klif"), ("driver", "kneps"), ("registry_key", "HKLM:\\SOFTWARE\\KasperskyLab"),
               ("registry_key", "HKLM:\\SYSTEM\\CurrentControlSet\\Services\\klif"),
               ("registry_key", "HKLM:\\SYSTEM\\CurrentControlSet\\Services\\kneps"),
               ("path", "C:\\ProgramData\\Kaspersky Lab"),
               ("certificate", "CN=Kaspersky Anti-Virus Personal Root Certificate, O=AO Kaspersky Lab")],
              method="manual", product_codes=None, order=100, password="none", reboot=True),
        ],
        "scan": {"live": True, "skipped": [], "errors": []},
    },
    # Decoys only. The `limit: true` note (a value was cut at 512 characters) says the
    # Uninstall keys WERE read: the host is clean, not unknown.
    "08-win11-clean-decoys.json": {
        "status": "clean",
        "findings": [],
        "scan": {"live": True, "skipped": [], "errors": CAP_NOTE},
    },
    # KES found by its entry (product code taken from the key, not from the hostile
    # UninstallString); its version is the hostile DisplayVersion, kept as data. Four entries
    # published by the vendor that no product claims are `unknown` (a blocker for a human),
    # their names kept verbatim (the long one clipped at 256 characters by the matcher).
    "09-win10-hostile-vendor-entries.json": {
        "status": "affected",
        "findings": [
            KES([KES_CODE], version="<script>alert('version')</script>",
                evidence=[("uninstall_entry", "Kaspersky Endpoint Security for Windows"), ("service", "AVP21.18"),
                          ("process", "avp.exe"), ("security_center", "Kaspersky Endpoint Security for Windows")]),
            F("unknown", "installed", None,
              [("uninstall_entry", "=cmd|' /C calc'!A0"),
               ("uninstall_entry", "Kaspersky " + "A" * 246 + "…"),
               ("uninstall_entry", "4294967295"),
               ("uninstall_entry", "Kaspersky\\x00Agent\\x0d\\x0a<b>bold</b>\\x1b]0;title\\x07\u202egpj.exe")],
              method="unknown", product_codes=None, order=100),
        ],
        "scan": {"live": True, "skipped": [], "errors": CAP_NOTE},
    },
}


def test_every_fixture_has_expectations():
    names = sorted(p.name for p in FIXTURES.glob("*.json"))
    assert names and names == sorted(EXPECTED)


def _summary(finding):
    removal = finding["removal"]
    return {
        "product": finding["product"],
        "state": finding["state"],
        "version": finding["version"],
        "evidence": [(e["kind"], e["name"]) for e in finding["evidence"]],
    }, removal


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_findings_are_exact(name):
    expected = EXPECTED[name]
    facts = findings_of(load(name))
    assert facts["schema"] == 1
    assert facts["scanned_at"] == SCANNED
    assert facts["platform"]["system"] == "Windows"
    assert facts["status"] == expected["status"]
    assert facts["scan"] == expected["scan"]
    got = [(f["product"], f["state"], f["version"]) for f in facts["findings"]]
    assert got == [(f["product"], f["state"], f["version"]) for f in expected["findings"]]
    for finding, want in zip(facts["findings"], expected["findings"]):
        summary, removal = _summary(finding)
        assert summary["evidence"] == want["evidence"], finding["product"]
        assert "evidence_truncated" not in finding
        assert finding["vendor"] == "kaspersky"
        for key, value in want["removal"].items():
            if value is None:
                assert key not in removal, (finding["product"], key)
            else:
                assert removal[key] == value, (finding["product"], key)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_filter_does_not_modify_the_inventory(name):
    inventory = load(name)
    before = copy.deepcopy(inventory)
    findings_of(inventory)
    assert inventory == before


def test_uninstall_evidence_carries_where_the_entry_lives():
    facts = findings_of(load("04-win11-consumer-standard-hku.json"))
    home = [f for f in facts["findings"] if f["product"] == "home"][0]
    assert home["evidence"][0] == {"kind": "uninstall_entry", "name": "Kaspersky Standard", "version": "21.9.6.465",
                                   "publisher": "Kaspersky", "key": "Kaspersky Standard 21.9", "hive": "HKU",
                                   "view": "64", "msi": False}
    facts = findings_of(load("01-win10-kes12-agent.json"))
    kes = facts["findings"][0]
    assert kes["evidence"][0] == {"kind": "uninstall_entry", "name": "Kaspersky Endpoint Security for Windows",
                                  "version": "12.6.0.438", "publisher": "AO Kaspersky Lab", "key": KES_CODE,
                                  "hive": "HKLM", "view": "32", "msi": True}
    assert kes["evidence"][1] == {"kind": "service", "name": "AVP21.18", "state": "running", "start": "Auto"}
    assert kes["evidence"][-1] == {"kind": "security_center", "name": "Kaspersky Endpoint Security for Windows",
                                   "state": 266240}
    agent = facts["findings"][1]
    assert agent["evidence"][1] == {"kind": "service", "name": "klnagent", "state": "running", "start": "Auto"}


def test_stopped_drivers_are_leftovers_with_their_state():
    facts = findings_of(load("07-win11-ultraav-leftovers.json"))
    (leftovers,) = facts["findings"]
    assert leftovers["name"] == "Kaspersky leftovers"
    assert "role" not in leftovers
    assert leftovers["evidence"][0] == {"kind": "driver", "name": "klif", "state": "stopped"}
    assert leftovers["evidence"][-1]["thumbprint"] == "5B7E0A2C9D14F63E8A0B1C2D3E4F5A6B7C8D9E0F"


def test_hostile_values_stay_data():
    facts = findings_of(load("09-win10-hostile-vendor-entries.json"))
    kes, unknown = facts["findings"]
    # The product code comes from the key; the injected UninstallString is not used at all.
    assert kes["removal"]["product_codes"] == [KES_CODE]
    assert "calc" not in json.dumps(kes["removal"])
    assert unknown["removal"]["candidates"] == [name for _kind, name in EXPECTED[
        "09-win10-hostile-vendor-entries.json"]["findings"][1]["evidence"]]
    # Clipped, never interpreted: the bidi override and escaped control characters survive.
    assert all(len(e["name"]) <= 257 for e in unknown["evidence"])
    assert "\u202e" in unknown["evidence"][3]["name"]
    assert not any(re.search(r"[\x00-\x08\x0a-\x1f]", e["name"]) for e in unknown["evidence"])


# ----------------------------------------------------------------------------------- decoys

DECOY_NAMES = {
    "K-Lite Codec Pack 18.1.0 Full", "ESET Endpoint Antivirus", "Kaspersky Rescue Disk ISO Helper by Contoso",
    "KeyIso", "KtmRm", "ekrn", "WinDefend", "AVPX", "kdnic", "KSecDD", "KSecPkg", "kbdclass", "kbdhid", "ehdrv",
    "Windows Defender", "ekrn.exe", "egui.exe", "avpx.exe", "UltraAV", "CN=ESET SSL Filter CA, O=ESET spol. s r.o., C=SK",
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_no_decoy_is_ever_evidence(name):
    facts = findings_of(load(name))
    names = {e["name"] for f in facts["findings"] for e in f["evidence"]}
    assert not names & DECOY_NAMES


def _decoy_sections():
    clean = load("08-win11-clean-decoys.json")
    ultra = load("07-win11-ultraav-leftovers.json")
    keys = ("uninstall", "services", "drivers", "security_center", "processes", "certificates")
    sections = {key: list(clean[key]) for key in keys}
    sections["uninstall"] += ultra["uninstall"]
    sections["security_center"] += ultra["security_center"]
    return sections


@pytest.mark.parametrize("name", ["01-win10-kes12-agent.json", "04-win11-consumer-standard-hku.json",
                                  "07-win11-ultraav-leftovers.json"])
def test_decoys_next_to_real_signals_change_nothing(name):
    """Every decoy of 08 (and UltraAV) added to a host changes neither its findings nor status."""
    inventory = load(name)
    baseline = findings_of(inventory)
    mixed = copy.deepcopy(inventory)
    for section, items in _decoy_sections().items():
        mixed[section] = items + mixed.get(section, [])   # decoys first: order must not matter
    facts = findings_of(mixed)
    assert facts["status"] == baseline["status"]
    assert facts["findings"] == baseline["findings"]


# --------------------------------------------------------------------------- removal order

def _removal_sequence(facts):
    catalog = load_catalog("kaspersky")

    def rank(finding):
        product = catalog.by_id.get(finding["product"])
        return (ROLE_RANK[product.role] if product else 99, finding["removal"]["order"])
    return [f["product"] for f in sorted(facts["findings"], key=rank)]


@pytest.mark.parametrize("name, sequence", [
    ("01-win10-kes12-agent.json", ["kes", "klnagent-win"]),
    ("02-srv2019-ksws11-agent.json", ["ksws", "klnagent-win"]),
    ("03-win10-ru-kes-agent-kav.json", ["kes", "home", "klnagent-win"]),
    ("04-win11-consumer-standard-hku.json", ["home", "vpn", "password-manager", "safe-kids"]),
    ("05-srv2022-ksc-admin-server.json", ["klnagent-win", "ksc-web-console-win", "ksc-console", "ksc"]),
])
def test_protection_then_agent_then_administration_server_last(name, sequence):
    assert _removal_sequence(findings_of(load(name))) == sequence


# ------------------------------------------------------------------------- name edge cases

def windows(**sections):
    inventory = {"schema": 1, "platform": {"system": "Windows", "distribution": "Microsoft Windows 10 Pro",
                                           "version": "10.0.19045", "product_type": "workstation"},
                 "live": True, "skipped": [], "errors": []}
    inventory.update(sections)
    return inventory


def entry(display_name, publisher, key="{00000000-0000-0000-0000-000000000001}", msi=True):
    return {"key": key, "hive": "HKLM", "view": "32", "DisplayName": display_name, "DisplayVersion": "1.0",
            "Publisher": publisher, "UninstallString": None, "QuietUninstallString": None, "InstallLocation": None,
            "WindowsInstaller": msi}


def service(name, section="services"):
    return {section: [{"Name": name, "DisplayName": name, "PathName": None, "State": "Running", "StartMode": "Auto"}]}


def attributed(**sections):
    """Which product ids (with state) a host made of these items yields."""
    facts = findings_of(windows(**sections))
    return [(f["product"], f["state"]) for f in facts["findings"]]


AO, KL, ZAO, KASPERSKY = "AO Kaspersky Lab", "Kaspersky Lab", "Kaspersky Lab ZAO", "Kaspersky"
RU_AO, RU_ZAO = "АО «Лаборатория Касперского»", "ЗАО «Лаборатория Касперского»"

UNINSTALL_CASES = [
    # KES, every generation, case-insensitive, every publisher variant
    ("Kaspersky Endpoint Security for Windows", AO, "kes"),
    ("KASPERSKY ENDPOINT SECURITY FOR WINDOWS", "ao kaspersky lab", "kes"),
    ("Kaspersky Endpoint Security 10 for Windows", KL, "kes"),
    ("Kaspersky Endpoint Security 10 for Windows SP1", KL, "kes"),
    ("Kaspersky Endpoint Security 8 for Windows", ZAO, "kes"),
    ("Kaspersky Endpoint Security для Windows", RU_AO, "kes"),
    ("Kaspersky Endpoint Security for Windows", RU_ZAO, "kes"),
    ("Kaspersky Endpoint Security for Windows", KASPERSKY, "kes"),
    # The Publisher condition: the same DisplayName by someone else is nobody's product ...
    ("Kaspersky Endpoint Security for Windows", "Contoso Ltd.", None),
    # ... and an entry without a Publisher is not matched either (documented limitation).
    ("Kaspersky Endpoint Security for Windows", None, None),
    ("Kaspersky Rescue Disk ISO Helper by Contoso", "Contoso Ltd.", None),
    ("K-Lite Codec Pack 18.1.0 Full", "KLCP", None),
    ("UltraAV", "Pango Group", None),
    # A vendor entry no product claims is `unknown`, never silently dropped.
    ("Kaspersky Rescue Disk", AO, "unknown"),
    ("Kaspersky", "Contoso Ltd.", None),
    # Network Agent: English, French, Russian (Cyrillic "Агент"), old names
    ("Kaspersky Security Center Network Agent", AO, "klnagent-win"),
    ("Kaspersky Security Center 10 Network Agent", KL, "klnagent-win"),
    ("Agent d'administration de Kaspersky Security Center", AO, "klnagent-win"),
    ("Агент администрирования Kaspersky Security Center", RU_AO, "klnagent-win"),
    ("Kaspersky Network Agent", KL, "klnagent-win"),
    # KSC: the Web Console before the console, both before the generic server
    ("Kaspersky Security Center 15.1 Web Console", AO, "ksc-web-console-win"),
    ("Kaspersky Security Center Web Console", AO, "ksc-web-console-win"),
    ("Kaspersky Security Center 15.1 Administration Console", AO, "ksc-console"),
    ("Console d'administration de Kaspersky Security Center", AO, "ksc-console"),
    ("Kaspersky Security Center 15.1 Administration Server", AO, "ksc"),
    ("Kaspersky Security Center 14.2", AO, "ksc"),
    ("Kaspersky Security Center", AO, "ksc"),
    # Servers and embedded
    ("Kaspersky Security 11 for Windows Server", AO, "ksws"),
    ("Kaspersky Security 10.1 для Windows Server", RU_AO, "ksws"),
    ("Kaspersky Security for Windows Server", AO, "ksws"),
    ("Kaspersky Embedded Systems Security", AO, "ksws"),
    ("Kaspersky Anti-Virus 8.0 for Windows Servers Enterprise Edition", KL, "ksws"),
    # Legacy business Anti-Virus before the home pattern that would also match it
    ("Kaspersky Anti-Virus 6.0 for Windows Workstations", KL, "kav-legacy"),
    ("Kaspersky Anti-Virus 6.0 for Windows File Servers", KL, "kav-legacy"),
    ("Kaspersky Anti-Virus 6.0 R2 for Windows Workstations", ZAO, "kav-legacy"),
    # Home products, Latin and Cyrillic
    ("Kaspersky Anti-Virus", KASPERSKY, "home"),
    ("Kaspersky Anti-Virus 2012", ZAO, "home"),
    ("Kaspersky Internet Security", KASPERSKY, "home"),
    ("Kaspersky Total Security", KASPERSKY, "home"),
    ("Kaspersky Security Cloud - Free", KASPERSKY, "home"),
    ("Kaspersky Free", KASPERSKY, "home"),
    ("Kaspersky Standard", KASPERSKY, "home"),
    ("Kaspersky Plus", KASPERSKY, "home"),
    ("Kaspersky Premium", KASPERSKY, "home"),
    ("Kaspersky Small Office Security", AO, "home"),
    ("Kaspersky", KASPERSKY, "home"),
    ("Антивирус Касперского", RU_AO, "home"),
    ("антивирус касперского", RU_ZAO, "home"),
    # Other Windows products
    ("Kaspersky Endpoint Agent", AO, "kea"),
    ("Kaspersky VPN Secure Connection", KASPERSKY, "vpn"),
    ("Kaspersky Secure Connection", KASPERSKY, "vpn"),
    ("Kaspersky Password Manager", KASPERSKY, "password-manager"),
    ("Kaspersky Safe Kids", KASPERSKY, "safe-kids"),
    ("Kaspersky Security for Virtualization 5.2 Light Agent", AO, "ksv-la"),
]


@pytest.mark.parametrize("display_name, publisher, product", UNINSTALL_CASES)
def test_uninstall_entry_names(display_name, publisher, product):
    want = [] if product is None else [(product, "installed")]
    assert attributed(uninstall=[entry(display_name, publisher)]) == want


SERVICE_CASES = [
    # The shared engine service: AVP, AVP<platform version>, any case; never AVPX-like names.
    # Alone (no product installed) it goes to the first engine product in the catalog, KES.
    ("AVP", "kes"), ("avp", "kes"), ("AVP21.3", "kes"), ("AVP21.18", "kes"),
    ("avp21.24", "kes"), ("AVP21", "kes"),
    ("AVPX", None), ("AVPSvc", None), ("AVP21.", None), ("AVP21.3x", None), ("xAVP", None), ("AVP 21.3", None),
    ("klnagent", "klnagent-win"), ("KLNAGENT", "klnagent-win"), ("klnagent64", None),
    ("KAVFS", "ksws"), ("kavfs", "ksws"), ("KAVFSGT", "ksws"), ("kavfsslp", "ksws"), ("KAVFSX", None),
    ("CSAdminServer", "ksc"), ("csadminserver", "ksc"),
    ("KLBLMain", "kav-legacy"),
    ("KeyIso", None), ("KtmRm", None), ("ekrn", None), ("WinDefend", None),
]


@pytest.mark.parametrize("name, product", SERVICE_CASES)
def test_service_names_are_exact(name, product):
    want = [] if product is None else [(product, "residual")]
    assert attributed(**service(name)) == want


DRIVER_CASES = [
    ("klif", "leftovers"), ("KLIF", "leftovers"), ("kneps", "leftovers"), ("klim6", "leftovers"),
    ("klmouflt", "leftovers"), ("klids", "leftovers"),
    ("kdnic", None), ("KSecDD", None), ("KSecPkg", None), ("kbdclass", None), ("kbdhid", None), ("ehdrv", None),
    ("klflt", None), ("klkbdflt", None),             # never seen in any source: not listed
    ("klif2", None), ("kl", None),
]


@pytest.mark.parametrize("name, product", DRIVER_CASES)
def test_driver_names_are_exact(name, product):
    want = [] if product is None else [(product, "residual")]
    assert attributed(**service(name, "drivers")) == want


PROCESS_CASES = [
    ("avp.exe", "kes"), ("AVP.EXE", "kes"), ("avpui.exe", "kes"),
    ("avp", None), ("avpx.exe", None), ("avp.exe.bak", None),
    ("kescli.exe", "kes"), ("klnagent.exe", "klnagent-win"), ("kavfs.exe", "ksws"), ("kavtray.exe", "ksws"),
    ("ksde.exe", "vpn"), ("klserver.exe", "ksc"),
]


@pytest.mark.parametrize("name, product", PROCESS_CASES)
def test_process_names_include_the_extension(name, product):
    want = [] if product is None else [(product, "residual")]
    assert attributed(processes=[{"name": name, "pid": 4, "path": None}]) == want


@pytest.mark.parametrize("display_name, product", [
    ("Kaspersky Endpoint Security for Windows", "kes"),
    ("Kaspersky Endpoint Security 10 for Windows", "kes"),
    ("Kaspersky Internet Security", "home"),
    ("Kaspersky Standard", "home"),
    ("Kaspersky Anti-Virus 6.0 for Windows Workstations", "kav-legacy"),
    ("Windows Defender", None), ("ESET Endpoint Antivirus", None), ("UltraAV", None),
])
def test_security_center_alone_is_a_residual_product(display_name, product):
    want = [] if product is None else [(product, "residual")]
    item = {"displayName": display_name, "productState": 266240, "pathToSignedProductExe": None}
    assert attributed(security_center=[item]) == want


@pytest.mark.parametrize("path, product", [
    ("HKLM:\\SOFTWARE\\KasperskyLab", "leftovers"),
    ("hklm:\\software\\wow6432node\\kasperskylab", "leftovers"),
    ("HKLM:\\SYSTEM\\CurrentControlSet\\Services\\klif", "leftovers"),
    ("HKLM:\\SOFTWARE\\WOW6432Node\\KasperskyLab\\protected\\KES", "kes"),
    ("HKLM:\\SYSTEM\\CurrentControlSet\\Services\\KSecDD", None),
    ("HKLM:\\SOFTWARE\\KasperskyLabX", None),
])
def test_registry_keys(path, product):
    want = [] if product is None else [(product, "residual")]
    assert attributed(registry_keys=[{"path": path}]) == want


@pytest.mark.parametrize("subject, issuer, product", [
    ("CN=Kaspersky Anti-Virus Personal Root Certificate, O=AO Kaspersky Lab", "CN=x", "leftovers"),
    ("CN=proxy", "CN=kaspersky anti-virus personal root certificate", "leftovers"),
    ("CN=ESET SSL Filter CA, O=ESET spol. s r.o., C=SK", "CN=ESET SSL Filter CA", None),
])
def test_root_certificate(subject, issuer, product):
    want = [] if product is None else [(product, "residual")]
    item = {"store": "LocalMachine\\Root", "thumbprint": "00", "subject": subject, "issuer": issuer}
    assert attributed(certificates=[item]) == want


def test_paths_are_attributed_by_their_query_pattern():

    def item(path, pattern):
        return {"path": path, "type": "directory", "target": None, "pattern": pattern}
    assert attributed(paths=[item("C:\\Program Files (x86)\\Kaspersky Lab\\KES.12.6.0",
                                  "%ProgramFiles(x86)%\\Kaspersky Lab\\KES.*")]) == [("kes", "residual")]
    assert attributed(paths=[item("C:\\Program Files (x86)\\Kaspersky Lab\\Kaspersky Security 11",
                                  "%ProgramFiles(x86)%\\Kaspersky Lab\\Kaspersky Security [0-9]*")]) == [
        ("ksws", "residual")]
    assert attributed(paths=[item("C:\\ProgramData\\Kaspersky Lab", "%ProgramData%\\Kaspersky Lab")]) == [
        ("leftovers", "residual")]
    assert attributed(paths=[item("C:\\Program Files\\Contoso", "%ProgramFiles%\\Contoso")]) == []


def test_shared_signals_follow_the_product_that_is_found():
    """AVP<version> next to a home product's entry is not KES, and next to KES not a home product."""
    avp = service("AVP21.9")["services"]
    home = attributed(uninstall=[entry("Kaspersky Standard", KASPERSKY, key="Kaspersky Standard", msi=False)],
                      services=avp)
    kes = attributed(uninstall=[entry("Kaspersky Endpoint Security for Windows", AO)], services=avp)
    assert home == [("home", "installed")]
    assert kes == [("kes", "installed")]
    assert attributed(services=avp) == [("kes", "residual")]


def test_a_failed_uninstall_section_makes_a_host_unknown_not_clean():
    facts = findings_of(windows(uninstall=[], errors=[{"section": "uninstall", "message": "access denied"}]))
    assert facts["status"] == "unknown"
    facts = findings_of(windows(uninstall=[], errors=[{"section": "uninstall", "message": "cut", "limit": True}]))
    assert facts["status"] == "clean"


def test_an_unreadable_vendor_folder_makes_a_host_unknown_not_clean():
    """win_inventory_info reports a path it cannot look into as a `paths` error (not ObjectNotFound)."""
    denied = ("%ProgramData%\\Kaspersky Lab: Access to the path 'C:\\ProgramData\\Kaspersky Lab' is denied.")
    facts = findings_of(windows(uninstall=[], errors=[{"section": "paths", "message": denied, "limit": False}]))
    assert facts["status"] == "unknown"
    assert facts["scan"]["errors"] == [{"section": "paths", "message": denied}]
    capped = {"section": "paths", "message": "2 more items not returned (at most 1000 per section)", "limit": True}
    assert findings_of(windows(uninstall=[], errors=[capped]))["status"] == "clean"


# ------------------------------------------------------------------------ catalog, Windows

CATALOG = load_catalog("kaspersky")
WINDOWS = CATALOG.for_platform("windows")


def test_every_windows_product_of_the_reference_is_in_the_catalog():
    ids = [p.id for p in WINDOWS]
    assert ids == ["kes", "ksws", "kea", "ksv-la", "kav-legacy", "vpn", "password-manager", "safe-kids", "home",
                   "klnagent-win", "ksc-web-console-win", "ksc-console", "ksc"]
    roles = {p.id: p.role for p in WINDOWS}
    assert roles["klnagent-win"] == "agent"
    assert {i for i, r in roles.items() if r == "management"} == {"ksc-web-console-win", "ksc-console", "ksc"}


@pytest.mark.parametrize("product", WINDOWS, ids=lambda p: p.id)
def test_windows_product_shape(product):
    sig = product.signatures
    # Uninstall entries are matched by DisplayName with the Publisher condition, always.
    assert sig.texts.get("display_names")
    assert sig.texts.get("publishers") == ["re:kaspersky|касперск"]
    # Drivers and the root certificate live in the leftovers block, never under one product;
    # the engine's service and processes are listed by exactly the products that run it.
    assert not sig.texts.get("drivers") and not sig.texts.get("certificates")
    engine = product.id in ("kes", "kav-legacy", "home")
    assert ({"avp.exe", "avpui.exe", "avp.com"} <= {n.lower() for n in sig.texts.get("processes", [])}) == engine
    assert any(s.lower().startswith("re:avp") for s in sig.texts.get("services", [])) == engine
    # Processes carry their extension.
    assert all(n.endswith((".exe", ".com")) for n in sig.texts.get("processes", []))
    removal = product.removal
    assert removal["method"] == "msi"
    assert removal["properties"] == {"REBOOT": "ReallySuppress"}
    assert removal["success_codes"] == [0, 1641, 3010] and removal["absent_codes"] == [1605]
    if "password_properties" in removal:
        assert removal["password"] in ("optional", "required")


def test_patterns_use_the_dialect_python_and_dotnet_share():
    texts = [t for p in WINDOWS for values in p.signatures.texts.values() for t in values]
    texts += [t for values in CATALOG.leftovers.platforms["windows"][0].texts.values() for t in values]
    for text in texts:
        assert "(?P<" not in text and "(?<" not in text, text
        if text.startswith("re:"):
            re.compile(text[3:])


def test_no_two_windows_signatures_share_a_path():
    seen = {}
    for owner, texts in [(p.id, p.signatures.texts.get("paths", []) + p.signatures.texts.get("registry_keys", []))
                         for p in WINDOWS] + [("leftovers", CATALOG.leftovers.platforms["windows"][0].texts.get("paths", [])
                                               + CATALOG.leftovers.platforms["windows"][0].texts.get("registry_keys", []))]:
        for text in texts:
            assert text.casefold() not in seen, (text, owner, seen.get(text.casefold()))
            seen[text.casefold()] = owner


# ------------------------------------------------- collector review (issue 12): new raw fields

def test_a_path_whose_link_type_self_defence_hid_is_still_evidence_and_flagged():
    hidden = "link type or target unreadable: Access to the path is denied."
    path = {"path": "C:\\ProgramData\\Kaspersky Lab", "type": "directory", "target": None,
            "pattern": "%ProgramData%\\Kaspersky Lab", "error": hidden}
    facts = findings_of(windows(paths=[path]))
    assert facts["status"] == "residual"  # found, not lost: it is the evidence being sought
    evidence = [ev for f in facts["findings"] for ev in f["evidence"] if ev["kind"] == "path"]
    assert evidence == [{"kind": "path", "name": "C:\\ProgramData\\Kaspersky Lab", "unreadable": hidden}]
    plain = dict(path, error=None)
    evidence = [ev for f in findings_of(windows(paths=[plain]))["findings"] for ev in f["evidence"]]
    assert "unreadable" not in evidence[0]


def test_a_pattern_the_collector_could_not_use_never_makes_a_clean_host_unknown():
    # Before the fix every Uninstall entry became unreadable (an `uninstall` error): unknown.
    dropped = {"section": "query", "limit": False,
               "message": "display_names: 're:Kaspersky(?x)#x' is not a valid .NET regular expression as used"}
    facts = findings_of(windows(uninstall=[], errors=[dropped]))
    assert facts["status"] == "clean"
    assert facts["scan"]["errors"] == [{"section": "query", "message": dropped["message"]}]


MULTI_SESSION = {"system": "Windows", "distribution": "Microsoft Windows 11 Enterprise multi-session",
                 "version": "10.0.22631", "product_type": "server", "edition_id": "ServerRdsh", "build": "22631"}
SERVER_2022 = {"system": "Windows", "distribution": "Microsoft Windows Server 2022 Standard",
               "version": "10.0.20348", "product_type": "server", "edition_id": "ServerStandard", "build": "20348"}


@pytest.mark.parametrize("platform, expected_errors", [
    # A client without root\SecurityCenter2 is worth a (non-critical) error; a server is not.
    (MULTI_SESSION, [{"section": "security_center",
                      "message": "Security Center is expected on this Windows client but was not read: "
                                 "the namespace root\\SecurityCenter2 does not exist on this host"}]),
    (SERVER_2022, []),
])
def test_a_missing_security_center_is_judged_by_the_platform_decision(platform, expected_errors):
    inventory = windows(skipped=SKIPPED_SC)
    inventory["platform"] = platform
    facts = findings_of(inventory)
    assert facts["status"] == "clean"
    assert facts["scan"]["skipped"] == SKIPPED_SC
    assert facts["scan"]["errors"] == expected_errors


def test_facts_say_which_windows_it_is():
    inventory = windows()
    # WMI did not answer: the registry's ProductName says Windows 10 on a Windows 11 build.
    inventory["platform"] = {"system": "Windows", "distribution": "Windows 10 Pro", "version": "10.0.22631",
                             "product_type": "workstation", "edition_id": "Professional", "build": "22631"}
    assert findings_of(inventory)["platform"] == {
        "system": "Windows", "distribution": "Windows 11 Pro", "version": "10.0.22631",
        "role": "workstation", "release": "Windows 11", "multi_session": False}
    inventory["platform"] = MULTI_SESSION
    platform = findings_of(inventory)["platform"]
    assert (platform["role"], platform["release"], platform["multi_session"]) == ("workstation", "Windows 11", True)
