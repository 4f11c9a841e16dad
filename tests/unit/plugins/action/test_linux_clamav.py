# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""linux_clamav: the clamav role's configuration, services and health check in one task - the
modules and actions it runs, in order, against a scripted host; the restarts the changes call
for; the first download; check mode; how it fails (with the health the role's rescue records)."""

from __future__ import annotations

import copy
from unittest.mock import MagicMock

import pytest

from ansible_collections.fleetsec.divest.plugins.action import linux_clamav as action_clamav

START = {"product": "clamav", "healthy": False, "checked": False, "reason": "not checked yet", "version": None,
         "signatures": "offline", "database": []}
HEALTHY = {"healthy": True, "checked": True, "reason": "clamd answers and detects the EICAR test string",
           "version": "1.0.7", "database": ["divest-test.hdb"]}
BLIND = {"healthy": False, "checked": True, "reason": "EICAR not detected: clamdscan returned 0 (stream: OK)",
         "version": "1.0.7", "database": ["divest-blind.ndb"]}
PROBE = {"service": "clamav-daemon", "database_dir": "/var/lib/clamav", "clamdscan": ["clamdscan"]}


def arguments(**changes):
    args = {"health": dict(START), "signatures": "offline", "source": "database.clamav.net",
            "freshclam_conf": {"dest": "/etc/clamav/freshclam.conf", "owner": "clamav", "group": "adm", "mode": "0444"},
            "freshclam_service": "clamav-freshclam", "bundle": ["/srv/bundle/divest-test.hdb"],
            "database_dir": "/var/lib/clamav", "database_owner": "clamav", "database_group": "clamav",
            "database_count": 1, "database": ["divest-test.hdb"], "official": False,
            "dropin": "fleetsec-divest-signatures.conf", "dropin_units": ["clamav-daemon.service", "clamav-daemon.socket"],
            "clamd_service": "clamav-daemon", "signature_reload": "reloaded", "probe": dict(PROBE)}
    args.update(changes)
    return args


class FakeHost(object):
    """Answers every module and action the task runs, by a short name: ``template``, ``copy``,
    ``file``, ``command``, ``systemd_service`` (one per call, keyed ``systemd:<what>``) and
    ``probe:<probes>``. An answer is a dict or a list of dicts (one per call, the last repeated);
    unscripted parts answer unchanged, the health probe healthy."""

    def __init__(self, **script):
        self.script = script
        self.calls = []

    def key(self, name, args):
        short = name.rsplit(".", 1)[-1]
        if short == "systemd_service":
            return "systemd:" + ("daemon-reload" if args.get("daemon_reload") else "%s=%s" % (args["name"], args.get("state")))
        if short == "linux_clamav_health":
            return "probe:" + ",".join(args["probes"])
        return short

    def answer(self, name, args):
        key = self.key(name, args)
        self.calls.append((key, copy.deepcopy(args)))
        default = {"changed": False, "health": dict(HEALTHY)} if key == "probe:database,health" else {"changed": False}
        answers = self.script.get(key.replace(":", "_").replace("-", "_").replace("=", "_").replace(",", "_").replace(".", "_"), default)
        if isinstance(answers, list):
            answer = answers.pop(0) if len(answers) > 1 else answers[0]
        else:
            answer = answers
        return copy.deepcopy(answer)

    def module(self, module_name=None, module_args=None, task_vars=None, **kwargs):
        return self.answer(module_name, module_args)

    def action(self, name, module_args, words):
        return self.answer(name, module_args)

    def keys(self):
        return [call[0] for call in self.calls]


def run(make_action, host, check_mode=False, **args):
    action = make_action(action_clamav, arguments(**args), check_mode=check_mode)
    action._execute_module = host.module
    checked = action._checked

    def sub_action(name, module_args, words):
        answer = host.action(name, module_args, words)
        return checked(answer, words)
    action._action = sub_action
    return action.run(task_vars={})


def test_an_installed_healthy_clamav_is_checked_and_nothing_changes(make_action):
    host = FakeHost()
    result = run(make_action, host)
    assert host.keys() == ["template", "copy", "copy", "copy", "systemd:clamav-freshclam=stopped",
                           "systemd:clamav-daemon=started", "probe:database,health"]
    assert not result.get("failed") and result["changed"] is False and result["changes"] == []
    assert result["health"] == dict(START, **HEALTHY)          # the record so far, judged
    # the bundle file goes into the database directory, owned by clamav; the drop-in next to each unit
    assert host.calls[1][1] == {"src": "/srv/bundle/divest-test.hdb", "dest": "/var/lib/clamav/divest-test.hdb",
                                "mode": "0644", "owner": "clamav", "group": "clamav"}
    dropins = ["/etc/systemd/system/clamav-daemon.service.d/", "/etc/systemd/system/clamav-daemon.socket.d/"]
    assert [c[1]["dest"] for c in host.calls[2:4]] == dropins
    assert host.calls[4][1] == {"name": "clamav-freshclam", "state": "stopped", "enabled": False}
    assert host.calls[5][1] == {"name": "clamav-daemon", "state": "started", "enabled": True}
    assert host.calls[6][1]["pending"] == [] and host.calls[6][1]["service"] == "clamav-daemon"


def test_changes_call_for_the_handlers_work_in_their_order(make_action):
    host = FakeHost(template={"changed": True}, copy={"changed": True})
    result = run(make_action, host, signatures="private_mirror")
    keys = host.keys()
    # freshclam runs with a mirror; units reloaded (drop-in), signatures reloaded (bundle), freshclam restarted (conf)
    assert keys[4:] == ["systemd:clamav-freshclam=started", "systemd:daemon-reload", "systemd:clamav-daemon=reloaded",
                        "systemd:clamav-freshclam=restarted", "systemd:clamav-daemon=started", "probe:database,health"]
    assert result["changes"] == ["freshclam configuration", "signature files", "unit drop-in"] and result["changed"] is True


def test_offline_never_restarts_freshclam_and_a_changed_clamd_configuration_restarts_clamd(make_action):
    host = FakeHost(template={"changed": True}, copy={"changed": True})
    run(make_action, host, clamd_changed=True, signature_reload="restarted")
    keys = host.keys()
    assert "systemd:clamav-freshclam=restarted" not in keys
    # a restart loads the new signatures too: no reload after it
    assert keys[5:8] == ["systemd:daemon-reload", "systemd:clamav-daemon=restarted", "systemd:clamav-daemon=started"]
    assert action_clamav.restarts(["signature files"], "offline", False) == ["reload signatures"]


def test_the_drop_in_goes_once_the_official_databases_are_there(make_action):
    host = FakeHost(file={"changed": True})
    run(make_action, host, official=True)
    drops = [c for c in host.calls if c[0] == "file"]
    assert [c[1] for c in drops] == [
        {"path": "/etc/systemd/system/clamav-daemon.service.d/fleetsec-divest-signatures.conf", "state": "absent"},
        {"path": "/etc/systemd/system/clamav-daemon.socket.d/fleetsec-divest-signatures.conf", "state": "absent"}]
    assert "systemd:daemon-reload" in host.keys()


def test_a_host_without_any_signature_file_downloads_them_once_with_freshclam_paused(make_action):
    listed = {"changed": False, "database_count": 2, "official": True, "database": ["daily.cvd", "main.cvd"]}
    host = FakeHost(command={"changed": True, "rc": 0, "stdout": "daily.cvd updated"}, probe_database=listed)
    result = run(make_action, host, signatures="official", bundle=[], database_count=0, database=[])
    keys = host.keys()
    assert keys[:6] == ["template", "systemd:clamav-freshclam=stopped", "command", "systemd:clamav-freshclam=started",
                        "probe:database", "file"]
    argv = host.calls[2][1]["argv"]
    assert argv[:3] == ["timeout", "--kill-after=10", "600"] and argv[3:] == [
        "freshclam", "--config-file=/etc/clamav/freshclam.conf", "--stdout"]
    assert "first download" in result["changes"] and not result.get("failed")
    assert result["health"]["healthy"] is True


def test_a_failed_first_download_fails_with_freshclams_own_words_and_restarts_its_daemon(make_action):
    out = ("Fri Dec  4 10:00:00 2026 -> ClamAV update process started\n"
           "Fri Dec  4 10:00:01 2026 -> WARNING: DNS Update Info disabled. Falling back to HTTP mode.\n"
           "Fri Dec  4 10:00:02 2026 -> ERROR: Can't download daily.cvd from http://127.0.0.1:8080/daily.cvd\n"
           "Fri Dec  4 10:00:03 2026 -> ERROR: Can't download daily.cvd from http://127.0.0.1:8080/daily.cvd\n")
    host = FakeHost(command={"changed": False, "rc": 1, "stdout": out}, probe_database={"database_count": 0, "official": False})
    result = run(make_action, host, signatures="private_mirror", source="http://127.0.0.1:8080", bundle=[], database_count=0)
    assert result["failed"] is True
    assert result["msg"] == ("no database: /var/lib/clamav holds no signature files, and freshclam could not download them"
                             " from http://127.0.0.1:8080 (rc 1: ERROR: Can't download daily.cvd from http://127.0.0.1:8080/daily.cvd)")
    assert (result["health"]["healthy"], result["health"]["checked"], result["health"]["reason"]) == (False, True, result["msg"])
    assert host.keys()[-1] == "probe:database"          # nothing started after it
    assert "systemd:clamav-freshclam=started" in host.keys()


def test_freshclams_daemon_is_started_again_when_the_download_could_not_run(make_action):
    host = FakeHost(command={"unreachable": True, "msg": "connection reset"})
    result = run(make_action, host, signatures="official", bundle=[], database_count=0)
    assert result["failed"] and result["msg"].startswith("Download the signatures with freshclam: lost contact")
    assert host.keys()[-1] == "systemd:clamav-freshclam=started"


def test_offline_without_any_signature_file_stops_without_a_download(make_action):
    host = FakeHost(probe_database={"database_count": 0})
    result = run(make_action, host, bundle=[], database_count=0)
    assert result["failed"] and result["msg"] == "no database: /var/lib/clamav holds no signature files"
    assert "command" not in host.keys()


def test_check_mode_without_signatures_says_it_cannot_know_and_checks_nothing(make_action):
    host = FakeHost()
    result = run(make_action, host, check_mode=True, signatures="official", bundle=[], database_count=0)
    assert not result.get("failed")
    assert result["health"]["reason"] == ("check mode: no signature file yet, would run freshclam once to download them"
                                          " from database.clamav.net; health not checked")
    assert (result["health"]["healthy"], result["health"]["checked"]) == (False, False)
    assert not any(k.startswith("probe") or k == "command" for k in host.keys())


def test_check_mode_does_not_fail_on_a_probe_the_pending_changes_may_fix(make_action):
    host = FakeHost(copy={"changed": True}, probe_database_health={"health": dict(BLIND)},
                    systemd_clamav_daemon_started={"changed": True})
    result = run(make_action, host, check_mode=True)
    assert not result.get("failed") and result["health"]["healthy"] is False
    assert host.calls[-1][1]["pending"] == ["signature files", "unit drop-in", "clamd service"]
    # nothing pending: the same probe fails the task
    host = FakeHost(probe_database_health={"health": dict(BLIND)})
    assert run(make_action, host, check_mode=True)["failed"] is True


def test_an_unprotected_host_fails_with_its_health(make_action):
    host = FakeHost(probe_database_health={"health": dict(BLIND)})
    result = run(make_action, host)
    assert result["failed"] is True and result["msg"] == BLIND["reason"]
    assert result["health"] == dict(START, **BLIND)


def test_a_failing_part_stops_the_work_and_names_itself(make_action):
    host = FakeHost(systemd_clamav_daemon_started={"failed": True, "msg": "Unable to start service clamav-daemon"})
    result = run(make_action, host)
    assert result["failed"] and result["msg"] == "Enable and start clamd: Unable to start service clamav-daemon"
    assert (result["health"]["healthy"], result["health"]["checked"]) == (False, True)
    assert result["health"]["reason"] == result["msg"]
    assert not any(k.startswith("probe") for k in host.keys())


def test_health_check_switched_off_says_so_with_the_database_listed(make_action):
    host = FakeHost()
    result = run(make_action, host, health_check=False)
    assert not result.get("failed")
    assert result["health"]["reason"] == action_clamav.HEALTH_OFF and result["health"]["healthy"] is False
    assert result["health"]["database"] == ["divest-test.hdb"]
    assert not any(k.startswith("probe") for k in host.keys())


def test_warnings_and_diffs_of_the_parts_are_returned(make_action):
    host = FakeHost(template={"changed": True, "diff": [{"before": "a", "after": "b"}], "warnings": ["mode changed"]})
    action = make_action(action_clamav, arguments(), diff=True)
    action._execute_module = host.module
    fake = MagicMock()
    fake.run.side_effect = lambda task_vars=None: host.answer("ansible.builtin.template", {})
    loader = MagicMock()
    loader.action_loader.get.side_effect = lambda name, **kw: fake if name.endswith("template") else MagicMock(
        run=MagicMock(return_value={"changed": False}))
    action._shared_loader_obj = loader
    result = action.run(task_vars={})
    assert result["diff"] == [{"before": "a", "after": "b"}] and result["warnings"] == ["mode changed"]
    # the template action ran on a copy of the task with the part's arguments
    task = loader.action_loader.get.call_args_list[0][1]["task"]
    assert task is action._task.copy.return_value
    assert loader.action_loader.get.call_args_list[0][0][0] == "ansible.builtin.template"


@pytest.mark.parametrize("stdout, expected", [
    ("", ""),
    ("Fri Dec  4 10:00:00 2026 -> WARNING: DNS Update Info disabled.\nERROR: a\nERROR: a\nWARNING: b\nERROR: c\nERROR: d\nERROR: e\n",
     "ERROR: a / WARNING: b / ERROR: c / ERROR: d"),
])
def test_freshclam_complaints(stdout, expected):
    assert action_clamav.freshclam_complaints(stdout) == expected


def test_a_template_that_does_not_render_fails_as_that_part(make_action):
    from ansible.errors import AnsibleConnectionFailure, AnsibleUndefinedVariable
    host = FakeHost()
    action = make_action(action_clamav, arguments())
    action._execute_module = host.module
    broken = MagicMock()
    broken.run.side_effect = AnsibleUndefinedVariable("'__divest_clamav_os' is undefined")
    loader = MagicMock()
    loader.action_loader.get.return_value = broken
    action._shared_loader_obj = loader
    result = action.run(task_vars={})
    assert result["failed"] and result["msg"].startswith("Point freshclam at the signature source: ")
    assert "__divest_clamav_os" in result["msg"] and result["health"]["reason"] == result["msg"]
    assert host.calls == []                                   # nothing after it ran
    # a host that cannot be reached is ansible-core's to record (unreachable), not a failed part
    broken.run.side_effect = AnsibleConnectionFailure("ssh: connect to host kesl12 port 22: Connection refused")
    with pytest.raises(AnsibleConnectionFailure):
        make = make_action(action_clamav, arguments())
        make._shared_loader_obj = loader
        make._execute_module = host.module
        make.run(task_vars={})
