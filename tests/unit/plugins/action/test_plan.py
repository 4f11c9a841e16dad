# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for the fleetsec.divest.removal_plan action plugin.

Most tests drive the action with a real inventory, variable manager and ``hostvars`` over a
temporary jsonfile fact cache (the shared ``make_fleet`` fixture, conftest.py), so the fast
reading path and the fact storage run against ansible-core itself. The fact layer's own
tests are in test_hostfacts.py.
"""

from __future__ import annotations

import datetime
import json
import os
from unittest.mock import patch

import pytest
import yaml

from ansible.errors import AnsibleActionFail

from ansible_collections.fleetsec.divest.plugins.action import removal_plan as action_plan
from ansible_collections.fleetsec.divest.plugins.plugin_utils import _hostfacts, _planner

NOW = datetime.datetime(2026, 11, 28, 12, 0, 0, tzinfo=datetime.timezone.utc)
FRESH = "2026-11-28T10:00:00Z"
OLD = "2026-11-01T10:00:00Z"
SECRET = "Kl-Uninstall-S3cret!"


def divest(status, findings=(), scanned_at=FRESH, system="Linux"):
    return {"schema": 1, "scanned_at": scanned_at, "status": status,
            "platform": {"system": system, "distribution": "debian" if system == "Linux" else "Windows 11",
                         "version": "12"},
            "scan": {"live": True, "skipped": [], "errors": []}, "findings": list(findings)}


def kesl(version="12.1.0.1508"):
    return {"vendor": "kaspersky", "product": "kesl", "name": "Kaspersky Endpoint Security for Linux",
            "version": version, "state": "installed", "role": "protection",
            "evidence": [{"kind": "package", "name": "kesl", "version": "12.1.0-1508", "manager": "dpkg"}],
            "removal": {"method": "package", "order": 10, "packages": ["kesl"], "purge": True,
                        "residue": ["/opt/kaspersky/kesl"], "reboot": False, "password": "none"}}


def kes_win(password="required"):
    return {"vendor": "kaspersky", "product": "kes", "name": "Kaspersky Endpoint Security for Windows",
            "version": "12.3.0.493", "state": "installed", "role": "protection",
            "evidence": [{"kind": "uninstall_entry", "name": "Kaspersky Endpoint Security for Windows"}],
            "removal": {"method": "msi", "order": 10, "password": password, "reboot": True,
                        "product_codes": ["{7EC66A95-AC2D-4127-940B-0445A526AB2F}"]}}


def ksc():
    return {"vendor": "kaspersky", "product": "ksc64", "name": "Kaspersky Security Center Administration Server",
            "version": "15.4.0.8873", "state": "installed", "role": "management", "evidence": [],
            "removal": {"method": "package", "order": 90, "packages": ["ksc64"], "reboot": False, "password": "none"}}


FACTS = {
    "web1": divest("affected", [kesl()]),
    "web2": divest("affected", [kesl("12.2.0.2412")]),
    "web3": divest("clean"),
    "old1": divest("affected", [kesl()], scanned_at=OLD),
    "win1": divest("affected", [kes_win()], system="Windows"),
    "ksc1": divest("affected", [ksc()]),
    # new1 has no facts at all
}
INVENTORY = {"all": {"children": {
    "linux": {"hosts": {"web1": None, "web2": None, "web3": None, "old1": None, "ksc1": None, "new1": None}},
    "windows": {"hosts": {"win1": None}},
    "prod": {"hosts": {"web1": None, "win1": None}},
}}}
ALL = ["web1", "web2", "web3", "old1", "win1", "ksc1", "new1"]


def cached_facts(facts=None):
    """The fact cache entries of the fleet: ``facts`` ({name: divest facts}, default FACTS)."""
    return {name: {"divest": value, "discovered_interpreter_python": "/usr/bin/python3"}
            for name, value in (FACTS if facts is None else facts).items()}


@pytest.fixture
def fleet(make_fleet):
    return make_fleet(INVENTORY, cached_facts())


def run(fleet, now=NOW, task_vars=None, **args):
    args.setdefault("hosts", ALL)
    args.setdefault("dest", fleet.dest)
    check, diff = args.pop("_check", False), args.pop("_diff", False)
    with patch.object(action_plan, "utc_now", return_value=now):
        return fleet.action(action_plan, args, check_mode=check, diff=diff).run(task_vars=task_vars or fleet.task_vars())


POLICY = {"max_age": "7d", "waves": {"canary": 1, "size": 2}, "directive_start": "2026-10-01"}


# ------------------------------------------------------------------------------------ files

def test_plan_files_are_written_and_verify(fleet):
    result = run(fleet, policy=POLICY)
    assert result["changed"] is True and result["planned"] is True
    assert set(result["files"]) == {"json", "yml", "html", "md"}
    with open(result["files"]["json"], "rb") as handle:
        plan = json.loads(handle.read().decode("utf-8"))
    assert _planner.verify(plan) and plan["digest"] == result["digest"] == result["plan"]["digest"]
    with open(result["files"]["yml"], "rb") as handle:
        assert yaml.safe_load(handle) == plan
    with open(result["files"]["html"], "rb") as handle:
        html = handle.read().decode("utf-8")
    assert result["digest"] in html and "Removal plan" in html and "<script>alert" not in html
    with open(result["files"]["md"], "rb") as handle:
        assert result["digest"] in handle.read().decode("utf-8")
    assert sorted(plan["hosts"]) == ["ksc1", "web1", "web2", "win1"]
    assert plan["clean"] == ["web3"]
    assert {e["host"]: e["reason"] for e in plan["not_scanned"]} == {
        "new1": "no scan result", "old1": "last scan 2026-11-01T10:00:00Z is older than max_age"}
    assert plan["waves"][-1] == {"name": "management", "kind": "management", "hosts": ["ksc1"]}
    assert plan["hosts"]["win1"]["blockers"][0]["kind"] == "password_required"
    assert result["summary"]["hosts"]["planned"] == 4 and len(json.dumps(result["summary"])) < 1000


def test_second_run_changes_nothing(fleet):
    first = run(fleet, policy=POLICY)
    contents = {fmt: open(path, "rb").read() for fmt, path in first["files"].items()}
    second = run(fleet, policy=POLICY, now=NOW + datetime.timedelta(hours=3))
    assert second["changed"] is False and second["changed_files"] == []
    assert second["digest"] == first["digest"]
    assert second["summary"]["generated_at"] == "2026-11-28T12:00:00Z"   # the time of the content
    assert {fmt: open(path, "rb").read() for fmt, path in second["files"].items()} == contents


def test_a_policy_change_rewrites_the_files(fleet):
    first = run(fleet, policy=POLICY)
    second = run(fleet, policy=dict(POLICY, waves={"canary": 2}))
    assert second["changed"] is True and second["digest"] != first["digest"]
    assert sorted(second["changed_files"]) == sorted(second["files"].values())


def test_only_requested_formats(fleet):
    result = run(fleet, policy=POLICY, formats=["json"], return_plan=False)
    assert list(result["files"]) == ["json"] and "plan" not in result
    assert sorted(os.listdir(fleet.dest)) == ["divest-plan.json"]


def test_check_mode_writes_nothing_but_tells_the_truth(fleet):
    result = run(fleet, policy=POLICY, store_host_facts=True, _check=True)
    assert result["changed"] is True and "check mode" in result["msg"]
    assert not os.path.exists(fleet.dest)
    assert result["host_facts"]["stored"] == 0 and result["summary"]["hosts"]["planned"] == 4
    assert "divest_plan" not in fleet.cached("web1")
    real = run(fleet, policy=POLICY, store_host_facts=True)
    assert real["digest"] == result["digest"]        # what check mode announced is what a run makes
    again = run(fleet, policy=POLICY, store_host_facts=True, _check=True)
    assert again["changed"] is False


def test_diff_mode_shows_per_host_changes(fleet):
    run(fleet, policy=POLICY)
    result = run(fleet, policy=dict(POLICY, exceptions=[{"host": "web2", "reason": "freeze", "expires": "2027-01-01"}]),
                 _diff=True)
    before, after = result["diff"]["before"], result["diff"]["after"]
    assert "web2: wave=" in before and "blockers=none" in before.split("web2:")[1].splitlines()[0]
    assert "blockers=exception" in after.split("web2:")[1].splitlines()[0]


# ----------------------------------------------------------------------------- host facts

def test_planned_hosts_get_their_part_in_the_fact_cache(fleet):
    result = run(fleet, policy=POLICY, store_host_facts=True)
    assert result["host_facts"] == {"stored": 4, "unchanged": 0, "cache": result["host_facts"]["cache"]}
    assert "jsonfile" in result["host_facts"]["cache"]
    plan = result["plan"]
    for name in ("web1", "web2", "win1", "ksc1"):
        cached = fleet.cached(name)
        assert cached["divest_plan"] == _planner.host_part(plan, name)
        assert cached["divest"] == FACTS[name]                 # merged, not replaced
        assert cached["discovered_interpreter_python"] == "/usr/bin/python3"
    for name in ("web3", "old1"):
        assert "divest_plan" not in fleet.cached(name)
    assert fleet.cached("new1") is None
    part = fleet.cached("web1")["divest_plan"]
    assert set(part) == set(plan["hosts"]["web1"]) | {"digest", "proof"}
    assert _planner.verify_part("web1", part, plan["digest"]) is None
    # the Linux host's vendor-wide actions come from the shipped catalog
    cleanup = next(a for a in part["actions"] if a["action"] == "cleanup")
    assert cleanup["vendor_dirs"] == ["/etc/opt/kaspersky", "/opt/kaspersky", "/var/log/kaspersky", "/var/opt/kaspersky"]
    assert cleanup["repo_patterns"] == ["re:kaspersky"]
    block = next(a for a in part["actions"] if a["action"] == "block_reinstall")
    assert {"kesl", "kesl-astra", "klnagent64", "ksc64", "kav4fs", "kess"} <= set(block["packages"])


def test_unchanged_parts_are_not_rewritten(make_fleet):
    fleet = make_fleet(INVENTORY, cached_facts())
    run(fleet, policy=POLICY, store_host_facts=True)
    again = make_fleet(INVENTORY)   # a later job: reads the cache as stored
    result = run(again, policy=POLICY, store_host_facts=True)
    assert result["host_facts"]["stored"] == 0 and result["host_facts"]["unchanged"] == 4
    assert result["changed"] is False
    changed = run(again, policy=dict(POLICY, waves={"canary": 0}), store_host_facts=True)
    assert changed["host_facts"]["stored"] == 4 and changed["changed"] is True


def test_many_hosts_are_stored_by_child_processes(make_fleet, monkeypatch):
    fleet = make_fleet(INVENTORY, cached_facts({"web1": divest("affected", [kesl()])}))
    monkeypatch.setattr(_hostfacts.in_background, "__defaults__", (1,))   # fork even for one host
    result = run(fleet, hosts=["web1"], policy=POLICY, store_host_facts=True)
    assert result["host_facts"]["stored"] == 1
    assert fleet.cached("web1")["divest_plan"]["digest"] == result["digest"]


@pytest.mark.parametrize("processes", [1, 2])
def test_an_edited_part_of_the_same_plan_is_rewritten(make_fleet, monkeypatch, processes):
    """Parts of the same plan (same digest) are compared whole; with ``processes`` 2, by two
    processes, as for a fleet."""
    monkeypatch.setattr(_hostfacts.map_hosts, "__defaults__", (processes, 1))
    fleet = make_fleet(INVENTORY, cached_facts())
    plan = run(fleet, policy=POLICY, store_host_facts=True)["plan"]
    edited = dict(fleet.cached("web1"))
    edited["divest_plan"] = dict(edited["divest_plan"], blockers=[])      # same digest, other content
    edited["divest_plan"]["actions"] = edited["divest_plan"]["actions"][:1]
    later = make_fleet(INVENTORY, {"web1": edited})
    result = run(later, policy=POLICY, store_host_facts=True)
    assert result["host_facts"]["stored"] == 1 and result["host_facts"]["unchanged"] == 3
    assert later.cached("web1")["divest_plan"] == _planner.host_part(plan, "web1")


def test_many_hosts_are_stored_by_writer_processes_as_ansible_stores_them(make_fleet, monkeypatch):
    """The fast writer (fresh processes, the standard library's JSON) leaves each host's facts as
    ansible-core's own cache plugin reads them; a host whose cache file holds Ansible's tags is
    written by the plugin."""
    cached = cached_facts()
    cached["web2"]["note"] = {"__ansible_unsafe": "tagged"}        # the writer leaves it to the plugin
    fleet = make_fleet(INVENTORY, cached)
    note = fleet.cached("web2")["note"]
    monkeypatch.setattr(_hostfacts.FactStore.start_json, "__defaults__", (1, None, False))   # however few hosts
    with patch.object(_hostfacts, "in_background", side_effect=AssertionError("no forked writer")):
        result = run(fleet, policy=POLICY, store_host_facts=True)
    assert result["host_facts"]["stored"] == 4
    plan = result["plan"]
    for name in ("web1", "web2", "win1", "ksc1"):
        cached_now = fleet.cached(name)
        assert cached_now["divest_plan"] == _planner.host_part(plan, name)
        assert cached_now["divest"] == FACTS[name] and cached_now["discovered_interpreter_python"] == "/usr/bin/python3"
    assert fleet.cached("web2")["note"] == note
    again = make_fleet(INVENTORY)
    assert run(again, policy=POLICY, store_host_facts=True)["host_facts"]["stored"] == 0


@pytest.mark.parametrize("writers", [True, False])
def test_a_store_that_fails_part_way_is_finished_by_the_same_plan_run_again(make_fleet, monkeypatch, writers):
    """The disk fills while the parts are stored (here a file size limit: in the writer
    processes, or with few hosts in the task's own process, where ansible-core's own set would
    have left half-written entries): the task fails and says what to do; every host keeps a whole
    file (its facts, with or without the new part); the plan run again once there is room has the
    same digest (the one an approver may already hold) and writes only the missing parts."""
    import resource
    import subprocess
    fleet = make_fleet(INVENTORY, cached_facts())
    sizes = {path: os.path.getsize(os.path.join(fleet.cache_dir, path)) for path in os.listdir(fleet.cache_dir)}
    limit = max(sizes.values()) + 16
    failure = pytest.raises(AnsibleActionFail, match="storing the hosts' divest_plan facts failed: .*File too large.* "
                                                     "run the plan again once the cause is fixed")
    if writers:
        monkeypatch.setattr(_hostfacts.FactStore.start_json, "__defaults__", (1, None, False))   # writers for any count
        popen = subprocess.Popen

        def disk_full(*args, **kwargs):
            return popen(*args, preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit)), **kwargs)
        with patch.object(subprocess, "Popen", disk_full), failure:
            run(fleet, policy=POLICY, store_host_facts=True)
    else:
        soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
        try:
            with failure:
                run(fleet, policy=POLICY, store_host_facts=True, dest=str(fleet.dest) + "-unused", formats=["json"])
        finally:
            resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    assert sorted(os.listdir(fleet.cache_dir)) == sorted(sizes)          # no temporary file left
    later = make_fleet(INVENTORY)                                         # a later job, room again
    stored = {name: (later.cached(name) or {}).get("divest_plan") for name in ("web1", "web2", "win1", "ksc1")}
    for name in stored:
        assert later.cached(name)["divest"] == FACTS[name]                # every file whole
    assert sum(part is not None for part in stored.values()) < 4
    result = run(later, policy=POLICY, store_host_facts=True)
    assert result["host_facts"]["stored"] == 4 - sum(part is not None for part in stored.values())
    assert all(part is None or part["digest"] == result["digest"] for part in stored.values())
    for name in stored:
        assert later.cached(name)["divest_plan"] == _planner.host_part(result["plan"], name)
        assert later.cached(name)["divest"] == FACTS[name]


def test_hosts_read_by_several_processes_give_the_same_plan(make_fleet, monkeypatch):
    cached = cached_facts()
    cached["web2"]["divest"] = dict(FACTS["web2"], schema=9)           # not usable: not scanned, with why
    expected = run(make_fleet(INVENTORY, cached), policy=POLICY)["plan"]
    monkeypatch.setattr(_hostfacts.map_hosts, "__defaults__", (2, 1))  # two processes, however few hosts
    forked = []
    real_fork = os.fork
    monkeypatch.setattr(os, "fork", lambda: forked.append(1) or real_fork())
    got = run(make_fleet(INVENTORY, cached), policy=POLICY)["plan"]
    assert forked and got == expected
    assert got["not_scanned"][0]["host"] == "new1" and {"web2", "old1", "new1"} == {i["host"] for i in got["not_scanned"]}


def test_memory_cache_warns_and_stores_nothing(make_fleet):
    fleet = make_fleet(INVENTORY, cached_facts(), plugin="memory")
    with patch.object(action_plan.display, "warning") as warning:
        result = run(fleet, policy=POLICY, store_host_facts=True)
    assert result["host_facts"]["stored"] == 0 and result["host_facts"]["skipped"] == "non-persistent fact cache"
    assert "non-persistent" in warning.call_args[0][0]
    assert result["summary"]["hosts"]["planned"] == 4      # the plan itself is made from the in-memory facts


# ----------------------------------------------------------------------------- modes, input

def test_stale_mode_lists_hosts_to_scan_and_writes_nothing(fleet):
    result = run(fleet, mode="stale", policy={"max_age": "7d"})
    assert result["stale_hosts"] == ["new1", "old1"] and result["fresh"] == 5 and result["hosts"] == 7
    assert result["changed"] is False and result["planned"] is False
    assert not os.path.exists(fleet.dest)


def test_auto_mode_plans_only_when_nothing_is_to_be_scanned(fleet):
    waiting = run(fleet, mode="auto", policy=dict(POLICY, scan=True))
    assert waiting["planned"] is False and waiting["stale_hosts"] == ["new1", "old1"]
    assert not os.path.exists(fleet.dest)
    now = run(fleet, mode="auto", policy=dict(POLICY, scan=False))
    assert now["planned"] is True and os.path.exists(now["files"]["json"])
    assert now["summary"]["hosts"]["not_scanned"] == 2
    fresh_only = run(fleet, mode="auto", hosts=["web1", "web2"], policy=dict(POLICY, scan=True))
    assert fresh_only["planned"] is True and fresh_only["stale_hosts"] == []


@pytest.mark.parametrize("pattern, expected", [
    ("all", ALL), ("linux", ["web1", "web2", "web3", "old1", "ksc1", "new1"]), ("prod", ["web1", "win1"]),
    ("linux:!web*", ["old1", "ksc1", "new1"]), ("~web[12]", ["web1", "web2"]), ("linux[0:1]", ["web1", "web2"]),
])
def test_pattern_selects_hosts_like_inventory_hostnames(fleet, pattern, expected):
    result = run(fleet, hosts=None, pattern=pattern, mode="stale", policy={})
    assert result["hosts"] == len(expected)
    args = {"pattern": pattern, "mode": "stale", "policy": {}}
    tvars = fleet.task_vars()
    tvars["hostvars"] = {}     # no inventory reachable: resolved from the groups, like the lookup does
    with patch.object(action_plan, "utc_now", return_value=NOW):
        fallback = fleet.action(action_plan, args).run(task_vars=tvars)
    assert fallback["hosts"] == len(expected)


@pytest.mark.parametrize("args, message", [
    ({"pattern": "all"}, "exactly one of hosts"),
    ({"hosts": None}, "exactly one of hosts"),
    ({"hosts": [1, 2]}, "list of inventory host names"),
    ({"policy": {"waves": {"size": 0}}}, "invalid plan policy: waves.size must be at least 1"),
    ({"policy": {"selector": "groups[?"}}, "invalid plan policy: selector"),
    # the policy's argument spec (_planner.POLICY_SPEC) is part of the action's
    ({"policy": {"waves": {"size": "ten"}}}, r"policy\.waves\.size must be an integer, got 'ten'"),
    ({"policy": {"waves": {"size": 2, "percent": 5}}}, "policy.waves: use only one of size, percent or by_group"),
    ({"policy": {"replacement": {"linux": "sophos"}}}, "policy.replacement.linux must be one of clamav, none"),
    ({"policy": {"wave": {}}}, "policy: unknown key 'wave'"),
    ({"formats": ["pdf"]}, "formats"),
    ({"mode": "execute"}, "mode"),
    ({"bogus": 1}, "bogus"),
])
def test_bad_arguments_fail_clearly(fleet, args, message):
    with pytest.raises(AnsibleActionFail, match=message):
        run(fleet, **args)


def test_hosts_unknown_to_the_inventory_are_not_scanned(fleet):
    result = run(fleet, hosts=["web1", "ghost"], policy={})
    assert result["plan"]["not_scanned"] == [{"host": "ghost", "reason": "host not found in the inventory",
                                              "scanned_at": None, "error": None}]


def test_scan_errors_of_this_run_are_reported(fleet):
    fleet.variable_manager.set_nonpersistent_facts("old1", {"divest_error": {"kind": "unreachable",
                                                                             "message": "ssh: timed out"}})
    plan = run(fleet, policy={"max_age": "7d"})["plan"]
    reasons = {e["host"]: e for e in plan["not_scanned"]}
    assert reasons["old1"]["error"] == "unreachable: ssh: timed out"
    assert "the new scan failed" in reasons["old1"]["reason"]


def test_hostvars_without_a_variable_manager_are_read_too(fleet):
    tvars = {"hostvars": {"h1": {"ansible_facts": {"divest": FACTS["web1"]}, "group_names": ["x"]},
                          "h2": {"divest": FACTS["web3"]},
                          "h3": {"divest_error": {"kind": "failed", "message": "boom"}}},
             "groups": {"all": ["h1", "h2", "h3"], "web": ["h1"]}}
    result = run(fleet, hosts=["h1", "h2", "h3"], policy={"waves": {"by_group": ["web"]}}, task_vars=tvars)
    plan = result["plan"]
    assert list(plan["hosts"]) == ["h1"] and plan["hosts"]["h1"]["wave"] == "group-web"
    assert plan["clean"] == ["h2"] and plan["not_scanned"][0]["reason"] == "scan failed (failed: boom)"


# -------------------------------------------------------------------------------- secrets

def test_no_secret_reaches_files_facts_or_results(fleet):
    policy = dict(POLICY, passwords={"kaspersky": SECRET, "kaspersky/kes": {"login": "kladmin", "password": SECRET}})
    result = run(fleet, policy=policy, store_host_facts=True)
    assert SECRET not in json.dumps(result) and "kladmin" not in json.dumps(result)
    for path in result["files"].values():
        with open(path, "rb") as handle:
            assert SECRET.encode() not in handle.read()
    for name in os.listdir(fleet.cache_dir):
        with open(os.path.join(fleet.cache_dir, name), "rb") as handle:
            assert SECRET.encode() not in handle.read()
    assert result["plan"]["policy"]["passwords"] == {"kaspersky": True, "kaspersky/kes": True}
    assert result["plan"]["hosts"]["win1"]["blockers"] == []    # configured: not blocked


def test_hostile_values_are_escaped_in_every_format():
    from ansible_collections.fleetsec.divest.plugins.plugin_utils import _plan_report
    evil = "<script>alert(1)</script>|`x`*\u202e\x7f\udcff"
    finding = dict(kes_win("none"), product=evil, name=evil, version=evil)
    finding["removal"] = dict(finding["removal"], note=evil)
    hosts = {evil: {"divest": divest("affected", [finding], system="Windows"), "groups": [evil], "error": None}}
    plan, parts = _planner.build_plan_parts(hosts, {"exceptions": [{"host": evil, "reason": evil, "expires": "2020-01-01"}]},
                                            now=NOW)
    files = _plan_report.render(plan, _plan_report.FORMATS, parts)
    html = files["html"].decode("utf-8")
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "\u202e" not in html and "\x7f" not in html
    md = files["md"].decode("utf-8")
    assert "``<script>alert(1)</script>\\|`x`*\ufffd\ufffd\\xff``" in md   # a code span: inert
    assert yaml.safe_load(files["yml"].decode("utf-8")) == json.loads(files["json"].decode("utf-8")) == plan
    assert _planner.verify(yaml.safe_load(files["yml"].decode("utf-8")))


@pytest.mark.parametrize("waves, labels", [
    ({"canary": 1, "size": 2}, ["Canary", "By host count"]),
    ({"canary": 0, "percent": 50}, ["By share of the fleet"]),
    ({"canary": 0, "by_group": ["web"]}, ["Group web", "Hosts in no listed group"]),
    ({"canary": 0}, ["All other hosts"]),
])
def test_every_wave_layout_has_a_readable_label_on_the_page(waves, labels):
    from ansible_collections.fleetsec.divest.plugins.plugin_utils import _plan_report
    hosts = {"web%d" % i: {"divest": divest("affected", [kesl()]), "groups": ["web"] if i < 2 else ["db"], "error": None}
             for i in range(4)}
    hosts["ksc01"] = {"divest": divest("affected", [ksc()]), "groups": [], "error": None}
    plan, parts = _planner.build_plan_parts(hosts, {"waves": waves}, now=NOW)
    page = _plan_report.render(plan, ("html",), parts)["html"].decode("utf-8")
    for label in labels + ["Management servers (last)"]:
        assert "<td>%s</td>" % label in page
    assert "By all" not in page and "By size" not in page
