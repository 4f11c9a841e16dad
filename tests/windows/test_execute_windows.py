# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The execute flow on Windows, at playbook level, against stateful test doubles of the hosts.

identify (the Windows collector's double) -> plan -> execute --check -> execute, with the real
playbooks, roles and action plugins of the collection; every ``ansible.windows`` module and the
two PowerShell modules of the collection are answered by the doubles of ``tests/windows/doubles``,
which keep each host's state (installed products, Defender, pending restarts) and inject faults.
This is the level of checking Windows execute got: it never ran on Windows (docs/windows.md).

Hosts (one run, every wave at once):
* ``ws1``  KES (KLLOGIN/KLPASSWD) + Network Agent (KLUNINSTPASSWD), the right passwords: removed,
  restarted (3010), Defender active, Security Center lists it;
* ``ws2``  msiexec answers 1618 twice before it removes KES: retried, removed;
* ``ws3``  KES protected, a wrong password configured: 1603 with the vendor's log line, failed,
  nothing removed, KES still protects the host;
* ``ws4``  Defender stays disabled after the removal: unprotected, first in the report;
* ``ws5``  ``divest_windows_reboot: never``: reboot_pending; restarted by hand, a rerun finishes it;
* ``ws6``  the host does not come back from the restart: failed at the reboot step;
* ``ws7``  a restart was pending before execute (Windows Update): restarted first, then removed;
* ``ws8``  the Network Agent was uninstalled by hand after the plan: drifted, left alone;
* ``srv1`` Server 2016 with KSWS, Defender's feature not installed: installed, restarted, removed;
* ``clean1`` nothing of the vendor: not in the plan.
Then execute runs again with the same plan (idempotence: nothing is uninstalled twice).
"""

from __future__ import annotations

import json
import os
import pathlib

import pytest

import hosts
import winflow

KES_PW, AGENT_PW, WRONG_PW = "Sup3r-Secret!", "Agent-Pa55", "not-the-password"
SECRETS = (KES_PW, AGENT_PW, WRONG_PW, hosts.uninstall_password_hex(AGENT_PW),
           hosts.uninstall_password_hex(AGENT_PW).lower())


def _states():
    ws2 = hosts.workstation_kes_agent()
    ws7 = hosts.workstation_kes_agent()
    ws7["reboot_pending"], ws7["reboot_sources"] = True, ["windows_update"]
    kes = next(p for p in ws2["products"].values() if p["DisplayName"].startswith("Kaspersky Endpoint"))
    kes["exit_codes"] = [1618, 1618, 0]
    return {
        "ws1": hosts.workstation_kes_agent(password_protected=True, password=KES_PW, agent_password=AGENT_PW),
        "ws2": ws2,
        "ws3": hosts.workstation_kes_agent(password_protected=True, password=KES_PW),
        "ws4": hosts.workstation_kes_agent(faults=["defender_stays_disabled"]),
        "ws5": hosts.workstation_kes_agent(),
        "ws6": hosts.workstation_kes_agent(faults=["lost_on_reboot"]),
        "ws7": ws7,
        "ws8": hosts.workstation_kes_agent(),
        "srv1": hosts.server_ksws_agent(feature_installed=False, build=14393),
        "clean1": hosts.clean_workstation(),
    }


# the catalog's product ids: kes, klnagent-win
PASSWORDS = {"kaspersky/kes": KES_PW, "kaspersky/klnagent-win": AGENT_PW}


class Flow(object):
    def __init__(self, tmp, states=None):
        self.tmp = tmp
        states = states or _states()
        self.collections = winflow.build_collections(tmp / "collections")
        self.state = tmp / "state"
        winflow.write_states(self.state, states)
        self.inventory = winflow.write_inventory(tmp / "inventory.yml", list(states), variables={
            "divest_uninstall_passwords": PASSWORDS})
        # per-host settings, as group or host variables would give them
        self._host_vars({"ws3": {"divest_uninstall_passwords": {"kaspersky/kes": WRONG_PW}},
                         "ws5": {"divest_windows_reboot": "never"}})
        self.reports = tmp / "reports"
        self.runs = []

    def _host_vars(self, values):
        folder = pathlib.Path(self.inventory).parent / "host_vars"
        folder.mkdir(exist_ok=True)
        for host, variables in values.items():
            (folder / ("%s.yml" % host)).write_text(json.dumps(variables), encoding="utf-8")

    def run(self, playbook, check=False, limit=None, **extra):
        extra = dict({"divest_report_dir": str(self.reports), "divest_plan_scan": False,
                      "divest_canary_max_fail_percentage": 100, "divest_max_fail_percentage": 100,
                      "divest_windows_msi_retry_delay": 0, "divest_windows_reboot_timeout": 60}, **extra)
        run = winflow.run_playbook(playbook, self.inventory, extra_vars=extra, collections=self.collections,
                                   state_dir=self.state, work_dir=self.tmp, check=check, limit=limit, timeout=900)
        self.runs.append(run)
        assert run["rc"] == 0, run["stdout"][-6000:] + run["stderr"][-3000:]
        return run

    def outcome(self, host, cache=None):
        """The host's divest_outcome in the fact cache (ansible-core 2.19+ names the file s1_<host>
        and wraps the facts in a payload)."""
        for name in (host, "s1_" + host):
            path = pathlib.Path(cache or self.tmp / "facts") / name
            if path.exists():
                data = json.loads(path.read_text(encoding="utf-8"))
                if "__payload__" in data:
                    data = json.loads(data["__payload__"])
                return data["divest_outcome"]
        raise AssertionError("no cached facts for %s" % host)

    def host(self, name):
        return winflow.read_state(self.state, name)

    def digest(self):
        return json.loads((self.reports / "divest-plan.json").read_text(encoding="utf-8"))["digest"]


@pytest.fixture(scope="module")
def flow(tmp_path_factory):
    flow = Flow(tmp_path_factory.mktemp("winexec"))
    flow.run(winflow.PLAYBOOKS / "scan.yml")
    flow.run("fleetsec.divest.plan")
    # after the plan, someone uninstalls ws8's Network Agent by hand
    wd = winflow.windouble()
    with wd.locked_state(str(flow.state), "ws8") as state:
        agent = next(code for code, p in state["products"].items() if "Network Agent" in p["DisplayName"])
        wd.remove_product(state, agent)
    flow.check = flow.run("fleetsec.divest.execute", check=True, divest_plan_digest=flow.digest())
    flow.check_report = json.loads((flow.reports / "divest-execute-check.json").read_text(encoding="utf-8"))
    flow.real = flow.run("fleetsec.divest.execute", divest_plan_digest=flow.digest())
    flow.report = json.loads((flow.reports / "divest-execute.json").read_text(encoding="utf-8"))
    flow.outcomes = {h: flow.outcome(h) for h in ("ws1", "ws2", "ws3", "ws4", "ws6", "ws7", "ws8", "srv1")}
    flow.calls = {h: len(flow.host(h)["calls"]) for h in flow.outcomes}
    flow.again = flow.run("fleetsec.divest.execute", divest_plan_digest=flow.digest())
    return flow


def status(report, host):
    return next(h for h in report["hosts"] if h["name"] == host)["status"]


def products(state):
    return sorted(p["DisplayName"] for p in state["products"].values() if "Kaspersky" in p.get("Publisher", "")
                  or "Kaspersky" in p["DisplayName"])


def test_the_plan_has_every_affected_windows_host_and_leaves_the_clean_one_out(flow):
    plan = json.loads((flow.reports / "divest-plan.json").read_text(encoding="utf-8"))
    planned = {h["host"] for h in plan["hosts"]} if isinstance(plan.get("hosts"), list) else set(plan["hosts"])
    assert {"ws1", "ws2", "ws3", "ws4", "ws5", "ws6", "srv1"} <= planned and "clean1" not in planned


def test_check_mode_predicts_the_removals_and_the_restart_and_changes_nothing(flow):
    assert status(flow.check_report, "ws1") == "would_remove"
    reason = next(h for h in flow.check_report["hosts"] if h["name"] == "ws1")["reason"]
    assert "then restart Windows" in reason and "kes" in reason
    # nothing was uninstalled by the dry run (the real run below started from the same products)
    calls = [c for c in flow.host("ws2")["calls"] if c["module"] == "ansible.windows.win_package" and c.get("check_mode")]
    assert calls, "check mode asked win_package in check mode"


def test_the_right_passwords_remove_kes_and_the_agent_then_windows_restarts_and_defender_protects(flow):
    out = flow.outcomes["ws1"]
    assert out["status"] == "removed", out["reason"]
    assert out["protection"] == "replacement" and out["replacement"]["stage"] == "active"
    assert out["reboot"]["done"] is True and "Windows restarted" in out["reason"]
    assert "msiexec exit codes: kes 3010" in out["reason"]
    state = flow.host("ws1")
    assert products(state) == []
    info = winflow.windouble().defender_info(state)
    assert info["status"]["AntivirusEnabled"] and info["status"]["RealTimeProtectionEnabled"]
    assert [row["name"] for row in info["security_center"]] == ["Windows Defender"] or any(
        "Defender" in row["name"] for row in info["security_center"])


def test_1618_is_retried_until_msiexec_runs(flow):
    out = flow.outcomes["ws2"]
    assert out["status"] == "removed", out["reason"]
    tries = [c for c in flow.host("ws2")["calls"] if c["module"] == "ansible.windows.win_package" and not c.get("check_mode")]
    assert len(tries) >= 4  # KES three times (1618, 1618, 3010), the agent once


def test_a_wrong_password_fails_the_host_with_the_msi_error_and_removes_nothing(flow):
    out = flow.outcomes["ws3"]
    assert out["status"] == "failed" and out["step"] == "remove", out["reason"]
    assert "1603" in out["reason"] and out["removed"] == []
    assert out["protection"] == "vendor"
    assert "Kaspersky Endpoint Security for Windows" in products(flow.host("ws3"))


def test_defender_that_stays_disabled_makes_the_host_unprotected_first_in_the_report(flow):
    out = flow.outcomes["ws4"]
    assert out["status"] == "unprotected" and out["protection"] == "none", out["reason"]
    assert status(flow.report, "ws4") == "unprotected"
    by_status = flow.report["summary"]["by_status"]
    assert list(by_status)[0] == "unprotected" and by_status["unprotected"] == 1
    assert flow.report["summary"]["unprotected"] == 1 and flow.report["summary"]["done"] == 4  # ws1, ws2, ws7, srv1


def test_a_host_that_does_not_come_back_from_the_restart_is_not_green(flow):
    out = flow.outcomes["ws6"]
    assert out["status"] in ("failed", "unreachable") and out["step"] == "reboot", out["reason"]


def test_a_server_gets_defenders_feature_and_a_restart_before_the_removal(flow):
    out = flow.outcomes["srv1"]
    assert out["status"] == "removed", out["reason"]
    state = flow.host("srv1")
    assert state["features"]["Windows-Defender-Features"] == "installed"
    assert products(state) == []


def test_reboot_never_leaves_the_host_reboot_pending_and_a_rerun_after_the_restart_finishes_it(flow):
    out = flow.outcome("ws5")   # after two runs: still waiting for the restart
    assert out["status"] == "reboot_pending", out["reason"]
    assert [h["status"] for h in out["history"]] == ["reboot_pending", "reboot_pending"]
    assert "divest_windows_reboot: never" in out["reason"]
    # Defender takes over only with the restart here: said first, never hidden
    assert out["protection"] == "none" and out["reason"].startswith("NO working antivirus until Windows restarts")
    assert not any(c["module"] == "ansible.windows.win_reboot" for c in flow.host("ws5")["calls"])
    # the operator restarts the host, then runs execute again with the same plan
    wd = winflow.windouble()
    with wd.locked_state(str(flow.state), "ws5") as state:
        wd.reboot(state)
    flow.run("fleetsec.divest.execute", limit="ws5,localhost", divest_plan_digest=flow.digest())
    out = flow.outcome("ws5")
    assert out["status"] == "removed", out["reason"]
    assert [h["status"] for h in out["history"]][-2:] == ["reboot_pending", "removed"]


def test_no_password_reaches_the_output_the_facts_the_plan_or_the_reports(flow):
    texts = [r["stdout"] + r["stderr"] for r in flow.runs]
    texts += [p.read_text(encoding="utf-8", errors="replace") for p in (flow.tmp / "facts").iterdir()]
    texts += [p.read_text(encoding="utf-8", errors="replace") for p in flow.reports.iterdir() if p.is_file()]
    for secret in SECRETS:
        leaks = [t[max(0, t.find(secret) - 200):t.find(secret) + 50] for t in texts if secret in t]
        assert not leaks, "password %r leaked: %s" % (secret[:3], leaks[:1])


def test_nothing_outside_the_plan_was_touched(flow):
    for name in ("ws1", "ws2", "ws3", "ws4", "ws5", "ws6", "srv1", "clean1"):
        assert not flow.host(name).get("violations"), (name, flow.host(name).get("violations"))
    for name in ("ws1", "ws2", "clean1"):
        assert any("7-Zip" in p["DisplayName"] for p in flow.host(name)["products"].values()), name
    assert {c["module"] for c in flow.host("clean1")["calls"]} == {"fleetsec.divest.win_inventory_info"}


def test_a_restart_pending_before_execute_is_done_first(flow):
    out = flow.outcomes["ws7"]
    assert out["status"] == "removed", out["reason"]
    assert out["reboot"]["pending_before"] is True and out["reboot"]["done_before"] is True
    modules = [c["module"] for c in flow.host("ws7")["calls"] if not c.get("check_mode")]
    first_reboot = modules.index("ansible.windows.win_reboot")
    assert first_reboot < modules.index("ansible.windows.win_package")


def test_a_host_changed_since_the_plan_is_drifted_and_left_alone(flow):
    out = flow.outcomes["ws8"]
    assert out["status"] == "drifted", out["reason"]
    assert "Kaspersky Endpoint Security for Windows" in products(flow.host("ws8"))
    assert not [c for c in flow.host("ws8")["calls"] if c["module"] == "ansible.windows.win_package"]


def test_a_second_run_with_the_same_plan_uninstalls_nothing_twice(flow):
    for host in ("ws1", "ws2", "srv1"):
        out = flow.outcome(host)
        assert out["status"] == "removed", (host, out["reason"])
        new = flow.host(host)["calls"][flow.calls[host]:]
        assert not [c for c in new if c["module"] in ("ansible.windows.win_package", "ansible.windows.win_reboot")], host
        assert [h["status"] for h in out["history"]] == ["removed", "removed"], host
    # the failed host is tried again and fails the same way, still protected by KES
    assert flow.outcome("ws3")["status"] == "failed" and flow.outcome("ws3")["protection"] == "vendor"


def test_no_password_reaches_the_job_events_of_an_awx_job(tmp_path):
    """AWX stores every job event (ansible-runner's artifacts): the execute job of a host whose KES
    and Network Agent take passwords, with the passwords as extra variables the way an AWX
    credential injects them, leaves none in any event, the job's stdout or its artifacts."""
    ansible_runner = pytest.importorskip("ansible_runner")
    ws1 = hosts.workstation_kes_agent(password_protected=True, password=KES_PW, agent_password=AGENT_PW)
    flow = Flow(tmp_path, {"ws1": ws1})
    flow.run(winflow.PLAYBOOKS / "scan.yml")
    flow.run("fleetsec.divest.plan")
    env = {"ANSIBLE_CONFIG": str(winflow.REPO / "ansible.cfg"), "ANSIBLE_COLLECTIONS_PATH": flow.collections,
           "ANSIBLE_CACHE_PLUGIN": "jsonfile", "ANSIBLE_CACHE_PLUGIN_CONNECTION": str(tmp_path / "facts"),
           "DIVEST_WINDOUBLE_DIR": str(flow.state), "ANSIBLE_HOME": str(tmp_path / "ansible-home")}
    job = tmp_path / "job"
    (job / "project").mkdir(parents=True)
    # an AWX project's one-line wrapper (examples/awx-project)
    (job / "project" / "execute.yml").write_text("- ansible.builtin.import_playbook: fleetsec.divest.execute\n",
                                                 encoding="utf-8")
    env["PATH"] = "%s%s%s" % (winflow.VENV, os.pathsep, os.environ.get("PATH", ""))
    result = ansible_runner.run(
        private_data_dir=str(job), playbook="execute.yml", inventory=str(flow.inventory),
        extravars={"divest_plan_digest": flow.digest(), "divest_report_dir": str(flow.reports),
                   "divest_uninstall_passwords": PASSWORDS, "divest_windows_msi_retry_delay": 0},
        envvars=env, quiet=True)
    assert result.rc == 0, result.stdout.read()[-3000:]
    # ansible-runner keeps the job's fact cache among its artifacts, as AWX reads it back
    cache = next((job / "artifacts").glob("*/fact_cache"))
    assert flow.outcome("ws1", cache)["status"] == "removed", flow.outcome("ws1", cache)["reason"]
    events = list(result.events)
    assert len(events) > 50
    texts = [json.dumps(event) for event in events]
    texts += [p.read_text(encoding="utf-8", errors="replace") for p in (job / "artifacts").rglob("*") if p.is_file()
              and p.name != "env" and "env" not in p.parts]
    for secret in SECRETS:
        assert not [t for t in texts if secret in t], "password %r in the job's events or artifacts" % secret[:3]


def test_defender_is_read_once_before_its_steps_and_again_after_a_restart(flow):
    """reboot-first.yml's read is handed to the Defender role (no second round trip for the same
    answer); after a restart the role reads again, as the state changed."""
    def first_run(host):
        calls = [c["module"] for c in flow.host(host)["calls"] if not c.get("check_mode")]
        return calls[:calls.index("ansible.windows.win_package")]
    ws1 = first_run("ws1")
    start = ws1.index("fleetsec.divest.win_defender_info")
    assert ws1[start + 1] != "fleetsec.divest.win_defender_info", ws1
    ws7 = first_run("ws7")
    reboot = ws7.index("ansible.windows.win_reboot")
    assert "fleetsec.divest.win_defender_info" in ws7[reboot + 1:], ws7
