# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Package removal with fake package managers: states, argv, locks, failures, detection."""

import sys
import pathlib

import pytest

from ansible_collections.fleetsec.divest.plugins.module_utils._linux.removal import packages as pk
from ansible_collections.fleetsec.divest.plugins.module_utils._linux.host import RemovalError

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from removal_fakes import Clock, Runner, make_host, write  # noqa: E402


def dpkg_row(target, name, version, arch, status):
    return "\t".join([target, name, version, arch, status])


@pytest.fixture
def root(tmp_path):
    r = tmp_path / "root"
    write(r, "/var/lib/dpkg/status", "")
    return r


@pytest.mark.parametrize("status, purge, ops", [
    ("install ok installed", True, ["--purge"]),
    ("install ok installed", False, ["--remove"]),
    ("deinstall ok config-files", True, ["--purge"]),
    ("deinstall ok config-files", False, None),
    ("install reinstreq half-installed", True, ["--purge", "--force-remove-reinstreq"]),
    ("install ok half-installed", False, ["--remove", "--force-remove-reinstreq"]),
    ("install reinstreq unpacked", True, ["--purge", "--force-remove-reinstreq"]),
    ("install ok half-configured", True, ["--purge"]),
    ("install ok triggers-pending", True, ["--purge"]),
])
def test_dpkg_handles_every_state(root, status, purge, ops):
    runner = Runner([(("dpkg-query",), (0, dpkg_row("kav4fs:i386", "kav4fs", "8.0.4-312", "i386", status) + "\n", ""))])
    host = make_host(root, runner)
    dpkg = pk.Dpkg(host)
    found = dpkg.query(["kav4fs"])
    (pkg,) = found["kav4fs"]
    assert (pkg.target, pkg.arch) == ("kav4fs:i386", "i386")
    argv = dpkg.remove(pkg, purge)
    if ops is None:
        assert argv is None and runner.commands("dpkg") == []
    else:
        assert runner.commands("dpkg") == [["dpkg", "--root=%s" % host.root] + ops + ["--", "kav4fs:i386"]]


def test_dpkg_query_skips_not_installed_and_multiarch_instances_are_separate(root):
    out = "\n".join([dpkg_row("kesl", "kesl", "12.1.0-1508", "amd64", "install ok installed"),
                     dpkg_row("kesl:i386", "kesl", "12.1.0-1508", "i386", "install ok installed"),
                     dpkg_row("kesl-gui", "kesl-gui", "", "", "unknown ok not-installed"), "garbage"]) + "\n"
    runner = Runner([(("dpkg-query",), (1, out, "dpkg-query: no packages found matching nosuch\n"))])
    found = pk.Dpkg(make_host(root, runner)).query(["kesl", "kesl-gui", "nosuch"])
    assert [p.target for p in found["kesl"]] == ["kesl", "kesl:i386"] and "kesl-gui" not in found
    assert runner.calls[0][1] == "--admindir=%s/var/lib/dpkg" % root
    assert runner.calls[0][-4:] == ["--", "kesl", "kesl-gui", "nosuch"]


def test_dpkg_failure_names_the_package_and_quotes_dpkg(root):
    err = ("kesl: could not stop Kaspersky Endpoint Security tasks, removal aborted; run the removal again\n"
           "dpkg: error processing package kesl (--purge):\n"
           " installed kesl package pre-removal script subprocess returned error exit status 1\n"
           "Errors were encountered while processing:\n kesl\n")
    runner = Runner([(("dpkg", "--purge"), (1, "(Reading database ... 8673 files and directories currently installed.)\n"
                                               "Removing kesl (12.1.0-1508) ...\n", err))])
    pkg = pk.Package("kesl", "kesl", "12.1.0-1508", "amd64", "installed", "ok", "dpkg")
    with pytest.raises(RemovalError) as info:
        pk.Dpkg(make_host(root, runner)).remove(pkg, True)
    msg = info.value.msg
    assert msg.startswith("kesl: dpkg --purge kesl failed (exit 1): kesl: could not stop Kaspersky")
    assert "pre-removal script subprocess returned error exit status 1" in msg
    assert info.value.details["package"] == "kesl"


def test_dpkg_waits_for_a_busy_lock_then_goes_on(root):
    answers = [(2, "", "dpkg: error: dpkg frontend lock was locked by another process with pid 42\n")] * 3 + [(0, "", "")]
    runner = Runner([(("dpkg", "--purge"), lambda argv: answers.pop(0))])
    clock = Clock()
    host = make_host(root, runner, clock=clock)
    pkg = pk.Package("kesl", "kesl", "1", "amd64", "installed", "ok", "dpkg")
    pk.Dpkg(host, lock_timeout=60).remove(pkg, True)
    assert len(runner.commands("dpkg")) == 4 and clock.slept == [2, 2, 2]


def test_dpkg_gives_up_on_the_lock_after_the_timeout(root):
    runner = Runner([(("dpkg", "--purge"), (2, "", "dpkg: error: dpkg frontend lock was locked by another process\n"))])
    host = make_host(root, runner)
    with pytest.raises(RemovalError, match="lock was locked"):
        pk.Dpkg(host, lock_timeout=5).remove(pk.Package("kesl", "kesl", "1", "amd64", "installed", "ok", "dpkg"), True)
    assert len(runner.commands("dpkg")) == 4   # 0, 2, 4 s, then past the deadline


def test_dpkg_check_mode_asks_no_act_for_all_packages_together(root):
    complaint = "dpkg: dependency problems prevent removal of kesl:\n site-meta depends on kesl.\n"
    runner = Runner([(("--no-act",), (1, "", complaint))])
    host = make_host(root, runner, check_mode=True)
    pkgs = [pk.Package(n, n, "1", "amd64", "installed", "ok", "dpkg") for n in ("kesl-gui", "kesl")]
    problem = pk.Dpkg(host).simulate(pkgs, True)
    assert "site-meta depends on kesl" in problem
    assert runner.commands("dpkg") == [["dpkg", "--root=%s" % host.root, "--no-act", "--purge", "--", "kesl-gui", "kesl"]]
    assert pk.Dpkg(host).remove(pkgs[0], True) == ["/usr/bin/dpkg", "--root=%s" % host.root, "--purge", "--", "kesl-gui"]
    assert len(runner.calls) == 1   # check mode removes nothing


RPM_Q = "kesl\t(none)\t12.1.0\t1508\tx86_64\nklnagent64\t1\t15.4.0\t8873\tx86_64\npackage nosuch is not installed\n"


@pytest.mark.parametrize("frontend, live, expected", [
    ("dnf", True, ["dnf", "--assumeyes", "--disablerepo=*", "--setopt=clean_requirements_on_remove=False",
                   "--setopt=exit_on_lock=True", "remove", "--", "kesl-12.1.0-1508.x86_64"]),
    ("dnf", False, ["dnf", "--assumeyes", "--disablerepo=*", "--setopt=clean_requirements_on_remove=False",
                    "--setopt=exit_on_lock=True", "--installroot=ROOT", "remove", "--", "kesl-12.1.0-1508.x86_64"]),
    ("yum", True, ["yum", "--assumeyes", "--disablerepo=*", "--setopt=clean_requirements_on_remove=False",
                   "--setopt=exit_on_lock=True", "remove", "--", "kesl-12.1.0-1508.x86_64"]),
    ("zypper", True, ["zypper", "--non-interactive", "--no-refresh", "remove", "--", "kesl.x86_64"]),
    ("zypper", False, ["zypper", "--non-interactive", "--no-refresh", "--root", "ROOT", "remove", "--", "kesl.x86_64"]),
    ("rpm", True, ["rpm", "--erase", "--", "kesl-12.1.0-1508.x86_64"]),
    ("rpm", False, ["rpm", "--erase", "--root", "ROOT", "--dbpath", "/var/lib/rpm", "--", "kesl-12.1.0-1508.x86_64"]),
])
def test_rpm_front_ends_remove_exactly_one_package_after_a_test(tmp_path, frontend, live, expected):
    root = tmp_path / "root"
    write(root, "/var/lib/rpm/rpmdb.sqlite", "x")
    runner = Runner([(("--query",), (1, RPM_Q, ""))])
    host = make_host(root, runner, live=live)
    mgr = pk.Rpm(host, frontend, "/var/lib/rpm")
    found = mgr.query(["kesl", "klnagent64", "nosuch"])
    assert [p.version for p in found["kesl"] + found["klnagent64"]] == ["12.1.0-1508", "1:15.4.0-8873"]
    mgr.remove(found["kesl"][0], True)
    query, test, remove = runner.commands()
    assert query[-4:] == ["--", "kesl", "klnagent64", "nosuch"]
    assert test[:3] == ["rpm", "--erase", "--test"] and test[-2:] == ["--", "kesl-12.1.0-1508.x86_64"]
    assert remove == [w.replace("ROOT", host.root) for w in expected]


def test_rpm_refuses_when_another_package_needs_it(tmp_path):
    root = tmp_path / "root"
    write(root, "/var/lib/rpm/Packages", "x")
    runner = Runner([(("--test",), (1, "", "error: Failed dependencies:\n\tkesl is needed by (installed) site-tools-1-1.noarch\n"))])
    mgr = pk.Rpm(make_host(root, runner), "dnf")
    with pytest.raises(RemovalError) as info:
        mgr.remove(pk.Package("kesl", "kesl-12.1.0-1508.x86_64", "12.1.0-1508", "x86_64", "installed", "ok", "rpm"), True)
    assert "rpm --erase --test refuses: error: Failed dependencies: / kesl is needed by (installed) site-tools" in info.value.msg
    assert not any(c[0] == "dnf" for c in runner.commands())


def test_rpm_scriptlet_failure_is_reported(tmp_path):
    root = tmp_path / "root"
    write(root, "/var/lib/rpm/Packages", "x")
    runner = Runner([(("rpm", "--erase", "kesl-1-1.x86_64"), lambda argv: (1, "", "error: %preun(kesl-1-1.x86_64) scriptlet failed, exit status 1\n")
                      if "--test" not in argv else (0, "", ""))])
    mgr = pk.Rpm(make_host(root, runner), "rpm")
    with pytest.raises(RemovalError, match=r"kesl: rpm remove failed \(exit 1\): error: %preun\(kesl-1-1.x86_64\) scriptlet failed"):
        mgr.remove(pk.Package("kesl", "kesl-1-1.x86_64", "1-1", "x86_64", "installed", "ok", "rpm"), True)


def test_dnf_scriptlet_failure_names_what_the_scriptlet_said(tmp_path):
    # dnf 4.14 on a live host (molecule/execute_rpm): the scriptlet's words on stdout, dnf's on stderr
    root = tmp_path / "root"
    write(root, "/var/lib/rpm/rpmdb.sqlite", "x")
    out = ("Running transaction\n  Preparing        :      1/1 \n"
           "  Running scriptlet: kesl-12.1.0-1508.x86_64      1/1 \n"
           "kesl: could not stop Kaspersky Endpoint Security tasks, removal aborted; run the removal again\n"
           "error: %preun(kesl-12.1.0-1508.x86_64) scriptlet failed, exit status 1\n\n"
           "Failed:\n  kesl-12.1.0-1508.x86_64\n")
    err = "Error in PREUN scriptlet in rpm package kesl\nError: Transaction failed\n"
    runner = Runner([(("dnf", "remove"), (1, out, err))])
    mgr = pk.Rpm(make_host(root, runner, live=True), "dnf", "/var/lib/rpm")
    with pytest.raises(RemovalError) as info:
        mgr.remove(pk.Package("kesl", "kesl-12.1.0-1508.x86_64", "12.1.0-1508", "x86_64", "installed", "ok", "rpm"), True)
    assert info.value.msg.startswith("kesl: dnf remove failed (exit 1): Error in PREUN scriptlet in rpm package kesl")
    assert "kesl: could not stop Kaspersky Endpoint Security tasks" in info.value.msg
    assert "error: %preun(kesl-12.1.0-1508.x86_64) scriptlet failed, exit status 1" in info.value.msg
    assert len(runner.commands("dnf")) == 1   # a failing scriptlet is no lock: not retried


@pytest.mark.parametrize("frontend, said", [
    ("dnf", " RPM: error: can't create transaction lock on /var/lib/rpm/.rpm.lock (Resource temporarily unavailable)\n"
            "Error: Could not run transaction.\n"),
    ("zypper", "System management is locked by the application with pid 4242 (zypper).\n"
               "Close this application before trying again.\n"),
])
def test_rpm_front_end_lock_is_retried_until_it_is_free(tmp_path, frontend, said):
    root = tmp_path / "root"
    write(root, "/var/lib/rpm/rpmdb.sqlite", "x")
    answers = [(7 if frontend == "zypper" else 1, "", said)] * 3 + [(0, "", "")]
    runner = Runner([((frontend, "remove"), lambda argv: answers.pop(0))])
    clock = Clock()
    mgr = pk.Rpm(make_host(root, runner, clock=clock), frontend, "/var/lib/rpm", lock_timeout=60)
    pkg = pk.Package("kesl", "kesl-12.1.0-1508.x86_64", "12.1.0-1508", "x86_64", "installed", "ok", "rpm")
    mgr.remove(pkg, True)
    assert len(runner.commands(frontend)) == 4 and clock.slept == [2, 2, 2]


def test_rpm_front_end_lock_that_stays_fails_after_the_timeout(tmp_path):
    root = tmp_path / "root"
    write(root, "/var/lib/rpm/rpmdb.sqlite", "x")
    said = "System management is locked by the application with pid 4242 (zypper).\n"
    runner = Runner([(("zypper", "remove"), (7, "", said))])
    clock = Clock()
    mgr = pk.Rpm(make_host(root, runner, clock=clock), "zypper", "/var/lib/rpm", lock_timeout=10)
    with pytest.raises(RemovalError) as info:
        mgr.remove(pk.Package("kesl", "kesl-1-1.x86_64", "1-1", "x86_64", "installed", "ok", "rpm"), True)
    assert info.value.msg == ("kesl: not removed, the package database stayed locked for 10 s: zypper: System "
                              "management is locked by the application with pid 4242 (zypper).")
    assert sum(clock.slept) >= 10


def test_rpm_transaction_lock_held_by_another_process_is_waited_for(tmp_path):
    # a real POSIX lock on <root>/var/lib/rpm/.rpm.lock, held by another process (as rpm holds it)
    import subprocess
    import sys
    root = tmp_path / "root"
    write(root, "/var/lib/rpm/rpmdb.sqlite", "x")
    lock = write(root, "/var/lib/rpm/.rpm.lock", "")
    holder = subprocess.Popen([sys.executable, "-c", (
        "import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_RDWR); fcntl.lockf(fd, fcntl.LOCK_EX); "
        "print('held', flush=True); time.sleep(60)"), str(lock)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        runner = Runner()
        clock = Clock()
        mgr = pk.Rpm(make_host(root, runner, clock=clock), "rpm", "/var/lib/rpm", lock_timeout=6)
        pkg = pk.Package("kesl", "kesl-1-1.x86_64", "1-1", "x86_64", "installed", "ok", "rpm")
        with pytest.raises(RemovalError) as info:
            mgr.remove(pkg, True)
        # not live: no /proc/locks lookup, the holder is "another process"
        assert info.value.msg == ("kesl: not removed, the package database stayed locked for 6 s: "
                                  "rpm's transaction lock is held by another process")
        assert [c for c in runner.commands() if "--test" not in c] == []   # rpm -e never ran (it would wait for ever)
        assert pk.rpm_lock_holder(make_host(root), "/var/lib/rpm") == {"pid": None, "command": None}
    finally:
        holder.kill()
        holder.wait()
    assert pk.rpm_lock_holder(make_host(root), "/var/lib/rpm") is None
    mgr.remove(pkg, True)
    assert [c[:2] for c in runner.commands() if "--test" not in c] == [["rpm", "--erase"]]


def test_rpm_lock_holder_is_named_from_proc_locks(tmp_path):
    import subprocess
    import sys
    root = tmp_path / "root"
    write(root, "/var/lib/rpm/rpmdb.sqlite", "x")
    lock = write(root, "/var/lib/rpm/.rpm.lock", "")
    holder = subprocess.Popen([sys.executable, "-c", (
        "import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_RDWR); fcntl.lockf(fd, fcntl.LOCK_EX); "
        "print('held', flush=True); time.sleep(60)"), str(lock)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        host = make_host(root, live=True)
        host.proc = "/proc"
        found = pk.rpm_lock_holder(host, "/var/lib/rpm")
        assert found["pid"] == holder.pid and found["command"].startswith("python")
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.parametrize("files, commands, forced, expected", [
    (["/var/lib/dpkg/status"], ["dpkg"], "auto", ["dpkg"]),
    (["/var/lib/rpm/rpmdb.sqlite"], ["rpm", "dnf", "yum"], "auto", ["dnf"]),
    (["/usr/lib/sysimage/rpm/rpmdb.sqlite"], ["rpm", "zypper"], "auto", ["zypper"]),
    (["/var/lib/rpm/Packages"], ["rpm"], "auto", ["rpm"]),
    (["/var/lib/dpkg/status", "/var/lib/rpm/Packages"], ["dpkg", "rpm", "yum"], "auto", ["dpkg", "yum"]),
    (["/var/lib/dpkg/status"], [], "auto", []),
    ([], ["dpkg", "rpm"], "auto", []),
    (["/var/lib/dpkg/status"], ["dpkg"], "apt", ["dpkg"]),
    (["/var/lib/rpm/Packages"], ["rpm", "dnf"], "yum", ["yum"]),
])
def test_detection(tmp_path, files, commands, forced, expected):
    root = tmp_path / "root"
    root.mkdir()
    for f in files:
        write(root, f, "")
    host = make_host(root, which=lambda n: "/usr/bin/" + n if n in commands else None)
    assert [m.name for m in pk.detect(host, forced)] == expected


@pytest.mark.parametrize("name", ["-rf", "kesl;rm", "kesl gui", "", "a" * 300, None, "../kesl"])
def test_package_names_are_checked(name):
    with pytest.raises(RemovalError):
        pk.check_name(name)


@pytest.mark.parametrize("manager, output", [
    ("dpkg-query", dpkg_row("-oops", "kesl", "1", "amd64", "install ok installed") + "\n"),
    ("dpkg-query", dpkg_row("kesl x", "kesl", "1", "amd64", "install ok installed") + "\n"),
    ("rpm", "kesl\t(none)\t1 --force\t1\tx86_64\n"),
])
def test_names_a_package_manager_prints_are_checked_before_they_go_back_on_its_command_line(root, manager, output):
    runner = Runner([((manager,), (0, output, "")), (("--query",), (0, output, ""))])
    host = make_host(root, runner)
    mgr = pk.Dpkg(host) if manager == "dpkg-query" else pk.Rpm(host, "rpm", "/var/lib/rpm")
    with pytest.raises(RemovalError, match="printed an invalid package name"):
        mgr.query(["kesl"])
