# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Holds on a package being removed (dpkg selection ``hold``, dnf/yum versionlock, zypper lock):
released explicitly, for exactly the packages removed, recorded, predicted in check mode; the
reinstall block written afterwards stands on its own. Fake tools, and the real dpkg in a
``--root`` sandbox for what dpkg itself does with a held package."""

import os
import shutil
import subprocess
import sys
import pathlib

import pytest

from ansible_collections.fleetsec.divest.plugins.module_utils._linux.removal import files
from ansible_collections.fleetsec.divest.plugins.module_utils._linux.removal.block import block
from ansible_collections.fleetsec.divest.plugins.module_utils._linux.host import C_ENV, Host, RemovalError
from ansible_collections.fleetsec.divest.plugins.module_utils._linux.removal.product import remove_product

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from removal_fakes import Runner, make_host, write  # noqa: E402

KESL = {"method": "package", "packages": ["kesl-gui", "kesl"], "purge": True}


class FakeDpkgQuery(object):
    """dpkg-query answers from ``states`` ({target: "want flag status"}); a purge forgets the package."""

    def __init__(self, states):
        self.states = dict(states)

    def query(self, argv):
        rows = ["%s\t%s\t12.1.0-1508\tamd64\t%s" % (t, t.split(":")[0], st) for t, st in sorted(self.states.items())]
        return 0, "".join(r + "\n" for r in rows), ""

    def purge(self, argv):
        self.states.pop(argv[-1], None)
        return 0, "", ""


def dpkg_host(root, states, check_mode=False):
    write(root, "/var/lib/dpkg/status", "")
    fake = FakeDpkgQuery(states)
    runner = Runner([(("dpkg-query",), fake.query), (("dpkg", "--purge"), fake.purge)])
    return make_host(root, runner, check_mode=check_mode), runner


def test_a_dpkg_hold_is_released_right_before_its_package_goes(tmp_path):
    host, runner = dpkg_host(tmp_path / "root", {"kesl": "hold ok installed", "kesl-gui": "install ok installed"})
    result = remove_product(host, KESL, product="kesl", manager="dpkg")
    assert result["holds_released"] == [{"package": "kesl", "kind": "apt-mark"}]
    assert [(s["step"], s["action"], s["target"]) for s in result["steps"]] == [
        ("packages", "purge", "kesl-gui"), ("holds", "release", "kesl"), ("packages", "purge", "kesl")]
    selections = ["dpkg", "--root=%s" % host.root, "--set-selections"]
    assert result["steps"][1]["kind"] == "apt-mark" and result["steps"][1]["command"][1:] == selections[1:]
    assert [(os.path.basename(argv[0]),) + tuple(argv[1:]) for argv, dummy in runner.inputs] == [tuple(selections)]
    assert [data for dummy, data in runner.inputs] == ["kesl install\n"]       # that package alone
    commands = [c for c in runner.commands() if c[0] == "dpkg"]
    assert commands.index(selections) == commands.index(["dpkg", "--root=%s" % host.root, "--purge", "--", "kesl"]) - 1


def test_check_mode_predicts_the_release_and_runs_nothing(tmp_path):
    host, runner = dpkg_host(tmp_path / "root", {"kesl": "hold ok installed", "kesl-gui": "hold ok installed"},
                             check_mode=True)
    result = remove_product(host, KESL, product="kesl", manager="dpkg")
    assert result["holds_released"] == [{"package": "kesl-gui", "kind": "apt-mark"}, {"package": "kesl", "kind": "apt-mark"}]
    assert result["counts"] == {"holds": 2, "packages": 2} and runner.inputs == []


def test_a_package_that_is_not_removed_keeps_its_hold(tmp_path):
    # config-files with purge false: dpkg has nothing to do, so the hold is not touched either
    host, runner = dpkg_host(tmp_path / "root", {"kesl": "hold ok config-files"})
    result = remove_product(host, dict(KESL, purge=False), product="kesl", manager="dpkg")
    assert result["holds_released"] == [] and runner.inputs == [] and not result["changed"]


def test_a_failing_release_stops_before_the_package(tmp_path):
    host, runner = dpkg_host(tmp_path / "root", {"kesl": "hold ok installed"})
    runner.add(("--set-selections",), (2, "", "dpkg: error: unable to access the dpkg database\n"))
    with pytest.raises(RemovalError, match=r"kesl: releasing its hold failed: dpkg --set-selections \(exit 2\)"):
        remove_product(host, KESL, product="kesl", manager="dpkg")
    assert not [c for c in runner.commands() if "--purge" in c and "--no-act" not in c]


class FakeRpm(object):
    """rpm --query answers with the packages not removed yet; a front end's remove takes one out."""

    def __init__(self, names):
        self.names = list(names)

    def query(self, argv):
        wanted = argv[argv.index("--") + 1:]
        return 0, "".join("%s\t(none)\t12.1.0\t1508\tx86_64\n" % n for n in self.names if n in wanted), ""

    def remove(self, argv):
        name = argv[-1].split("-12.1.0")[0].split(".x86_64")[0]
        self.names.remove(name)
        return 0, "", ""


DNF_LOCKS = ("# Added lock on Tue Dec  1 10:00:00 2026\nkesl-0:12.1.0-1508.*\n"
             "# Added lock on Tue Dec  1 10:00:01 2026\nkernel-0:5.14.0-427.el9.*\n!kesl-0:12.2.0-2412.*\n")
YUM_LOCKS = "0:kesl-gui-12.1.0-1508.*\n0:kesl-guide-1-1.*\n"


def rpm_host(root, frontend, check_mode=False):
    write(root, "/var/lib/rpm/rpmdb.sqlite", "x")
    rpm = FakeRpm(["kesl", "kesl-gui"])
    runner = Runner([(("--query",), rpm.query), (("remove",), rpm.remove)])
    return make_host(root, runner, check_mode=check_mode, which=lambda n: "/usr/bin/" + n if n in ("rpm", frontend) else None)


def test_versionlock_entries_are_taken_out_for_exactly_the_removed_packages(tmp_path):
    root = tmp_path / "root"
    write(root, "/etc/dnf/plugins/versionlock.list", DNF_LOCKS)
    write(root, "/etc/yum/pluginconf.d/versionlock.list", YUM_LOCKS)
    predicted = remove_product(rpm_host(root, "dnf", check_mode=True), KESL, product="kesl", manager="dnf", backup=True)
    assert (root / "etc/dnf/plugins/versionlock.list").read_text() == DNF_LOCKS       # check mode: untouched
    done = remove_product(rpm_host(root, "dnf"), KESL, product="kesl", manager="dnf", backup=True)
    assert predicted["holds_released"] == done["holds_released"] == [
        {"package": "kesl-gui", "kind": "versionlock"}, {"package": "kesl", "kind": "versionlock"}]
    assert (root / "etc/dnf/plugins/versionlock.list").read_text() == DNF_LOCKS.replace("kesl-0:12.1.0-1508.*\n", "")
    assert (root / "etc/yum/pluginconf.d/versionlock.list").read_text() == "0:kesl-guide-1-1.*\n"
    holds = [s for s in done["steps"] if s["step"] == "holds"]
    assert [(s["target"], s["package"], s["lines"]) for s in holds] == [
        ("/etc/yum/pluginconf.d/versionlock.list", "kesl-gui", ["0:kesl-gui-12.1.0-1508.*"]),
        ("/etc/dnf/plugins/versionlock.list", "kesl", ["kesl-0:12.1.0-1508.*"])]
    assert all(s["action"] == "release" and s["kind"] == "versionlock" and s["backup"] for s in holds)
    backups = [n for n in os.listdir(str(root / "etc/dnf/plugins")) if n.endswith(".divest~")]
    assert len(backups) == 1 and (root / "etc/dnf/plugins" / backups[0]).read_text() == DNF_LOCKS


ZYPP_USER_LOCKS = ("type: package\nmatch_type: glob\ncase_sensitive: on\nsolvable_name: kesl\n\n"
                   "type: package\nmatch_type: glob\ncase_sensitive: on\nsolvable_name: kernel-default\n")


def test_a_zypper_lock_on_the_package_is_released_and_the_block_then_writes_its_own(tmp_path):
    root = tmp_path / "root"
    write(root, "/etc/zypp/locks", ZYPP_USER_LOCKS)
    done = remove_product(rpm_host(root, "zypper"), dict(KESL, packages=["kesl"]), product="kesl", manager="zypper")
    assert done["holds_released"] == [{"package": "kesl", "kind": "zypper-lock"}]
    after_release = (root / "etc/zypp/locks").read_text()
    assert "solvable_name: kesl\n" not in after_release and "solvable_name: kernel-default" in after_release
    # The block that follows does not mistake the user's (released) lock for its own.
    blocked = block(make_host(root), "kaspersky", ["kesl"], manager="zypper")
    assert blocked["before"] == [] and blocked["after"] == ["kesl"] and blocked["changed"]
    text = (root / "etc/zypp/locks").read_text()
    assert "# Managed by fleetsec.divest" in text and text.count("solvable_name: kesl\n") == 1


@pytest.mark.parametrize("lock, shown", [
    ("solvable_name: kes*\nmatch_type: glob", "kes*"),
    ("solvable_name: kesl", "kesl"),                       # no match_type: libzypp's substring
    ("solvable_name: esl\nmatch_type: substring", "esl"),
    ("solvable_name: kesl\nmatch_type: words", "kesl"),
])
def test_a_wider_zypper_lock_fails_the_removal_naming_it(tmp_path, lock, shown):
    root = tmp_path / "root"
    write(root, "/etc/zypp/locks", "type: package\n%s\n" % lock)
    host = rpm_host(root, "zypper")
    with pytest.raises(RemovalError) as info:
        remove_product(host, dict(KESL, packages=["kesl"]), product="kesl", manager="zypper")
    assert info.value.msg.startswith("kesl: zypper would refuse the removal: the lock %r in /etc/zypp/locks covers it"
                                     % shown)
    assert not [c for c in host._run.commands() if c[0] == "zypper"]
    assert (root / "etc/zypp/locks").read_text() == "type: package\n%s\n" % lock


def test_a_regular_expression_lock_is_never_run_and_left_to_zypper(tmp_path):
    root = tmp_path / "root"
    locks = "type: package\nmatch_type: regex\nsolvable_name: ^(k+)+sl$\n"
    write(root, "/etc/zypp/locks", locks)
    done = remove_product(rpm_host(root, "zypper"), dict(KESL, packages=["kesl"]), product="kesl", manager="zypper")
    assert done["holds_released"] == [] and (root / "etc/zypp/locks").read_text() == locks
    assert done["warnings_list"] == ["kesl: the zypper lock '^(k+)+sl$' in /etc/zypp/locks may cover it (not evaluated "
                                     "here); if zypper refuses the removal, release that lock by hand"]


def test_a_wider_zypper_lock_does_not_stop_dnf(tmp_path):
    root = tmp_path / "root"
    write(root, "/etc/zypp/locks", "type: package\nmatch_type: glob\nsolvable_name: kes*\n")
    done = remove_product(rpm_host(root, "dnf"), dict(KESL, packages=["kesl"]), product="kesl", manager="dnf")
    assert done["holds_released"] == [] and done["removed_packages"] == ["kesl"]


DNF5_LOCKS = """# dnf 5
version = "1.0"

# Added by 'versionlock add' on 2026-11-23
[[packages]]
name = "kesl"
[[packages.conditions]]
key = "evr"
comparator = "="
value = "0:12.1.0-1508"

# an exclude
[[packages]]
name = "kesl-gui"
[[packages.conditions]]
key = "evr"
comparator = "!="
value = "0:12.1.0-1508"

[[packages]]
name = 'kes*'
"""


def test_dnf5_versionlock_entries_are_released_too(tmp_path):
    root = tmp_path / "root"
    write(root, "/etc/dnf/versionlock.toml", DNF5_LOCKS)
    done = remove_product(rpm_host(root, "dnf"), KESL, product="kesl", manager="dnf")
    assert done["holds_released"] == [{"package": "kesl", "kind": "versionlock"}]
    left = (root / "etc/dnf/versionlock.toml").read_text()
    assert left == DNF5_LOCKS[:DNF5_LOCKS.index("# Added by")] + DNF5_LOCKS[DNF5_LOCKS.index("# an exclude"):]
    assert done["warnings_list"] == [
        "kesl-gui: the versionlock entry 'kes*' in /etc/dnf/versionlock.toml also covers other packages: left in place",
        "kesl: the versionlock entry 'kes*' in /etc/dnf/versionlock.toml also covers other packages: left in place"]


@pytest.mark.parametrize("text, removed, wider", [
    ("kesl-0:12.1.0-1508.*\n", ["kesl-0:12.1.0-1508.*"], []),
    ("kesl-12.1.0-1508.x86_64\r\nkesl-gui-0:1-1.*\r\n", ["kesl-12.1.0-1508.x86_64"], []),
    ("0:kesl-12.1.0-1508.*\n0:kesl-12.1.0-1508.x86_64\n", ["0:kesl-12.1.0-1508.*", "0:kesl-12.1.0-1508.x86_64"], []),
    ("kesl\nkesl.x86_64\n", ["kesl", "kesl.x86_64"], []),
    ("kesl-0:12.1.0-9999.*\n", [], []),                       # another version: not this package
    ("!kesl-0:12.1.0-1508.*\n# kesl-0:12.1.0-1508.*\n\n", [], []),
    ("kesl-gui-0:1-1.*\nkeslx-0:1-1.*\n", [], []),
    ("kes*\nkesl-*\n", [], ["kes*", "kesl-*"]),
])
def test_drop_versionlock_table(text, removed, wider):
    new, gone, others = files.drop_versionlock(text, "kesl", "12.1.0-1508", "x86_64")
    assert (gone, others) == (removed, wider)
    assert len(new.splitlines()) == len(text.splitlines()) - len(removed)


@pytest.mark.parametrize("lock, released, wider, unknown", [
    ("type: package\nmatch_type: exact\ncase_sensitive: on\nsolvable_name: kesl\n", 1, [], []),
    ("match_type: glob\nsolvable_name: kesl\n", 1, [], []),
    ("type: package\nmatch_type: exact\nsolvable_name: kesl\nversion: = 12.1.0-1508\n", 1, [], []),
    ("solvable_name: kesl\n", 0, ["kesl"], []),                  # substring by default
    ("type: pattern\nmatch_type: exact\nsolvable_name: kesl\n", 0, [], []),
    ("match_type: glob\nsolvable_name: kesl-*\n", 0, [], []),
    ("match_type: glob\nsolvable_name: k?sl\n", 0, ["k?sl"], []),
    ("match_type: regex\nsolvable_name: (\n", 0, [], ["("]),
    ("# only a comment\n", 0, [], []),
])
def test_drop_zypp_lock_table(lock, released, wider, unknown):
    new, count, covering, unsure = files.drop_zypp_lock(lock, "kesl", "x86_64")
    assert (count, covering, unsure) == (released, wider, unknown)
    assert (new == lock) is (released == 0)


def _dpkg(root, *args, data=None):
    proc = subprocess.run(["dpkg", "--root=%s" % root, "--force-script-chrootless"] + list(args), input=data,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                          env=dict(os.environ, **C_ENV), check=False)
    return proc.returncode, proc.stdout, proc.stderr


def _selection(root):
    proc = subprocess.run(["dpkg-query", "--admindir=%s/var/lib/dpkg" % root, "--show", "--showformat=${Status}", "--",
                           "kesl"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, check=False)
    return proc.stdout if proc.returncode == 0 else None


@pytest.fixture
def sandbox(tmp_path):
    """A dpkg ``--root`` with a fake kesl installed and on hold (apt-mark hold kesl)."""
    if not (shutil.which("dpkg") and shutil.which("dpkg-deb")):
        pytest.skip("dpkg and dpkg-deb are not installed")
    pkg = tmp_path / "pkg"
    write(pkg, "/DEBIAN/control", "Package: kesl\nVersion: 12.1.0-1508\nArchitecture: all\nMaintainer: t <t@example.org>\n"
                                  "Description: stand-in for KESL\n")
    write(pkg, "/opt/kaspersky/kesl/bin/kesl", "x")
    subprocess.run(["dpkg-deb", "--build", str(pkg), str(tmp_path / "kesl.deb")], stdout=subprocess.PIPE, check=True)
    root = tmp_path / "root"
    for name in ("status", "available"):
        write(root, "/var/lib/dpkg/" + name, "")
    for sub in ("info", "updates"):
        (root / "var/lib/dpkg" / sub).mkdir(parents=True, exist_ok=True)
    rc, out, err = _dpkg(root, "--install", str(tmp_path / "kesl.deb"))
    if rc != 0:
        pytest.skip("cannot install into a dpkg sandbox here: %s" % err.strip()[:200])
    assert _dpkg(root, "--set-selections", data="kesl hold\n")[0] == 0
    assert _selection(root) == "hold ok installed"
    return root


def test_the_real_dpkg_purges_a_held_package_without_a_word(sandbox):
    """The finding the release rests on (dpkg 1.21 on Debian 12): --purge of a held package
    exits 0, says nothing about the hold, and the hold is gone with the package."""
    rc, out, err = _dpkg(sandbox, "--purge", "--", "kesl")
    assert rc == 0 and "hold" not in (out + err).lower()
    assert _selection(sandbox) is None


def test_linux_remove_releases_the_hold_with_the_real_dpkg(sandbox):
    def run(argv, data=None):
        proc = subprocess.run(argv, input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                              env=dict(os.environ, **C_ENV), check=False)
        return proc.returncode, proc.stdout, proc.stderr

    predicted = remove_product(Host(root=str(sandbox), run=run, check_mode=True), {"packages": ["kesl"]}, manager="dpkg")
    assert predicted["holds_released"] == [{"package": "kesl", "kind": "apt-mark"}]
    assert _selection(sandbox) == "hold ok installed"
    done = remove_product(Host(root=str(sandbox), run=run), {"packages": ["kesl"]}, manager="dpkg")
    assert done["holds_released"] == [{"package": "kesl", "kind": "apt-mark"}]
    assert [(s["step"], s["action"]) for s in done["steps"]] == [("holds", "release"), ("packages", "purge")]
    assert _selection(sandbox) is None and not (sandbox / "opt/kaspersky/kesl/bin/kesl").exists()


@pytest.mark.parametrize("files_there, commands, expected", [
    (["/var/lib/dpkg/status"], ["dpkg"], ["apt"]),
    (["/etc/dnf/dnf.conf", "/var/lib/rpm/rpmdb.sqlite"], ["rpm", "dnf"], ["dnf"]),
    (["/etc/yum.conf", "/var/lib/rpm/Packages"], ["rpm", "yum"], ["yum"]),
    (["/etc/dnf/dnf.conf", "/etc/yum.conf"], [], ["dnf"]),              # EL 8+: yum.conf is dnf's
    (["/etc/zypp/zypp.conf", "/usr/lib/sysimage/rpm/rpmdb.sqlite"], ["rpm", "zypper"], ["zypper"]),
    # a Debian host that also carries an rpm database: both front ends are blocked
    (["/var/lib/dpkg/status", "/etc/dnf/dnf.conf", "/var/lib/rpm/rpmdb.sqlite"], ["dpkg", "rpm", "dnf"], ["apt", "dnf"]),
    (["/var/lib/dpkg/status", "/etc/zypp/zypp.conf", "/var/lib/rpm/rpmdb.sqlite"], ["dpkg", "rpm", "zypper"],
     ["apt", "zypper"]),
])
def test_auto_blocks_in_every_package_manager_the_host_has(tmp_path, files_there, commands, expected):
    root = tmp_path / "root"
    for inner in files_there:
        write(root, inner, "[main]\n" if inner.endswith(".conf") else "")
    host = make_host(root, which=lambda n: "/usr/bin/" + n if n in commands else None)
    result = block(host, "kaspersky", ["kesl", "klnagent64"])
    assert [b["manager"] for b in result["blocks"]] == expected
    assert result["manager"] == ", ".join(expected)
    paths = {"apt": "/etc/apt/preferences.d/divest-kaspersky.pref", "dnf": "/etc/dnf/dnf.conf",
             "yum": "/etc/yum.conf", "zypper": "/etc/zypp/locks"}
    assert [b["path"] for b in result["blocks"]] == [paths[m] for m in expected]
    assert all(b["after"] == ["kesl", "klnagent64"] for b in result["blocks"])
    assert result["path"] == paths[expected[0]] and result["counts"] == {"block": len(expected)}
    again = block(host, "kaspersky", ["kesl", "klnagent64"])
    assert not again["changed"] and [b["before"] for b in again["blocks"]] == [["kesl", "klnagent64"]] * len(expected)
