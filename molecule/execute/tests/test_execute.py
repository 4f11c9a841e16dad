"""Execute over the harness fleet: every planned host is clean, protected and blocked, the clean
host was not touched, and the reports (check run and real run) say exactly that."""

import csv
import json
import os
from pathlib import Path

import pytest

import eicar
import testlib

SCENARIO = "execute"
REPORTS = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "reports"
PLANNED = {
    "kesl12": {"kesl", "klnagent", "leftovers"},
    "kesl10": {"kesl"},
    "legacy": {"kav4fs", "kes4lwks"},
    "residual": {"kesl", "klnagent"},
}
VENDOR_UNITS = ("kesl", "kesl-supervisor", "klnagent64", "kav4fs-supervisor", "kes4lwks-supervisor")


def host(name):
    return testlib.container(SCENARIO, name)


def report(name="divest-execute.json"):
    return json.loads((REPORTS / name).read_text(encoding="utf-8"))


def by_host(rep):
    return {h["name"]: h for h in rep["hosts"]}


@pytest.mark.parametrize("name", sorted(PLANNED))
def test_no_vendor_package_unit_process_or_path_remains(name):
    h = host(name)
    snap = testlib.snapshot(h, VENDOR_UNITS)
    assert testlib.vendor_packages(snap) == {}, "dpkg still knows vendor packages (any state, incl. rc)"
    for unit, props in snap["units"].items():
        assert props["LoadState"] == "not-found", (unit, props)
    assert [p for p in snap["processes"] if "/kaspersky/" in p["exe"]] == []
    assert not any(testlib.paths_exist(h, *testlib.KASPERSKY_DIRS, "/usr/bin/kesl-control",
                                       "/usr/bin/klnagent", "/etc/init.d/kesl-supervisor").values())


@pytest.mark.parametrize("name", sorted(PLANNED))
def test_clamav_protects_the_host(name):
    h = host(name)
    assert h.run("systemctl is-active clamav-daemon").stdout.strip() == "active"
    # the test string exists only in memory, here and in the container
    script = ("import subprocess, sys; p = subprocess.run(['clamdscan', '--no-summary', '-'], "
              "input=''.join(sys.argv[1:]).encode(), capture_output=True); "
              "print(p.stdout.decode().strip()); sys.exit(p.returncode)")
    res = testlib.sh(h, "python3", "-c", script, *eicar.PIECES)
    assert res.rc == 1 and res.stdout.strip().endswith("FOUND"), res.stdout + res.stderr


@pytest.mark.parametrize("name", sorted(PLANNED))
def test_reinstall_is_blocked(name):
    h = host(name)
    pref = h.file("/etc/apt/preferences.d/divest-kaspersky.pref")
    assert pref.exists
    assert "Pin-Priority: -1" in pref.content_string
    # every package name the catalog knows, not only the ones this host had
    pinned = next(line for line in pref.content_string.splitlines() if line.startswith("Package:")).split()[1:]
    assert {"kesl", "kesl-gui", "klnagent64", "kess", "kav4fs", "ksc64", "kwts"} <= set(pinned)


def test_pin_stops_apt_from_installing_again():
    h = host("kesl10")
    # with the vendor's repository back, apt must find no candidate for kesl
    cmd = ("echo 'deb [trusted=yes] file:/srv/divest-repos/kaspersky ./' > /tmp/k.list && "
           "apt-get -o Dir::Etc::SourceList=/tmp/k.list -o Dir::Etc::SourceParts=/nonexistent update -qq && "
           "apt-cache -o Dir::Etc::SourceList=/tmp/k.list -o Dir::Etc::SourceParts=/nonexistent policy kesl")
    res = testlib.sh(h, "sh", "-c", cmd)
    assert res.rc == 0, res.stderr
    assert "Candidate: (none)" in res.stdout, res.stdout
    testlib.sh(h, "sh", "-c", "rm -f /tmp/k.list; apt-get update -qq")


def test_vendor_repository_is_gone_and_the_site_mirror_stays():
    h = host("kesl12")
    assert not h.file("/etc/apt/sources.list.d/kaspersky.list").exists
    assert h.file("/etc/apt/sources.list.d/site-mirror.list").content_string.strip() == \
        "deb [trusted=yes] file:/srv/divest-repos/debian ./"


def test_samba_vfs_lines_are_gone_and_the_rest_is_kept():
    h = host("legacy")
    smb = h.file("/etc/samba/smb.conf").content_string
    assert "kes4lwks" not in smb and "KASPERSKY" not in smb
    seeded = (Path(__file__).resolve().parents[2] / "shared" / "files" / "smb.conf").read_text()
    kept = [line for line in seeded.splitlines() if "kes4lwks" not in line and "KASPERSKY" not in line]
    assert [line for line in smb.splitlines() if line.strip()] == [line for line in kept if line.strip()]
    backups = h.run("ls /etc/samba/").stdout.split()
    assert any(b.startswith("smb.conf.") and b.endswith("~") for b in backups), backups


def test_clean_host_was_not_touched():
    h = host("clean")
    assert not h.package("clamav-daemon").is_installed
    assert not h.file("/etc/apt/preferences.d/divest-kaspersky.pref").exists


def test_execute_report_lists_every_host_with_its_outcome():
    rep = report()
    hosts = by_host(rep)
    assert set(hosts) == set(PLANNED)
    for name, products in PLANNED.items():
        entry = hosts[name]
        # the last run was the idempotence run: already clean; the first one removed them
        assert entry["status"] in ("already_clean", "removed"), entry
        assert {e["product"] for e in entry["expected"]} == products
    assert [i["host"] for i in rep["not_in_plan"]] == ["clean"]
    assert rep["summary"]["vendor_free"] == len(PLANNED)
    assert rep["summary"]["still_affected"] == 0 and rep["summary"]["unprotected"] == 0
    # every host ended clean: no planned product (leftovers included) is "still there"
    assert [p for p in rep["summary"]["by_product"] if p["remaining"]] == []
    # the idempotence run kept what the first run removed, and both runs are in the history
    for name in PLANNED:
        entry = hosts[name]
        assert entry["status"] == "removed" and [h["status"] for h in entry["history"]] == ["removed", "removed"]
        assert {r["product"] for r in entry["removed"]} == PLANNED[name] - {"leftovers"}, entry["removed"]
        assert "\n" not in entry["reason"]
    with open(REPORTS / "divest-execute.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {r["host"] for r in rows} == set(PLANNED) | {"clean"}
    page = (REPORTS / "divest-execute.html").read_text(encoding="utf-8")
    assert "Content-Security-Policy" in page and "<script src=" not in page
    for name in PLANNED:
        assert name in page


def cached_facts(name):
    """A host's facts in the jsonfile cache (ansible-core 2.19+ names the file s1_<host> and
    wraps the facts in a __payload__ string)."""
    cache = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "facts"
    path = next(p for p in (cache / f"s1_{name}", cache / name) if p.exists())
    data = json.loads(path.read_text())
    return json.loads(data["__payload__"]) if "__payload__" in data else data


def test_outcome_of_the_real_run_is_in_the_fact_cache():
    for name in PLANNED:
        facts = cached_facts(name)
        outcome = facts["divest_outcome"]
        assert outcome["digest"] == report()["plan"]["digest"]
        assert outcome["status"] in ("removed", "already_clean")
        assert facts["divest"]["status"] == "clean"


def test_check_mode_predicted_the_removal_and_changed_nothing():
    rep = report("divest-execute-check.json")
    assert rep["check_mode"] is True
    hosts = by_host(rep)
    assert set(hosts) == set(PLANNED)
    for name, products in PLANNED.items():
        entry = hosts[name]
        assert entry["status"] == "would_remove", entry
        assert {r["product"] for r in entry["removed"]} == products - {"leftovers"}, entry
        assert entry["reason"].startswith("check mode: would install ClamAV"), entry["reason"]
    kesl12 = {r["product"]: r["packages"] for r in hosts["kesl12"]["removed"]}
    assert kesl12 == {"kesl": ["kesl-gui", "kesl"], "klnagent": ["klnagent64"]}
