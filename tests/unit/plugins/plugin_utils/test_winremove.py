# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Windows removal decisions (plugin_utils._winremove): msiexec arguments and their quoting,
password encoding, exit codes, MSI log lines, redaction, residue guards and the ansible.windows
module arguments (table-driven)."""

from __future__ import annotations

import copy
import json
import pathlib

import pytest

from ansible_collections.fleetsec.divest.plugins.plugin_utils import _winremove as wr
from ansible_collections.fleetsec.divest.plugins.plugin_utils._catalog import load_catalogs
from ansible_collections.fleetsec.divest.plugins.plugin_utils._matcher import match

FIXTURES = pathlib.Path(__file__).resolve().parents[2] / "fixtures" / "windows"
CATALOGS = load_catalogs(["kaspersky"])

# The recipes as the catalog has them (catalog/kaspersky.yml: kes, klnagent-win, home).
KES = {"method": "msi", "order": 10, "properties": {"REBOOT": "ReallySuppress"}, "password": "optional",
       "password_properties": {"login": "KLLOGIN", "password": "KLPASSWD"}, "success_codes": [0, 1641, 3010],
       "absent_codes": [1605], "reboot": True, "product_codes": ["{9A017278-F7F4-4DF9-A482-0B97B70DD7ED}"]}
AGENT = {"method": "msi", "order": 50, "properties": {"REBOOT": "ReallySuppress"}, "password": "optional",
         "password_properties": {"password": "KLUNINSTPASSWD", "encoding": "utf16le-hex"},
         "success_codes": [0, 1641, 3010], "absent_codes": [1605], "reboot": False,
         "product_codes": ["{1A7B331A-ABBE-4230-995E-BCD99C5A18CF}"]}
HOME = {"method": "msi", "order": 10, "properties": {"REBOOT": "ReallySuppress"}, "password": "none",
        "success_codes": [0, 1641, 3010], "absent_codes": [1605], "reboot": True}

# A verbose MSI log of a password-protected uninstall refused by the product (synthetic: the
# lines follow the layout of Windows Installer verbose logs; the vendor's custom-action text is
# made up). The password is on the command line and in the property dump, as MSI writes them
# when the package does not hide the property.
VENDOR_LOG = "\n".join([
    "=== Verbose logging started: 27/11/2026  10:12:01  Build type: SHIP UNICODE 5.00.10011.00 ===",
    "MSI (s) (C8:34) [10:12:01:100]: Command Line: REBOOT=ReallySuppress KLLOGIN=KLAdmin KLPASSWD=Wr0ngPass! "
    "CURRENTDIRECTORY=C:\\Windows\\system32 CLIENTUILEVEL=3",
    "MSI (s) (C8:34) [10:12:01:200]: Note: 1: 2205 2:  3: Error ",
    "MSI (s) (C8:34) [10:12:01:210]: PROPERTY CHANGE: Adding ErrorDialog property. Its value is 'ErrorDlg'.",
    "Action start 10:12:02: KLCheckUninstallPassword.",
    "KLCA: CheckUninstallPassword failed: access denied for KLAdmin (password 'Wr0ngPass!' rejected)",
    "CustomAction KLCheckUninstallPassword returned actual error code 1603 (note this may not be 100% "
    "accurate if translation happened inside sandbox)",
    "Action ended 10:12:02: KLCheckUninstallPassword. Return value 3.",
    "Action ended 10:12:02: INSTALL. Return value 3.",
    "Property(S): KLPASSWD = Wr0ngPass!",
    "Property(S): ErrorDialog = ErrorDlg",
    "MSI (s) (C8:34) [10:12:03:000]: Product: Kaspersky Endpoint Security for Windows -- Removal failed.",
    "MSI (s) (C8:34) [10:12:03:010]: Windows Installer removed the product. Product Name: Kaspersky Endpoint "
    "Security for Windows. Product Version: 12.6.0.438. Product Language: 1033. Manufacturer: AO Kaspersky Lab. "
    "Removal success or error status: 1603.",
    "=== Verbose logging stopped: 27/11/2026  10:12:03 ===",
])


# ------------------------------------------------------------------------------- msiexec arguments

@pytest.mark.parametrize("recipe, password, login, args, shown", [
    (KES, None, None, ["REBOOT=ReallySuppress"], ["REBOOT=ReallySuppress"]),
    (KES, "", None, ["REBOOT=ReallySuppress"], ["REBOOT=ReallySuppress"]),
    (KES, "Pa55word!", None, ["REBOOT=ReallySuppress", "KLLOGIN=KLAdmin", "KLPASSWD=Pa55word!"],
     ["REBOOT=ReallySuppress", "KLLOGIN=KLAdmin", "KLPASSWD=********"]),
    (KES, "Pa55word!", "secadmin", ["REBOOT=ReallySuppress", "KLLOGIN=secadmin", "KLPASSWD=Pa55word!"],
     ["REBOOT=ReallySuppress", "KLLOGIN=secadmin", "KLPASSWD=********"]),
    # a login alone is not passed: no password, no login
    (KES, None, "secadmin", ["REBOOT=ReallySuppress"], ["REBOOT=ReallySuppress"]),
    # the Network Agent: hex of the UTF-16LE bytes, no login property
    (AGENT, "Pa55word!", None, ["REBOOT=ReallySuppress", "KLUNINSTPASSWD=500061003500350077006f00720064002100"],
     ["REBOOT=ReallySuppress", "KLUNINSTPASSWD=********"]),
    # quoting the msiexec way
    (KES, "two words", "Domain Admin", ["REBOOT=ReallySuppress", 'KLLOGIN="Domain Admin"', 'KLPASSWD="two words"'],
     ["REBOOT=ReallySuppress", 'KLLOGIN="Domain Admin"', "KLPASSWD=********"]),
    (KES, 'va"lue', None, ["REBOOT=ReallySuppress", "KLLOGIN=KLAdmin", 'KLPASSWD="va""lue"'],
     ["REBOOT=ReallySuppress", "KLLOGIN=KLAdmin", "KLPASSWD=********"]),
    (dict(KES, properties={"REBOOT": "ReallySuppress", "NOTE": "a b", "LEVEL": 3, "EMPTY": ""}), None, None,
     ["REBOOT=ReallySuppress", 'NOTE="a b"', "LEVEL=3", 'EMPTY=""'],
     ["REBOOT=ReallySuppress", 'NOTE="a b"', "LEVEL=3", 'EMPTY=""']),
])
def test_msi_properties(recipe, password, login, args, shown):
    msi = wr.msi_properties(recipe, password=password, login=login)
    assert msi.args == args and msi.shown == shown and msi.notes == []
    if password:
        assert password in msi.secrets and all(password not in item for item in msi.shown)
    else:
        assert msi.secrets == frozenset()


@pytest.mark.parametrize("password, encoded", [
    ("Pa55word!", "500061003500350077006f00720064002100"),
    ("A", "4100"),
    ("é", "e900"),                                 # Latin-1: the community formula agrees
    ("пароль", "3f04300440043e043b044c04"),        # Cyrillic: two bytes per character, low byte first
    ("Kennwort\u20ac", "4b0065006e006e0077006f0072007400ac20"),
    ("\U0001f511", "3dd811dd"),                    # outside the BMP: a surrogate pair, as UTF-16 has it
])
def test_kluninstpasswd_is_the_hex_of_the_utf16le_bytes(password, encoded):
    assert wr.encode_password(password, "utf16le-hex") == encoded
    msi = wr.msi_properties(AGENT, password=password)
    assert msi.args[-1] == "KLUNINSTPASSWD=" + encoded
    assert {password, encoded} <= msi.secrets


@pytest.mark.parametrize("password", ["bad\x00nul", "tab\there", "line\nbreak", "cr\r", "esc\x1b[0m", "del\x7f", "c1\x85",
                                      "lone\udcff"])
def test_a_password_msiexec_cannot_carry_is_refused_without_showing_it(password):
    with pytest.raises(wr.RemovalError) as info:
        wr.msi_properties(KES, password=password)
    assert "password" in str(info.value) and password not in str(info.value)


@pytest.mark.parametrize("recipe, message", [
    (dict(KES, password="required"), "needs an uninstall password"),
    (dict(KES, properties={"BAD NAME": "x"}), "not an MSI property name"),
    (dict(KES, properties={"REBOOT": "a\nb"}), "value of MSI property REBOOT"),
    (dict(KES, properties={"FLAG": True}), "must be text or an integer"),
    (dict(AGENT, password_properties={"password": "X", "encoding": "base64"}), "unknown password encoding"),
    ("msi", "must be a mapping"),
])
def test_recipes_that_cannot_be_run(recipe, message):
    with pytest.raises(wr.RemovalError, match=message):
        wr.msi_properties(recipe, password="x" if "encoding" in message else None)


def test_a_password_for_a_recipe_without_password_properties_is_not_passed():
    for recipe in (HOME, dict(KES, password_properties=None, password="optional")):
        msi = wr.msi_properties(recipe, password="Pa55word!")
        assert msi.args == ["REBOOT=ReallySuppress"] and msi.secrets == frozenset()
        assert "not passed" in msi.notes[0] and "Pa55word!" not in msi.notes[0]


def test_a_recipe_property_named_like_a_password_property_is_never_sent_without_a_password():
    recipe = dict(KES, properties={"REBOOT": "ReallySuppress", "KLPASSWD": "from-catalog"})
    assert wr.msi_properties(recipe).args == ["REBOOT=ReallySuppress"]


# ------------------------------------------------------------------------------- exit codes

@pytest.mark.parametrize("rc, outcome, meaning", [
    (0, "removed", "the action completed successfully"),
    (3010, "reboot_required", "a restart is required to complete the removal"),
    (1641, "reboot_required", "the installer has started a restart"),
    (1605, "absent", "this action is only valid for products that are currently installed"),
    (1618, "retry", "another installation is already in progress"),
    (1603, "failed", "fatal error during installation"),
    (1602, "failed", "the user cancelled the installation"),
    (1601, "failed", "the Windows Installer service could not be accessed"),
    (1619, "failed", "the installation package could not be opened"),
    (1620, "failed", "the installation package could not be opened (not a valid Windows Installer package)"),
    (1622, "failed", "there was an error opening the installation log file"),
    (1625, "failed", "this installation is forbidden by system policy"),
    (1639, "failed", "invalid command line argument"),
    (1, "failed", None),
    (-2147467259, "failed", None),                 # an exception's HResult, as win_package reports it
    (None, "failed", None),
    ("0", "failed", None),
    (True, "failed", None),
])
def test_classify(rc, outcome, meaning):
    assert wr.classify(rc, KES) == (outcome, meaning)


def test_classify_reads_the_recipe_codes():
    recipe = dict(KES, success_codes=[0, 1641, 3010, 42], absent_codes=[1605, 1614])
    assert wr.classify(42, recipe) == ("removed", None)
    assert wr.classify(1614, recipe) == ("absent", None)
    assert wr.classify(42, KES) == ("failed", None)
    assert wr.classify(0, None) == ("removed", "the action completed successfully")


def test_win_package_expects_every_code_that_is_not_a_failure():
    assert wr.not_failing_codes(KES) == [0, 1605, 1618, 1641, 3010]
    assert wr.not_failing_codes(dict(KES, success_codes=[7], absent_codes=[8])) == [0, 7, 8, 1605, 1618, 1641, 3010]
    for rc in range(-5, 4000):
        assert (rc in wr.not_failing_codes(KES)) == (wr.classify(rc, KES)[0] != "failed")


# ------------------------------------------------------------------------------- MSI log

def test_msi_log_errors_keeps_the_last_error_lines_without_the_password():
    secrets = wr.msi_properties(KES, password="Wr0ngPass!").secrets
    lines = wr.msi_log_errors(VENDOR_LOG, secrets)
    assert lines == [
        "KLCA: CheckUninstallPassword failed: access denied for KLAdmin (password '********' rejected)",
        "CustomAction KLCheckUninstallPassword returned actual error code 1603 (note this may not be 100% "
        "accurate if translation happened inside sandbox)",
        "Action ended 10:12:02: KLCheckUninstallPassword. Return value 3.",
        "Product: Kaspersky Endpoint Security for Windows -- Removal failed.",
        "Windows Installer removed the product. Product Name: Kaspersky Endpoint Security for Windows. Product "
        "Version: 12.6.0.438. Product Language: 1033. Manufacturer: AO Kaspersky Lab. Removal success or error "
        "status: 1603.",
    ]
    assert not any("Wr0ngPass" in line for line in wr.msi_log_errors(VENDOR_LOG, secrets, lines=50))


def test_msi_log_errors_clips_and_shows_control_characters_safely():
    log = "Error 1722. \x1b[31mred\u202e\x07 " + "x" * 1000 + "\r\nAction ended: INSTALL. Return value 1.\r\n"
    (line,) = wr.msi_log_errors(log, ())
    assert line.startswith("Error 1722. \ufffd[31mred\ufffd\ufffd x") and "[\u2026 " in line
    assert len(line) < wr.LOG_LINE_LIMIT + 40 and "\x1b" not in line
    assert wr.msi_log_errors("", ()) == [] and wr.msi_log_errors(None, ()) == []


def test_msi_log_errors_reads_utf16_text_read_as_bytes():
    log = "\x00".join("Action ended 10:12:02: KLCheck. Return value 3.") + "\x00"
    assert wr.msi_log_errors(log, ()) == ["Action ended 10:12:02: KLCheck. Return value 3."]


# ------------------------------------------------------------------------------- redaction

def test_redact_reaches_every_text_and_key():
    secrets = wr.msi_properties(AGENT, password="Pa55word!").secrets
    hexed = wr.encode_password("Pa55word!", "utf16le-hex")
    value = {"msg": "msiexec KLUNINSTPASSWD=%s failed" % hexed.upper(), "rc": 1603, "ok": True,
             "nested": [{"stdout": b"Pa55word! in bytes"}, ("tuple Pa55word!",)], "Pa55word!": None}
    out = wr.redact(value, secrets)
    assert "Pa55word!" not in json.dumps(out) and hexed not in json.dumps(out).lower()
    assert out["msg"] == "msiexec KLUNINSTPASSWD=******** failed" and out["rc"] == 1603 and out["ok"] is True
    assert out["nested"] == [{"stdout": "******** in bytes"}, ["tuple ********"]] and "********" in out
    assert wr.redact(value, ())["rc"] == 1603


# ------------------------------------------------------------------------------- residue

def finding(product, evidence, vendor="kaspersky", state="residual"):
    return {"vendor": vendor, "product": product, "name": product, "version": None, "state": state,
            "evidence": evidence, "removal": {"method": "msi"}}


def path(name, **extra):
    return dict({"kind": "path", "name": name}, **extra)


REMOVED = [{"vendor": "kaspersky", "product": "kes"}]


@pytest.mark.parametrize("name, extra, reason", [
    ("C:\\Program Files (x86)\\Kaspersky Lab\\KES", {}, None),
    ("C:\\ProgramData\\Kaspersky Lab\\KES.12.6", {}, None),
    ("D:\\Apps\\Kaspersky Lab\\KES", {}, None),
    ("C:\\Users\\ann\\AppData\\Local\\Kaspersky Lab", {}, None),
    ("C:\\ProgramData\\Kaspersky Lab\\KES.12.6", {"target": "D:\\data"}, "a link or junction to D:\\data"),
    ("C:\\ProgramData\\Kaspersky Lab\\KES.12.6", {"type": "link"}, "a link or junction"),
    ("C:\\ProgramData\\Kaspersky Lab\\KES.12.6", {"link": True}, "a link or junction"),
    ("C:\\ProgramData\\Kaspersky Lab\\KES.12.6",
     {"unreadable": "reparse point, link type or target unreadable: Access denied"}, "could not be read"),
    ("C:\\ProgramData\\Kaspersky Lab\\KES.12.6", {"type": "other"}, "neither a folder nor a file"),
    ("C:\\", {}, "not a normal path"),
    ("C:", {}, "not a local path"),
    ("C:\\Kaspersky Lab", {}, "fewer than 3 components"),
    ("C:\\Windows\\System32\\drivers\\klif.sys", {}, "inside the Windows folder"),
    ("C:\\WINDOWS\\Temp\\kl", {}, "inside the Windows folder"),
    ("C:\\Program Files\\Common Files", {}, "share"),
    ("C:\\Program Files (x86)\\Microsoft\\Edge", {}, "Microsoft"),
    ("C:\\ProgramData\\Microsoft\\Windows Defender\\Platform", {}, "Microsoft"),
    ("C:\\Program Files\\Windows Defender\\x", {}, "Microsoft"),
    ("C:\\Users\\ann", {}, "user profile"),
    ("C:\\Users\\ann\\AppData", {}, "user profile"),
    ("C:\\Users\\ann\\AppData\\Local", {}, "user profile"),
    ("\\\\server\\share\\Kaspersky Lab", {}, "not a local path"),
    ("\\\\?\\C:\\Program Files\\Kaspersky Lab\\KES", {}, "not a local path"),
    ("Program Files\\Kaspersky Lab\\KES", {}, "not a local path"),
    ("C:\\Program Files\\Kaspersky Lab\\..\\..\\Windows", {}, "not a normal path"),
    ("C:\\Program Files\\Kaspersky Lab\\KES\\", {}, "not a normal path"),
    ("C:\\Program Files\\Kaspersky Lab\\KES:stream", {}, "stream or wildcard"),
    ("C:\\Program Files\\Kaspersky Lab\\KES*", {}, "stream or wildcard"),
    ("C:\\Program Files\\Kaspersky Lab\\" + "x" * 256 + "\u2026", {}, "shortened"),
    ("C:\\Program Files\\Kaspersky Lab\\x...[truncated]", {}, "shortened"),
    ("C:\\Program Files\\Kaspersky Lab\\bad\ufffdname", {}, "shortened"),
    ("C:\\Program Files\\Kaspersky Lab\\a\x01b", {}, "control characters"),
])
def test_residue_path_guards(name, extra, reason):
    out = wr.residue({"findings": [finding("kes", [path(name, **extra)])]}, REMOVED)
    if reason is None:
        assert out == {"delete": [{"kind": "path", "name": name}], "refused": [], "needs_reboot": []}
    else:
        assert out["delete"] == [] and len(out["refused"]) == 1
        assert reason in out["refused"][0]["reason"]


@pytest.mark.parametrize("key, reason", [
    ("HKLM:\\SOFTWARE\\KasperskyLab", None),
    ("HKLM:\\SOFTWARE\\WOW6432Node\\KasperskyLab\\protected\\KES", None),
    ("HKLM:\\SYSTEM\\CurrentControlSet\\Services\\AVP21.18", None),
    ("HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\{9A017278-F7F4-4DF9-A482-0B97B70DD7ED}",
     "share"),
    ("HKLM:\\SOFTWARE\\WOW6432Node", "share"),
    ("HKLM:\\SOFTWARE\\Classes\\KasperskyLab.File", "share"),
    ("HKLM:\\SOFTWARE\\Contoso", "not under the vendor's own key"),
    ("HKLM:\\SOFTWARE", "outside the vendor's keys"),
    ("HKLM:\\SYSTEM\\CurrentControlSet\\Services", "outside the vendor's keys"),
    ("HKLM:\\SYSTEM\\CurrentControlSet\\Services\\klif\\Instances", "outside the vendor's keys"),
    ("HKLM:\\SYSTEM\\ControlSet001\\Services\\AVP21.18", "outside the vendor's keys"),
    ("HKCU:\\Software\\KasperskyLab", "outside the vendor's keys"),
    ("HKLM:\\SYSTEM\\CurrentControlSet\\Services\\WinDefend", "protected service"),
    ("HKLM:\\SYSTEM\\CurrentControlSet\\Services\\klif", "kernel driver klif"),
    ("HKLM:\\SOFTWARE\\KasperskyLab\\x...[truncated]", "shortened"),
])
def test_residue_registry_guards(key, reason):
    facts = {"findings": [finding("kes", [{"kind": "registry_key", "name": key}]),
                          finding("leftovers", [{"kind": "driver", "name": "klif", "state": "stopped"}])]}
    out = wr.residue(facts, REMOVED)
    if reason is None:
        assert out["delete"] == [{"kind": "registry_key", "name": key}] and out["refused"] == []
    else:
        assert out["delete"] == [] and reason in out["refused"][0]["reason"]


@pytest.mark.parametrize("name, reason", [
    ("AVP21.18", None), ("klnagent", None),
    ("WinDefend", "protected service"), ("msmpsvc", "protected service"), ("wscsvc", "protected service"),
    ("Sense", "protected service"), ("WinRM", "protected service"),
    ("klif", "kernel driver"), ("a\\b", "not a usable service name"),
])
def test_residue_service_guards(name, reason):
    facts = {"findings": [finding("kes", [{"kind": "service", "name": name, "state": "stopped"},
                                          {"kind": "driver", "name": "klif", "state": "running"}])]}
    out = wr.residue(facts, REMOVED)
    assert out["needs_reboot"] == [{"kind": "driver", "name": "klif", "state": "running"}]
    if reason is None:
        assert out["delete"] == [{"kind": "service", "name": name}]
    else:
        assert out["delete"] == [] and reason in [r for r in out["refused"] if r["kind"] == "service"][0]["reason"]


def test_residue_only_of_removed_products_in_a_stable_order():
    facts = {"findings": [
        finding("kes", [path("C:\\ProgramData\\Kaspersky Lab\\KES.12.6"),
                        {"kind": "registry_key", "name": "HKLM:\\SOFTWARE\\WOW6432Node\\KasperskyLab\\protected\\KES"},
                        path("c:\\programdata\\kaspersky lab\\kes.12.6"),            # the same folder
                        {"kind": "service", "name": "AVP21.18", "state": "running"},
                        path("C:\\Program Files (x86)\\Kaspersky Lab\\KES"),
                        {"kind": "process", "name": "avp.exe", "pid": 3120},
                        {"kind": "uninstall_entry", "name": "Kaspersky Endpoint Security for Windows"},
                        {"kind": "driver", "name": "klhk", "state": "stopped"},
                        {"kind": "driver", "name": "klif", "state": "running"}]),
        finding("klnagent-win", [path("C:\\Program Files (x86)\\Kaspersky Lab\\NetworkAgent"),
                                 {"kind": "service", "name": "klnagent", "state": "running"}]),
        finding("kes", [path("C:\\Program Files (x86)\\Kaspersky Lab\\KES")], vendor="acme"),
    ]}
    out = wr.residue(facts, [("kaspersky", "kes")])
    assert out["delete"] == [
        {"kind": "service", "name": "AVP21.18"},
        {"kind": "registry_key", "name": "HKLM:\\SOFTWARE\\WOW6432Node\\KasperskyLab\\protected\\KES"},
        {"kind": "path", "name": "C:\\Program Files (x86)\\Kaspersky Lab\\KES"},
        {"kind": "path", "name": "C:\\ProgramData\\Kaspersky Lab\\KES.12.6"},
    ]
    assert [(r["kind"], r["name"]) for r in out["refused"]] == [
        ("driver", "klhk"), ("process", "avp.exe"), ("uninstall_entry", "Kaspersky Endpoint Security for Windows")]
    assert out["needs_reboot"] == [{"kind": "driver", "name": "klif", "state": "running"}]
    shuffled = copy.deepcopy(facts)
    shuffled["findings"][0]["evidence"].reverse()
    assert wr.residue(shuffled, [("kaspersky", "kes")]) == out
    assert wr.residue(facts, []) == {"delete": [], "refused": [], "needs_reboot": []}
    assert wr.residue({}, REMOVED) == {"delete": [], "refused": [], "needs_reboot": []}


def scan_after(fixture, *gone):
    inventory = json.loads((FIXTURES / fixture).read_text(encoding="utf-8"))
    for section in gone:
        inventory[section] = []
    return match(inventory, CATALOGS, scanned_at="2026-11-28T10:00:00Z")


def test_residue_from_real_scans_after_the_msi_step():
    """Fixture 01 (KES 12 + Network Agent) after both MSIs went (Uninstall entries, Security
    Center entry and processes gone): first the services the products left, then - once no
    product's evidence is left - the vendor-wide leftovers (when named in ``removed``)."""
    facts = scan_after("01-win10-kes12-agent.json", "uninstall", "security_center", "processes")
    out = wr.residue(facts, [("kaspersky", "kes"), ("kaspersky", "klnagent-win")])
    assert out == {"delete": [{"kind": "service", "name": "AVP21.18"}, {"kind": "service", "name": "klnagent"}],
                   "refused": [], "needs_reboot": []}

    facts = scan_after("01-win10-kes12-agent.json", "uninstall", "security_center", "processes", "services")
    assert wr.residue(facts, [("kaspersky", "kes")]) == {"delete": [], "refused": [], "needs_reboot": []}
    out = wr.residue(facts, [("kaspersky", "leftovers")])
    assert out["delete"] == [
        {"kind": "registry_key", "name": "HKLM:\\SOFTWARE\\WOW6432Node\\KasperskyLab"},
        {"kind": "path", "name": "C:\\Program Files (x86)\\Kaspersky Lab"},
        {"kind": "path", "name": "C:\\ProgramData\\Kaspersky Lab"},
        {"kind": "path", "name": "C:\\ProgramData\\KasperskyLab"},
    ]
    assert [d["name"] for d in out["needs_reboot"]] == ["klbackupflt", "klhk", "klids", "klif", "klim6", "klwfp",
                                                        "kneps"]
    refused = {r["name"]: r["reason"] for r in out["refused"]}
    assert "kernel driver klif" in refused["HKLM:\\SYSTEM\\CurrentControlSet\\Services\\klif"]
    assert "never deleted" in refused["klelam"]                        # stopped: not loaded, still not deleted


def test_residue_refuses_the_folder_whose_link_state_self_defence_hid():
    facts = scan_after("10-win11-multisession-kes-selfdefence.json", "uninstall", "security_center", "processes",
                       "services")
    out = wr.residue(facts, [("kaspersky", "leftovers")])
    refused = {r["name"]: r["reason"] for r in out["refused"]}
    assert "could not be read" in refused["C:\\ProgramData\\Kaspersky Lab"]
    assert "C:\\ProgramData\\Kaspersky Lab" not in [i["name"] for i in out["delete"]]


# ------------------------------------------------------------------------------- module arguments

def test_module_arguments():
    msi = wr.msi_properties(KES, password="two words")
    assert wr.package_args("{9A017278-F7F4-4DF9-A482-0B97B70DD7ED}", msi.args, "C:\\Windows\\Temp\\x.log",
                           removal=KES) == {
        "product_id": "{9A017278-F7F4-4DF9-A482-0B97B70DD7ED}", "state": "absent", "provider": "msi",
        "arguments": 'REBOOT=ReallySuppress KLLOGIN=KLAdmin KLPASSWD="two words"',
        "expected_return_code": [0, 1605, 1618, 1641, 3010], "log_path": "C:\\Windows\\Temp\\x.log"}
    assert wr.package_args("{X}", None, None) == {"product_id": "{X}", "state": "absent", "provider": "msi",
                                                  "expected_return_code": [0, 1605, 1618, 1641, 3010]}
    assert wr.file_args("C:\\P\\K\\KES") == {"path": "C:\\P\\K\\KES", "state": "absent"}
    assert wr.regedit_args("HKLM:\\SOFTWARE\\KasperskyLab") == {"path": "HKLM:\\SOFTWARE\\KasperskyLab",
                                                                "state": "absent", "delete_key": True}
    assert wr.service_args("AVP21.18") == {"name": "AVP21.18", "state": "absent"}
    assert [m for m, dummy in wr.MODULE_BUILDERS] == ["ansible.windows.win_package", "ansible.windows.win_file",
                                                      "ansible.windows.win_regedit", "ansible.windows.win_service"]
    assert wr.msi_path("C:\\Windows\\Temp", "kes", "{9A017278-F7F4}") == \
        "C:\\Windows\\Temp\\divest-msi-kes-9A017278-F7F4.log"
    assert wr.log_name("../..\\x", "{a b}") == "divest-msi-....x-ab.log"
