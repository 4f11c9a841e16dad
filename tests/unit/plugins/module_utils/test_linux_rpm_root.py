# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rpm side for real: the harness's fake .rpm packages are installed into a directory root
with the real rpm, then removed by linux_remove's code with the real rpm and dnf
(``--root`` / ``--installroot``, ``--dbpath /var/lib/rpm``, as tests/harness/README.md describes),
scriptlets included (a dash is copied into the root as /bin/sh for them). No RHEL host exists
here: what differs on one (dnf5, zypper, SELinux, a real rpmdb location) is NOT covered."""

import os
import shutil
import subprocess
import pathlib

import pytest

from ansible_collections.fleetsec.divest.plugins.module_utils._linux.removal.block import block
from ansible_collections.fleetsec.divest.plugins.module_utils._linux.host import C_ENV, Host, RemovalError
from ansible_collections.fleetsec.divest.plugins.module_utils._linux.removal.product import remove_product

ROOT = pathlib.Path(__file__).resolve().parents[4]
CACHE = pathlib.Path(os.environ.get("DIVEST_CACHE") or ROOT / ".cache")
RPMS = CACHE / "repos" / "kaspersky-rpm"

pytestmark = [
    pytest.mark.skipif(shutil.which("rpm") is None, reason="rpm is not installed (apt-get install rpm)"),
    pytest.mark.skipif(not (RPMS / "kesl-12.1.0-1508.x86_64.rpm").exists(),
                       reason="the harness rpms are not built (tests/harness/build_packages.py)"),
]
DB = ["--dbpath", "/var/lib/rpm"]
KESL = {"method": "package", "packages": ["kesl-gui", "kesl"], "services": ["kesl"], "processes": ["kesl"],
        "purge": True, "residue": ["/opt/kaspersky/kesl", "/var/opt/kaspersky/kesl", "/etc/opt/kaspersky/kesl*"],
        "password": "none"}
AGENT = {"method": "package", "packages": ["klnagent64"], "purge": True,
         "residue": ["/opt/kaspersky/klnagent64", "/var/opt/kaspersky/klnagent", "/etc/opt/kaspersky/klnagent*"]}


@pytest.fixture
def env(tmp_path, monkeypatch):
    # Debian's rpm keeps its database in ~/.rpmdb; dnf reads the same macro: point both at the
    # RHEL location inside the root.
    home = tmp_path / "home"
    home.mkdir()
    (home / ".rpmmacros").write_text("%_dbpath /var/lib/rpm\n")
    monkeypatch.setenv("HOME", str(home))
    return home


@pytest.fixture
def root(tmp_path, env):
    root = tmp_path / "root"
    (root / "bin").mkdir(parents=True)
    shutil.copy("/bin/dash" if os.path.exists("/bin/dash") else "/bin/sh", root / "bin" / "sh")
    out = subprocess.run(["ldd", str(root / "bin" / "sh")], capture_output=True, text=True, check=False).stdout
    for lib in [w for w in out.split() if w.startswith("/")]:
        (root / lib.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(lib, root / lib.lstrip("/"))
    rpm("-i", "--nodeps", "--noscripts", "--force-debian", *[str(RPMS / f) for f in (
        "kesl-12.1.0-1508.x86_64.rpm", "kesl-gui-12.1.0-1508.x86_64.rpm", "klnagent64-15.4.0-8873.x86_64.rpm")],
        root=root)
    # what %post would have made: state the package does not own
    for path in ("var/opt/kaspersky/kesl/common/kesl.ini", "var/opt/kaspersky/klnagent/agent.dat",
                 "etc/opt/kaspersky/kesl.conf.rpmsave"):
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text("state\n")
    return root


def rpm(*args, root, check=True):
    proc = subprocess.run(["rpm", *args, "--root", str(root), *DB], capture_output=True, text=True, check=False)
    if check:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def installed(root):
    return sorted(rpm("-qa", "--qf", "%{NAME}\n", root=root, check=False).stdout.split())


def run(argv, data=None):
    proc = subprocess.run(argv, capture_output=True, text=True, env=dict(os.environ, **C_ENV), check=False)
    return proc.returncode, proc.stdout, proc.stderr


VENDOR_DIRS = ["/opt/kaspersky", "/var/opt/kaspersky", "/etc/opt/kaspersky", "/var/log/kaspersky"]


def remove(host, recipe, **kwargs):
    return remove_product(host, recipe, vendor_dirs=VENDOR_DIRS, **kwargs)


def host(root, check_mode=False):
    return Host(root=str(root), run=run, check_mode=check_mode)


def test_query_check_mode_and_removal_with_rpm(root):
    predicted = remove(host(root, check_mode=True), KESL, product="kesl", manager="rpm")
    assert predicted["removed_packages"] == ["kesl-gui", "kesl"] and predicted["changed"]
    assert [p["version"] for p in predicted["packages_before"]] == ["12.1.0-1508", "12.1.0-1508"]
    assert installed(root) == ["kesl", "kesl-gui", "klnagent64"]          # check mode changed nothing

    done = remove(host(root), KESL, product="kesl", manager="rpm")
    assert [[os.path.basename(s["command"][0]), s["command"][1]] + s["command"][-2:]
            for s in done["steps"] if s["step"] == "packages"] == [
        ["rpm", "--erase", "--", "kesl-gui-12.1.0-1508.x86_64"], ["rpm", "--erase", "--", "kesl-12.1.0-1508.x86_64"]]
    assert installed(root) == ["klnagent64"]
    for gone in ("opt/kaspersky/kesl", "var/opt/kaspersky/kesl", "etc/opt/kaspersky/kesl.conf.rpmsave"):
        assert not (root / gone).exists(), gone
    assert (root / "var/opt/kaspersky/klnagent/agent.dat").exists()   # the agent's: untouched
    assert done["remaining"] == {"packages": [], "paths": []}
    again = remove(host(root), KESL, product="kesl", manager="rpm")
    assert again["changed"] is False and again["steps"] == []


@pytest.mark.skipif(shutil.which("dnf") is None, reason="dnf is not installed (apt-get install dnf python3-dnf)")
def test_removal_with_dnf_installroot(root):
    done = remove(host(root), AGENT, product="klnagent", manager="dnf")
    (step,) = [s for s in done["steps"] if s["step"] == "packages"]
    assert step["command"][0].endswith("dnf") and "--installroot=%s" % root in step["command"]
    assert step["command"][-3:] == ["remove", "--", "klnagent64-15.4.0-8873.x86_64"]
    assert installed(root) == ["kesl", "kesl-gui"]                    # exactly one package went
    assert not (root / "var/opt/kaspersky/klnagent").exists()


def test_rpm_refuses_to_take_a_dependent_package_along(root):
    alone = dict(KESL, packages=["kesl"])
    with pytest.raises(RemovalError) as info:
        remove(host(root, check_mode=True), alone, product="kesl", manager="rpm")
    assert "would refuse" in info.value.msg and "kesl = 12.1.0-1508 is needed by (installed) kesl-gui" in info.value.msg
    assert "Alien" not in info.value.msg                               # Debian's rpm chatter left out
    with pytest.raises(RemovalError) as info:
        remove(host(root), alone, product="kesl", manager="rpm")
    assert info.value.msg.startswith("kesl: not removed, rpm --erase --test refuses: error: Failed dependencies")
    assert installed(root) == ["kesl", "kesl-gui", "klnagent64"]
    assert (root / "var/opt/kaspersky/kesl/common/kesl.ini").exists()   # nothing else of the product was done


def test_a_failing_scriptlet_stops_the_product(root):
    # kesl's %preun cannot run (no /bin/sh in the root); kesl-gui has no scriptlet
    (root / "bin" / "sh").unlink()
    (root / "bin" / "sh").symlink_to("/nonexistent-shell")
    with pytest.raises(RemovalError) as info:
        remove(host(root), KESL, product="kesl", manager="rpm")
    assert info.value.msg.startswith("kesl: rpm remove failed (exit 1): ")
    assert "%preun(kesl-12.1.0-1508.x86_64) scriptlet failed" in info.value.msg
    details = info.value.details
    assert details["failed_step"] == "packages" and details["removed_packages"] == ["kesl-gui"]
    assert installed(root) == ["kesl", "klnagent64"]
    assert (root / "var/opt/kaspersky/kesl/common/kesl.ini").exists()    # nothing after the failure


@pytest.mark.skipif(shutil.which("dnf") is None, reason="dnf is not installed")
def test_dnf_exclude_written_by_reinstall_block_stops_dnf(root, tmp_path):
    (root / "etc/dnf").mkdir(parents=True)
    (root / "etc/dnf/dnf.conf").write_text("[main]\ngpgcheck=1\n")
    remove(host(root), KESL, product="kesl", manager="rpm")
    result = block(host(root), "kaspersky", ["kesl-gui", "kesl"], manager="auto")
    assert result["manager"] == "dnf" and result["after"] == ["kesl", "kesl-gui"]

    def install():
        return subprocess.run(
            ["dnf", "-y", "--installroot=%s" % root, "--config=%s" % (root / "etc/dnf/dnf.conf"),
             "--setopt=reposdir=/dev/null", "--setopt=cachedir=%s" % (tmp_path / "cache"),
             "--repofrompath=divest,file://%s" % RPMS, "--repo=divest", "--nogpgcheck", "--releasever=9",
             "install", "kesl"], capture_output=True, text=True, env=dict(os.environ, **C_ENV), check=False)
    refused = install()
    assert refused.returncode != 0 and "filtered out by exclude filtering" in refused.stdout + refused.stderr, \
        refused.stdout + refused.stderr
    block(host(root), "kaspersky", ["kesl-gui", "kesl"], state="absent")
    assert "excludepkgs" not in (root / "etc/dnf/dnf.conf").read_text()
