"""The fault variants (repository kaspersky-faults) misbehave exactly as advertised."""

from testlib import apt_get, paths_exist, reset, sh, snapshot

ATTEMPT = "/var/opt/kaspersky/kesl/private/uninstall.attempt"
AGENT = "/opt/kaspersky/klnagent64/sbin/klnagent"


def test_fault_variants_shadow_normal_packages(index):
    faults = [e for e in index if e["fault"] and e["format"] == "deb"]
    assert sorted((e["name"], e["version"], e["fault"]) for e in faults) == [
        ("kesl", "10.1.1-6421", "removal-breaks-clamav"),
        ("kesl", "12.1.0-1508", "prerm-fails-once"),
        ("klnagent64", "15.4.0-8873", "stray-process"),
        ("ksc64", "15.4.0-8873", "prerm-waits-when-armed"),
    ]
    for fault in faults:
        same = [e for e in index if e["repo"] == "kaspersky" and e["format"] == "deb" and e["name"] == fault["name"]
                and e["version"] == fault["version"] and e["arch"] == fault["arch"]]
        assert len(same) == 1, "a fault variant has the name and version of a normal package"
        others = [e for e in index if e["repo"] == "kaspersky-faults" and e["name"] == fault["name"]
                  and e is not fault and not e["fault"]]
        assert others == [], "the faults repository offers no normal version of a faulty name"


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


def test_kesl10_removal_masks_clamd(faults):
    host = faults
    reset(host)
    assert apt_get(host, "install", "--no-install-recommends", "kesl=10.1.1-6421").rc == 0
    assert host.run("systemctl is-enabled clamav-daemon").stdout.strip() != "masked"
    res = apt_get(host, "purge", "kesl")
    assert res.rc == 0, res.stdout + res.stderr
    assert host.run("systemctl is-enabled clamav-daemon").stdout.strip() == "masked"
    sh(host, "systemctl", "unmask", "clamav-daemon.service")


def test_ksc64_prerm_waits_when_armed_and_obeys_the_release(faults):
    host = faults
    reset(host)
    assert apt_get(host, "install", "--no-install-recommends", "ksc64").rc == 0
    # not armed: removed at once
    assert apt_get(host, "remove", "ksc64").rc == 0
    assert apt_get(host, "install", "--no-install-recommends", "ksc64").rc == 0
    sh(host, "sh", "-c", "mkdir -p /run/divest-fault && touch /run/divest-fault/ksc64.arm")
    sh(host, "sh", "-c", "(DEBIAN_FRONTEND=noninteractive apt-get -y -q remove ksc64 >/tmp/ksc.out 2>&1; "
                         "echo $? >/tmp/ksc.rc) >/dev/null 2>&1 &")
    waited = sh(host, "sh", "-c", "for i in $(seq 60); do [ -e /run/divest-fault/ksc64.waiting ] && exit 0; "
                                  "sleep 1; done; exit 1")
    assert waited.rc == 0, "prerm never started waiting"
    assert not host.file("/tmp/ksc.rc").exists                        # still waiting
    sh(host, "sh", "-c", "echo refuse > /run/divest-fault/ksc64.release")
    done = sh(host, "sh", "-c", "for i in $(seq 60); do [ -s /tmp/ksc.rc ] && cat /tmp/ksc.rc && exit 0; "
                                "sleep 1; done; exit 1")
    assert done.rc == 0 and done.stdout.strip() != "0"
    assert "Administration Server is busy" in host.file("/tmp/ksc.out").content_string
    assert snapshot(host)["packages"]["ksc64"]["status"] == "ii"
    assert not host.file("/run/divest-fault/ksc64.arm").exists         # armed once only
    assert apt_get(host, "purge", "ksc64").rc == 0
