"""Trust under faults, as an operator meets them: the tests run in this order and drive the real
execute runs themselves (molecule's `check` step made the dry run before them).

1. the dry run's predictions (stale lists, a dead mirror, a masked clamd);
2. --limit without localhost, and --limit ahead of the canary: refused, nothing touched;
3. run 1 is killed while the Security Center server's prerm waits (agent and web console gone);
4. run 2, same approval: the killed host is finished, its history kept; a deleted pin comes back;
   a replacement that died with the vendor's product stays unprotected, never green;
5. the predictions of the dry run against what the real runs met;
6. holds, the pin over every vendor package, identify after execute (unprotected, reappearance);
7. a plan part edited in the fact cache is refused; the fixed host ends protected.
"""

import csv
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

import eicar
import testlib

SCENARIO = "trust"
SCENARIO_DIR = Path(__file__).resolve().parents[1]
EPHEMERAL = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])
REPORTS = EPHEMERAL / "reports"
CACHE = EPHEMERAL / "facts"
PLANNED = ("t1-ksc", "t2-mask", "t3-pin", "t4-hold", "t5-stale", "t6-norepo", "t7-masked")
PIN = "/etc/apt/preferences.d/divest-kaspersky.pref"
JOURNAL = "/var/lib/fleetsec-divest/journal.json"


def host(name):
    return testlib.container(SCENARIO, name)


def sh(name, script):
    return testlib.sh(host(name), "sh", "-c", script)


def plan():
    return json.loads((REPORTS / "divest-plan.json").read_text(encoding="utf-8"))


def report(path):
    return json.loads((REPORTS / path).read_text(encoding="utf-8"))


def by_host(rep):
    return {h["name"]: h for h in rep["hosts"]}


def cache_path(name):
    return next(p for p in (CACHE / f"s1_{name}", CACHE / name) if p.exists())


def cached_facts(name):
    """A host's facts in the jsonfile cache (ansible-core 2.19+: s1_<host>, a __payload__ string)."""
    data = json.loads(cache_path(name).read_text())
    return json.loads(data["__payload__"]) if "__payload__" in data else data


def write_cached_facts(name, facts):
    path = cache_path(name)
    data = json.loads(path.read_text())
    if "__payload__" in data:
        data["__payload__"] = json.dumps(facts)
    else:
        data = facts
    path.write_text(json.dumps(data))


def playbook(*args, name="fleetsec.divest.execute", background=False):
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", ANSIBLE_CONFIG=str(EPHEMERAL / "ansible.cfg"))
    argv = ["ansible-playbook", f"--inventory={SCENARIO_DIR / 'inventory.yml'}", *args, name]
    if background:
        return subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                start_new_session=True)
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=1500, check=False)
    recap = proc.stdout.split("PLAY RECAP", 1)[-1]
    hosts = [line.split()[0] for line in recap.splitlines() if ": ok=" in line]
    return proc, hosts


def approved(*more):
    return ["-e", f"divest_plan_digest={plan()['digest']}", *more]


def vendor_packages(name):
    return {n: p["status"] for n, p in testlib.vendor_packages(testlib.snapshot(host(name))).items()}


def detects_eicar(name):
    script = ("import subprocess, sys; p = subprocess.run(['clamdscan', '--no-summary', '-'], "
              "input=''.join(sys.argv[1:]).encode(), capture_output=True); "
              "print(p.stdout.decode().strip()); sys.exit(p.returncode)")
    res = testlib.sh(host(name), "python3", "-c", script, *eicar.PIECES)
    return res.rc == 1 and res.stdout.strip().endswith("FOUND")


# ---- 1. the dry run ------------------------------------------------------------------------

def test_check_mode_predicts_from_fresh_lists_and_sees_the_masked_clamd():
    rep = report("divest-execute-check.json")
    hosts = by_host(rep)
    assert {n: h["status"] for n, h in hosts.items()} == {
        "t1-ksc": "would_remove", "t2-mask": "would_remove", "t3-pin": "would_remove", "t4-hold": "would_remove",
        "t5-stale": "would_remove", "t6-norepo": "failed", "t7-masked": "failed"}
    # t5-stale never fetched its lists: check mode fetched them into a scratch directory
    assert hosts["t5-stale"]["reason"].startswith("check mode: would install ClamAV, then remove kesl")
    assert hosts["t6-norepo"]["reason"].startswith("replacement: repository unreachable")
    assert hosts["t6-norepo"]["reason"].endswith("nothing was removed")
    assert "clamd is masked" in hosts["t7-masked"]["reason"]
    # ... and changed nothing: t5-stale's own lists are still empty, no scratch directory is left
    lists = sh("t5-stale", "ls /var/lib/apt/lists/ | grep -c _Packages || true").stdout.strip()
    assert lists == "0"
    assert sh("t5-stale", "ls -d /tmp/fleetsec-divest-apt.* 2>/dev/null | wc -l").stdout.strip() == "0"
    assert not host("t5-stale").package("clamav-daemon").is_installed
    for name in PLANNED:
        assert "divest_outcome" not in cached_facts(name)           # a dry run stores no outcome


# ---- 2. limits -------------------------------------------------------------------------------

def test_a_limit_without_localhost_fails_clearly_and_touches_nothing():
    proc, dummy = playbook(*approved("--limit", "t3-pin"))
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "The plan gate did not run: localhost is not in this run" in out, out[-3000:]
    assert vendor_packages("t3-pin") == {"kesl": "ii"}
    assert not host("t3-pin").file(JOURNAL).exists


def test_a_limit_ahead_of_the_canary_is_refused_unless_allowed(tmp_path):
    proc, hosts = playbook(*approved("--limit", "localhost,t3-pin"))
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "wave canary is not finished: t2-mask (no outcome of this plan)" in out, out[-3000:]
    assert hosts == ["localhost"]
    proc, hosts = playbook(*approved("--check", "--limit", "localhost,t3-pin", "-e", "divest_allow_wave_skip=true",
                                     "-e", f"divest_report_dir={tmp_path}"))
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert sorted(hosts) == ["localhost", "t3-pin"]
    rep = by_host(json.loads((tmp_path / "divest-execute-check.json").read_text()))
    assert rep["t3-pin"]["status"] == "would_remove"
    # the hosts this run left alone are still to do in its report
    assert rep["t2-mask"]["status"] == "not_targeted" and "still to do" in rep["t2-mask"]["reason"]


# ---- 3. run 1, killed -------------------------------------------------------------------------

def wait_for(name, path, present=True, timeout=1200):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if host(name).file(path).exists == present:
            return True
        time.sleep(2)
    return False


def wait_idle(name, timeout=180):
    """True once no dpkg, apt or apt-get process runs on the host."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sh(name, "pgrep -x 'dpkg|apt|apt-get' >/dev/null || echo idle").stdout.strip() == "idle":
            return True
        time.sleep(2)
    return False


def test_run_1_is_killed_between_two_removals_of_the_management_host():
    sh("t1-ksc", "mkdir -p /run/divest-fault && touch /run/divest-fault/ksc64.arm")
    proc = playbook(*approved("-e", f"divest_report_dir={REPORTS / 'run-1'}",
                              "-e", f"divest_plan_file={REPORTS / 'divest-plan.json'}"), background=True)
    try:
        assert wait_for("t1-ksc", "/run/divest-fault/ksc64.waiting"), "ksc64's prerm never started waiting"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)        # the operator's session dies: the whole process group
        output = proc.communicate()[0]
    assert proc.returncode == -signal.SIGKILL, output[-2000:]
    # the server's uninstaller gives up: it is still installed
    sh("t1-ksc", "echo refuse > /run/divest-fault/ksc64.release")
    assert wait_for("t1-ksc", "/run/divest-fault/ksc64.waiting", present=False, timeout=60)
    # prerm has returned; dpkg still runs postinst abort-remove and records the status: wait for it
    # to exit (or a loaded machine reads the package half-configured)
    assert wait_idle("t1-ksc"), sh("t1-ksc", "ps -eo pid,args").stdout
    packages = vendor_packages("t1-ksc")
    assert list(packages) == ["ksc64"] and packages["ksc64"][1] == "i", packages   # still installed
    # recorded as it happened: in the fact cache ...
    outcome = cached_facts("t1-ksc")["divest_outcome"]
    assert outcome["status"] == "running" and outcome["digest"] == plan()["digest"]
    assert [r["product"] for r in outcome["removed"]] == ["klnagent", "ksc-web-console"]
    # ... and on the host itself
    journal = json.loads(host("t1-ksc").file(JOURNAL).content_string)["plans"][plan()["digest"]]["products"]
    assert {k: v["state"] for k, v in journal.items()} == {
        "kaspersky/klnagent": "removed", "kaspersky/ksc-web-console": "removed", "kaspersky/ksc64": "removing"}
    assert not (REPORTS / "run-1" / "divest-execute.json").exists()   # the report play never ran


# ---- 4. run 2, the same approval ---------------------------------------------------------------

@pytest.fixture(scope="module")
def run_2():
    sh("t3-pin", f"rm -f {PIN}")             # someone deleted the pin after run 1
    proc, hosts = playbook(*approved("-e", f"divest_report_dir={REPORTS / 'run-2'}",
                                     "-e", f"divest_plan_file={REPORTS / 'divest-plan.json'}"))
    assert proc.returncode == 0, proc.stdout[-4000:]
    return report("run-2/divest-execute.json")


def test_run_2_finishes_the_killed_host_with_the_same_digest(run_2):
    entry = by_host(run_2)["t1-ksc"]
    assert entry["status"] == "removed", entry
    runs = {r["product"]: r["run_id"] for r in entry["removed"]}
    assert set(runs) == {"klnagent", "ksc-web-console", "ksc64"}
    assert runs["klnagent"] == runs["ksc-web-console"] != runs["ksc64"] == run_2["plan"]["run_id"]
    assert [h["removed"] for h in entry["history"]] == [["klnagent", "ksc-web-console"], ["ksc64"]]
    assert entry["history"][0]["status"] == "running" and entry["history"][1]["status"] == "removed"
    assert "removed by an earlier run of this plan: klnagent, ksc-web-console" in entry["reason"]
    assert vendor_packages("t1-ksc") == {}
    assert detects_eicar("t1-ksc")
    with open(REPORTS / "run-2" / "divest-execute.csv", encoding="utf-8", newline="") as handle:
        row = next(r for r in csv.DictReader(handle) if r["host"] == "t1-ksc")
    assert row["runs"] == "2" and row["removed_by_runs"].count("@") == 3


def test_run_2_restores_the_deleted_pin(run_2):
    entry = by_host(run_2)["t3-pin"]
    assert entry["status"] == "removed" and entry["run"] == "this"
    assert "reinstall block written" in entry["reason"]
    assert host("t3-pin").file(PIN).exists


def test_a_replacement_that_died_with_the_vendor_is_unprotected_in_every_run(run_2):
    entry = by_host(run_2)["t2-mask"]
    assert entry["status"] == "unprotected", entry
    assert entry["replacement"]["healthy"] is False and "masked" in entry["replacement"]["reason"]
    assert entry["protection"] == "none"
    assert [h["status"] for h in entry["history"]] == ["unprotected", "unprotected"]
    assert vendor_packages("t2-mask") == {}
    assert host("t2-mask").run("systemctl is-enabled clamav-daemon").stdout.strip() == "masked"
    summary = run_2["summary"]
    assert summary["by_status"]["unprotected"] == 1 and summary["unprotected"] == 1
    page = (REPORTS / "run-2" / "divest-execute.html").read_text(encoding="utf-8")
    assert 'class="banner tone-unprotected"' in page and "1 host UNPROTECTED" in page


def test_every_reason_is_one_clean_line_and_the_products_add_up(run_2):
    for entry in run_2["hosts"]:
        assert "\n" not in (entry["reason"] or ""), entry["reason"]
    products = {p["product"]: p for p in run_2["summary"]["by_product"]}
    vendor_free = {h["name"] for h in run_2["hosts"] if h["status"] in ("removed", "already_clean", "unprotected")}
    assert vendor_free == {"t1-ksc", "t2-mask", "t3-pin", "t4-hold", "t5-stale"}
    # only the hosts that still carry kesl count it as still there (t6-norepo, t7-masked)
    assert products["kesl"]["remaining"] == 2


# ---- 5. the dry run against the real runs ------------------------------------------------------

def test_the_dry_run_predicted_what_the_real_runs_met(run_2):
    predicted = by_host(report("divest-execute-check.json"))
    real = by_host(run_2)
    for name in ("t6-norepo", "t7-masked"):
        assert predicted[name]["status"] == real[name]["status"] == "failed"
        assert predicted[name]["reason"].split("(")[0] == real[name]["reason"].split("(")[0], name
        assert real[name]["protection"] == "vendor"                     # failed safely
        assert vendor_packages(name) == {"kesl": "ii"}
    for name in ("t3-pin", "t4-hold", "t5-stale"):
        assert predicted[name]["status"] == "would_remove" and real[name]["status"] == "removed", name
        assert {r["product"] for r in predicted[name]["removed"]} == {r["product"] for r in real[name]["removed"]}


# ---- 6. holds, the pin, identify after execute --------------------------------------------------

def test_holds_are_in_the_plan_and_their_release_in_the_outcome(run_2):
    actions = plan()["hosts"]["t4-hold"]["actions"]
    remove = next(a for a in actions if a["action"] == "remove")
    assert remove["holds"] == [{"package": "kesl", "hold": "apt-mark"}, {"package": "kesl-gui", "hold": "apt-mark"}]
    released = by_host(run_2)["t4-hold"]["holds_released"]
    assert sorted((h["package"], h["kind"]) for h in released) == [("kesl", "apt-mark"), ("kesl-gui", "apt-mark")]
    assert vendor_packages("t4-hold") == {}
    assert "kesl" not in sh("t4-hold", "apt-mark showhold").stdout


def test_the_pin_blocks_every_package_of_the_vendor_not_only_the_removed_one():
    source = "deb [trusted=yes] file:/srv/divest-repos/kaspersky ./"
    script = (f"echo '{source}' > /tmp/k.list && "
              "apt-get -o Dir::Etc::SourceList=/tmp/k.list -o Dir::Etc::SourceParts=/nonexistent update -qq && "
              "apt-cache -o Dir::Etc::SourceList=/tmp/k.list -o Dir::Etc::SourceParts=/nonexistent policy "
              "kesl klnagent64 kess ksc64 kwts; rm -f /tmp/k.list")
    res = sh("t3-pin", script)
    assert res.rc == 0, res.stderr
    assert res.stdout.count("Candidate: (none)") == 5, res.stdout


def test_identify_after_execute_shows_unprotected_hosts_and_reappearances(tmp_path):
    # the vendor comes back on t3-pin by hand (dpkg -i bypasses any pin)
    res = sh("t3-pin", "dpkg -i /srv/divest-repos/kaspersky/kess_3.3.0-1016_amd64.deb >/dev/null 2>&1; "
                       "dpkg-query -W -f='${db:Status-Abbrev}' kess")
    assert res.stdout.strip() == "ii", res.stdout + res.stderr
    proc, dummy = playbook("-e", f"divest_report_dir={tmp_path}", name="fleetsec.divest.identify")
    assert proc.returncode == 0, proc.stdout[-3000:]
    rep = json.loads((tmp_path / "divest-identify.json").read_text())
    hosts = {h["name"]: h for h in rep["hosts"]}
    assert hosts["t2-mask"]["status"] == "unprotected", hosts["t2-mask"]
    assert hosts["t3-pin"]["status"] == "reappearance", hosts["t3-pin"]
    page = (tmp_path / "divest-identify.html").read_text(encoding="utf-8")
    assert "unprotected" in page.lower() and "reappearance" in page.lower()
    sh("t3-pin", "dpkg --purge kess >/dev/null 2>&1")


# ---- 7. a tampered fact cache; the fixed host ---------------------------------------------------

def test_a_plan_part_edited_in_the_fact_cache_is_refused(tmp_path):
    facts = cached_facts("t6-norepo")
    original = json.loads(json.dumps(facts))
    part = facts["divest_plan"]
    remove = next(a for a in part["actions"] if a["action"] == "remove")
    remove["removal"]["residue_files"] = ["/etc/passwd"]            # the digest label still says "approved"
    write_cached_facts("t6-norepo", facts)
    try:
        proc, hosts = playbook(*approved("-e", "divest_plan_source=facts", "-e", f"divest_report_dir={tmp_path}"))
    finally:
        write_cached_facts("t6-norepo", original)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "t6-norepo (its content does not match the approved digest" in out, out[-3000:]
    assert hosts == ["localhost"] and not (tmp_path / "divest-execute.json").exists()
    assert host("t6-norepo").file("/etc/passwd").exists


def test_the_unprotected_host_ends_protected_once_clamd_is_unmasked():
    sh("t2-mask", "systemctl unmask clamav-daemon")
    proc, dummy = playbook(*approved("--limit", "localhost,t2-mask", "-e", f"divest_report_dir={REPORTS / 'run-3'}",
                                     "-e", f"divest_plan_file={REPORTS / 'divest-plan.json'}"))
    assert proc.returncode == 0, proc.stdout[-3000:]
    entry = by_host(report("run-3/divest-execute.json"))["t2-mask"]
    assert entry["status"] == "removed" and entry["protection"] == "replacement", entry
    assert detects_eicar("t2-mask")
