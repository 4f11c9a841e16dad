# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""linux_step: one execute step on a Linux host and its record in one task - the modules it
runs, in order, against a scripted host; what it records; how it fails (the state naming the
step, for the role's rescue); the never-unprotected guard; the verify step's read-only ClamAV
check and its repair."""

from __future__ import annotations

import copy
import json

import pytest

from ansible.errors import AnsibleActionFail

from ansible_collections.fleetsec.divest.plugins.action import linux_step as action_step
from ansible_collections.fleetsec.divest.plugins.plugin_utils import _outcome

DIGEST = "sha256:" + "c" * 64
KESL = {"vendor": "kaspersky", "product": "kesl", "name": "kesl", "version": "12", "state": "installed",
        "role": "protection", "evidence": [{"kind": "package", "name": "kesl"}]}
AGENT = dict(KESL, product="klnagent", name="klnagent", role="agent")
HEALTHY = {"product": "clamav", "healthy": True, "checked": True, "reason": "clamd answers and detects EICAR"}
DEAD = {"product": "clamav", "healthy": False, "checked": True, "reason": "clamd not answering: no reply"}
PROBE = {"packages": ["clamav"], "service": "clamav-daemon", "clamdscan": ["clamdscan"]}


def facts(*findings):
    return {"schema": 1, "status": "affected" if findings else "clean", "findings": list(findings),
            "scan": {"errors": []}}


def remove_action(f):
    return {"action": "remove", "vendor": "kaspersky", "product": f["product"], "version": f["version"],
            "state": "installed", "removal": {"method": "package", "packages": [f["product"]], "password": "none"}}


class FakeHost(object):
    """Answers the step's module calls: per module short name a list of answers (the last one
    repeated); an answer is a dict, or "unreachable". The collector answers with ``scans``."""

    def __init__(self, scans=(), **script):
        self.scans = list(scans)
        self.script = script
        self.calls = []

    def __call__(self, module_name=None, module_args=None, task_vars=None, **kwargs):
        name = module_name.rsplit(".", 1)[-1]
        self.calls.append((name, copy.deepcopy(module_args)))
        if name == "linux_inventory_info":
            answer = self.scans.pop(0) if len(self.scans) > 1 else self.scans[0]
            return answer if answer == {"unreachable": True, "msg": "gone"} else {"inventory": {"facts": answer}}
        answers = self.script.get(name, [{"changed": name not in ("linux_journal", "linux_clamav_health")}])
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        if answer == "unreachable":
            return {"unreachable": True, "msg": "Failed to connect to the host"}
        return copy.deepcopy(answer)

    def modules(self):
        return [(call[0], call[1].get("event")) if call[0] == "linux_journal" else call[0] for call in self.calls]


@pytest.fixture(autouse=True)
def matcher(monkeypatch):
    """The matcher (tested on its own) returns what the fake collector scanned."""
    monkeypatch.setattr(action_step, "match", lambda inventory, catalogs, scanned_at=None: inventory["facts"])


def step(make_action, host, check_mode=False, **args):
    action = make_action(action_step, args, check_mode=check_mode)
    action._task.no_log = False
    action._execute_module = host
    return action.run(task_vars={})


def started(*findings, replacement="clamav", check=False):
    part = {"wave": "canary", "platform": "linux", "replacement": replacement, "blockers": [],
            "expect": [{"vendor": f["vendor"], "product": f["product"], "version": f["version"], "state": f["state"]}
                       for f in findings]}
    return _outcome.start(part, None, {"digest": DIGEST, "run_id": "r1"}, "2026-12-05T10:00:00Z", check_mode=check)


def acting(health="healthy", *findings):
    health = HEALTHY if health == "healthy" else health
    findings = findings or (KESL,)
    state = _outcome.scanned(started(*findings), facts(*findings))
    return _outcome.replacement(state, health)


def test_identify_reads_the_journal_scans_and_chooses_the_mode(make_action):
    host = FakeHost(scans=[facts(KESL)], linux_journal=[{"changed": False, "journal": {"plans": {}}}])
    result = step(make_action, host, step="identify", state=started(KESL))
    assert host.modules() == [("linux_journal", None), "linux_inventory_info"]
    assert host.calls[0][1] == {"digest": DIGEST}
    assert result["mode"] == "act" and result["ran"] is True and not result.get("failed")
    assert result["ansible_facts"]["divest"] == facts(KESL)                     # the host's findings, as identify stores them
    assert result["ansible_facts"]["divest_outcome"]["step"] == "replacement"
    json.dumps(result["ansible_facts"])


def test_identify_in_check_mode_stores_the_scan_but_no_outcome(make_action):
    host = FakeHost(scans=[facts(KESL)], linux_journal=[{"journal": {}}])
    result = step(make_action, host, check_mode=True, step="identify", state=started(KESL, check=True))
    assert "divest_outcome" not in result["ansible_facts"] and result["ansible_facts"]["divest"] == facts(KESL)
    assert result["outcome"]["check_mode"] is True and result["mode"] == "act"


def test_a_host_lost_during_identify_fails_the_step_at_re_identify(make_action):
    host = FakeHost(scans=[facts(KESL)], linux_journal=["unreachable"])
    result = step(make_action, host, step="identify", state=started(KESL))
    assert result["failed"] and result["msg"].startswith("lost contact with the host during reading the host's journal")
    assert result["state"]["outcome"]["step"] == "re-identify" and "ansible_facts" not in result
    assert host.modules() == [("linux_journal", None)]


def test_remove_notes_the_journal_around_the_removal_and_records_it(make_action):
    host = FakeHost(linux_remove=[{"changed": True, "removed_packages": ["kesl"], "counts": {"packages": 1},
                                   "warnings": ["a path was refused"]}])
    result = step(make_action, host, step="remove", state=acting(), action=remove_action(KESL),
                  vendor_dirs=["/opt/kaspersky"], kill_timeout=5)
    assert host.modules() == [("linux_journal", "begin"), "linux_remove", ("linux_journal", "done")]
    begin_args, remove_args, done_args = (call[1] for call in host.calls)
    assert begin_args["run_id"] == "r1" and begin_args["digest"] == DIGEST and begin_args["version"] == "12"
    assert remove_args["vendor_dirs"] == ["/opt/kaspersky"] and remove_args["kill_timeout"] == 5
    assert "password" not in remove_args
    assert done_args["packages"] == ["kesl"]
    stored = result["ansible_facts"]["divest_outcome"]
    assert [r["product"] for r in stored["removed"]] == ["kesl"] and stored["changes"] == {"packages": 1}
    assert result["changed"] is True and result["warnings"] == ["a path was refused"]


@pytest.mark.parametrize("health, check, reason", [
    (DEAD, False, DEAD["reason"]),
    (None, False, "no health check result"),
])
def test_nothing_is_removed_while_the_replacement_is_not_proven(make_action, health, check, reason):
    host = FakeHost()
    result = step(make_action, host, check_mode=check, step="remove", state=acting(health), action=remove_action(KESL))
    assert host.calls == [] and result["failed"] and result["msg"] == reason
    assert result["state"]["outcome"]["step"] == "remove" and "ansible_facts" not in result


def test_a_failed_removal_stops_before_the_journal_says_done(make_action):
    host = FakeHost(linux_remove=[{"failed": True, "msg": "dpkg: error processing package kesl (--remove)"}])
    result = step(make_action, host, step="remove", state=acting(), action=remove_action(KESL))
    assert host.modules() == [("linux_journal", "begin"), "linux_remove"]
    assert result["failed"] and result["msg"].startswith("dpkg: error processing")
    assert result["state"]["outcome"]["step"] == "remove" and result["state"]["outcome"]["removed"] == []
    # the rescue records it at the step the state names
    failed = _outcome.failed(result["state"], result["state"]["outcome"]["step"], result["msg"])
    assert failed["outcome"]["status"] == "failed" and failed["outcome"]["reason"].startswith("remove: dpkg: error")


def test_a_host_lost_during_the_removal_fails_with_lost_contact(make_action):
    host = FakeHost(linux_remove=["unreachable"])
    result = step(make_action, host, step="remove", state=acting(), action=remove_action(KESL))
    assert result["msg"].startswith("lost contact with the host during the removal of kesl")


def test_a_password_goes_to_linux_remove_only(make_action):
    host = FakeHost(linux_remove=[{"changed": True, "removed_packages": ["kesl"]}])
    result = step(make_action, host, step="remove", state=acting(), action=remove_action(KESL), password="s3cret!")
    assert [call[1].get("password") for call in host.calls] == [None, "s3cret!", None]
    assert "s3cret!" not in json.dumps(result)


def test_remove_does_nothing_outside_act_mode(make_action):
    state = _outcome.replacement(_outcome.scanned(started(KESL), facts()), HEALTHY)      # converge
    host = FakeHost()
    result = step(make_action, host, step="remove", state=state, action=remove_action(KESL))
    assert host.calls == [] and result["ran"] is False and not result.get("failed") and result["changed"] is False


def test_cleanup_runs_once_per_vendor_and_moves_to_the_block(make_action):
    cleanups = [{"action": "cleanup", "vendor": "kaspersky", "vendor_dirs": ["/opt/kaspersky"], "repo_patterns": ["kaspersky"],
                 "removal": {"residue": ["/opt/kaspersky"], "repo_files": ["/etc/apt/sources.list.d/kaspersky.list"]}}]
    host = FakeHost(linux_cleanup=[{"changed": True, "counts": {"repos": 1}}])
    result = step(make_action, host, step="cleanup", state=acting(), cleanups=cleanups, cleanup_repos=False)
    assert host.modules() == ["linux_cleanup"]
    args = host.calls[0][1]
    assert args["repo_patterns"] == [] and args["repo_files"] == ["/etc/apt/sources.list.d/kaspersky.list"]
    assert args["residue"] == ["/opt/kaspersky"] and args["vendor_dirs"] == ["/opt/kaspersky"]
    out = result["ansible_facts"]["divest_outcome"]
    assert out["step"] == "block_reinstall" and out["changes"] == {"repos": 1}


def test_a_failed_cleanup_is_recorded_at_the_cleanup(make_action):
    host = FakeHost(linux_cleanup=[{"failed": True, "msg": "refused: /opt/kaspersky is a mount point"}])
    result = step(make_action, host, step="cleanup", state=acting(), cleanups=[{"vendor": "kaspersky"}])
    assert result["failed"] and result["state"]["outcome"]["step"] == "cleanup"


@pytest.mark.parametrize("enabled, calls", [(True, ["linux_reinstall_block"]), (False, [])])
def test_the_block_follows_its_toggle(make_action, enabled, calls):
    host = FakeHost(linux_reinstall_block=[{"changed": True, "counts": {"block": 1}}])
    result = step(make_action, host, step="block", state=acting(), enabled=enabled,
                  block={"vendors": ["kaspersky"], "packages": ["kesl", "klnagent64"]})
    assert host.modules() == calls
    if enabled:
        assert host.calls[0][1] == {"vendor": "kaspersky", "packages": ["kesl", "klnagent64"], "backup": True}
        assert result["ansible_facts"]["divest_outcome"]["step"] == "verify"


def after_the_work():
    state = acting()
    state = _outcome.removed(state, remove_action(KESL), {"removed_packages": ["kesl"]}, "2026-12-05T10:01:00Z")
    return _outcome.changed(state, "block_reinstall", [])


def test_verify_scans_then_checks_clamav_read_only(make_action):
    health = dict(HEALTHY, reason="clamd answers and detects the EICAR test string (Eicar-Signature)")
    host = FakeHost(scans=[facts()], linux_clamav_health=[{"changed": False, "health": health}])
    result = step(make_action, host, step="verify", state=after_the_work(), probe=PROBE, ping_timeout=30)
    assert host.modules() == ["linux_inventory_info", "linux_clamav_health"]
    probe = host.calls[1][1]
    assert probe == dict(PROBE, probes=["database", "health"], ping_timeout=30) and "eicar" not in probe
    assert result["repair"] is False and not result.get("failed")
    out = result["ansible_facts"]["divest_outcome"]
    assert out["replacement"]["reason"] == health["reason"] and out["remaining"] == []
    done = _outcome.finish(result["state"], "2026-12-05T10:02:00Z")["outcome"]
    assert done["status"] == "removed" and done["protection"] == "replacement"


@pytest.mark.parametrize("probe, answer", [(PROBE, {"health": DEAD}), (None, None)])
def test_verify_asks_for_the_role_when_clamav_is_not_proven(make_action, probe, answer):
    host = FakeHost(scans=[facts()], linux_clamav_health=[answer or {}])
    result = step(make_action, host, step="verify", state=after_the_work(), probe=probe)
    assert result["repair"] is True and not result.get("failed")
    assert host.modules() == ["linux_inventory_info"] + (["linux_clamav_health"] if probe else [])
    # the scan after the work is recorded; the health is the role's, recorded after it ran
    assert result["state"]["run"]["after"] == facts() and result["outcome"]["replacement"] == _outcome.running(
        after_the_work())["replacement"]


def test_verify_without_the_replacement_check_only_scans(make_action):
    host = FakeHost(scans=[facts()])
    result = step(make_action, host, step="verify", state=after_the_work(), probe=PROBE, enabled=False)
    assert host.modules() == ["linux_inventory_info"] and result["repair"] is False


def test_something_left_after_the_work_fails_verify_and_keeps_the_scan(make_action):
    left = dict(KESL, state="residual")
    host = FakeHost(scans=[facts(left)], linux_clamav_health=[{"health": HEALTHY}])
    result = step(make_action, host, step="verify", state=after_the_work(), probe=PROBE)
    assert result["failed"] and result["msg"].startswith("still found after the removal: kaspersky/kesl")
    assert result["state"]["outcome"]["step"] == "verify" and result["repair"] is False
    assert result["ansible_facts"] == {"divest": facts(left)}      # the scan stays the host's fact; no outcome
    failed = _outcome.failed(result["state"], "verify", result["msg"])["outcome"]
    assert failed["reason"].startswith("verify: still found after the removal") and failed["remaining"]


def test_verify_does_nothing_in_check_mode(make_action):
    host = FakeHost(scans=[facts()])
    state = _outcome.replacement(_outcome.scanned(started(KESL, check=True), facts(KESL)), HEALTHY)
    result = step(make_action, host, check_mode=True, step="verify", state=state, probe=PROBE)
    assert host.calls == [] and result["ran"] is False and "ansible_facts" not in result


def test_a_step_needs_the_state_and_remove_its_action(make_action):
    with pytest.raises(AnsibleActionFail, match="needs the state"):
        step(make_action, FakeHost(), step="cleanup", state={"outcome": {}})
    with pytest.raises(AnsibleActionFail, match="needs the plan's action"):
        step(make_action, FakeHost(), step="remove", state=acting())


@pytest.mark.parametrize("guard, health, refused", [(True, DEAD, DEAD["reason"]), (False, DEAD, None), (True, HEALTHY, None)])
def test_a_plan_without_removals_checks_the_guard_at_the_cleanup(make_action, guard, health, refused):
    host = FakeHost()
    result = step(make_action, host, step="cleanup", state=acting(health), cleanups=[{"vendor": "kaspersky"}], guard=guard)
    if refused:
        assert host.calls == [] and result["failed"] and result["msg"] == refused
        assert result["state"]["outcome"]["step"] == "remove"
    else:
        assert host.modules() == ["linux_cleanup"] and not result.get("failed")


def test_a_block_switched_off_is_passed(make_action):
    result = step(make_action, FakeHost(), step="block", state=_outcome.changed(acting(), "cleanup", []), enabled=False,
                  block={"vendors": ["kaspersky"]})
    assert result["ran"] is False and result["ansible_facts"]["divest_outcome"]["step"] == "verify"


# ------------------------------------- the replacement's health, recorded by the step after its role

def scanned_only(*findings, allow_drift=False):
    """The state after re-identify: the replacement's role runs next, its health not recorded."""
    findings = findings or (KESL,)
    return _outcome.scanned(started(KESL), facts(*findings), None, allow_drift)


def test_the_first_step_after_the_role_records_its_health_before_removing(make_action):
    host = FakeHost(linux_remove=[{"changed": True, "removed_packages": ["kesl"]}])
    result = step(make_action, host, step="remove", state=scanned_only(), action=remove_action(KESL),
                  replacement={"health": HEALTHY})
    assert not result.get("failed") and host.modules()[1] == "linux_remove"
    stored = result["ansible_facts"]["divest_outcome"]
    assert stored["replacement"]["healthy"] is True and stored["replacement"]["reason"] == HEALTHY["reason"]


@pytest.mark.parametrize("health, reason", [(DEAD, DEAD["reason"]), (None, "no health check result")])
def test_a_role_that_left_no_proof_stops_the_removal_with_its_health_recorded(make_action, health, reason):
    host = FakeHost()
    result = step(make_action, host, step="remove", state=scanned_only(), action=remove_action(KESL),
                  replacement={"health": health})
    assert host.calls == [] and result["failed"] and result["msg"] == reason
    assert result["state"]["outcome"]["replacement"]["healthy"] is False
    assert result["state"]["outcome"]["step"] == "remove"


def test_the_health_is_recorded_once_a_later_step_does_not_replace_it(make_action):
    host = FakeHost(linux_remove=[{"changed": True, "removed_packages": ["kesl"]}])
    first = step(make_action, host, step="remove", state=scanned_only(), action=remove_action(KESL),
                 replacement={"health": HEALTHY})
    later = step(make_action, FakeHost(), step="cleanup", state=first["state"], replacement={"health": DEAD})
    assert later["state"]["outcome"]["replacement"]["healthy"] is True


def test_a_drifted_hosts_check_is_recorded_by_a_step_that_does_not_run(make_action):
    drifted = _outcome.scanned(started(KESL), facts(AGENT), None, False)
    assert drifted["run"]["mode"] == "check"
    host = FakeHost()
    result = step(make_action, host, step="cleanup", state=drifted, replacement={"health": DEAD})
    assert host.calls == [] and result["ran"] is False
    assert result["state"]["outcome"]["replacement"]["reason"] == DEAD["reason"]
    assert result["ansible_facts"]["divest_outcome"]["replacement"]["healthy"] is False


# ------------------------------------------------------- every product of the plan in one remove step

class Stored(object):
    """Stands for the fact cache the step writes into before its end (FactStore)."""

    def __init__(self):
        self.writes = []

    def store(self, variable_manager):
        outer = self

        class Store(object):
            persistent = True

            def merge(self, host, facts, current=None):
                outer.writes.append((host, copy.deepcopy(facts)))
        return Store()


@pytest.fixture
def stored(monkeypatch):
    cache = Stored()
    monkeypatch.setattr(action_step, "FactStore", cache.store)
    monkeypatch.setattr(action_step, "HostFacts", lambda task_vars, loader=None: type("V", (), {"variable_manager": None})())
    return cache


def step_on(make_action, host, host_name="kesl12", **args):
    action = make_action(action_step, args)
    action._task.no_log = False
    action._execute_module = host
    return action.run(task_vars={"inventory_hostname": host_name})


def test_every_product_is_removed_in_plan_order_and_stored_as_it_goes(make_action, stored):
    host = FakeHost(linux_remove=[{"changed": True, "removed_packages": ["kesl"]},
                                  {"changed": True, "removed_packages": ["klnagent"]}])
    result = step_on(make_action, host, step="remove", state=acting(HEALTHY, KESL, AGENT),
                     actions=[remove_action(KESL), remove_action(AGENT)])
    assert host.modules() == [("linux_journal", "begin"), "linux_remove", ("linux_journal", "done")] * 2
    assert [c[1]["product"] for c in host.calls if c[0] == "linux_remove"] == ["kesl", "klnagent"]
    # the first product's removal was in the fact cache before the second began; the last one comes with the result
    assert [(h, [r["product"] for r in f["divest_outcome"]["removed"]]) for h, f in stored.writes] == [("kesl12", ["kesl"])]
    assert [r["product"] for r in result["ansible_facts"]["divest_outcome"]["removed"]] == ["kesl", "klnagent"]


def test_a_failed_product_stops_the_rest_and_keeps_what_was_removed(make_action, stored):
    host = FakeHost(linux_remove=[{"changed": True, "removed_packages": ["kesl"]}, {"failed": True, "msg": "prerm failed"}])
    result = step_on(make_action, host, step="remove", state=acting(HEALTHY, KESL, AGENT, KESL),
                     actions=[remove_action(KESL), remove_action(AGENT), remove_action(dict(KESL, product="kesl-gui"))])
    assert result["failed"] and result["msg"] == "prerm failed"
    assert [c[1]["product"] for c in host.calls if c[0] == "linux_remove"] == ["kesl", "klnagent"]
    assert result["state"]["outcome"]["step"] == "remove" and result["state"]["run"]["removed_now"] == ["kesl"]
    assert len(stored.writes) == 1 and "ansible_facts" not in result


def test_nothing_to_remove_runs_nothing(make_action, stored):
    host = FakeHost()
    result = step_on(make_action, host, step="remove", state=acting(), actions=[])
    assert host.calls == [] and result["ran"] is False and not result.get("failed") and stored.writes == []


def test_check_mode_stores_nothing_before_the_end(make_action, stored):
    host = FakeHost()
    action = make_action(action_step, {"step": "remove", "state": acting(HEALTHY, KESL, AGENT),
                                       "actions": [remove_action(KESL), remove_action(AGENT)]}, check_mode=True)
    action._task.no_log = False
    action._execute_module = host
    result = action.run(task_vars={"inventory_hostname": "kesl12"})
    assert stored.writes == [] and "divest_outcome" not in result.get("ansible_facts", {})


def test_a_password_is_picked_per_product_only_where_its_recipe_needs_one(make_action, stored):
    locked = remove_action(KESL)
    locked["removal"]["password"] = "required"
    other = remove_action(AGENT)
    host = FakeHost()
    step_on(make_action, host, step="remove", state=acting(HEALTHY, KESL, AGENT), actions=[locked, other],
            passwords={"kaspersky/kesl": "k3sl!", "kaspersky": "vendor-wide"})
    sent = [c[1].get("password") for c in host.calls if c[0] == "linux_remove"]
    assert sent == ["k3sl!", None]
    host = FakeHost()
    step_on(make_action, host, step="remove", state=acting(HEALTHY, KESL), actions=[locked], passwords={"kaspersky": "vendor-wide"})
    assert [c[1].get("password") for c in host.calls if c[0] == "linux_remove"] == ["vendor-wide"]


def test_each_product_gets_its_vendors_directories(make_action, stored):
    host = FakeHost()
    step_on(make_action, host, step="remove", state=acting(), actions=[remove_action(KESL)],
            cleanups=[{"vendor": "other", "vendor_dirs": ["/opt/other"]}, {"vendor": "kaspersky", "vendor_dirs": ["/opt/kaspersky"]}])
    assert [c[1]["vendor_dirs"] for c in host.calls if c[0] == "linux_remove"] == [["/opt/kaspersky"]]


def test_a_store_that_fails_is_a_warning_not_a_failure(make_action, monkeypatch):
    def broken(variable_manager):
        raise OSError("disk full")
    monkeypatch.setattr(action_step, "FactStore", broken)
    monkeypatch.setattr(action_step, "HostFacts", lambda task_vars, loader=None: type("V", (), {"variable_manager": None})())
    host = FakeHost()
    result = step_on(make_action, host, step="remove", state=acting(HEALTHY, KESL, AGENT),
                     actions=[remove_action(KESL), remove_action(AGENT)])
    assert not result.get("failed") and any("disk full" in w for w in result["warnings"])


def test_the_outcome_stored_between_products_is_in_ansible_cores_own_fact_cache(make_action, make_fleet):
    """Through ansible-core's jsonfile cache (as a later job or a rerun reads it): the host's other
    facts kept, its outcome after the first product there while the second is being removed."""
    fleet = make_fleet({"all": {"hosts": {"kesl12": {}}}}, cached={"kesl12": {"divest": facts(KESL, AGENT), "other": 1}})
    seen = []

    class Host(FakeHost):
        def __call__(self, module_name=None, module_args=None, task_vars=None, **kwargs):
            if module_name.endswith("linux_remove") and module_args["product"] == "klnagent":
                seen.append(fleet.cached("kesl12"))          # what a killed run would leave
            return super(Host, self).__call__(module_name, module_args, task_vars, **kwargs)

    action = make_action(action_step, {"step": "remove", "state": acting(HEALTHY, KESL, AGENT),
                                       "actions": [remove_action(KESL), remove_action(AGENT)]})
    action._task.no_log = False
    action._execute_module = Host(linux_remove=[{"changed": True, "removed_packages": ["kesl"]},
                                                {"changed": True, "removed_packages": ["klnagent"]}])
    action._loader = fleet.loader
    result = action.run(task_vars=fleet.task_vars(inventory_hostname="kesl12"))
    assert not result.get("failed") and "warnings" not in result, result.get("warnings")
    stored = seen[0]
    assert stored["other"] == 1 and stored["divest"] == facts(KESL, AGENT)
    assert [r["product"] for r in stored["divest_outcome"]["removed"]] == ["kesl"]
    assert stored["divest_outcome"]["status"] == "running"


def test_an_awx_fact_file_that_cannot_be_written_between_products_is_a_warning(make_action, stored, monkeypatch):
    def unwritable(action, task_vars, result):
        result.setdefault("warnings", []).append("AWX's fact file of kesl12 was not updated now: disk full")
    monkeypatch.setattr(action_step, "hand_to_awx", unwritable)
    host = FakeHost()
    result = step_on(make_action, host, step="remove", state=acting(HEALTHY, KESL, AGENT),
                     actions=[remove_action(KESL), remove_action(AGENT)])
    assert not result.get("failed") and any("disk full" in w for w in result["warnings"])
