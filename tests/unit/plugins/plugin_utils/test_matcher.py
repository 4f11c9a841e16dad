"""Matcher: raw inventory + catalog -> ansible_facts.divest (table-driven)."""

import copy
import json

import pytest

from ansible_collections.fleetsec.divest.plugins.plugin_utils._catalog import load_catalogs
from ansible_collections.fleetsec.divest.plugins.plugin_utils._matcher import (
    MAX_EVIDENCE,
    InventoryError,
    build_query,
    match,
    version_of_package,
)

CATALOGS = load_catalogs(["kaspersky"])
MAINT = "AO Kaspersky Lab <support@kaspersky.com>"


def pkg(name, version, status="installed", arch="amd64", maintainer=MAINT, manager="dpkg"):
    return {"name": name, "version": version, "arch": arch, "manager": manager, "status": status,
            "maintainer": maintainer}


def unit(name, active="active", enabled="enabled", kind="systemd"):
    path = "/etc/init.d/%s" % name if kind == "sysv" else "/lib/systemd/system/%s.service" % name
    return {"name": name, "kind": kind, "path": path, "active": active, "enabled": enabled}


def path(p, type_="directory", target=None, pattern=None):
    return {"path": p, "type": type_, "target": target, "pattern": pattern or p}


def linux(**sections):
    inv = {"schema": 1, "platform": {"system": "Linux", "distribution": "debian", "version": "12"},
           "root": "/", "live": True, "skipped": [], "errors": []}
    inv.update(sections)
    return inv


def windows(**sections):
    inv = {"schema": 1, "platform": {"system": "Windows", "distribution": "Microsoft Windows 11 Enterprise",
                                     "version": "10.0.22631"}, "live": True, "skipped": [], "errors": []}
    inv.update(sections)
    return inv


def denied(section, message, limit=False):
    entry = {"section": section, "message": message}
    if limit:
        entry["limit"] = True
    return entry


def summary(facts):
    """What a human reads first: status and product -> (state, version)."""
    return facts["status"], {f["product"]: (f["state"], f["version"]) for f in facts["findings"]}


CASES = [
    ("clean host", linux(packages=[]), "clean", {}),
    ("kesl 12.1 with gui and agent",
     linux(packages=[pkg("kesl", "12.1.0-1508"), pkg("kesl-gui", "12.1.0-1508"),
                     pkg("klnagent64", "15.4.0-8873")],
           units=[unit("kesl"), unit("klnagent64")],
           processes=[{"name": "kesl", "pid": 412, "exe": "/opt/kaspersky/kesl/libexec/kesl"},
                      {"name": "klnagent", "pid": 500, "exe": "/opt/kaspersky/klnagent64/sbin/klnagent"}],
           paths=[path("/opt/kaspersky"), path("/opt/kaspersky/kesl"), path("/opt/kaspersky/klnagent64")]),
     "affected", {"kesl": ("installed", "12.1.0.1508"), "klnagent": ("installed", "15.4.0.8873")}),
    ("kesl 12.2 symlink layout",
     linux(packages=[pkg("kesl", "12.2.0-2412")],
           paths=[path("/opt/kaspersky/kesl", "link", "/var/opt/kaspersky/kesl/install_12.2.0.2412/opt/kaspersky/kesl")]),
     "affected", {"kesl": ("installed", "12.2.0.2412")}),
    ("kesl 10 sysv supervisor",
     linux(packages=[pkg("kesl", "10.1.1-6421")], units=[unit("kesl-supervisor", kind="sysv")]),
     "affected", {"kesl": ("installed", "10.1.1.6421")}),
    ("astra variant with gui",
     linux(packages=[pkg("kesl-astra", "11.1.0-3013.mod"), pkg("kesl-gui-astra", "11.1.0-3013.mod")]),
     "affected", {"kesl": ("installed", "11.1.0.3013")}),
    ("32-bit agent and legacy file server",
     linux(packages=[pkg("klnagent", "10.1.1-26", arch="i386"), pkg("kav4fs", "8.0.4-312", arch="i386")]),
     "affected", {"kav4fs": ("installed", "8.0.4.312"), "klnagent": ("installed", "10.1.1.26")}),
    ("residual after plain remove",
     linux(packages=[pkg("kesl", "12.1.0-1508", status="config-files")],
           paths=[path("/var/opt/kaspersky/kesl"), path("/opt/kaspersky")]),
     "residual", {"kesl": ("residual", "12.1.0.1508")}),
    ("half-installed counts as present",
     linux(packages=[pkg("kesl", "12.1.0-1508", status="half-installed")]),
     "affected", {"kesl": ("installed", "12.1.0.1508")}),
    ("unpacked counts as present",
     linux(packages=[pkg("klnagent64", "15.4.0-8873", status="unpacked")]),
     "affected", {"klnagent": ("installed", "15.4.0.8873")}),
    ("triggers-pending counts as present",
     linux(packages=[pkg("kics", "1.5.0-100", status="triggers-pending")]),
     "affected", {"kics": ("installed", "1.5.0.100")}),
    ("process left behind after removal",
     linux(processes=[{"name": "klnagent", "pid": 77, "exe": None}]),
     "residual", {"klnagent": ("residual", None)}),
    ("only the vendor's shared directories",
     linux(paths=[path("/opt/kaspersky"), path("/var/log/kaspersky")]),
     "residual", {"leftovers": ("residual", None)}),
    ("vendor repository next to a product",
     linux(packages=[pkg("kesl", "12.1.0-1508")],
           repos=[{"path": "/etc/apt/sources.list.d/kaspersky.list",
                   "line": "deb https://repo.kaspersky.example/kesl stable main"}]),
     "affected", {"kesl": ("installed", "12.1.0.1508"), "leftovers": ("residual", None)}),
    ("unknown vendor package found by maintainer",
     linux(packages=[pkg("kaspersky-update-utility", "4.2.0-1432")]),
     "affected", {"unknown": ("installed", "4.2.0.1432")}),
    ("decoys with similar names are not vendor products",
     linux(packages=[pkg("keslint", "1.0", maintainer="Jane <j@example.org>"),
                     pkg("klnagent-exporter", "0.3", maintainer="Ops <o@example.org>"),
                     pkg("kav4fs-tools", "2.0", maintainer="x <x@example.org>")],
           units=[unit("keslogger")]),
     "clean", {}),
    ("offline scan sees unit file only",
     linux(units=[unit("kesl", active=None, enabled=None)], live=False),
     "residual", {"kesl": ("residual", None)}),
    ("security center web console matched by regular expression",
     linux(packages=[pkg("ksc64", "15.4.0-8873"), pkg("ksc-web-console", "15.4.1021")],
           units=[unit("KSCWebConsole"), unit("kladminserver_srv")]),
     "affected", {"ksc-web-console": ("installed", "15.4.1021"), "ksc64": ("installed", "15.4.0.8873")}),
    ("package database unreadable and nothing else",
     linux(errors=[{"section": "packages", "message": "cannot read /var/lib/dpkg/status"}]),
     "unknown", {}),
    ("package database unreadable but a process runs",
     linux(errors=[{"section": "packages", "message": "garbage"}],
           processes=[{"name": "kesl", "pid": 1, "exe": None}]),
     "unknown", {"kesl": ("residual", None)}),
    ("installed product wins over an unreadable source",
     linux(errors=[{"section": "packages", "message": "rpm failed"}],
           packages=[pkg("kesl", "12.1.0-1508")]),
     "affected", {"kesl": ("installed", "12.1.0.1508")}),
    ("a note about output caps is not a read failure",
     linux(errors=[{"section": "packages", "limit": True,
                    "message": "3 values longer than 512 characters were truncated"}]),
     "clean", {}),
    ("error in a minor section keeps the host clean",
     linux(errors=[{"section": "processes", "message": "permission denied"}]),
     "clean", {}),
]

# A source needed to call a host clean that could not be read makes a host with nothing
# installed `unknown`; a note about output caps (limit) means the section was read.
READ_FAILURES = [
    ("vendor directories unreadable",
     linux(errors=[denied("paths", "cannot read /opt/kaspersky: Permission denied")]), "unknown", {}),
    ("vendor directory listing unreadable",
     linux(errors=[denied("paths", "cannot read /opt: Permission denied")]), "unknown", {}),
    ("paths collector crashed",
     linux(errors=[denied("paths", "collection failed: RuntimeError: x")]), "unknown", {}),
    ("repository directory unreadable",
     linux(errors=[denied("repos", "cannot read /etc/apt/sources.list.d: Permission denied")]), "unknown", {}),
    ("repository files cut by the read budget",
     linux(errors=[denied("repos", "reading stopped at /etc/yum.repos.d/x.repo: the repository files together "
                                   "exceed the read budget of 8388608 bytes")]), "unknown", {}),
    ("dpkg database cut by the read budget",
     linux(errors=[denied("packages", "reading stopped at /var/lib/dpkg/updates/0015: ...")]), "unknown", {}),
    ("paths cap note is not a read failure",
     linux(errors=[denied("paths", "1 more items not returned (at most 1000 per section)", limit=True)]), "clean", {}),
    ("repos cap note is not a read failure",
     linux(errors=[denied("repos", "2 values longer than 512 characters were truncated", limit=True)]), "clean", {}),
    ("unreadable lock files do not make a host unknown",
     linux(errors=[denied("holds", "cannot read /etc/zypp/locks: Permission denied")]), "clean", {}),
    ("unit directory unreadable keeps the host clean",
     linux(errors=[denied("units", "cannot list /etc/systemd/system: Permission denied")]), "clean", {}),
    ("leftovers seen but a vendor directory unreadable",
     linux(paths=[path("/var/log/kaspersky")],
           errors=[denied("paths", "cannot read /opt/kaspersky: Permission denied")]),
     "unknown", {"leftovers": ("residual", None)}),
    ("installed product wins over unreadable paths",
     linux(packages=[pkg("kesl", "12.1.0-1508")],
           errors=[denied("paths", "cannot read /opt/kaspersky: Permission denied")]),
     "affected", {"kesl": ("installed", "12.1.0.1508")}),
    ("windows: vendor folder unreadable",
     windows(uninstall=[], errors=[denied(
         "paths", "%ProgramFiles(x86)%\\Kaspersky Lab: Access to the path 'C:\\Program Files (x86)\\Kaspersky Lab' is denied.")]),
     "unknown", {}),
    ("windows: paths cap note is not a read failure",
     windows(uninstall=[], errors=[denied("paths", "3 more items not returned (at most 1000 per section)",
                                          limit=True)]), "clean", {}),
    ("windows: services error keeps the host clean",
     windows(uninstall=[], errors=[denied("services", "Access denied")]), "clean", {}),
]
CASES += READ_FAILURES


@pytest.mark.parametrize("name, inventory, status, products", CASES, ids=[c[0] for c in CASES])
def test_findings(name, inventory, status, products):
    facts = match(inventory, CATALOGS, scanned_at="2026-11-27T10:00:00Z")
    assert summary(facts) == (status, products)
    assert facts["schema"] == 1 and facts["scanned_at"] == "2026-11-27T10:00:00Z"
    json.dumps(facts)  # facts must always be serialisable


def test_read_failures_are_listed_first_in_scan_errors():
    """A report or a plan blocker that shows the first errors shows why the host is not clean."""
    minor = [denied("units", "cannot list /etc/systemd/system/%d: Permission denied" % i) for i in range(6)]
    inv = linux(errors=minor + [denied("packages", "cut", limit=True),
                                denied("repos", "cannot read /etc/apt/sources.list.d: Permission denied")])
    facts = match(inv, CATALOGS)
    assert facts["status"] == "unknown"
    assert facts["scan"]["errors"][0] == {"section": "repos",
                                          "message": "cannot read /etc/apt/sources.list.d: Permission denied"}
    assert [e["section"] for e in facts["scan"]["errors"][1:]] == ["units"] * 6 + ["packages"]


@pytest.mark.parametrize("hold", ["apt-mark", "versionlock", "zypper-lock"])
def test_a_held_package_says_so_in_its_evidence(hold):
    held = dict(pkg("kesl", "12.1.0-1508"), hold=hold)
    facts = match(linux(packages=[held, pkg("kesl-gui", "12.1.0-1508")]), CATALOGS)
    evidence = facts["findings"][0]["evidence"]
    assert evidence[0] == {"kind": "package", "name": "kesl", "version": "12.1.0-1508", "manager": "dpkg",
                           "status": "installed", "arch": "amd64", "hold": hold}
    assert "hold" not in evidence[1]  # compact: only when held


def test_evidence_explains_the_finding():
    inv = CASES[1][1]
    kesl = match(inv, CATALOGS)["findings"][0]
    kinds = [(e["kind"], e["name"]) for e in kesl["evidence"]]
    assert kinds == [("package", "kesl"), ("package", "kesl-gui"), ("service", "kesl"),
                     ("process", "kesl"), ("path", "/opt/kaspersky/kesl")]
    assert kesl["evidence"][2]["state"] == "running"


def test_removal_is_narrowed_to_what_the_host_has():
    inv = CASES[1][1]
    findings = {f["product"]: f for f in match(inv, CATALOGS)["findings"]}
    kesl = findings["kesl"]["removal"]
    assert kesl["method"] == "package" and kesl["purge"] is True
    assert kesl["packages"] == ["kesl-gui", "kesl"]          # GUI first: it depends on kesl
    assert kesl["services"] == ["kesl"]
    # a file outside the vendor's directories is listed apart (catalog: residue_files)
    assert "/usr/bin/kesl-control" in kesl["residue"] + kesl.get("residue_files", [])
    agent = findings["klnagent"]["removal"]
    assert agent["packages"] == ["klnagent64"] and agent["order"] > kesl["order"]


def test_kes4lwks_recipe_carries_the_smb_conf_edit():
    facts = match(linux(packages=[pkg("kes4lwks", "8.0.1-50", arch="i386")]), CATALOGS)
    edits = facts["findings"][0]["removal"]["config_edits"]
    assert {e["path"] for e in edits} == {"/etc/samba/smb.conf"}
    import re
    line = "vfs object = kes4lwks-smb-vfs28"
    assert any(re.search(e["regexp"], line) for e in edits)
    assert not any(re.search(e["regexp"], "vfs objects = full_audit") for e in edits)


def test_leftover_repo_files_are_listed_for_removal():
    facts = match(CASES[12][1], CATALOGS)
    leftovers = [f for f in facts["findings"] if f["product"] == "leftovers"][0]
    assert leftovers["removal"]["repo_files"] == ["/etc/apt/sources.list.d/kaspersky.list"]


def test_unknown_product_is_not_guessed_at():
    facts = match(CASES[13][1], CATALOGS)
    removal = facts["findings"][0]["removal"]
    assert removal["method"] == "unknown" and removal["candidates"] == ["kaspersky-update-utility"]


def test_generic_paths_do_not_duplicate_a_product():
    facts = match(CASES[1][1], CATALOGS)
    assert "leftovers" not in {f["product"] for f in facts["findings"]}


def test_evidence_is_capped_and_strings_clipped():
    many = [path("/etc/opt/kaspersky/kesl-%d.conf" % i, "file", pattern="/etc/opt/kaspersky/kesl*")
            for i in range(100)]
    huge = "x" * 100000
    inv = linux(packages=[pkg("kesl", "12.1.0-1508", maintainer=huge)], paths=many,
                repos=[{"path": "/etc/apt/sources.list", "line": "deb kaspersky " + huge}])
    facts = match(inv, CATALOGS)
    kesl = facts["findings"][0]
    assert len(kesl["evidence"]) == MAX_EVIDENCE and kesl["evidence_truncated"] == 101 - MAX_EVIDENCE
    assert len(json.dumps(facts)) < 20000


def test_malformed_items_are_ignored_and_reported():
    inv = linux(packages=["kesl", None, pkg("kesl", "12.1.0-1508")], units="garbage")
    facts = match(inv, CATALOGS)
    assert facts["status"] == "affected"
    messages = {e["section"]: e["message"] for e in facts["scan"]["errors"]}
    assert messages == {"packages": "2 malformed item(s) ignored", "units": "not a list; ignored"}


def test_hostile_names_stay_data():
    evil = "<script>alert(1)</script>"
    inv = linux(packages=[pkg(evil, "1", maintainer="Kaspersky =cmd|' /C calc'!A0")])
    facts = match(inv, CATALOGS)
    assert facts["findings"][0]["evidence"][0]["name"] == evil  # reports escape, facts keep data


@pytest.mark.parametrize("bad, message", [
    ([], "must be a mapping"),
    ({"schema": 2, "platform": {"system": "Linux"}}, "schema 2"),
    ({"platform": {"system": "Darwin"}}, "Linux or Windows"),
    ({"platform": None}, "Linux or Windows"),
])
def test_unusable_inventory_is_refused(bad, message):
    with pytest.raises(InventoryError, match=message):
        match(bad, CATALOGS)


def test_matching_does_not_modify_the_inventory():
    inv = CASES[1][1]
    before = copy.deepcopy(inv)
    match(inv, CATALOGS)
    assert inv == before


@pytest.mark.parametrize("raw, version", [
    ("12.1.0-1508", "12.1.0.1508"),
    ("11.1.0-3013.mod", "11.1.0.3013"),
    ("15.4.1021", "15.4.1021"),
    ("1:8.0.4-312", "8.0.4.312"),
    ("5.5-86", "5.5.86"),
    ("2.0-beta", "2.0"),
    ("", None),
    (None, None),
])
def test_package_version_to_product_version(raw, version):
    assert version_of_package(raw) == version


def test_linux_query_is_the_union_of_signatures():
    query = build_query(CATALOGS, "linux")
    assert set(query) == {"packages", "package_maintainers", "units", "processes", "paths", "repos"}
    assert "kesl-gui" in query["packages"] and "klnagent" in query["packages"]
    assert "kesl-supervisor" in query["units"]
    assert "/usr/bin/kesl-control" in query["paths"]      # residue is looked for too
    assert "/opt/kaspersky" in query["paths"]              # leftovers
    assert len(query["paths"]) == len(set(query["paths"]))


def test_clean_facts_are_small():
    facts = match(linux(), CATALOGS)
    assert len(json.dumps(facts, separators=(",", ":"))) < 400


@pytest.mark.parametrize("item, expected", [
    ({"path": "C:\\ProgramData\\Kaspersky Lab\\KES.12.6", "type": "directory", "target": None},
     {"kind": "path", "name": "C:\\ProgramData\\Kaspersky Lab\\KES.12.6"}),
    ({"path": "C:\\ProgramData\\Kaspersky Lab\\KES.12.6", "type": "link", "target": "D:\\data"},
     {"kind": "path", "name": "C:\\ProgramData\\Kaspersky Lab\\KES.12.6", "target": "D:\\data"}),
    # a junction whose target could not be read stays a link in the evidence (cleanup never deletes through it)
    ({"path": "C:\\ProgramData\\Kaspersky Lab\\KES.12.6", "type": "link", "target": None},
     {"kind": "path", "name": "C:\\ProgramData\\Kaspersky Lab\\KES.12.6", "link": True}),
])
def test_path_evidence_keeps_that_it_is_a_link(item, expected):
    from ansible_collections.fleetsec.divest.plugins.plugin_utils import _matcher
    assert _matcher._clip_evidence(_matcher.evidence_of("path", item)) == expected  # pylint: disable=protected-access
