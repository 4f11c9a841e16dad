"""fleetsec.divest.clamav on the harness: what the role reported, and what is really on the hosts.

offline and mirror must be protected (clamd running from the test bundle, detecting EICAR);
norepo and nopkg must have failed with the cause named and carry no ClamAV at all; blind
(signatures that miss EICAR) and nodb (no signatures could be had) must have failed the
health check with its reason.
"""

import shlex

import pytest
from clamavlib import converge, result

import testlib

HEALTHY = {"offline": "offline", "mirror": "private_mirror"}
FAILING = {"norepo": "repository unreachable", "nopkg": "package missing"}
UNHEALTHY = {
    "blind": ("EICAR not detected: clamdscan returned 0 (stream: OK)", ["divest-blind.ndb"]),
    "nodb": ("no database: /var/lib/clamav holds no signature files, and freshclam could not"
             " download them from http://127.0.0.1:8080 (rc ", []),
}
PACKAGES = ("clamav", "clamav-daemon", "clamav-freshclam", "clamdscan")
MIRRORS = ["http://127.0.0.1:8080", "http://127.0.0.1:8081"]
DB_DIR = "/var/lib/clamav"
DROPINS = (
    "/etc/systemd/system/clamav-daemon.service.d/fleetsec-divest-signatures.conf",
    "/etc/systemd/system/clamav-daemon.socket.d/fleetsec-divest-signatures.conf",
)


def write(host, path, pieces, mode):
    """Write the joined pieces into a file of the container (the whole string exists only there)."""
    script = "import sys; open(sys.argv[1], 'w').write(''.join(sys.argv[2:]))"
    res = testlib.sh(host, "python3", "-c", script, path, *pieces)
    assert res.rc == 0, res.stderr
    testlib.sh(host, "chmod", mode, path)


def conf_lines(host, path):
    return [line.strip() for line in host.file(path).content_string.splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


# ---- what the role reported ---------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(HEALTHY))
def test_role_reports_a_healthy_replacement(name):
    res = result("run", name)
    assert res["failure"] is None
    health = res["health"]
    assert health["product"] == "clamav"
    assert (health["healthy"], health["checked"]) == (True, True)
    assert health["signatures"] == HEALTHY[name]
    assert health["database"] == ["divest-test.hdb", "divest-test.ndb"]
    assert health["version"].startswith("1.4.3")
    assert health["reason"].startswith("clamd answers and detects the EICAR test string (Divest.Test.EICAR-")
    assert health["reason"].endswith(".UNOFFICIAL)")


@pytest.mark.parametrize("name", sorted(FAILING))
def test_failing_host_names_the_cause(name):
    res = result("run", name)
    cause = FAILING[name]
    assert res["failure"].startswith(f"ClamAV does not protect {name}: {cause}")
    for package in PACKAGES:
        assert package in res["failure"]
    health = res["health"]
    assert (health["healthy"], health["checked"]) == (False, True)
    assert health["reason"].startswith(cause)
    assert health["version"] is None and health["database"] == []


@pytest.mark.parametrize("name", sorted(UNHEALTHY))
def test_unhealthy_host_fails_with_the_reason(name):
    res = result("run", name)
    reason, database = UNHEALTHY[name]
    assert res["failure"].startswith(f"ClamAV does not protect {name}: {reason}")
    health = res["health"]
    assert (health["healthy"], health["checked"]) == (False, True)
    assert health["reason"].startswith(reason)
    assert health["database"] == database


def test_unreachable_repository_is_named():
    assert "http://127.0.0.1:9/debian" in result("run", "norepo")["failure"]
    assert "Connection refused" in result("run", "norepo")["failure"]


@pytest.mark.parametrize("name", sorted(HEALTHY) + sorted(UNHEALTHY))
def test_check_mode_before_installation_claims_no_health(name):
    health = result("check", name)["health"]
    assert result("check", name)["failure"] is None
    assert (health["healthy"], health["checked"]) == (False, False)
    assert health["reason"].startswith("check mode: would install " + ", ".join(PACKAGES))


@pytest.mark.parametrize("name, kind", [("nopkg", "package missing"), ("norepo", "repository unreachable")])
def test_check_mode_fails_where_nothing_can_be_installed_for_the_same_reason_as_the_run(name, kind):
    # check mode refreshes the lists into a scratch directory and simulates the installation:
    # the host's own lists (empty here) do not decide, and the prediction is the real run's
    failure = result("check", name)["failure"]
    assert failure.startswith(f"ClamAV does not protect {name}: {kind}")
    assert failure.split("(")[0] == result("run", name)["failure"].split("(")[0]


# ---- what is on the hosts -----------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(FAILING))
def test_check_mode_left_no_scratch_lists_behind(hosts, name):
    assert hosts[name].run("ls -d /tmp/fleetsec-divest-apt.* 2>/dev/null | wc -l").stdout.strip() == "0"


@pytest.mark.parametrize("name", sorted(FAILING))
def test_failing_host_has_no_clamav(hosts, name):
    host = hosts[name]
    snap = testlib.snapshot(host, units=("clamav-daemon.service",))
    assert not set(PACKAGES) & set(snap["packages"])
    assert snap["units"]["clamav-daemon.service"]["LoadState"] == "not-found"
    assert not any(testlib.paths_exist(host, *DROPINS).values())


@pytest.mark.parametrize("name", sorted(HEALTHY))
def test_clamd_is_active_and_enabled(hosts, name):
    host = hosts[name]
    for unit in ("clamav-daemon", "clamav-daemon.socket"):
        assert host.service(unit).is_running, unit
        assert host.service(unit).is_enabled, unit
    users = testlib.sh(host, "ps", "--no-headers", "-o", "user", "-C", "clamd").stdout.split()
    assert users == ["clamav"]


def test_clamd_without_database_is_not_running(hosts):
    assert not hosts["nodb"].service("clamav-daemon").is_running
    listing = testlib.sh(hosts["nodb"], "ls", "-A", DB_DIR).stdout.split()
    assert not [f for f in listing if f.endswith((".cvd", ".cld", ".cud", ".hdb", ".ndb", ".ldb"))], listing


def test_freshclam_is_disabled_offline_and_running_with_a_private_mirror(hosts):
    assert not hosts["offline"].service("clamav-freshclam").is_running
    assert not hosts["offline"].service("clamav-freshclam").is_enabled
    for name in ("mirror", "nodb"):     # nodb: paused for the failed download, then started again
        assert hosts[name].service("clamav-freshclam").is_running, name
    assert hosts["mirror"].service("clamav-freshclam").is_enabled


def test_freshclam_conf_follows_the_source(hosts):
    offline = conf_lines(hosts["offline"], "/etc/clamav/freshclam.conf")
    mirror = conf_lines(hosts["mirror"], "/etc/clamav/freshclam.conf")
    for lines in (offline, mirror):
        assert not [line for line in lines if line.startswith(("DatabaseMirror", "DNSDatabaseInfo"))]
        assert "DatabaseDirectory /var/lib/clamav" in lines
    assert not [line for line in offline if line.startswith("PrivateMirror")]
    assert [line for line in mirror if line.startswith("PrivateMirror")] == [f"PrivateMirror {m}" for m in MIRRORS]


def test_freshclam_asked_the_private_mirror(hosts):
    # the test mirror serves no CVD: freshclam's requests reach it (and get 404), clamd keeps
    # running from the seed bundle
    log = testlib.sh(hosts["mirror"], "journalctl", "--no-pager", "--unit=divest-test-mirror").stdout
    assert "GET /daily.cld" in log or "GET /daily.cvd" in log


@pytest.mark.parametrize("name", sorted(HEALTHY))
def test_database_files_are_the_bundle_owned_by_clamav(hosts, bundle, name):
    for filename, content in bundle.items():
        f = hosts[name].file(f"{DB_DIR}/{filename}")
        assert (f.user, f.group, f.mode) == ("clamav", "clamav", 0o644), filename
        assert f.content_string == content


@pytest.mark.parametrize("name", sorted(HEALTHY))
def test_clamdscan_detects_an_eicar_file_and_passes_a_clean_one(hosts, eicar_pieces, name):
    host = hosts[name]
    try:
        write(host, "/tmp/divest-probe.com", eicar_pieces, "0644")
        write(host, "/tmp/divest-private.com", eicar_pieces, "0600")   # clamd (user clamav) cannot read it
        write(host, "/tmp/divest-clean.txt", ["nothing to see here\n"], "0644")
        found = testlib.sh(host, "clamdscan", "--no-summary", "/tmp/divest-probe.com")
        assert found.rc == 1 and found.stdout.strip().endswith(".UNOFFICIAL FOUND"), found.stdout + found.stderr
        passed = testlib.sh(host, "clamdscan", "--no-summary", "/tmp/divest-clean.txt")
        assert passed.rc == 0 and passed.stdout.strip() == "/tmp/divest-clean.txt: OK", passed.stdout + passed.stderr
        fdpass = testlib.sh(host, "clamdscan", "--no-summary", "--fdpass", "/tmp/divest-private.com")
        assert fdpass.rc == 1 and "FOUND" in fdpass.stdout, fdpass.stdout + fdpass.stderr
    finally:
        testlib.sh(host, "rm", "-f", "/tmp/divest-probe.com", "/tmp/divest-private.com", "/tmp/divest-clean.txt")


@pytest.mark.parametrize("name", sorted(HEALTHY))
def test_dropin_is_there_because_the_official_databases_are_missing(hosts, name):
    host = hosts[name]
    listing = testlib.sh(host, "sh", "-c", f"ls {shlex.quote(DB_DIR)}").stdout.split()
    assert not [f for f in listing if f.startswith(("main.", "daily."))]
    for path in DROPINS:
        assert "\nConditionPathExistsGlob=\n" in host.file(path).content_string
    shown = testlib.sh(host, "systemctl", "show", "--property=ConditionResult", "clamav-daemon").stdout
    assert shown.strip() == "ConditionResult=yes"


# ---- further runs of the role (the last one changes a host: keep them last) ---------------

def test_check_mode_on_installed_hosts_changes_nothing_and_tells_the_truth():
    changed = converge("offline,mirror,nodb", "--check", "-e", "clamav_test_label=recheck")
    # nodb: what a successful download would lead to (drop-ins, services) is still pending
    assert (changed["offline"], changed["mirror"]) == (0, 0)
    for name in HEALTHY:      # the probes ran for real
        health = result("recheck", name)["health"]
        assert (health["healthy"], health["checked"]) == (True, True), health
    # no database and freshclam in use: check mode cannot know what a download would bring
    nodb = result("recheck", "nodb")
    assert nodb["failure"] is None
    assert (nodb["health"]["healthy"], nodb["health"]["checked"]) == (False, False)
    assert nodb["health"]["reason"].startswith("check mode: no signature file yet, would run freshclam once")


def test_dropin_goes_once_official_databases_exist(hosts):
    """Debian's units only need main.{c[vl]d,inc} and daily.{c[vl]d,inc} to exist: empty
    main.inc/ and daily.inc/ directories satisfy them (clamd ignores such directories), which
    stands in for real signed CVDs here. (The converge already showed the other direction:
    custom databases only -> drop-in added.)"""
    host = hosts["offline"]
    incs = [f"{DB_DIR}/main.inc", f"{DB_DIR}/daily.inc"]
    try:
        testlib.sh(host, "install", "-d", "-o", "clamav", "-g", "clamav", *incs)
        assert converge("offline", "-e", "clamav_test_label=official")["offline"] > 0
        assert not any(testlib.paths_exist(host, *DROPINS).values())
        health = result("official", "offline")["health"]
        assert (health["healthy"], health["database"]) == (True, ["divest-test.hdb", "divest-test.ndb"])
        assert host.service("clamav-daemon").is_running
    finally:
        testlib.sh(host, "rmdir", *incs)
