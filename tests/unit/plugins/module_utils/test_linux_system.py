# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Services, processes and accounts of a product being removed, with fake systemctl and /proc."""

import signal
import sys
import pathlib

import pytest

from ansible_collections.fleetsec.divest.plugins.module_utils._linux.removal import system
from ansible_collections.fleetsec.divest.plugins.module_utils._linux.host import Record, RemovalError

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from removal_fakes import FakeProc, Runner, make_host, write  # noqa: E402


def show(load="loaded", active="active", enabled="enabled"):
    return 0, "LoadState=%s\nActiveState=%s\nUnitFileState=%s\n" % (load, active, enabled), ""


@pytest.fixture
def root(tmp_path):
    r = tmp_path / "root"
    write(r, "/lib/systemd/system/kesl.service", "[Service]\n")
    write(r, "/lib/systemd/system/KSCWebConsole.service", "[Service]\n")
    write(r, "/etc/init.d/kesl-supervisor", "#!/bin/sh\n", 0o755)
    write(r, "/etc/rc2.d/S01kesl-supervisor", "")
    return r


@pytest.mark.parametrize("state, expected", [
    (show(), [["systemctl", "stop", "--", "kesl.service"], ["systemctl", "disable", "--", "kesl.service"]]),
    (show(active="inactive"), [["systemctl", "disable", "--", "kesl.service"]]),
    (show(active="inactive", enabled="disabled"), []),
    (show(active="failed", enabled="masked"), []),
    (show(load="not-found", active="inactive", enabled=""), []),
])
def test_systemd_services_are_stopped_and_disabled_only_when_needed(root, state, expected):
    runner = Runner([(("show",), state)])
    host = make_host(root, runner, systemd=True, live=True)
    record = Record()
    system.stop_services(host, record, ["kesl"])
    assert [c for c in runner.commands("systemctl") if c[1] != "show"] == expected
    assert record.changed == bool(expected)


def test_patterns_and_sysv_scripts_under_systemd(root):
    runner = Runner([(("show", "kesl-supervisor.service"), show(active="active", enabled="generated")),
                     (("show",), show())])
    host = make_host(root, runner, systemd=True, live=True)
    record = Record()
    system.stop_services(host, record, ["re:KSC[A-Za-z]*Web[A-Za-z]*", "kesl-supervisor", "nosuch-unit-file"])
    acted = [c[1:] for c in runner.commands("systemctl") if c[1] != "show"]
    assert ["stop", "--", "KSCWebConsole.service"] in acted and ["stop", "--", "kesl-supervisor.service"] in acted
    assert ["disable", "--", "kesl-supervisor.service"] in acted      # its S link in /etc/rc2.d


def test_without_systemd_a_sysv_script_is_stopped_with_service(root):
    runner = Runner([(("service",), (1, "", "not running"))])
    host = make_host(root, runner, systemd=False, live=True)
    system.stop_services(host, Record(), ["kesl-supervisor", "kesl"])
    assert runner.commands() == [["service", "kesl-supervisor", "stop"]]


def test_offline_root_skips_services(root):
    runner = Runner()
    record = Record()
    system.stop_services(make_host(root, runner), record, ["kesl"])
    assert runner.calls == [] and record.steps[0]["action"] == "skip" and not record.changed


def test_check_mode_predicts_without_running(root):
    runner = Runner([(("show",), show())])
    record = Record()
    system.stop_services(make_host(root, runner, check_mode=True, systemd=True, live=True), record, ["kesl"])
    assert [(s["action"], s["target"]) for s in record.steps] == [("stop", "kesl"), ("disable", "kesl")]
    assert all(c[1] == "show" for c in runner.commands("systemctl"))


def test_a_failing_stop_is_an_error_naming_the_unit(root):
    runner = Runner([(("stop",), (1, "", "Job for kesl.service canceled.\n")), (("show",), show())])
    with pytest.raises(RemovalError, match="stop kesl failed .exit 1.: Job for kesl.service canceled."):
        system.stop_services(make_host(root, runner, systemd=True, live=True), Record(), ["kesl"])


def test_processes_term_then_kill_and_the_collectors_naming(tmp_path):
    proc = FakeProc(tmp_path / "proc")
    proc.add(101, "/opt/kaspersky/klnagent64/sbin/klnagent (deleted)")     # left running by a purge
    proc.add(102, "/opt/kaspersky/kesl/libexec/kesl")
    proc.add(103, "/usr/bin/bash")
    proc.add(104, "/opt/kaspersky/kav4fs/sbin/kav4fs-supervisor", comm="kav4fs-supervis")
    proc.stubborn.add(102)
    host = make_host(tmp_path, proc=str(proc.base), kill=proc.kill, live=True)
    record = Record()
    left = system.kill_processes(host, record, ["klnagent", "kesl", "kav4fs-supervisor"], timeout=3)
    assert left == []
    assert proc.signals == [(101, signal.SIGTERM), (102, signal.SIGTERM), (104, signal.SIGTERM),
                            (102, signal.SIGKILL)]
    assert {(s["target"], s["signal"]) for s in record.steps} == {("klnagent", "TERM"), ("kesl", "KILL"),
                                                                  ("kav4fs-supervisor", "TERM")}


def test_processes_check_mode_and_offline(tmp_path):
    proc = FakeProc(tmp_path / "proc")
    proc.add(201, "/opt/kaspersky/kesl/libexec/kesl")
    record = Record()
    system.kill_processes(make_host(tmp_path, proc=str(proc.base), kill=proc.kill, live=True, check_mode=True),
                          record, ["kesl"])
    assert proc.signals == [] and record.steps[0]["pid"] == 201
    assert system.kill_processes(make_host(tmp_path, proc=str(proc.base), kill=proc.kill), Record(), ["kesl"]) == []
    assert proc.signals == []


def test_accounts_are_removed_when_they_exist(tmp_path):
    root = tmp_path / "root"
    write(root, "/etc/passwd", "root:x:0:0::/root:/bin/sh\nkluser:x:998:998::/var/opt/kaspersky/klms:/bin/false\n")
    write(root, "/etc/group", "root:x:0:\nklusers:x:998:\n")
    runner = Runner()
    record = Record()
    system.remove_accounts(make_host(root, runner), record, {"users": ["kluser", "ghost"], "groups": ["klusers"]})
    assert runner.commands() == [["userdel", "--root", str(root), "--", "kluser"],
                                 ["groupdel", "--root", str(root), "--", "klusers"]]


@pytest.mark.parametrize("accounts, fragment", [
    ({"users": ["root"]}, "not a valid account name"),
    ({"users": ["toor"]}, "its id is 0"),
    ({"groups": ["-r"]}, "not a valid account name"),
])
def test_accounts_guards(tmp_path, accounts, fragment):
    root = tmp_path / "root"
    write(root, "/etc/passwd", "toor:x:0:0::/root:/bin/sh\n")
    write(root, "/etc/group", "")
    with pytest.raises(RemovalError, match=fragment):
        system.remove_accounts(make_host(root, Runner()), Record(), accounts)


def test_a_service_name_starting_with_a_dash_never_reaches_systemctl_as_an_option(root):
    # Fails on the code before "--": systemctl read "-H evil.service" style names as options.
    write(root, "/etc/systemd/system/-Hevil.service", "[Service]\n")
    runner = Runner([(("show",), show())])
    system.stop_services(make_host(root, runner, systemd=True, live=True), Record(), ["re:-H.*", "-kesl"])
    calls = runner.commands("systemctl")
    assert calls and all(c[c.index("--") + 1].startswith("-") and c.index("--") == len(c) - 2 for c in calls)
    assert {c[1] for c in calls} == {"show", "stop", "disable"}


def test_without_systemd_a_dash_name_is_not_given_to_service(root):
    write(root, "/etc/init.d/-evil", "#!/bin/sh\n", 0o755)
    runner = Runner()
    record = Record()
    system.stop_services(make_host(root, runner, systemd=False, live=True), record, ["re:-evil", "kesl-supervisor"])
    assert runner.commands() == [["service", "kesl-supervisor", "stop"]]
    assert record.warnings == ["service '-evil' not stopped: the service command would read a name starting with - "
                               "as an option"]
