"""RPM-managed hosts, live: identify reads the rpm database, execute removes with dnf and with
zypper, survives a held rpm lock, a failing %preun and a host that is down, blocks reinstalls
in dnf.conf and /etc/zypp/locks, reruns without changing anything, and predicted it all in
check mode."""

import csv
import json
import os
from pathlib import Path

import pytest

import eicar
import testlib

SCENARIO = "xrpm"
REPORTS = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "reports"
HOSTS = ("dnf", "zypper", "preun", "residual")
# what each host's plan removes (product -> packages, in order)
PLANNED = {
    "dnf": {"kesl": ["kesl-gui", "kesl"], "klnagent": ["klnagent64"]},
    "zypper": {"kesl": ["kesl"], "klnagent": ["klnagent64"]},
    "preun": {"kesl": ["kesl"]},
    "residual": {"kesl": [], "klnagent": []},
}
VENDOR_NAMES = set(testlib.KASPERSKY_PACKAGES)


def host(name):
    return testlib.container(SCENARIO, name)


def report(run, name="divest-execute.json"):
    return json.loads((REPORTS / run / name).read_text(encoding="utf-8"))


def by_host(rep):
    return {h["name"]: h for h in rep["hosts"]}


def rpm_qa(h):
    res = h.run("rpm --query --all --queryformat '%{NAME}\\n'")
    assert res.rc == 0, res.stderr
    return set(res.stdout.split())


def detects_eicar(h):
    script = ("import subprocess, sys; p = subprocess.run(['clamdscan', '--no-summary', '-'], "
              "input=''.join(sys.argv[1:]).encode(), capture_output=True); "
              "print(p.stdout.decode().strip()); sys.exit(p.returncode)")
    res = testlib.sh(h, "python3", "-c", script, *eicar.PIECES)
    return res.rc == 1 and res.stdout.strip().endswith("FOUND")


# ---- identify: the findings are what the rpm database held ---------------------------------

def recorded_rpmdb(name):
    rows = (REPORTS / f"rpmdb-{name}.txt").read_text().split("\n")
    out = {}
    for row in filter(None, rows):
        pkg, epoch, version, release, arch = row.split("|")
        if pkg in VENDOR_NAMES:
            out[pkg] = (f"{version}-{release}" if epoch == "(none)" else f"{epoch}:{version}-{release}", arch)
    return out


@pytest.mark.parametrize("name", HOSTS)
def test_identify_findings_are_what_the_rpm_database_held(name):
    rep = json.loads((REPORTS / "divest-identify.json").read_text())
    entry = by_host(rep)[name]
    evidence = {e["name"]: (e["version"], e["arch"]) for f in entry["findings"] for e in f["evidence"]
                if e["kind"] == "package"}
    assert all(e["manager"] == "rpm" for f in entry["findings"] for e in f["evidence"] if e["kind"] == "package")
    assert evidence == recorded_rpmdb(name)
    assert set(PLANNED[name]) == {f["product"] for f in entry["findings"]}


def test_identify_sees_what_rpm_e_left_behind():
    rep = json.loads((REPORTS / "divest-identify.json").read_text())
    entry = by_host(rep)["residual"]
    assert entry["status"] == "residual"
    assert recorded_rpmdb("residual") == {}          # rpm -e took the packages out of the database
    paths = {f["product"]: {e["name"] for e in f["evidence"] if e["kind"] == "path"} for f in entry["findings"]}
    assert {f["state"] for f in entry["findings"]} == {"residual"}
    # %config(noreplace) files the setup script had changed, saved by rpm, and the state it never owned
    assert {"/etc/opt/kaspersky/kesl.conf.rpmsave", "/var/opt/kaspersky/kesl"} <= paths["kesl"]
    assert {"/etc/opt/kaspersky/klnagent64.conf.rpmsave", "/var/opt/kaspersky/klnagent"} <= paths["klnagent"]


def test_plan_removes_by_package_name_in_order():
    plan = json.loads((REPORTS / "divest-plan.json").read_text())
    for name, products in PLANNED.items():
        removes = {a["product"]: a["removal"].get("packages", []) for a in plan["hosts"][name]["actions"]
                   if a["action"] == "remove"}
        installed = set(recorded_rpmdb(name))
        assert {p: [n for n in pk if n in installed] for p, pk in removes.items()} == products


# ---- check mode (before anything was staged) -------------------------------------------------

def test_check_mode_predicted_every_removal():
    hosts = by_host(report("run-a", "divest-execute-check.json"))
    assert {n: h["status"] for n, h in hosts.items()} == {
        "dnf": "would_remove", "zypper": "would_remove", "preun": "would_remove", "residual": "would_remove"}
    for name, products in PLANNED.items():
        assert {r["product"]: r["packages"] for r in hosts[name]["removed"]} == products, hosts[name]
        assert hosts[name]["reason"].startswith("check mode: would install ClamAV"), hosts[name]["reason"]


# ---- run A: a held rpm lock, a failing %preun, a host that is down -------------------------

def test_run_a_outcomes():
    hosts = by_host(report("run-a"))
    assert {n: h["status"] for n, h in hosts.items()} == {
        "dnf": "failed", "zypper": "removed", "preun": "failed", "residual": "unreachable"}
    assert hosts["dnf"]["reason"].startswith(
        "remove: kesl-gui: not removed, the package database stayed locked for 10 s: "
        "rpm's transaction lock is held by pid "), hosts["dnf"]["reason"]
    assert "(rpm)" in hosts["dnf"]["reason"] and hosts["dnf"]["removed"] == []
    assert hosts["preun"]["reason"].startswith("remove: kesl: dnf remove failed (exit 1): "
                                               "Error in PREUN scriptlet in rpm package kesl"), hosts["preun"]["reason"]
    assert "kesl: could not stop Kaspersky Endpoint Security tasks" in hosts["preun"]["reason"]
    assert hosts["residual"]["reason"].startswith("re-identify: the host does not answer (")
    for name in ("dnf", "preun"):
        assert hosts[name]["replacement"]["healthy"] is True   # ClamAV first, then the removal failed


# ---- run B finishes every host, run C changes nothing -----------------------------------------

def test_rerun_finishes_every_host_and_a_third_run_changes_nothing():
    b, c = by_host(report("run-b")), by_host(report("run-c"))
    assert {n: h["status"] for n, h in b.items()} == dict.fromkeys(HOSTS, "removed")
    assert {n: h["status"] for n, h in c.items()} == dict.fromkeys(HOSTS, "removed")
    for name in HOSTS:
        assert [h["status"] for h in c[name]["history"]][-1] == "removed"
        # the outcome of run C, as stored in the fact cache: nothing was changed on any host
        outcome = cached_facts(name)["divest_outcome"]
        assert outcome["digest"] == report("run-c")["plan"]["digest"]
        assert outcome["changes"] == {}, (name, outcome["changes"])
    assert {r["product"] for r in b["dnf"]["removed"]} == {"kesl", "klnagent"}
    with open(REPORTS / "run-c" / "divest-execute.csv", encoding="utf-8", newline="") as handle:
        assert {r["host"] for r in csv.DictReader(handle)} == set(HOSTS)


def cached_facts(name):
    """A host's facts in the jsonfile cache (ansible-core 2.19+ names the file s1_<host> and wraps
    the facts in a __payload__ string)."""
    cache = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "facts"
    path = next(p for p in (cache / f"s1_{name}", cache / name) if p.exists())
    data = json.loads(path.read_text())
    return json.loads(data["__payload__"]) if "__payload__" in data else data


@pytest.mark.parametrize("name", HOSTS)
def test_no_vendor_package_unit_process_or_path_remains(name):
    h = host(name)
    assert rpm_qa(h) & VENDOR_NAMES == set()
    snap = testlib.snapshot(h, ("kesl", "klnagent64"))
    assert [p for p in snap["processes"] if "/kaspersky/" in p["exe"]] == []
    for unit in ("kesl", "klnagent64"):
        assert snap["units"][unit]["LoadState"] == "not-found", snap["units"][unit]
    left = h.run("find /opt/kaspersky /var/opt/kaspersky /etc/opt/kaspersky /var/log/kaspersky "
                 "/usr/bin/kesl-control -name '*' 2>/dev/null")
    assert left.stdout == "", left.stdout    # .rpmsave files included


@pytest.mark.parametrize("name", HOSTS)
def test_clamav_protects_the_host(name):
    h = host(name)
    assert h.run("systemctl is-active clamav-daemon").stdout.strip() == "active"
    assert detects_eicar(h)


# ---- the reinstall block, proven by the front ends themselves --------------------------------

def repo_install(h, frontend, name):
    """Offer the harness repository again (as the vendor's would be) and try to install."""
    if frontend == "dnf":
        return h.run(f"dnf --assumeyes --repofrompath=vendor,file:///srv/divest-repos/kaspersky-rpm --repo=vendor "
                     f"--nogpgcheck install {name}")
    return h.run("zypper --non-interactive addrepo --no-gpgcheck file:///srv/divest-repos/kaspersky-rpm vendor "
                 f">/dev/null; zypper --non-interactive install --no-recommends {name}; rc=$?; "
                 "zypper --non-interactive removerepo vendor >/dev/null; exit $rc")


@pytest.mark.parametrize("name", ["dnf", "preun", "residual"])
def test_dnf_excludepkgs_stops_dnf_install(name):
    h = host(name)
    conf = h.file("/etc/dnf/dnf.conf").content_string
    line = next(x for x in conf.splitlines() if x.startswith("excludepkgs="))
    assert {"kesl", "kesl-gui", "klnagent64", "klnagent"} <= set(line.split("=", 1)[1].replace(",", " ").split())
    res = repo_install(h, "dnf", "kesl")
    assert res.rc != 0
    assert "Error: Unable to find a match: kesl" in res.stderr, res.stdout + res.stderr   # dnf 4.14's words
    assert "kesl" not in rpm_qa(h)
    # the exclude is what hides it: with excludes off, the same repository offers kesl
    offered = h.run("dnf --quiet --repofrompath=vendor,file:///srv/divest-repos/kaspersky-rpm --repo=vendor "
                    "--disableexcludes=main repoquery --qf '%{name}' kesl")
    assert offered.rc == 0 and offered.stdout.split() == ["kesl"] * len(offered.stdout.split()) != [], offered.stdout
    # the Debian side of the same host is blocked too (a dpkg database is there as well)
    assert h.file("/etc/apt/preferences.d/divest-kaspersky.pref").exists


def test_zypper_locks_stop_zypper_install():
    h = host("zypper")
    locks = h.file("/etc/zypp/locks").content_string
    for pkg in ("kesl", "kesl-gui", "klnagent64"):
        assert f"solvable_name: {pkg}\n" in locks
    res = repo_install(h, "zypper", "kesl")
    assert res.rc != 0
    assert "Solution 1: remove lock to allow installation of kesl-" in res.stdout, res.stdout + res.stderr
    assert "kesl" not in rpm_qa(h)
    assert not h.file("/etc/dnf/dnf.conf").exists     # no dnf on this host: nothing written for it


def test_the_lock_holder_and_the_failing_scriptlet_finished_their_own_business():
    assert "site-agent" in rpm_qa(host("dnf"))         # the other rpm transaction was never disturbed
    # the refused first erase left its record in the vendor's state, which the rerun's cleanup took
    assert not host("preun").file("/var/opt/kaspersky/kesl/private/uninstall.attempt").exists
