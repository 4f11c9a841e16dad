"""The base fleet carries exactly the footprint the vendor reference describes.

Each case names the reference fact it checks ([Lx] = footprint section 6.2, 1.x = section 1).
"""

import functools
import re

import pytest
from testlib import KASPERSKY_DIRS, container, paths_exist, processes, sh, snapshot, vendor_packages

SCENARIO = "default"

INSTALL_12_2 = "/var/opt/kaspersky/kesl/install_12.2.0.2412/opt/kaspersky/kesl"

# role -> {package: (version, arch, dpkg status)}
PACKAGES = {
    "kesl12": {
        "kesl": ("12.1.0-1508", "amd64", "ii"),  # [L2]
        "kesl-gui": ("12.1.0-1508", "amd64", "ii"),
        "klnagent64": ("15.4.0-8873", "amd64", "ii"),  # [L8]
    },
    "kesl122": {
        "kesl": ("12.2.0-2412", "amd64", "ii"),  # [L1]
        "kesl-gui": ("12.2.0-2412", "amd64", "ii"),
    },
    "kesl10": {
        "kesl": ("10.1.1-6421", "amd64", "ii"),  # [L5]
        "klnagent": ("10.1.1-26", "i386", "ii"),  # [L6]
    },
    "legacy": {
        "kav4fs": ("8.0.4-312", "i386", "ii"),  # [L6]
        "kes4lwks": ("8.0.1-50", "i386", "ii"),  # [L11]
        "kav4proxy": ("5.5-86", "i386", "ii"),  # [L12]
    },
    "residual": {
        "kesl": ("12.1.0-1508", "amd64", "rc"),  # removed, not purged
        "klnagent64": ("15.4.0-8873", "amd64", "rc"),
    },
    "ksc": {
        "ksc64": ("15.4.0-8873", "amd64", "ii"),  # [L10]
        "ksc-web-console": ("15.4.1021", "amd64", "ii"),
        "klnagent64": ("15.4.0-8873", "amd64", "ii"),
    },
    "clean": {},
}

# role -> [(unit, kind)]; kind sysv = LSB script run by systemd's sysv generator
UNITS = {
    "kesl12": [("kesl", "systemd"), ("klnagent64", "systemd")],  # 1.1, 1.2
    "kesl122": [("kesl", "systemd")],
    "kesl10": [("kesl-supervisor", "sysv"), ("klnagent", "sysv")],  # 1.1 (KESL 10), 1.2 (32-bit)
    "legacy": [("kav4fs-supervisor", "sysv"), ("kes4lwks-supervisor", "sysv"), ("kav4proxy", "sysv")],
    "ksc": [
        ("kladminserver_srv", "systemd"),  # 1.11
        ("klwebsrv_srv", "systemd"),
        ("kliam_srv", "systemd"),
        ("klnagent_srv", "systemd"),
        ("KSCWebConsole", "systemd"),
        ("klnagent64", "systemd"),
    ],
}

# role -> [(comm, exe, argv0, user, unit)]
PROCESSES = {
    "kesl12": [
        ("kesl", "/opt/kaspersky/kesl/libexec/kesl", None, "root", "kesl.service"),
        ("klnagent", "/opt/kaspersky/klnagent64/sbin/klnagent", None, "root", "klnagent64.service"),
    ],
    "kesl122": [
        # the kernel resolves the /opt/kaspersky/kesl symlink for exe, argv[0] keeps the path used
        ("kesl", f"{INSTALL_12_2}/libexec/kesl", "/opt/kaspersky/kesl/libexec/kesl", "root", "kesl.service"),
    ],
    "kesl10": [
        ("kesl-supervisor", "/opt/kaspersky/kesl/sbin/kesl-supervisor", None, "root", "kesl-supervisor.service"),
        ("klnagent", "/opt/kaspersky/klnagent/sbin/klnagent", None, "root", "klnagent.service"),
    ],
    "legacy": [
        # comm is cut to 15 characters, as on a real host
        ("kav4fs-supervis", "/opt/kaspersky/kav4fs/sbin/kav4fs-supervisor", None, "root", "kav4fs-supervisor.service"),
        ("kes4lwks-superv", "/opt/kaspersky/kes4lwks/sbin/kes4lwks-supervisor", None, "root",
         "kes4lwks-supervisor.service"),
        ("kav4proxy-kavic", "/opt/kaspersky/kav4proxy/sbin/kav4proxy-kavicapserver", None, "root",
         "kav4proxy.service"),
    ],
    "ksc": [
        ("klserver", "/opt/kaspersky/ksc64/sbin/klserver", None, "ksc", "kladminserver_srv.service"),
        ("klcsweb", "/opt/kaspersky/ksc64/sbin/klcsweb", None, "ksc", "klwebsrv_srv.service"),
        ("kliam", "/opt/kaspersky/ksc64/sbin/kliam", None, "ksc", "kliam_srv.service"),
        ("klnagent", "/opt/kaspersky/ksc64/sbin/klnagent", None, "root", "klnagent_srv.service"),
        ("klnagent", "/opt/kaspersky/klnagent64/sbin/klnagent", None, "root", "klnagent64.service"),
        ("node", "/opt/kaspersky/ksc-web-console/node", None, "root", "KSCWebConsole.service"),
    ],
}


@functools.cache
def snap(role):
    """One round trip per host: packages, units of UNITS (+ kesl for residual), processes, ports."""
    units = [unit for unit, _kind in UNITS.get(role, [])] + (["kesl.service"] if role == "residual" else [])
    return snapshot(container(SCENARIO, role), units)


def cases(table):
    return [(role, *item) for role, items in table.items() for item in (items.items() if isinstance(items, dict) else items)]


@pytest.mark.parametrize("role,package,expected", cases(PACKAGES))
def test_package_name_version_arch_state(role, package, expected):
    pkg = snap(role)["packages"].get(package)
    assert pkg is not None, f"{package} unknown to dpkg on {role}"
    assert (pkg["version"], pkg["arch"], pkg["status"]) == expected


@pytest.mark.parametrize("role", sorted(PACKAGES))
def test_no_other_vendor_package(role):
    assert sorted(vendor_packages(snap(role))) == sorted(PACKAGES[role])


@pytest.mark.parametrize("role,package,expected", [c for c in cases(PACKAGES) if c[2][2] == "ii"])
def test_description_says_test_double(role, package, expected):
    desc = snap(role)["packages"][package]["description"]
    assert "(TEST DOUBLE)" in desc.splitlines()[0]
    assert "no vendor code" in desc


@pytest.mark.parametrize("role,unit,kind", cases(UNITS))
def test_unit_active_and_enabled(role, unit, kind):
    props = snap(role)["units"][unit]
    assert props["LoadState"] == "loaded"
    assert props["ActiveState"] == "active"
    assert props["enabled"] == "enabled"
    if kind == "sysv":
        assert props["SourcePath"] == f"/etc/init.d/{unit}"
        link = f"/etc/rc2.d/S01{unit}"
    else:
        assert props["FragmentPath"].endswith(f"/lib/systemd/system/{unit}.service")
        link = f"/etc/systemd/system/multi-user.target.wants/{unit}.service"
    assert paths_exist(container(SCENARIO, role), link)[link]


@pytest.mark.parametrize("role,comm,exe,argv0,user,unit", cases(PROCESSES))
def test_process_looks_real(role, comm, exe, argv0, user, unit):
    mine = processes(snap(role), comm=comm, exe=exe)
    assert len(mine) == 1, f"{comm}: {processes(snap(role), comm=comm)}"
    proc = mine[0]
    assert proc["argv"][0] == (argv0 or exe)
    assert proc["user"] == user
    assert unit in proc["units"], "the process runs inside its unit's cgroup"


def test_long_process_names_are_cut_like_real_ones():
    host = container(SCENARIO, "legacy")
    # what a naive `pgrep -x kav4fs-supervisor` gets on a real host too: nothing
    assert sh(host, "pgrep", "-x", "kav4fs-supervisor").rc == 1
    assert sh(host, "pgrep", "-x", "kav4fs-supervis").rc == 0
    assert sh(host, "pgrep", "-f", "/opt/kaspersky/kav4fs/sbin/kav4fs-supervisor").rc == 0


@pytest.mark.parametrize(
    "role,command,pattern",
    [
        ("kesl12", ["kesl-control", "--app-info"], r"^Version:\s+12\.1\.0\.1508$"),  # [L15]
        ("kesl122", ["/usr/bin/kesl-control", "--app-info"], r"^Version:\s+12\.2\.0\.2412$"),
        ("kesl10", ["/opt/kaspersky/kesl/bin/kesl-control", "--app-info"], r"^Version:\s+10\.1\.1\.6421$"),
        ("kesl12", ["kesl-control", "--app-info"], r"^License expiration date:\s+\d{4}-\d\d-\d\d$"),
        ("kesl12", ["kesl-control", "--app-info"], r"^Last release date of databases:\s+[\d-]+ [\d:]+$"),
        ("legacy", ["/opt/kaspersky/kav4fs/bin/kav4fs-control", "--app-info"], r"^Version:\s+8\.0\.4\.312$"),
        ("legacy", ["/opt/kaspersky/kav4fs/bin/kav4fs-control", "--get-stat", "Update"],
         r"^Current AV databases state:\s+UpToDate$"),
        ("legacy", ["/opt/kaspersky/kes4lwks/bin/kes4lwks-control", "--app-info"], r"^Version:\s+8\.0\.1\.50$"),
        # artica's parser: version\s+([0-9\.]+)\/RELEASE build.*?([0-9]+)   [1.7]
        ("legacy", ["/opt/kaspersky/kav4proxy/sbin/kav4proxy-kavicapserver", "-v"],
         r"version 5\.5\.86/RELEASE build #86$"),
        ("kesl12", ["/opt/kaspersky/klnagent64/bin/klnagchk"], r"^Network Agent version: 15\.4\.0\.8873$"),
        ("kesl10", ["/opt/kaspersky/klnagent/bin/klnagchk"], r"^Network Agent is running\.$"),
        ("ksc", ["/opt/kaspersky/ksc64/bin/klnagchk"], r"^Network Agent version: 15\.4\.0\.8873$"),
    ],
)
def test_vendor_cli_output(role, command, pattern):
    res = sh(container(SCENARIO, role), *command)
    assert res.rc == 0, res.stderr
    assert re.search(pattern, res.stdout, re.MULTILINE), res.stdout


def test_kesl_control_rejects_bad_arguments():
    res = sh(container(SCENARIO, "kesl12"), "kesl-control", "--no-such-option")
    assert res.rc == 1  # vendor: 1 = bad arguments
    assert res.stdout == ""


def test_kesl_12_1_files():
    host = container(SCENARIO, "kesl12")
    ctl = host.file("/opt/kaspersky/kesl/bin/kesl-control")
    assert ctl.is_file and ctl.mode & 0o111
    assert sh(host, "head", "-c", "4", "/opt/kaspersky/kesl/bin/kesl-control").stdout.endswith("ELF")
    link = host.file("/usr/bin/kesl-control")
    assert link.is_symlink and link.linked_to == "/opt/kaspersky/kesl/bin/kesl-control"
    ini = host.file("/var/opt/kaspersky/kesl/common/kesl.ini").content_string
    assert "BypassFwMark=" in ini and "NtpFwMark=" in ini  # [1.1]
    assert sh(host, "head", "-c", "15", "/var/opt/kaspersky/kesl/private/storage/events.db").stdout == "SQLite format 3"
    assert host.file("/var/opt/kaspersky/kesl/install-current").content_string.strip() == "12.1.0.1508"
    assert "started" in host.file("/var/log/kaspersky/kesl/kesl.log").content_string
    assert "/etc/opt/kaspersky/kesl.conf" in snap("kesl12")["packages"]["kesl"]["conffiles"]
    expected = [
        "/opt/kaspersky/kesl/bin/kesl-setup.pl",
        "/var/opt/kaspersky/kesl/common/agreements.ini",
        # Network Agent: programs under klnagent64, data under klnagent [1.2]
        "/opt/kaspersky/klnagent64/sbin/klnagent",
        "/opt/kaspersky/klnagent64/bin/klnagchk",
        "/opt/kaspersky/klnagent64/bin/klmover",
        "/opt/kaspersky/klnagent64/sbin/klscflag",
        "/opt/kaspersky/klnagent64/lib/bin/setup/postinstall.pl",
        "/var/opt/kaspersky/klnagent",
        "/etc/opt/kaspersky/klnagent64.conf",
    ]
    assert paths_exist(host, *expected) == dict.fromkeys(expected, True)
    # installed from .deb files by hand: no repository left behind
    assert sh(host, "ls", "/etc/apt/sources.list.d").stdout.strip() == ""


def test_kesl_12_2_install_dir_layout():
    host = container(SCENARIO, "kesl122")
    opt = host.file("/opt/kaspersky/kesl")
    assert opt.is_symlink and opt.linked_to == INSTALL_12_2  # [1.1, oditynet/kesl]
    assert host.file("/var/opt/kaspersky/kesl").mode == 0o511  # tightened like chmod 511
    assert sh(host, "readlink", "-f", "/usr/bin/kesl-control").stdout.strip() == f"{INSTALL_12_2}/bin/kesl-control"
    expected = [f"{INSTALL_12_2}/bin/kesl-control", f"{INSTALL_12_2}/libexec/kesl", f"{INSTALL_12_2}/bin/kesl-gui"]
    assert paths_exist(host, *expected) == dict.fromkeys(expected, True)
    # this host keeps a repository file (harness_apt_sources: true)
    assert "file:/srv/divest-repos/kaspersky" in host.file("/etc/apt/sources.list.d/kaspersky.list").content_string


def test_kesl_10_sysv_layout():
    host = container(SCENARIO, "kesl10")
    init = host.file("/etc/init.d/kesl-supervisor")
    assert init.is_file and init.mode & 0o111
    assert "### BEGIN INIT INFO" in init.content_string
    assert "/etc/init.d/kesl-supervisor" in snap("kesl10")["packages"]["kesl"]["conffiles"]
    expected = ["/opt/kaspersky/kesl/sbin/kesl-supervisor", "/opt/kaspersky/klnagent/sbin/klnagent"]
    assert paths_exist(host, *expected) == dict.fromkeys(expected, True)
    assert snap("kesl10")["foreign_archs"] == ["i386"]  # 32-bit agent [1.2]


def test_legacy_samba_and_squid():
    host = container(SCENARIO, "legacy")
    smb = host.file("/etc/samba/smb.conf").content_string.splitlines()
    marker = "# ADDED BY KASPERSKY ENDPOINT SECURITY 8 FOR LINUX VERSION 8.0.1.50/RELEASE"  # [1.4]
    assert marker in smb
    assert smb[smb.index(marker) + 1] == "vfs object = kes4lwks-smb-vfs28"
    assert smb[smb.index(marker) - 1].strip() == "[global]"
    squid = host.file("/etc/squid/squid.conf").content_string
    assert "icap://127.0.0.1:1344/av/reqmod" in squid
    assert 1344 in snap("legacy")["ports"]  # kav4proxy ICAP server [1.7]
    expected = [
        "/var/opt/kaspersky/kav4fs/installer.dat",
        "/var/opt/kaspersky/kes4lwks/installer.dat",  # install marker [1.4]
        "/etc/opt/kaspersky/kav4proxy.conf",
        "/opt/kaspersky/kav4fs/bin/kav4fs-setup.pl",
    ]
    assert paths_exist(host, *expected) == dict.fromkeys(expected, True)
    # the repository file the inventory asked to leave, and nothing of the harness' own source
    assert sh(host, "ls", "/etc/apt/sources.list.d").stdout.split() == ["kaspersky.list"]
    assert host.file("/etc/apt/sources.list.d/kaspersky.list").content_string == (
        "deb [trusted=yes] http://kaspersky-mirror.example.invalid/debian ./\n"
    )


def test_residual_host_keeps_state_but_no_program():
    host = container(SCENARIO, "residual")
    kept = [
        "/var/opt/kaspersky/kesl/common/kesl.ini",
        "/var/opt/kaspersky/kesl/private/storage/events.db",
        "/var/opt/kaspersky/kesl/install-current",
        "/etc/opt/kaspersky/kesl.conf",  # conffiles survive a plain remove
        "/etc/opt/kaspersky/klnagent64.conf",
        "/var/opt/kaspersky/klnagent/installer.dat",
        "/var/log/kaspersky/kesl",
    ]
    gone = [
        "/opt/kaspersky/kesl",
        "/usr/bin/kesl-control",
        "/lib/systemd/system/kesl.service",
        "/etc/systemd/system/multi-user.target.wants/kesl.service",
        "/opt/kaspersky/klnagent64",
    ]
    assert paths_exist(host, *kept, *gone) == {**dict.fromkeys(kept, True), **dict.fromkeys(gone, False)}
    assert processes(snap("residual"), comm="kesl") == [] and processes(snap("residual"), comm="klnagent") == []
    assert snap("residual")["units"]["kesl.service"]["LoadState"] == "not-found"
    assert sh(host, "ls", "/etc/apt/sources.list.d").stdout.strip() == ""
    assert "divest" not in sh(host, "ls", "/var/lib/apt/lists").stdout


def test_ksc_server():
    host = container(SCENARIO, "ksc")
    user = host.user("ksc")
    assert user.exists and user.group == "kladmins"  # [1.11]
    state = host.file("/var/opt/kaspersky/ksc64")
    assert state.user == "ksc" and state.group == "kladmins"
    assert {13000, 14000, 13291, 13299, 8080} <= set(snap("ksc")["ports"])
    assert host.file("/etc/ksc-web-console-setup.json").mode == 0o600
    expected = [
        "/opt/kaspersky/ksc64/kuu",
        "/opt/kaspersky/ksc64/lib/bin/setup/postinstall.pl",
        "/var/opt/kaspersky/ksc-web-console/logs",
    ]
    assert paths_exist(host, *expected) == dict.fromkeys(expected, True)
    # the web console's .deb carries x86_64 in its file name [L10]; dpkg knows it as amd64
    assert snap("ksc")["packages"]["ksc-web-console"]["arch"] == "amd64"


@pytest.mark.parametrize("role,gui,main,version", [
    ("kesl12", "kesl-gui", "kesl", "12.1.0-1508"),
    ("kesl122", "kesl-gui", "kesl", "12.2.0-2412"),
])
def test_gui_depends_on_main_package(role, gui, main, version):
    assert snap(role)["packages"][gui]["depends"] == f"{main} (= {version})"
    sim = sh(container(SCENARIO, role), "apt-get", "-s", "remove", main)
    assert re.search(rf"^Remv {gui} ", sim.stdout, re.MULTILINE), sim.stdout


def test_clean_host_has_nothing():
    host = container(SCENARIO, "clean")
    assert vendor_packages(snap("clean")) == {}
    assert paths_exist(host, *KASPERSKY_DIRS) == dict.fromkeys(KASPERSKY_DIRS, False)
    assert [p for p in snap("clean")["processes"] if p["exe"].startswith("/opt/kaspersky")] == []
    units = sh(host, "systemctl", "list-unit-files", "--no-legend").stdout
    assert not re.search(r"^(kesl|kl|kav|kes|ksc|kwts|kics|kess)", units, re.MULTILINE | re.IGNORECASE)
    assert "kes4lwks" not in host.file("/etc/samba/smb.conf").content_string
    assert snap("clean")["foreign_archs"] == []
