"""The fault variants (repository kaspersky-faults) misbehave exactly as advertised."""

from testlib import apt_get, paths_exist, reset, sh, snapshot

ATTEMPT = "/var/opt/kaspersky/kesl/private/uninstall.attempt"
AGENT = "/opt/kaspersky/klnagent64/sbin/klnagent"


def test_fault_variants_shadow_normal_packages(index):
    faults = [e for e in index if e["fault"]]
    assert sorted((e["name"], e["fault"]) for e in faults) == [
        ("kesl", "prerm-fails-once"),
        ("klnagent64", "stray-process"),
    ]
    for fault in faults:
        same = [e for e in index if e["repo"] == "kaspersky" and e["format"] == "deb" and e["name"] == fault["name"]
                and e["version"] == fault["version"] and e["arch"] == fault["arch"]]
        assert len(same) == 1, "a fault variant has the name and version of a normal package"
        others = [e for e in index if e["repo"] == "kaspersky-faults" and e["name"] == fault["name"] and e is not fault]
        assert others == [], "the faults repository offers no other version of a faulty name"


def test_kesl_prerm_fails_once_then_removal_succeeds(faults):
    host = faults
    reset(host)
    res = apt_get(host, "install", "--no-install-recommends", "kesl", "kesl-gui")
    assert res.rc == 0, res.stdout + res.stderr
    snap = snapshot(host, ["kesl"])
    assert snap["packages"]["kesl"]["version"] == "12.1.0-1508"
    assert "FAULT VARIANT 'prerm-fails-once'" in snap["packages"]["kesl"]["description"]
    assert snap["units"]["kesl"]["ActiveState"] == "active"

    first = apt_get(host, "remove", "kesl")
    assert first.rc != 0
    assert "pre-removal script subprocess returned error exit status 1" in first.stdout + first.stderr
    snap = snapshot(host, ["kesl"])
    # dpkg rolled back (postinst abort-remove): still installed and running
    assert snap["packages"]["kesl"]["status"] == "ii"
    assert snap["units"]["kesl"]["ActiveState"] == "active"
    assert "refused" in host.file(ATTEMPT).content_string

    second = apt_get(host, "remove", "kesl")
    assert second.rc == 0, second.stdout + second.stderr
    snap = snapshot(host, ["kesl"])
    assert snap["packages"]["kesl"]["status"] == "rc"
    assert snap["units"]["kesl"]["LoadState"] == "not-found"
    assert "accepted" in host.file(ATTEMPT).content_string

    assert apt_get(host, "purge", "kesl", "kesl-gui").rc == 0
    assert paths_exist(host, ATTEMPT, "/var/opt/kaspersky/kesl") == {ATTEMPT: False, "/var/opt/kaspersky/kesl": False}


def test_klnagent64_stop_leaves_a_stray_process(faults):
    host = faults
    reset(host)
    res = apt_get(host, "install", "--no-install-recommends", "klnagent64")
    assert res.rc == 0, res.stdout + res.stderr
    snap = snapshot(host, ["klnagent64"])
    agents = [p for p in snap["processes"] if p["exe"] == AGENT]
    assert len(agents) == 2
    in_unit = [p for p in agents if "klnagent64.service" in p["units"]]
    strays = [p for p in agents if not p["units"]]
    assert len(in_unit) == 1 and len(strays) == 1
    assert strays[0]["comm"] == "klnagent" and strays[0]["argv"][0] == AGENT

    assert sh(host, "systemctl", "stop", "klnagent64").rc == 0
    snap = snapshot(host, ["klnagent64"])
    assert snap["units"]["klnagent64"]["ActiveState"] == "inactive"
    assert [p["pid"] for p in snap["processes"] if p["comm"] == "klnagent"] == [strays[0]["pid"]]

    assert apt_get(host, "purge", "klnagent64").rc == 0
    snap = snapshot(host)
    left = [p for p in snap["processes"] if p["comm"] == "klnagent"]
    assert [p["pid"] for p in left] == [strays[0]["pid"]]
    assert left[0]["exe"] == f"{AGENT} (deleted)"  # its binary is gone, the process is not
    sh(host, "kill", str(strays[0]["pid"]))
