"""Execute when things go wrong: what each host went through, what the reports say, and plans
that are not the approved one (refused before any host is touched)."""

import json
import os
import subprocess
from pathlib import Path

import pytest

import eicar
import testlib

SCENARIO = "xfaults"
SCENARIO_DIR = Path(__file__).resolve().parents[1]
EPHEMERAL = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])
REPORTS = EPHEMERAL / "reports"


def host(name):
    return testlib.container(SCENARIO, name)


def report(run):
    return json.loads((REPORTS / run / "divest-execute.json").read_text(encoding="utf-8"))


def by_host(rep):
    return {h["name"]: h for h in rep["hosts"]}


def vendor_packages(name):
    return {n: p["status"] for n, p in testlib.vendor_packages(testlib.snapshot(host(name))).items()}


def detects_eicar(h):
    script = ("import subprocess, sys; p = subprocess.run(['clamdscan', '--no-summary', '-'], "
              "input=''.join(sys.argv[1:]).encode(), capture_output=True); "
              "print(p.stdout.decode().strip()); sys.exit(p.returncode)")
    res = testlib.sh(h, "python3", "-c", script, *eicar.PIECES)
    return res.rc == 1 and res.stdout.strip().endswith("FOUND")


# ---- run A: the canary's uninstall script fails ------------------------------------------

def test_run_a_failed_canary_stops_the_later_waves():
    rep = report("run-a")
    hosts = by_host(rep)
    canary = hosts["f1-prerm"]
    assert canary["status"] == "failed"
    assert canary["reason"].startswith("remove: kesl: dpkg --purge kesl failed (exit 1): "
                                       "kesl: could not stop Kaspersky Endpoint Security tasks")
    assert canary["replacement"]["healthy"] is True
    for name in ("f2-norepo", "f3-drift", "f4-gone"):
        assert hosts[name]["status"] == "not_started", hosts[name]
        assert hosts[name]["reason"] == "the run stopped after wave canary (too many failures there)"
    assert rep["summary"]["stopped_after"] == "canary"


# ---- run B: the rerun finishes the canary; wave-1 meets the other faults -----------------

def test_run_b_outcomes():
    hosts = by_host(report("run-b"))
    assert {n: h["status"] for n, h in hosts.items()} == {
        "f1-prerm": "removed", "f2-norepo": "failed", "f3-drift": "drifted", "f4-gone": "unreachable"}
    assert hosts["f2-norepo"]["reason"].startswith("replacement: repository unreachable")
    assert hosts["f2-norepo"]["reason"].endswith("nothing was removed")
    assert hosts["f2-norepo"]["removed"] == []
    assert hosts["f3-drift"]["reason"].startswith("new since the plan: kaspersky/klnagent 15.4.0.8873")
    assert hosts["f4-gone"]["reason"].startswith("re-identify: the host does not answer (")
    assert report("run-b")["summary"]["stopped_after"] is None


def test_rerun_finished_the_canary_and_killed_the_stray_agent():
    h = host("f1-prerm")
    snap = testlib.snapshot(h, ("kesl", "klnagent64"))
    assert testlib.vendor_packages(snap) == {}
    assert [p for p in snap["processes"] if p["comm"] == "klnagent" or "/kaspersky/" in p["exe"]] == []
    assert not any(testlib.paths_exist(h, *testlib.KASPERSKY_DIRS).values())
    assert detects_eicar(h)
    assert h.file("/etc/apt/preferences.d/divest-kaspersky.pref").exists


def test_replacement_failure_removed_nothing():
    h = host("f2-norepo")
    assert vendor_packages("f2-norepo") == {"kesl": "ii"}
    assert h.run("systemctl is-active kesl").stdout.strip() == "active"
    assert not h.package("clamav-daemon").is_installed
    assert not h.file("/etc/apt/preferences.d/divest-kaspersky.pref").exists


def test_drifted_host_was_left_alone():
    h = host("f3-drift")
    assert vendor_packages("f3-drift") == {"kesl": "ii", "klnagent64": "ii"}
    assert not h.package("clamav-daemon").is_installed


# ---- plans that are not the approved one: refused before any host is touched --------------

def playbook(*args):
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", ANSIBLE_CONFIG=str(EPHEMERAL / "ansible.cfg"))
    proc = subprocess.run(["ansible-playbook", f"--inventory={SCENARIO_DIR / 'inventory.yml'}", *args,
                           "fleetsec.divest.execute"], env=env, capture_output=True, text=True, timeout=900,
                          check=False)
    recap = proc.stdout.split("PLAY RECAP", 1)[-1]
    hosts = [line.split()[0] for line in recap.splitlines() if " : " in line or ": ok=" in line]
    return proc, hosts


def digest():
    return json.loads((REPORTS / "divest-plan.json").read_text())["digest"]


@pytest.mark.parametrize("case", ["edited", "wrong", "missing"])
def test_a_plan_that_is_not_the_approved_one_is_refused_before_any_host_is_touched(tmp_path, case):
    plan = json.loads((REPORTS / "divest-plan.json").read_text())
    approved = digest()
    if case == "edited":   # someone adds a package to a host's recipe after approval
        plan["hosts"]["f2-norepo"]["actions"][1]["removal"]["packages"].append("openssh-server")
    path = tmp_path / "divest-plan.json"
    path.write_text(json.dumps(plan))
    extra = {"edited": ["-e", f"divest_plan_digest={approved}"],
             "wrong": ["-e", "divest_plan_digest=sha256:" + "0" * 64], "missing": []}[case]
    proc, hosts = playbook("-e", f"divest_plan_file={path}", "-e", f"divest_report_dir={tmp_path / 'reports'}", *extra)
    assert proc.returncode != 0
    message = {"edited": "was changed after it was made", "wrong": "but the approved digest is sha256:0000",
               "missing": "no approved plan digest"}[case]
    assert message in proc.stdout + proc.stderr
    assert hosts == ["localhost"], proc.stdout[-2000:]          # no managed host was contacted
    assert not (tmp_path / "reports").exists()                  # and no report claims anything


def test_awx_source_from_the_fact_cache_in_check_mode(tmp_path):
    # AWX: no plan file, the parts come from the hosts' divest_plan facts (stored by the plan job)
    proc, hosts = playbook("--check", "-e", f"divest_plan_digest={digest()}", "-e", "divest_plan_source=facts",
                           "-e", f"divest_report_dir={tmp_path}")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    rep = json.loads((tmp_path / "divest-execute-check.json").read_text())
    assert rep["plan"]["source"] == "facts" and rep["check_mode"] is True
    hosts = by_host(rep)
    assert {n: h["status"] for n, h in hosts.items()} == {
        "f1-prerm": "removed", "f2-norepo": "failed", "f3-drift": "drifted", "f4-gone": "unreachable"}
    # check mode refreshed the lists into a scratch directory: the mirror is down, not the package missing
    assert hosts["f2-norepo"]["reason"].startswith("replacement: repository unreachable"), hosts["f2-norepo"]["reason"]
