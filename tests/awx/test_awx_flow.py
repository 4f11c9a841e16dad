# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The AWX flow, run the way AWX runs it (tests/awx/awxsim.py: ansible-runner, AWX's fact-cache
write-back, artifacts handed on as a workflow does), over real harness containers, on
ansible-core 2.18 (AWX's file naming) and on the newest ansible-core (s1_ naming):

identify sliced in 3 (findings through the findings store) -> report-only (the fleet from the
store, handed back into AWX's facts) -> plan (from AWX's facts, no host scanned; publishes the
digest) -> execute with the digest from the plan job's artifact (one wave of 2 hosts).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import awxsim  # noqa: E402  pylint: disable=wrong-import-position

ROOT = awxsim.ROOT
SHARED = os.path.join(ROOT, "molecule", "shared")
NS = hashlib.sha256(os.path.realpath(ROOT).encode()).hexdigest()[:8]
CACHE = os.environ.get("DIVEST_CACHE", os.path.join(ROOT, ".cache"))
SCENARIO = "awx"
PACKAGES = [["kesl=12.1.0-1508", "klnagent64"], ["kesl=12.2.0-2412"], []]  # 2 affected, 1 clean
VENVS = {"v218": os.path.join(ROOT, ".venv-2.18"), "newest": os.path.join(ROOT, ".venv")}


def hosts(tag):
    """Each ansible-core gets hosts of its own (execute changes them): <tag>-1 .. <tag>-3."""
    return {"%s-%d" % (tag, i + 1): p for i, p in enumerate(PACKAGES)}


def inventory(tags):
    members = {}
    for tag in tags:
        members.update({h: {"harness_packages": p} for h, p in hosts(tag).items()})
    return {"all": {"children": {"harness_hosts": {
        "vars": {"harness_scenario": SCENARIO,
                 "ansible_host": "divest-%s-%s-{{ inventory_hostname }}" % (NS, SCENARIO),
                 "ansible_connection": "containers.podman.podman",
                 "ansible_python_interpreter": "/usr/bin/python3",
                 "divest_become": False},
        "hosts": members}}}}


def harness(work, *playbooks):
    path = os.path.join(work, "harness-inventory.json")
    with open(path, "w") as fh:
        json.dump(inventory(VENVS), fh)
    env = dict(os.environ, ANSIBLE_CACHE_PLUGIN="memory")
    proc = subprocess.run([os.path.join(VENVS["newest"], "bin", "ansible-playbook"), "-i", path]
                          + [os.path.join(SHARED, p) for p in playbooks],
                          env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]


@pytest.fixture(scope="module")
def containers(tmp_path_factory):
    """The containers of both flows, created together (one create, one destroy)."""
    for venv in VENVS.values():
        if not os.path.exists(os.path.join(venv, "bin", "ansible-playbook")):
            pytest.fail("%s is missing: run tests/harness/bootstrap.sh test" % venv)
    work = str(tmp_path_factory.mktemp("harness"))
    harness(work, "create.yml", "prepare.yml")
    try:
        yield
    finally:
        harness(work, "destroy.yml")


@pytest.fixture(params=list(VENVS))
def awx(request, containers, tmp_path, monkeypatch):
    venv = VENVS[request.param]
    monkeypatch.delenv("ANSIBLE_CONFIG", raising=False)  # AWX runs with the project's configuration
    work = str(tmp_path)
    persistent = os.path.join(work, "srv-divest")  # the path docs/awx.md exposes to jobs
    envvars = {
        "ANSIBLE_COLLECTIONS_PATH": os.path.join(CACHE, "collections"),
        "ANSIBLE_HOME": os.path.join(work, "ansible-home"),
        "CONTAINERS_CONF": os.path.join(ROOT, "containers.conf"),
        "ANSIBLE_FORKS": "5",
        "PATH": os.path.join(venv, "bin") + os.pathsep + os.environ["PATH"],  # the EE's ansible-core
    }
    sim = awxsim.Awx(work, inventory([request.param]), None, envvars)
    sim.tag = request.param
    sim.common = {"divest_report_dir": os.path.join(persistent, "reports"),
                  "divest_findings_store": os.path.join(persistent, "findings")}
    return sim


def ok(job):
    assert job.rc == 0, "job %s failed:\n%s" % (job.ident, job.stdout[-6000:])


def test_identify_sliced_report_plan_execute(awx):
    HOSTS = hosts(awx.tag)
    first, AFFECTED = sorted(HOSTS)[0], sorted(HOSTS)[:2]
    # A slice without the findings store: its findings would be lost; one clear message.
    lost = awx.run("identify.yml", {"divest_report_dir": awx.common["divest_report_dir"]}, slice_of=(1, 3))
    assert lost.rc != 0
    assert "AWX stores no facts for sliced jobs" in lost.stdout and "divest_findings_store" in lost.stdout
    assert "divest" not in (awx.db.get(first) or {}).get("facts", {})

    # identify sliced in 3: every slice scans its host; AWX stores nothing for them (awx#13863)
    for number in (1, 2, 3):
        ok(awx.run("identify.yml", awx.common, slice_of=(number, 3)))
    assert not any((awx.db.get(h) or {}).get("facts", {}).get("divest") for h in HOSTS)
    store = awx.common["divest_findings_store"]
    assert sorted(os.listdir(store)) == sorted(h + ".json" for h in HOSTS)

    # report-only, unsliced: the whole fleet from the store, no host contacted, then handed to AWX
    report = awx.run("report.yml", awx.common)
    ok(report)
    assert report.results("vendor_facts") == []
    summary = report.artifacts["divest_identify"]
    assert summary["hosts"] == 3 and summary["status"].get("affected") == 2, summary
    for host in HOSTS:
        status = awx.db[host]["facts"]["divest"]["status"]
        assert status == ("affected" if host in AFFECTED else "clean"), (host, status)

    # plan: reads the findings AWX handed in (no host scanned), stores the parts, publishes the digest
    policy = {"divest_waves": '{"canary": 2}', "divest_replacement": "linux=none",
              "divest_replacement_waiver": "AWX stage: no ClamAV mirror in this test"}
    plan = awx.run("plan.yml", dict(awx.common, **policy), workflow=1)
    ok(plan)
    assert plan.results("vendor_facts") == [], "the plan scanned hosts again"
    # the ansible-core of the "EE": 2.18 names the cache files as AWX does, the newest s1_<host>
    naming = {data["res"]["naming"] for dummy, data in plan.results("fact_handoff")}
    assert naming == {"awx" if awx.tag == "v218" else "prefixed"}, naming
    digest = plan.artifacts["divest_plan_digest"]
    assert digest.startswith("sha256:") and plan.artifacts["divest_plan"]["digest"] == digest
    assert os.path.exists(plan.artifacts["divest_plan_file"])
    for host in AFFECTED:
        assert awx.db[host]["facts"]["divest_plan"]["digest"] == digest, host

    # An execute job cancelled as soon as it has recorded the first host's start: AWX still gets
    # the outcome recorded so far (ansible-core 2.19+ names the cache files s1_<host>: each record
    # is written into AWX's <host> file at once; 2.18's cache files are AWX's own).
    def started(event):
        data = event.get("event_data") or {}
        return (event.get("event") == "runner_on_ok" and data.get("task_action", "").endswith("execute_outcome")
                and data.get("host") in AFFECTED)
    cancelled = awx.run("execute.yml", dict(awx.common, **plan.artifacts), workflow=1, cancel_on=started)
    assert cancelled.status == "canceled", (cancelled.status, cancelled.stdout[-3000:])
    recorded = [h for h in AFFECTED if (awx.db.get(h) or {}).get("facts", {}).get("divest_outcome", {}).get("digest") == digest]
    assert recorded, "no outcome of the cancelled job reached AWX"

    # execute, later node of the same workflow: the plan job's artifacts are its extra variables
    wrong = awx.run("execute.yml", dict(awx.common, **dict(plan.artifacts, divest_plan_digest="sha256:" + "0" * 64)),
                    workflow=1)
    assert wrong.rc != 0 and "but the approved digest is" in wrong.stdout
    execute = awx.run("execute.yml", dict(awx.common, **plan.artifacts), workflow=1)
    ok(execute)
    assert "Approved digest: %s (in AWX workflow job 1" % digest in execute.stdout
    for host in AFFECTED:
        outcome = awx.db[host]["facts"]["divest_outcome"]
        assert outcome["digest"] == digest, (host, outcome)
        # no replacement (waived): the vendor is removed and the host says it is unprotected
        assert outcome["status"] in ("removed", "unprotected"), (host, outcome)
    assert execute.artifacts["divest_execute"], execute.artifacts
