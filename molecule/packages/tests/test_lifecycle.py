"""Every fake package installs, runs, stops, removes (leaving residue) and purges (clean).

Expectations come from .cache/packages/index.json (what build_packages.py put in each package),
so a package added to tests/harness/packages/packages.yml is checked without new test code once
it is listed in GROUPS (test_every_package_is_covered fails until it is).
"""

import os
import subprocess
from pathlib import Path

import pytest
from testlib import KASPERSKY_DIRS, apt_get, checkout_namespace, paths_exist, reset, sh, snapshot, vendor_packages

# Co-installable sets (kesl, kesl-astra and kav4fs conflict with each other).
GROUPS = {
    "sysv-family": ["kesl=10.1.1-6421", "klnagent", "kav4ws", "klms", "kav4proxy", "kes4lwks"],
    "kesl-11.4": ["kesl=11.4.0-1096", "kesl-gui=11.4.0-1096", "klnagent64", "kess", "kess-gui"],
    "kesl-12.1": ["kesl=12.1.0-1508", "kesl-gui=12.1.0-1508", "kwts", "kics", "kics-gui"],
    "kesl-12.2": ["kesl=12.2.0-2412", "kesl-gui=12.2.0-2412", "ksc64", "ksc-web-console"],
    "astra": ["kesl-astra", "kesl-gui-astra"],
    "kav4fs": ["kav4fs"],
}
SMB_MARKER = "# ADDED BY KASPERSKY ENDPOINT SECURITY 8 FOR LINUX VERSION 8.0.1.50/RELEASE"


def entries_for(index, specs, repo="kaspersky"):
    """Index entries (deb, given repo) for 'name' or 'name=version' specs."""
    out = []
    for spec in specs:
        name, _sep, version = spec.partition("=")
        found = [
            e for e in index
            if e["format"] == "deb" and e["repo"] == repo and e["name"] == name and (not version or e["version"] == version)
        ]
        assert len(found) == 1, f"{spec}: {len(found)} candidates in {repo}"
        out.append(found[0])
    return out


def service_processes(snap, svc):
    """Processes started for a service: argv[0] is the unit's exec path, exe has its basename."""
    base = svc["exec"].rsplit("/", 1)[1]
    return [
        p for p in snap["processes"]
        if p["argv"] and p["argv"][0] == svc["exec"] and p["exe"].rsplit("/", 1)[-1].startswith(base)
    ]


def test_every_package_is_covered(index):
    built = {(e["name"], e["version"]) for e in index if e["format"] == "deb" and e["repo"] == "kaspersky"}
    covered = set()
    for specs in GROUPS.values():
        covered |= {(e["name"], e["version"]) for e in entries_for(index, specs)}
    assert covered == built


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_lifecycle(lifecycle, index, group):
    host = lifecycle
    reset(host)
    entries = entries_for(index, GROUPS[group])
    names = [e["name"] for e in entries]
    services = [s for e in entries for s in e["services"]]
    units = [s["name"] for s in services]

    # --- install: packages, files, state, accounts, running services ------------------------
    res = apt_get(host, "install", "--no-install-recommends", *GROUPS[group])
    assert res.rc == 0, res.stdout + res.stderr
    snap = snapshot(host, units)
    for e in entries:
        pkg = snap["packages"][e["name"]]
        assert (pkg["version"], pkg["arch"], pkg["status"]) == (e["version"], e["arch"], "ii"), e["name"]
        assert sorted(pkg["conffiles"]) == sorted(e["conffiles"])
        assert "TEST DOUBLE" in pkg["description"]
        paths = e["payload"] + e["conffiles"] + e["state"]
        assert paths_exist(host, *paths) == dict.fromkeys(paths, True), e["name"]
        for acc in e["accounts"]:
            assert sh(host, "getent", "passwd", acc["user"]).rc == 0
    for svc in services:
        props = snap["units"][svc["name"]]
        assert (props["ActiveState"], props["enabled"]) == ("active", "enabled"), svc["name"]
        procs = service_processes(snap, svc)
        assert len(procs) == 1, f"{svc['name']}: {procs}"
        assert f"{svc['name']}.service" in procs[0]["units"]
        assert procs[0]["comm"] == svc["exec"].rsplit("/", 1)[1][:15]
    if "kes4lwks" in names:
        smb = host.file("/etc/samba/smb.conf").content_string
        assert SMB_MARKER in smb and "vfs object = kes4lwks-smb-vfs28" in smb

    # --- stop and start again ----------------------------------------------------------------
    if units:
        assert sh(host, "systemctl", "stop", *units).rc == 0
        snap = snapshot(host, units)
        for svc in services:
            assert snap["units"][svc["name"]]["ActiveState"] in ("inactive", "failed")
            assert service_processes(snap, svc) == [], svc["name"]
        if "kesl" in names:
            # kesl-control --app-info needs the running application: rc 64 [1.1 return codes]
            assert sh(host, "kesl-control", "--app-info").rc == 64
        assert sh(host, "systemctl", "start", *units).rc == 0
        snap = snapshot(host, units)
        for svc in services:
            assert len(service_processes(snap, svc)) == 1, svc["name"]

    # --- plain remove: conffiles and state stay ------------------------------------------------
    res = apt_get(host, "remove", *names)
    assert res.rc == 0, res.stdout + res.stderr
    snap = snapshot(host, units)
    for e in entries:
        assert snap["packages"][e["name"]]["status"] == "rc", e["name"]
        kept = e["conffiles"] + e["state"]
        gone = e["payload"]
        assert paths_exist(host, *kept, *gone) == {**dict.fromkeys(kept, True), **dict.fromkeys(gone, False)}, e["name"]
    for svc in services:
        assert service_processes(snap, svc) == [], svc["name"]
        props = snap["units"][svc["name"]]
        if svc["kind"] == "systemd":
            assert props["LoadState"] == "not-found", svc["name"]
        else:
            # the init script is a conffile: systemd still generates an (inactive) unit for it
            assert (props["LoadState"], props["ActiveState"]) == ("loaded", "inactive"), svc["name"]
            assert props["SourcePath"] == f"/etc/init.d/{svc['name']}"

    # --- purge: nothing left but accounts and what the vendor writes into other files -----------
    res = apt_get(host, "purge", *names)
    assert res.rc == 0, res.stdout + res.stderr
    snap = snapshot(host, units)
    assert vendor_packages(snap) == {}
    leftovers = [p for e in entries for p in e["purge"] + e["conffiles"] + e["state"]]
    leftovers += [f"/etc/init.d/{s['name']}" for s in services] + [f"/etc/rc2.d/S01{s['name']}" for s in services]
    leftovers += list(KASPERSKY_DIRS)
    assert paths_exist(host, *leftovers) == dict.fromkeys(leftovers, False)
    for svc in services:
        assert snap["units"][svc["name"]]["LoadState"] == "not-found", svc["name"]
    assert [p for p in snap["processes"] if "/kaspersky/" in p["exe"]] == []
    for e in entries:
        for acc in e["accounts"]:
            # like the vendor's: accounts survive a purge (KLMS docs: remove kluser by hand)
            assert sh(host, "getent", "passwd", acc["user"]).rc == 0
    if "kes4lwks" in names:
        # the Samba hook is residue the vendor never removes [1.4]
        assert SMB_MARKER in host.file("/etc/samba/smb.conf").content_string


def test_i386_packages_install_on_amd64(lifecycle, index):
    """The 32-bit packages are i386 like the vendor's; dpkg takes them as a foreign architecture."""
    i386 = sorted({e["name"] for e in index if e["format"] == "deb" and e["arch"] == "i386" and e["repo"] == "kaspersky"})
    assert i386 == ["kav4fs", "kav4proxy", "kav4ws", "kes4lwks", "klms", "klnagent"]
    assert sh(lifecycle, "dpkg", "--print-foreign-architectures").stdout.split() == ["i386"]


def test_install_without_running_systemd(index):
    """In a chroot or image build (no /run/systemd/system) postinst enables but starts nothing."""
    cache = Path(os.environ.get("DIVEST_CACHE") or Path(__file__).resolve().parents[3] / ".cache")
    image = os.environ.get("DIVEST_TEST_IMAGE", "localhost/fleetsec-debian:12")
    ns = checkout_namespace()
    script = (
        "dpkg --add-architecture i386 && "
        "dpkg -i /srv/divest-repos/kaspersky/kesl_12.1.0-1508_amd64.deb "
        "/srv/divest-repos/kaspersky/klnagent_10.1.1-26_i386.deb >/dev/null 2>&1; echo rc=$?; "
        "ls /etc/systemd/system/multi-user.target.wants /etc/rc2.d; "
        "ls /var/opt/kaspersky/kesl/common; ps -eo comm= | grep -c -E '^(kesl|klnagent)$' || true"
    )
    proc = subprocess.run(
        ["podman", "run", "--rm", f"--name=divest-{ns}-packages-nosystemd", "--label=divest.harness=1",
         f"--label=divest.checkout={ns}", "--label=divest.scenario=packages",
         f"--volume={cache / 'repos'}:/srv/divest-repos:ro", image, "sh", "-c", script],
        capture_output=True, text=True, check=False,
    )
    out = proc.stdout.split()
    assert proc.returncode == 0 and out[0] == "rc=0", proc.stdout + proc.stderr
    assert "kesl.service" in out  # systemctl enable works offline
    assert "S01klnagent" in out  # update-rc.d links
    assert "kesl.ini" in out  # state is created anyway
    assert out[-1] == "0"  # and no daemon was started
