# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A host's execute outcome, step by step (plugin_utils/_outcome.py), driven the way the
execute role drives it: never unprotected, reruns that converge, history kept."""

import copy
import json

import pytest

from ansible_collections.fleetsec.divest.plugins.plugin_utils import _outcome

DIGEST = "sha256:" + "a" * 64
OTHER = "sha256:" + "b" * 64
T0, T1, T2 = "2026-12-30T10:00:00Z", "2026-12-30T10:01:00Z", "2026-12-30T10:02:00Z"


def finding(product, role="protection", state="installed", version="1"):
    return {"vendor": "kaspersky", "product": product, "name": product, "role": role, "state": state,
            "version": version, "evidence": [{"kind": "package", "name": product}]}


KESL, AGENT, WEBC, KSC = (finding("kesl"), finding("klnagent", "agent"), finding("ksc-web-console", "management"),
                          finding("ksc64", "management"))


def facts(*findings, status=None):
    if status is None:
        status = "affected" if any(f["state"] == "installed" for f in findings) else ("residual" if findings else "clean")
    return {"schema": 1, "status": status, "findings": list(findings), "scan": {"errors": []}}


def expect(*findings):
    return [{"vendor": f["vendor"], "product": f["product"], "version": f["version"], "state": f["state"]}
            for f in findings]


def part(*findings, replacement="clamav", platform="linux", blockers=()):
    return {"wave": "canary", "platform": platform, "replacement": replacement, "expect": expect(*findings),
            "blockers": list(blockers)}


HEALTHY = {"product": "clamav", "healthy": True, "checked": True, "reason": "clamd answers and detects EICAR",
           "version": "1.4.3"}
MASKED = {"product": "clamav", "healthy": False, "checked": True,
          "reason": "clamd is masked: its unit clamav-daemon was masked on this host"}
NOT_INSTALLED_CHECK = {"product": "clamav", "healthy": False, "checked": False,
                       "reason": "check mode: would install clamav, clamav-daemon; health not checked"}


def begin(p, previous=None, run_id="run2", check=False):
    return _outcome.start(p, previous, {"digest": DIGEST, "run_id": run_id}, T0, check_mode=check)


def removal(product, packages):
    return {"changed": True, "removed_packages": packages, "counts": {"packages": len(packages), "services": 1}}


def action(f):
    return {"vendor": f["vendor"], "product": f["product"], "version": f["version"], "state": f["state"]}


def act_all(state, *findings, health="healthy"):
    health = HEALTHY if health == "healthy" else health
    state = _outcome.replacement(state, health)
    for f in findings:
        state = _outcome.removed(state, action(f), removal(f["product"], [f["product"]]), T1)
    state = _outcome.changed(state, "remove", [])
    state = _outcome.changed(state, "cleanup", [{"counts": {"repos": 1}}])
    state = _outcome.changed(state, "block_reinstall", [{"counts": {"block": 1}}])
    return state


def stored(state):
    """What goes to the fact cache, through JSON."""
    return json.loads(json.dumps(_outcome.running(state)))


# ------------------------------------------------------------------------------ happy path

def test_as_planned_the_host_ends_removed_with_its_history():
    state = _outcome.scanned(begin(part(KESL, AGENT)), facts(KESL, AGENT))
    assert state["run"]["mode"] == "act" and state["outcome"]["step"] == "replacement"
    state = act_all(state, KESL, AGENT)
    state = _outcome.verified(state, facts(), HEALTHY)
    out = _outcome.finish(state, T2)["outcome"]
    assert out["status"] == "removed" and out["protection"] == "replacement" and out["step"] == "done"
    assert [r["product"] for r in out["removed"]] == ["kesl", "klnagent"]
    assert all(r["run_id"] == "run2" and r["at"] == T1 for r in out["removed"])
    assert out["changes"] == {"packages": 2, "services": 2, "repos": 1, "block": 1}
    assert out["history"] == [{"run_id": "run2", "started_at": T0, "finished_at": T2, "status": "removed",
                               "step": "done", "removed": ["kesl", "klnagent"]}]
    assert "removed kesl, klnagent" in out["reason"] and "ClamAV healthy" in out["reason"]
    assert "\n" not in out["reason"]


# ---------------------------------------------------------------------- never unprotected

def test_a_replacement_that_breaks_after_the_removal_makes_the_host_unprotected_not_healthy():
    state = act_all(_outcome.scanned(begin(part(KESL)), facts(KESL)), KESL)
    state = _outcome.verified(state, facts(), None)         # the clamav role failed before it returned
    state = _outcome.failed(state, "verify", MASKED["reason"], health=MASKED)
    out = _outcome.finish(state, T2)["outcome"]
    assert out["status"] == "unprotected" and out["protection"] == "none"
    # the health that failed, never the one taken before the removal
    assert out["replacement"]["healthy"] is False and "masked" in out["replacement"]["reason"]
    assert out["reason"].startswith("no working antivirus") and "was: failed: verify" in out["reason"]


def test_a_rerun_checks_the_replacement_of_an_already_clean_host():
    previous = _outcome.finish(_outcome.verified(act_all(_outcome.scanned(begin(part(KESL), run_id="run1"),
                                                                          facts(KESL)), KESL),
                                                 facts(), HEALTHY), T1)["outcome"]
    state = _outcome.scanned(begin(part(KESL), previous=stored_outcome(previous)), facts())
    assert state["run"]["mode"] == "converge"          # not "nothing to do": the end state is checked
    state = _outcome.replacement(state, MASKED)
    state = _outcome.failed(state, "replacement", MASKED["reason"], health=MASKED)
    out = _outcome.finish(state, T2)["outcome"]
    assert out["status"] == "unprotected"
    assert [h["status"] for h in out["history"]] == ["removed", "unprotected"]
    assert [r["product"] for r in out["removed"]] == ["kesl"]           # run 1's removal is kept


def stored_outcome(outcome):
    return json.loads(json.dumps(outcome))


def test_a_failed_replacement_with_the_vendor_still_there_failed_safely():
    state = _outcome.scanned(begin(part(KESL, AGENT)), facts(KESL, AGENT))
    bad = {"product": "clamav", "healthy": False, "checked": True, "reason": "repository unreachable: ..."}
    state = _outcome.failed(state, "replacement", bad["reason"], health=bad)
    out = _outcome.finish(state, T2)["outcome"]
    assert out["status"] == "failed" and out["protection"] == "vendor"
    assert out["reason"] == "replacement: repository unreachable: ...; nothing was removed"
    assert out["removed"] == []


def test_a_failed_removal_after_a_healthy_replacement_stays_failed_and_protected():
    state = _outcome.replacement(_outcome.scanned(begin(part(KESL, AGENT)), facts(KESL, AGENT)), HEALTHY)
    state = _outcome.removed(state, action(KESL), removal("kesl", ["kesl"]), T1)
    state = _outcome.failed(state, "remove", "klnagent: dpkg --purge klnagent64 failed (exit 1)")
    out = _outcome.finish(state, T2)["outcome"]
    assert out["status"] == "failed" and out["protection"] == "replacement"
    assert out["reason"].endswith("removed before the failure: kesl")


@pytest.mark.parametrize("now, health, status", [
    (facts(AGENT), MASKED, "unprotected"),            # the protection product went away by itself
    (facts(AGENT), HEALTHY, "drifted"),
    (facts(KESL, AGENT, finding("kess")), MASKED, "drifted"),   # a protection product is still there
])
def test_a_drifted_host_is_checked_and_unprotected_when_nothing_protects_it(now, health, status):
    state = _outcome.scanned(begin(part(KESL, AGENT)), now)
    assert state["run"]["mode"] == "check" and state["outcome"]["status"] == "drifted"
    state = _outcome.replacement(state, health)
    out = _outcome.finish(state, T2)["outcome"]
    assert out["status"] == status


def test_a_waived_replacement_is_not_unprotected():
    state = _outcome.scanned(begin(part(KESL, replacement="none")), facts(KESL))
    state = act_all(state, KESL, health=None)
    state = _outcome.verified(state, facts(), None)
    out = _outcome.finish(state, T2)["outcome"]
    assert out["status"] == "removed" and out["protection"] == "waived"
    assert "no replacement (waived in the plan)" in out["reason"]


def test_an_unreachable_host_is_not_called_unprotected():
    state = _outcome.failed(begin(part(KESL)), "re-identify", "ssh: connect timed out", down=True)
    out = _outcome.finish(state, T2)["outcome"]
    assert out["status"] == "unreachable" and out["protection"] is None


# ------------------------------------------------------------------------ reruns converge

def killed_run():
    """Run 1 removed the Network Agent and the web console, then was killed while removing KSC."""
    state = _outcome.scanned(begin(part(AGENT, WEBC, KSC), run_id="run1"), facts(AGENT, WEBC, KSC))
    state = _outcome.replacement(state, HEALTHY)
    state = _outcome.removed(state, action(AGENT), removal("klnagent", ["klnagent64"]), T1)
    state = _outcome.removed(state, action(WEBC), removal("ksc-web-console", ["ksc-web-console"]), T1)
    return stored(state)          # the last thing the fact cache got; status still running


def journal(**products):
    return {"plans": {DIGEST: {"products": {"kaspersky/%s" % k: v for k, v in products.items()}}}}


@pytest.mark.parametrize("now, journal_entries", [
    (facts(KSC), {}),                                               # killed between two removals
    (facts(), {"ksc64": {"state": "removing", "run_id": "run1"}}),  # killed while dpkg removed ksc64
    (facts(finding("ksc64", "management", "residual")), {"ksc64": {"state": "removing", "run_id": "run1"}}),
])
def test_a_killed_run_is_finished_by_a_rerun_of_the_same_plan(now, journal_entries):
    previous = killed_run()
    assert previous["status"] == "running" and [h["status"] for h in previous["history"]] == ["running"]
    state = _outcome.scanned(begin(part(AGENT, WEBC, KSC), previous=previous), now, journal(**journal_entries))
    assert state["run"]["drift"]["state"] in ("match", "clean"), state["run"]["drift"]
    assert state["run"]["mode"] in ("act", "converge")
    state = _outcome.replacement(state, HEALTHY)
    if state["run"]["mode"] == "act":
        for f in (AGENT, WEBC):
            state = _outcome.removed(state, action(f), {"changed": False, "removed_packages": []}, T2)
        state = _outcome.removed(state, action(KSC), removal("ksc64", ["ksc64"] if now["findings"] else []), T2)
    state = _outcome.changed(_outcome.changed(_outcome.changed(state, "remove", []), "cleanup", []), "block_reinstall", [])
    out = _outcome.finish(_outcome.verified(state, facts(), HEALTHY), T2)["outcome"]
    assert out["status"] == "removed"
    by_product = {r["product"]: r["run_id"] for r in out["removed"]}
    assert by_product["klnagent"] == "run1" and by_product["ksc-web-console"] == "run1"
    assert [h["run_id"] for h in out["history"]] == ["run1", "run2"]
    assert out["history"][0]["removed"] == ["klnagent", "ksc-web-console"]
    assert "removed by an earlier run of this plan: klnagent, ksc-web-console" in out["reason"]


def test_the_host_journal_carries_the_record_when_the_fact_cache_lost_it():
    entries = {"klnagent": {"state": "removed", "run_id": "run1", "at": T1, "packages": ["klnagent64"]},
               "ksc-web-console": {"state": "removed", "run_id": "run1", "at": T1, "packages": ["ksc-web-console"]}}
    state = _outcome.scanned(begin(part(AGENT, WEBC, KSC), previous=None), facts(KSC), journal(**entries))
    assert state["run"]["mode"] == "act"
    removed = {r["product"]: r for r in state["outcome"]["removed"]}
    assert removed["klnagent"]["source"] == "host journal" and removed["klnagent"]["packages"] == ["klnagent64"]
    # a journal of another plan is not this plan's progress
    other = {"plans": {OTHER: journal(**entries)["plans"][DIGEST]}}
    assert _outcome.scanned(begin(part(AGENT, WEBC, KSC)), facts(KSC), other)["outcome"]["status"] == "drifted"


def test_an_outcome_of_another_plan_or_a_dry_run_is_not_carried_over():
    previous = killed_run()
    assert begin(part(KESL), previous=dict(previous, digest=OTHER))["outcome"]["removed"] == []
    assert begin(part(KESL), previous=dict(previous, check_mode=True))["outcome"]["history"] == []


def test_history_is_bounded_and_counts_what_it_dropped():
    previous = {"digest": DIGEST, "check_mode": False, "removed": [],
                "history": [{"run_id": "r%d" % i, "status": "failed"} for i in range(_outcome.MAX_HISTORY)]}
    state = _outcome.scanned(begin(part(KESL), previous=previous, run_id="new"), facts())
    state = _outcome.changed(_outcome.changed(_outcome.replacement(state, HEALTHY), "cleanup", []), "block_reinstall", [])
    out = _outcome.finish(_outcome.verified(state, facts(), HEALTHY), T2)["outcome"]
    assert len(out["history"]) == _outcome.MAX_HISTORY and out["history"][-1]["run_id"] == "new"
    assert out["history_dropped"] == 1 and out["status"] == "already_clean"


def test_a_rerun_that_restores_the_block_of_a_clean_host_says_so():
    state = _outcome.scanned(begin(part(KESL)), facts())
    state = _outcome.replacement(state, HEALTHY)
    state = _outcome.changed(_outcome.changed(state, "cleanup", []), "block_reinstall", [{"counts": {"block": 1}}])
    out = _outcome.finish(_outcome.verified(state, facts(), HEALTHY), T2)["outcome"]
    assert out["status"] == "already_clean" and out["changes"] == {"block": 1}
    assert "reinstall block written" in out["reason"] and "nothing of the vendor found" in out["reason"]


# ---------------------------------------------------------------------------- drift texts

def test_drift_allowed_reasons_say_what_stayed_and_what_was_already_gone():
    state = _outcome.scanned(begin(part(KESL, AGENT)), facts(KESL, finding("kess")), allow_drift=True)
    assert state["run"]["mode"] == "act"
    state = act_all(state, KESL)
    out = _outcome.finish(_outcome.verified(state, facts(finding("kess")), HEALTHY, expect(KESL, AGENT), True),
                          T2)["outcome"]
    assert out["status"] == "removed"
    assert "products not in the plan stay (drift allowed): kaspersky/kess 1" in out["reason"]
    assert "already gone before this run: kaspersky/klnagent 1" in out["reason"]


def test_an_incomplete_scan_does_nothing():
    state = _outcome.scanned(begin(part(KESL)), dict(facts(), status="unknown",
                                                     scan={"errors": [{"section": "paths", "message": "EACCES /opt"}]}))
    out = _outcome.finish(state, T2)["outcome"]
    assert state["run"]["mode"] == "stop" and out["status"] == "failed" and "paths: EACCES /opt" in out["reason"]


# ------------------------------------------------------------------------- blocked, check

@pytest.mark.parametrize("kwargs, fragment", [
    ({"blockers": [{"kind": "exception", "message": "exception until 2027-01-01: freeze"}]}, "freeze"),
    ({"platform": "macos"}, "no steps for this host's platform (macos)"),
])
def test_blocked_hosts_end_at_once(kwargs, fragment):
    state = begin(part(KESL, **kwargs))
    assert state["run"]["mode"] == "stop"
    out = _outcome.finish(state, T2)["outcome"]
    assert out["status"] == "blocked" and fragment in out["reason"] and out["protection"] is None


def test_check_mode_predicts_and_keeps_no_history():
    state = _outcome.scanned(begin(part(KESL), check=True), facts(KESL))
    state = act_all(state, KESL, health=NOT_INSTALLED_CHECK)
    out = _outcome.finish(state, T2)["outcome"]
    assert out["status"] == "would_remove" and out["check_mode"] is True and out["history"] == []
    assert out["reason"].startswith("check mode: would install ClamAV, then remove kesl (packages: kesl)")
    # a replacement check mode found broken on a host the vendor already left: unprotected, predicted
    state = _outcome.scanned(begin(part(KESL), check=True), facts())
    state = _outcome.failed(_outcome.replacement(state, MASKED), "replacement", MASKED["reason"], health=MASKED)
    assert _outcome.finish(state, T2)["outcome"]["status"] == "unprotected"


def test_the_state_survives_json_and_is_not_modified_in_place():
    state = _outcome.scanned(begin(part(KESL)), facts(KESL))
    before = copy.deepcopy(state)
    json.loads(json.dumps(state))
    _outcome.running(state)
    assert state == before


def test_a_replacement_failing_before_the_scan_after_was_recorded_is_still_unprotected():
    """The removal went through, then ClamAV failed its check: even without a scan after the
    work, what this plan removed is gone, so the vendor no longer protects the host."""
    state = act_all(_outcome.scanned(begin(part(KESL)), facts(KESL)), KESL)
    state = _outcome.failed(state, "verify", MASKED["reason"], health=MASKED)
    out = _outcome.finish(state, T2)["outcome"]
    assert out["status"] == "unprotected" and out["protection"] == "none"


def test_a_rerun_that_only_tidies_keeps_the_run_that_removed_the_product():
    previous = killed_run()
    state = _outcome.scanned(begin(part(AGENT, WEBC, KSC), previous=previous), facts(KSC))
    state = _outcome.replacement(state, HEALTHY)
    tidy = {"changed": True, "removed_packages": [], "counts": {"residue": 1, "processes": 1}}
    state = _outcome.removed(state, action(AGENT), tidy, T2)
    removed = {r["product"]: r["run_id"] for r in state["outcome"]["removed"]}
    assert removed["klnagent"] == "run1" and state["run"]["removed_now"] == []
    assert state["outcome"]["changes"] == {"residue": 1, "processes": 1}


def test_the_scan_after_the_work_and_the_health_are_recorded_separately():
    state = act_all(_outcome.scanned(begin(part(KESL)), facts(KESL)), KESL)
    state = _outcome.verified(state, facts(), None)
    assert state["run"]["verdict"]["ok"] and state["outcome"]["replacement"]["healthy"] is True
    state = _outcome.verified(state, None, MASKED)
    assert state["run"]["verdict"]["ok"] and state["outcome"]["replacement"]["healthy"] is False


# ------------------------------------------------------------------------------------ Windows
# The Windows steps (roles/execute/tasks/windows/) drive the same functions: Defender instead of
# ClamAV, msiexec results (win_remove), the removing record and restarts.

KES, NAGENT = finding("kes"), finding("network-agent", "agent")
READY = {"product": "defender", "healthy": True, "checked": True, "stage": "ready",
         "reason": "Microsoft Defender is ready to take over (engine 4.18, signatures 0 days old)"}
ACTIVE = {"product": "defender", "healthy": True, "checked": True, "stage": "active",
          "reason": "Microsoft Defender is active, real-time protection on, signatures 0 days old"}
DISABLED = {"product": "defender", "healthy": False, "checked": True, "stage": "active",
            "reason": "Microsoft Defender is not active: AntivirusEnabled is false (policy DisableAntiSpyware = 1)"}


def msi(code, rc, reboot=False, result=None):
    return {"changed": True, "removed": True, "reboot_required": reboot, "counts": {"msi": 1},
            "codes": [{"product_code": code, "rc": rc, "attempts": 1,
                       "result": result or ("reboot_required" if reboot else "removed")}]}


def win_run(state, reboot_policy="when_required", rebooted=True, after=None, health=None):
    """The Windows steps after re-identify, as windows.yml runs them."""
    health = ACTIVE if health is None else health
    state = _outcome.replacement(state, READY)
    state = _outcome.removing(state, action(KES), T1)
    state = _outcome.removed(state, action(KES), msi("{KES-CODE}", 3010, reboot=True), T1)
    state = _outcome.removing(state, action(NAGENT), T1)
    state = _outcome.removed(state, action(NAGENT), msi("{AGENT-CODE}", 0), T1)
    state = _outcome.changed(state, "remove", [])
    assert state["outcome"]["step"] == "reboot"
    state = _outcome.rebooted(state, {"changed": True, "rebooted": True} if rebooted else {"skipped": True}, reboot_policy)
    state = _outcome.changed(state, "cleanup", [{"counts": {"residue": 2}}])
    assert state["outcome"]["step"] == "verify"
    state = _outcome.verified(state, after if after is not None else facts(), None, expect(KES, NAGENT))
    return _outcome.verified(state, None, health, expect(KES, NAGENT))


def test_a_windows_host_is_removed_restarted_and_verified_with_defender_active():
    state = _outcome.scanned(begin(part(KES, NAGENT, replacement="defender", platform="windows")), facts(KES, NAGENT))
    assert state["run"]["mode"] == "act"
    out = _outcome.finish(win_run(state), T2)["outcome"]
    assert out["status"] == "removed" and out["protection"] == "replacement"
    assert "msiexec exit codes: kes 3010, network-agent 0" in out["reason"] and "Windows restarted" in out["reason"]
    assert "Microsoft Defender healthy" in out["reason"]
    assert [r["packages"] for r in out["removed"]] == [["{KES-CODE}"], ["{AGENT-CODE}"]]
    assert out["removing"] == [] and out["reboot"]["done"] is True and out["changes"] == {"msi": 2, "residue": 2}


def test_reboot_never_leaves_the_host_reboot_pending_and_a_rerun_after_the_restart_finishes_it():
    state = _outcome.scanned(begin(part(KES, NAGENT, replacement="defender", platform="windows")), facts(KES, NAGENT))
    out = _outcome.finish(win_run(state, "never", rebooted=False, health=READY), T2)["outcome"]
    assert out["status"] == "reboot_pending" and out["step"] == "reboot"
    assert "Windows must restart" in out["reason"] and "divest_windows_reboot: never" in out["reason"]
    assert "kes, network-agent" in out["reason"]
    # the operator restarts the host; the rerun with the same plan finds the drivers' residue only
    residual = dict(KES, state="residual")
    state = _outcome.scanned(begin(part(KES, NAGENT, replacement="defender", platform="windows"), previous=stored_out(out),
                                   run_id="run3"), facts(residual))
    assert state["run"]["mode"] == "act", state["run"]["drift"]
    state = _outcome.replacement(state, ACTIVE)
    state = _outcome.changed(state, "remove", [])
    state = _outcome.rebooted(state, {"skipped": True}, "never")
    state = _outcome.changed(state, "cleanup", [{"counts": {"residue": 3}}])
    state = _outcome.verified(state, facts(), ACTIVE, expect(KES, NAGENT))
    out = _outcome.finish(state, T2)["outcome"]
    assert out["status"] == "removed" and out["protection"] == "replacement"
    assert [h["status"] for h in out["history"]] == ["reboot_pending", "removed"]


def stored_out(outcome):
    return json.loads(json.dumps(outcome))


def test_defender_that_cannot_be_made_active_leaves_the_host_unprotected_not_failed():
    state = _outcome.scanned(begin(part(KES, replacement="defender", platform="windows")), facts(KES))
    out = _outcome.finish(win_run(state, health=DISABLED), T2)["outcome"]
    assert out["status"] == "unprotected" and out["protection"] == "none"
    assert "DisableAntiSpyware" in out["reason"]


def test_a_run_killed_while_msiexec_runs_is_finished_by_the_same_plan_not_called_drift():
    state = _outcome.scanned(begin(part(KES, NAGENT, replacement="defender", platform="windows")), facts(KES, NAGENT))
    state = _outcome.replacement(state, READY)
    state = _outcome.removing(state, action(KES), T1)
    killed = stored(state)          # the fact cache as the killed run left it
    assert [r["product"] for r in killed["removing"]] == ["kes"] and killed["removed"] == []
    # KES is gone now (msiexec finished after the controller died); the agent is still there
    state = _outcome.scanned(begin(part(KES, NAGENT, replacement="defender", platform="windows"), previous=killed,
                                   run_id="run3"), facts(NAGENT))
    assert state["run"]["mode"] == "act" and state["outcome"]["status"] == "running"
    # without the record the same host is drifted
    state = _outcome.scanned(begin(part(KES, NAGENT, replacement="defender", platform="windows"), run_id="run3"),
                             facts(NAGENT))
    assert state["outcome"]["status"] == "drifted"


def test_check_mode_on_windows_says_it_would_restart():
    state = _outcome.scanned(begin(part(KES, replacement="defender", platform="windows"), check=True), facts(KES))
    state = _outcome.replacement(state, dict(READY, healthy=False, checked=False, reason="check mode"))
    state = _outcome.removed(state, action(KES), msi("{KES-CODE}", None, reboot=True, result="would_remove"), T1)
    out = _outcome.finish(state, T2)["outcome"]
    assert out["status"] == "would_remove" and ", then restart Windows" in out["reason"]
    assert out["history"] == []


def test_removing_is_not_recorded_outside_act_mode():
    state = _outcome.scanned(begin(part(KES, replacement="defender", platform="windows")), facts())
    assert state["run"]["mode"] == "converge"
    state = _outcome.removing(state, action(KES), T1)
    assert state["outcome"]["removing"] == []


@pytest.mark.parametrize("result, policy, expected", [
    ({"changed": True, "rebooted": True}, "when_required", "removed"),    # restarted first, then the work
    ({"skipped": True}, "never", "reboot_pending"),                       # never: the host waits for it
])
def test_a_restart_pending_before_execute(result, policy, expected):
    state = _outcome.scanned(begin(part(KES, replacement="defender", platform="windows")), facts(KES))
    state = _outcome.rebooted(state, result, policy, before=True, pending=True)
    assert state["outcome"]["reboot"]["pending_before"] is True
    state = _outcome.replacement(state, READY)
    state = _outcome.removed(state, action(KES), msi("{KES-CODE}", 0), T1)
    state = _outcome.changed(state, "remove", [])
    state = _outcome.rebooted(state, {"skipped": True}, policy)
    state = _outcome.changed(state, "cleanup", [])
    state = _outcome.verified(state, facts(), ACTIVE, expect(KES))
    out = _outcome.finish(state, T2)["outcome"]
    assert out["status"] == expected, out["reason"]


def test_no_restart_pending_before_records_nothing():
    state = _outcome.scanned(begin(part(KES, replacement="defender", platform="windows")), facts(KES))
    assert _outcome.rebooted(state, {"skipped": True}, "when_required", before=True, pending=False)["outcome"]["reboot"] is None


# ------------------------------------------------------------ the steps of a Linux host (linux_step)

@pytest.mark.parametrize("mode, check, enabled, expected", [
    ("act", False, True, {"identify", "remove", "cleanup", "block", "verify"}),
    ("act", True, True, {"identify", "remove", "cleanup", "block"}),       # check mode verifies nothing
    ("act", False, False, {"identify", "remove", "cleanup", "verify"}),    # divest_block_reinstall: false
    ("converge", False, True, {"identify", "cleanup", "block", "verify"}),
    ("check", False, True, {"identify"}),
    ("stop", False, True, set()),
])
def test_which_linux_steps_run_in_each_mode(mode, check, enabled, expected):
    state = begin(part(KESL))
    state["run"]["mode"] = mode
    assert {s for s in _outcome.LINUX_STEPS if _outcome.runs(state, s, check_mode=check, enabled=enabled)} == expected


def test_a_step_that_begins_names_itself_so_a_failure_is_recorded_at_it():
    state = _outcome.scanned(begin(part(KESL)), facts(KESL))
    state = _outcome.replacement(state, HEALTHY)
    for step, name in (("cleanup", "cleanup"), ("block", "block_reinstall"), ("verify", "verify")):
        _outcome.begin(state, step)
        assert state["outcome"]["step"] == name
        failed = _outcome.failed(copy.deepcopy(state), state["outcome"]["step"], "boom")
        assert failed["outcome"]["reason"].startswith(name + ": boom")


@pytest.mark.parametrize("health, check, refused", [
    (HEALTHY, False, None),
    (MASKED, False, MASKED["reason"]),
    (None, False, "no health check result"),
    (NOT_INSTALLED_CHECK, True, None),     # check mode may not know yet
])
def test_the_guard_removes_nothing_while_the_replacement_is_not_proven(health, check, refused):
    state = _outcome.scanned(begin(part(KESL), check=check), facts(KESL))
    state = _outcome.replacement(state, health)
    assert _outcome.guard(state, check_mode=check) == refused


def test_the_guard_lets_a_waived_replacement_through():
    state = _outcome.scanned(begin(part(KESL, replacement="none")), facts(KESL))
    state = _outcome.replacement(state, None)
    assert _outcome.guard(state) is None


@pytest.mark.parametrize("health, mode, replacement, repair", [
    (HEALTHY, "act", "clamav", False),
    (MASKED, "act", "clamav", True),       # the role runs again: it heals clamd or says why not
    (None, "converge", "clamav", True),    # no probe settings known (the replacement step did not run)
    (MASKED, "act", "none", False),        # waived: nothing to repair
    (MASKED, "check", "clamav", False),
])
def test_verify_repairs_a_replacement_its_check_did_not_prove(health, mode, replacement, repair):
    state = begin(part(KESL, replacement=replacement))
    state["run"]["mode"] = mode
    assert _outcome.needs_repair(state, health) is repair


def test_the_verdict_of_the_scan_after_fails_the_verify_step():
    state = act_all(_outcome.scanned(begin(part(KESL)), facts(KESL)), KESL)
    assert _outcome.verdict_failure(state) is None          # not scanned yet
    clean = _outcome.verified(copy.deepcopy(state), facts(), None)
    assert _outcome.verdict_failure(clean) is None
    left = _outcome.verified(copy.deepcopy(state), facts(finding("kesl", state="residual")), None)
    assert _outcome.verdict_failure(left).startswith("still found after the removal: kaspersky/kesl")
