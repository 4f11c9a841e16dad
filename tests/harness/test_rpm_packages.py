"""The fake .rpm packages install into a scratch root with rpm (and dnf), query right, erase.

No RHEL container exists on this machine, so the rpm side is checked on the controller:
`rpm --root DIR --dbpath /var/lib/rpm` (RHEL layout inside DIR), scripts off (--noscripts:
they would run systemctl inside an empty root). See tests/harness/README.md.
"""

import shutil
import subprocess

import pytest

pytestmark = pytest.mark.skipif(shutil.which("rpm") is None, reason="rpm is not installed (apt-get install rpm)")

RPM_OPTS = ["--dbpath", "/var/lib/rpm"]
# Co-installable sets: kesl versions share paths; kesl, kesl-astra and kav4fs conflict.
GROUPS = [
    ["kesl-10.1.1-6421", "klnagent", "kav4ws", "klms", "kav4proxy", "kes4lwks"],
    ["kesl-11.4.0-1096", "kesl-gui-11.4.0-1096", "klnagent64", "kess", "kess-gui"],
    ["kesl-12.1.0-1508", "kesl-gui-12.1.0-1508", "kwts", "kics", "kics-gui"],
    ["kesl-12.2.0-2412", "kesl-gui-12.2.0-2412", "ksc64", "ksc-web-console"],
    ["kesl-astra", "kesl-gui-astra"],
    ["kav4fs"],
]


def rpm(*args, root=None, check=True):
    cmd = ["rpm", *args] + (["--root", str(root), *RPM_OPTS] if root else [])
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if check:
        assert proc.returncode == 0, f"{cmd}: {proc.stdout}{proc.stderr}"
    return proc


def rpm_entries(index, repo="kaspersky-rpm"):
    return [e for e in index if e["format"] == "rpm" and e["repo"] == repo]


def pick(index, spec):
    """Index entry for 'name' or 'name-version-release'."""
    found = [e for e in rpm_entries(index) if spec in (e["name"], f"{e['name']}-{e['version']}")]
    assert len(found) == 1, spec
    return found[0]


def test_every_rpm_is_in_a_group(built):
    grouped = {pick(built, spec)["file"] for group in GROUPS for spec in group}
    assert grouped == {e["file"] for e in rpm_entries(built)}


def test_query_format_of_every_rpm(built, repos):
    for e in rpm_entries(built):
        path = repos / "kaspersky-rpm" / e["file"]
        out = rpm("-qp", "--qf", "%{NAME}|%{VERSION}|%{RELEASE}|%{ARCH}|%{VENDOR}|%{SUMMARY}", str(path)).stdout
        name, version, release, arch, vendor, summary = out.split("|")
        assert (name, f"{version}-{release}", arch) == (e["name"], e["version"], e["arch"])
        assert e["file"] == f"{name}-{version}-{release}.{arch}.rpm"
        assert vendor == "AO Kaspersky Lab"
        assert summary.endswith("(TEST DOUBLE)")


@pytest.mark.parametrize(
    "file,nvra",
    [
        ("kesl-12.1.0-1508.x86_64.rpm", "kesl|12.1.0|1508|x86_64"),
        ("kesl-11.4.0-1096.x86_64.rpm", "kesl|11.4.0|1096|x86_64"),  # [1.1] pattern kesl-11.x-<build>.x86_64.rpm
        ("klnagent64-15.4.0-8873.x86_64.rpm", "klnagent64|15.4.0|8873|x86_64"),  # [L8] pattern
        ("klnagent-10.1.1-26.i386.rpm", "klnagent|10.1.1|26|i386"),  # [1.2] klnagent-<build>.i386.rpm
        ("kwts-6.1.0-4762.x86_64.rpm", "kwts|6.1.0|4762|x86_64"),  # [L13]
        ("kesl-astra-11.1.0-3013.mod.x86_64.rpm", "kesl-astra|11.1.0|3013.mod|x86_64"),
    ],
)
def test_reference_nvra(built, repos, file, nvra):
    out = rpm("-qp", "--qf", "%{NAME}|%{VERSION}|%{RELEASE}|%{ARCH}", str(repos / "kaspersky-rpm" / file)).stdout
    assert out == nvra


def test_scriptlets_and_config_files(built, repos):
    path = str(repos / "kaspersky-rpm" / "kesl-12.1.0-1508.x86_64.rpm")
    scripts = rpm("-qp", "--scripts", path).stdout
    assert "postinstall scriptlet" in scripts and "preuninstall scriptlet" in scripts
    assert "systemctl start kesl.service" in scripts and "systemctl stop kesl.service" in scripts
    flags = dict(
        line.rsplit(" ", 1) for line in rpm("-qp", "--qf", "[%{FILENAMES} %{FILEFLAGS:fflags}\n]", path).stdout.splitlines()
    )
    assert flags["/etc/opt/kaspersky/kesl.conf"] == "cn"  # %config(noreplace)
    assert flags["/usr/lib/systemd/system/kesl.service"] == ""  # RHEL unit directory
    requires = rpm("-qp", "--requires", str(repos / "kaspersky-rpm" / "kesl-gui-12.1.0-1508.x86_64.rpm")).stdout
    assert "kesl = 12.1.0-1508" in requires.splitlines()
    sysv = rpm("-qpl", str(repos / "kaspersky-rpm" / "kav4fs-8.0.4-312.i386.rpm")).stdout.splitlines()
    assert "/etc/rc.d/init.d/kav4fs-supervisor" in sysv  # RHEL layout for init scripts


@pytest.mark.parametrize("group", GROUPS, ids=lambda g: g[0])
def test_install_query_erase(built, repos, tmp_path, group):
    root = tmp_path / "root"
    root.mkdir()
    entries = [pick(built, spec) for spec in group]
    files = [str(repos / "kaspersky-rpm" / e["file"]) for e in entries]
    rpm("-i", "--nodeps", "--noscripts", "--force-debian", *files, root=root)
    qa = rpm("-qa", "--qf", "%{NAME}|%{VERSION}-%{RELEASE}|%{ARCH}|%{VENDOR}\n", root=root).stdout.splitlines()
    assert sorted(qa) == sorted(f"{e['name']}|{e['version']}|{e['arch']}|AO Kaspersky Lab" for e in entries)
    for e in entries:
        for path in e["payload"] + e["conffiles"]:
            assert (root / path.lstrip("/")).is_symlink() or (root / path.lstrip("/")).exists(), path
    assert rpm("-Va", "--nodeps", "--noscripts", root=root, check=False).stdout == ""
    rpm("-e", "--nodeps", "--noscripts", *[e["name"] for e in entries], root=root)
    assert rpm("-qa", root=root).stdout == ""
    for top in ("opt/kaspersky", "etc/opt/kaspersky", "var/opt/kaspersky"):
        assert not (root / top).exists(), top


def test_gui_cannot_be_installed_without_its_main_package(built, repos, tmp_path):
    # [1.1] "The GUI package cannot be installed without the application package."
    gui = str(repos / "kaspersky-rpm" / "kesl-gui-12.1.0-1508.x86_64.rpm")
    proc = rpm("-i", "--noscripts", "--force-debian", gui, root=tmp_path, check=False)
    assert proc.returncode != 0
    assert "kesl = 12.1.0-1508 is needed by kesl-gui-12.1.0-1508.x86_64" in proc.stderr


@pytest.mark.skipif(shutil.which("dnf") is None, reason="dnf is not installed (apt-get install dnf)")
def test_dnf_reads_the_repository_metadata(built, repos, tmp_path):
    def repoquery(*args):
        proc = subprocess.run(
            ["dnf", "-q", f"--installroot={tmp_path / 'root'}", "--releasever=9", "--setopt=reposdir=/dev/null",
             f"--setopt=cachedir={tmp_path / 'cache'}", f"--repofrompath=divest,file://{repos / 'kaspersky-rpm'}",
             "--repo=divest", "--nogpgcheck", "repoquery", *args],
            capture_output=True, text=True, check=False,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc.stdout.split()

    listed = repoquery("--qf", "%{name}-%{version}-%{release}.%{arch}.rpm", "*")
    assert sorted(listed) == sorted(e["file"] for e in rpm_entries(built))
    assert "kesl = 12.1.0-1508" in " ".join(repoquery("--requires", "kesl-gui-12.1.0-1508"))


def test_rpm_fault_variant_fails_its_first_erase_then_goes(built, repos, tmp_path):
    """kaspersky-rpm-faults: kesl 12.1 whose %preun refuses the first erase (as the deb prerm does),
    and every normal rpm whose name has no rpm fault variant."""
    faults = rpm_entries(built, "kaspersky-rpm-faults")
    variants = [e for e in faults if e["fault"]]
    assert [(e["name"], e["version"], e["fault"]) for e in variants] == [("kesl", "12.1.0-1508", "prerm-fails-once")]
    others = sorted(e["file"] for e in faults if not e["fault"])
    # kesl-gui 11.4 / 12.2 pin a kesl the faults repository does not have: left out, as on the deb side
    pinned_elsewhere = {"kesl (= 11.4.0-1096)", "kesl (= 12.2.0-2412)"}
    assert others == sorted(e["file"] for e in rpm_entries(built)
                            if e["name"] != "kesl" and not set(e["depends"]) & pinned_elsewhere)
    assert "kesl-gui-12.1.0-1508.x86_64.rpm" in others
    listed = sorted(p.name for p in (repos / "kaspersky-rpm-faults").glob("*.rpm"))
    assert listed == sorted(e["file"] for e in faults)
    faulty = str(repos / "kaspersky-rpm-faults" / "kesl-12.1.0-1508.x86_64.rpm")
    assert "FAULT VARIANT 'prerm-fails-once'" in rpm("-qp", "--qf", "%{DESCRIPTION}", faulty).stdout
    # the scriptlet itself, run the way rpm runs %preun on an erase ($1 = 0), in a scratch state dir
    preun = rpm("-qp", "--qf", "%{PREUN}", faulty).stdout.replace("/var/opt/kaspersky", str(tmp_path / "state"))
    preun = preun.replace("systemctl", "true")
    first = subprocess.run(["sh", "-c", preun, "preun", "0"], capture_output=True, text=True, check=False)
    assert first.returncode == 1
    assert "kesl: could not stop Kaspersky Endpoint Security tasks, removal aborted" in first.stderr
    second = subprocess.run(["sh", "-c", preun, "preun", "0"], capture_output=True, text=True, check=False)
    assert second.returncode == 0, second.stderr
    upgrade = subprocess.run(["sh", "-c", preun.replace(str(tmp_path / "state"), str(tmp_path / "other")),
                              "preun", "1"], capture_output=True, text=True, check=False)
    assert upgrade.returncode == 0   # an upgrade ($1 = 1) is never refused
