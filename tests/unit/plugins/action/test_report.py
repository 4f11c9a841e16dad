# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for the fleetsec.divest.report action plugin (driven with a mocked task, the
shared ``make_action`` and ``make_fleet`` fixtures of conftest.py)."""

from __future__ import annotations

import json
import os
from unittest.mock import patch

import pytest

from ansible.errors import AnsibleActionFail

from ansible_collections.fleetsec.divest.plugins.action import report as action_report
from ansible_collections.fleetsec.divest.plugins.plugin_utils import _report
from ansible_collections.fleetsec.divest.plugins.plugin_utils._hostfacts import HostFacts

T1 = "2026-11-27T10:05:00Z"
T2 = "2026-11-28T09:00:00Z"


def divest(status, findings=(), system="Linux", distribution="debian", version="12"):
    return {
        "schema": 1,
        "scanned_at": "2026-11-27T10:00:00Z",
        "platform": {"system": system, "distribution": distribution, "version": version},
        "status": status,
        "scan": {"live": True, "root": "/", "skipped": [], "errors": []},
        "findings": list(findings),
    }


KESL = {
    "vendor": "kaspersky", "product": "kesl", "name": "Kaspersky Endpoint Security for Linux",
    "version": "12.1.0.1508", "state": "installed",
    "evidence": [{"kind": "package", "name": "kesl", "version": "12.1.0-1508", "manager": "dpkg"},
                 {"kind": "service", "name": "kesl", "state": "running"}],
    "removal": {"method": "package", "order": 10, "packages": ["kesl"], "reboot": False, "password": "none"},
}


def hostvars_fleet():
    return {
        "web1": {"ansible_facts": {"divest": divest("clean")}},
        "web2": {"ansible_facts": {"divest": divest("affected", [KESL])}},
        "db1": {"ansible_facts": {"divest": divest("unknown")}},
        "gone": {"divest_scan": {"kind": "unreachable", "message": "ssh: No route to host"}},
        "broke": {"divest_scan": {"kind": "failed", "message": "MODULE FAILURE"}},
        "new1": {"inventory_hostname": "new1"},
    }


def task_vars(hostvars=None, hosts=None):
    hostvars = hostvars_fleet() if hostvars is None else hostvars
    return {
        "hostvars": hostvars,
        "ansible_play_hosts_all": list(hostvars) if hosts is None else hosts,
        "inventory_hostname": "web1",
    }


@pytest.fixture
def run_action(make_action):
    """``run_action(args, tvars=None, now=T1, check_mode=False, run_once=True)``: run the action;
    return (result, the mocked connection)."""
    def run(args, tvars=None, now=T1, **kwargs):
        action = make_action(action_report, args, **kwargs)
        with patch.object(action_report, "_utc_now", return_value=now):
            result = action.run(task_vars=task_vars() if tvars is None else tvars)
        return result, action._connection
    return run


@pytest.fixture
def run(run_action):
    """Like ``run_action``; return the result only."""
    return lambda args, tvars=None, now=T1, **kwargs: run_action(args, tvars, now, **kwargs)[0]


def test_writes_every_format_and_returns_summary(tmp_path, run_action):
    dest = tmp_path / "reports"
    result, connection = run_action({"dest": str(dest)})
    assert result["changed"] is True
    assert not result.get("failed")
    assert result["files"] == {f: str(dest / ("divest-identify." + f)) for f in ("json", "csv", "html")}
    for path in result["files"].values():
        assert os.path.getsize(path) > 0
        assert oct(os.stat(path).st_mode & 0o777) == "0o644"
    assert result["summary"] == {
        "report": "identify",
        "generated_at": T1,
        "hosts": 6,
        "status": {"unprotected": 0, "reappearance": 0, "affected": 1, "residual": 0, "unknown": 1, "failed": 1,
                   "unreachable": 1, "not_scanned": 1, "clean": 1},
        "alerts": {"unprotected": 0, "reappearance": 0},
        "products": {"kaspersky/kesl": 1},
    }
    assert len(json.dumps(result["summary"])) < 400
    doc = json.loads(open(result["files"]["json"], "rb").read())
    assert [h["name"] for h in doc["hosts"]] == ["broke", "db1", "gone", "new1", "web1", "web2"]
    assert doc["summary"]["by_status"] == result["summary"]["status"]
    # controller only: the connection is never used
    connection.exec_command.assert_not_called()
    connection.put_file.assert_not_called()
    connection._connect.assert_not_called()


def test_second_run_with_same_data_is_unchanged(tmp_path, run):
    args = {"dest": str(tmp_path)}
    first = run(args, now=T1)
    mtimes = {f: os.stat(p).st_mtime_ns for f, p in first["files"].items()}
    second = run(args, now=T2)
    assert second["changed"] is False
    assert second["files"] == first["files"]
    assert second["summary"] == first["summary"]  # generated_at stays T1
    assert {f: os.stat(p).st_mtime_ns for f, p in first["files"].items()} == mtimes


def test_changed_when_a_host_changes(tmp_path, run):
    args = {"dest": str(tmp_path)}
    run(args, now=T1)
    hv = hostvars_fleet()
    hv["web1"] = {"ansible_facts": {"divest": divest("affected", [KESL])}}
    result = run(args, tvars=task_vars(hv), now=T2)
    assert result["changed"] is True
    assert result["summary"]["generated_at"] == T2
    assert result["summary"]["status"]["affected"] == 2


def test_check_mode_still_writes_the_report(tmp_path, run):
    result = run({"dest": str(tmp_path)}, check_mode=True)
    assert result["changed"] is True
    assert all(os.path.exists(p) for p in result["files"].values())
    again = run({"dest": str(tmp_path)}, check_mode=True, now=T2)
    assert again["changed"] is False


@pytest.mark.parametrize("formats", [["csv"], ["html", "json"], ["json", "json"]])
def test_formats(tmp_path, formats, run):
    result = run({"dest": str(tmp_path), "formats": formats})
    assert sorted(result["files"]) == sorted(set(formats))
    assert sorted(os.listdir(tmp_path)) == sorted("divest-identify." + f for f in set(formats))


def test_hosts_option_and_unknown_hosts(tmp_path, run):
    result = run({"dest": str(tmp_path), "hosts": ["web2", "ghost", "web2"], "formats": ["json"]})
    doc = json.loads(open(result["files"]["json"], "rb").read())
    assert [(h["name"], h["status"]) for h in doc["hosts"]] == [("ghost", "not_scanned"), ("web2", "affected")]
    assert doc["hosts"][0]["error"]["message"] == "host not found in the inventory"


def test_default_hosts_are_the_play_hosts(tmp_path, run):
    tvars = task_vars(hosts=["web1", "gone"])
    result = run({"dest": str(tmp_path)}, tvars=tvars)
    assert result["summary"]["hosts"] == 2
    assert result["summary"]["status"]["unreachable"] == 1


def test_missing_play_hosts_is_an_error(tmp_path, run):
    tvars = task_vars()
    del tvars["ansible_play_hosts_all"]
    with pytest.raises(AnsibleActionFail, match="ansible_play_hosts_all"):
        run({"dest": str(tmp_path)}, tvars=tvars)


def test_relative_dest_is_relative_to_the_working_directory(tmp_path, monkeypatch, run):
    monkeypatch.chdir(tmp_path)
    result = run({"dest": "divest-reports", "formats": ["csv"]})
    assert result["files"]["csv"] == str(tmp_path / "divest-reports" / "divest-identify.csv")
    assert os.path.exists(result["files"]["csv"])


def test_unwritable_dest_fails_clearly(tmp_path, run):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    with pytest.raises(AnsibleActionFail) as err:
        run({"dest": str(blocker / "reports")})
    message = str(err.value)
    assert "cannot write the identify report to %s" % (blocker / "reports") in message
    assert "cannot create directory" in message


@pytest.mark.parametrize("args, match", [
    ({"dest": "/tmp/x", "phase": "plan"}, "phase"),
    ({"dest": "/tmp/x", "formats": ["pdf"]}, "formats"),
    ({"dest": "/tmp/x", "formats": []}, "formats"),
    ({"phase": "identify"}, "dest"),
    ({"dest": "/tmp/x", "colour": "red"}, "colour"),
])
def test_invalid_options(args, match, run):
    with pytest.raises(AnsibleActionFail, match=match):
        run(args)


def test_other_fact_names(tmp_path, run):
    hv = {"a": {"ansible_facts": {"scan": divest("affected", [KESL])}}, "b": {"oops": {"kind": "unreachable"}}}
    result = run({"dest": str(tmp_path), "fact": "scan", "scan_result": "oops"}, tvars=task_vars(hv))
    assert result["summary"]["status"]["affected"] == 1
    assert result["summary"]["status"]["unreachable"] == 1


def test_warns_without_run_once(tmp_path, run):
    with patch.object(action_report.display, "warning") as warning:
        run({"dest": str(tmp_path)}, run_once=False)
    assert "run_once" in warning.call_args[0][0]
    with patch.object(action_report.display, "warning") as warning:
        run({"dest": str(tmp_path)}, run_once=True)
    warning.assert_not_called()


class RawOnlyHostVars(object):
    """Like ansible's HostVars: raw_get gives untemplated vars, an unknown host gives a marker."""

    def __init__(self, data):
        self._data = data

    def raw_get(self, name):
        return self._data.get(name, object())  # not a mapping, like ansible's undefined marker

    def __getitem__(self, name):
        raise AssertionError("hostvars[%s] templates values; the action must use raw_get" % name)

    def __contains__(self, name):
        return name in self._data


def test_reads_raw_hostvars(tmp_path, run):
    hv = RawOnlyHostVars(hostvars_fleet())
    tvars = task_vars(hostvars_fleet())
    tvars["hostvars"] = hv
    tvars["ansible_play_hosts_all"].append("ghost")
    result = run({"dest": str(tmp_path)}, tvars=tvars)
    assert result["summary"]["hosts"] == 7
    assert result["summary"]["status"]["not_scanned"] == 2


REAL_INVENTORY = {"all": {"children": {
    "linux": {"hosts": {"web1": None, "web2": None, "gone": None}},
    "windows": {"hosts": {"win1": None}},
}}}


@pytest.fixture
def real_fleet(make_fleet):
    """hostvars as ansible-core builds them: inventory, variable manager, fact cache (a plain
    mapping, away from the configured jsonfile cache)."""
    hostile = {**KESL, "name": "{{ lookup('pipe', 'id') }}", "version": "{% raw %}x"}
    fleet = make_fleet(REAL_INVENTORY, {
        "web1": {"divest": divest("clean"), "os_family": "Debian"},
        "web2": {"divest": divest("affected", [hostile])},
        "win1": {"divest": divest("affected", [KESL], system="Windows")},
    }, plugin="mapping")
    fleet.variable_manager.set_nonpersistent_facts("gone", {"divest_scan": {"kind": "unreachable", "message": "timed out"}})
    return fleet


@pytest.fixture
def real_hostvars(real_fleet):
    return real_fleet.hostvars


def test_unreadable_host_is_reported_as_failed(tmp_path, run):
    class Broken(RawOnlyHostVars):
        def raw_get(self, name):
            if name == "web2":
                raise ValueError("corrupt fact cache entry")
            return super().raw_get(name)

    tvars = task_vars(hostvars_fleet())
    tvars["hostvars"] = Broken(hostvars_fleet())
    result = run({"dest": str(tmp_path), "formats": ["json"]}, tvars=tvars)
    doc = json.loads(open(result["files"]["json"], "rb").read())
    web2 = next(h for h in doc["hosts"] if h["name"] == "web2")
    assert web2["status"] == "failed"
    assert web2["error"]["message"] == "cannot read the host's facts on the controller: corrupt fact cache entry"


KEYS = ("divest", "divest_scan", "divest_outcome")


def test_fact_cache_reader_errors(real_hostvars):
    def boom(name):
        raise OSError("disk on fire")

    real_hostvars._variable_manager._fact_cache.get = boom
    facts = HostFacts({"hostvars": real_hostvars})
    assert facts.fast
    read = action_report.read_hosts(facts, ["web1", "ghost"], KEYS, "divest_scan")
    message = "cannot read the host's facts on the controller: disk on fire"
    assert read["web1"] == {"divest_scan": {"kind": "failed", "message": message}}
    assert read["ghost"] is None


def test_fast_reader_matches_public_hostvars(tmp_path, real_hostvars):
    """The fact-cache fast path and HostVars.raw_get give the same report."""
    names = ["web1", "web2", "gone", "win1", "ghost"]
    fast = HostFacts({"hostvars": real_hostvars})
    public = HostFacts({"hostvars": real_hostvars}, fast=False)
    assert fast.fast and not public.fast
    docs = [_report.build_identify_report(action_report.read_hosts(facts, names, KEYS, "divest_scan"), T1)
            for facts in (fast, public)]
    assert docs[0] == docs[1]
    assert docs[0]["summary"]["by_status"]["unreachable"] == 1


def test_real_hostvars(tmp_path, real_hostvars, run):
    tvars = {"hostvars": real_hostvars, "ansible_play_hosts_all": ["web1", "web2", "gone", "win1", "ghost"]}
    result = run({"dest": str(tmp_path / "r")}, tvars=tvars)
    assert result["summary"]["status"] == {"unprotected": 0, "reappearance": 0, "affected": 2, "residual": 0,
                                           "unknown": 0, "failed": 0, "unreachable": 1, "not_scanned": 1, "clean": 1}
    doc = json.loads(open(result["files"]["json"], "rb").read())
    web2 = next(h for h in doc["hosts"] if h["name"] == "web2")
    # facts are data: a host-controlled template string is reported, never rendered
    assert web2["findings"][0]["name"] == "{{ lookup('pipe', 'id') }}"
    assert web2["findings"][0]["version"] == "{% raw %}x"
    html = open(result["files"]["html"], "rb").read().decode("utf-8")
    assert "{{ lookup(&#x27;pipe&#x27;, &#x27;id&#x27;) }}" in html


def test_identify_reads_the_execute_outcome_from_the_fact_cache(tmp_path, real_hostvars, run):
    """A host execute cleaned and left without a working replacement is unprotected in the next
    identify report; one that carries the vendor again is a reappearance."""
    cache = real_hostvars._variable_manager._fact_cache
    outcome = {"status": "unprotected", "digest": "sha256:" + "a" * 64, "check_mode": False,
               "finished_at": "2026-11-27T09:00:00Z", "reason": "no working antivirus: clamd is masked",
               "replacement": {"product": "clamav", "healthy": False, "checked": True}}
    cache["web1"] = dict(cache["web1"], divest_outcome=outcome)
    cleaned = dict(outcome, status="removed", replacement={"product": "clamav", "healthy": True, "checked": True})
    cache["web2"] = dict(cache["web2"], divest_outcome=cleaned)
    result = run({"dest": str(tmp_path / "r")}, tvars={"hostvars": real_hostvars,
                                                       "ansible_play_hosts_all": ["web1", "web2"]})
    doc = json.loads(open(result["files"]["json"], "rb").read())
    status = {h["name"]: h["status"] for h in doc["hosts"]}
    assert status == {"web1": "unprotected", "web2": "reappearance"}
    assert result["summary"]["alerts"] == {"unprotected": 1, "reappearance": 1}


def test_identify_hosts_read_by_several_processes_write_the_same_report(tmp_path, real_hostvars, run, monkeypatch):
    """The identify report's hosts are read and their entries made by forked processes
    (``_hostfacts.map_hosts``, from 2,000 hosts on: here from one); the files are the same bytes."""
    from ansible_collections.fleetsec.divest.plugins.plugin_utils import _hostfacts
    tvars = {"hostvars": real_hostvars, "ansible_play_hosts_all": ["web1", "web2", "gone", "win1", "ghost"]}
    one = run({"dest": str(tmp_path / "one")}, tvars=tvars)
    chunks = []

    def mapped(work, names):
        results = _hostfacts.map_hosts(lambda chunk: (os.getpid(), work(chunk)), names, processes=2, minimum=1)
        chunks.extend(pid for pid, dummy in results)
        return [entries for dummy, entries in results]
    monkeypatch.setattr(action_report, "map_hosts", mapped)
    several = run({"dest": str(tmp_path / "several")}, tvars=tvars)
    assert len(set(chunks)) == 2 and os.getpid() in chunks
    assert several["summary"] == one["summary"]
    for fmt, path in one["files"].items():
        assert open(several["files"][fmt], "rb").read() == open(path, "rb").read(), fmt
