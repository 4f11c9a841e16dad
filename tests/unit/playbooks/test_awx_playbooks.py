# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The playbooks as AWX runs them, with the ansible-playbook of the Python running the tests
(ansible-core 2.21 in the units stage, 2.16 in the compat stage), over a jsonfile fact cache
filled beforehand and hosts that cannot be contacted:

* the report-only playbook rebuilds the fleet report from the cache, contacting no host;
* a job template Limit that leaves localhost out fails plan, execute and report with one message;
* one slice of a sliced job template is refused by plan, execute and report;
* plan takes survey-typed waves and exceptions (JSON text, lines).
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import pytest

from ansible_collections.fleetsec.divest.plugins.plugin_utils._catalog import load_catalogs
from ansible_collections.fleetsec.divest.plugins.plugin_utils._matcher import match

BIN = pathlib.Path(sys.executable).parent
MAINT = "AO Kaspersky Lab <support@kaspersky.com>"
SCANNED = "2026-11-28T10:00:00Z"
# AWX's job variables in one slice of the sliced job template "Divest" (plugin_utils/_awx.py)
SLICE = {"awx_job_launch_type": "workflow", "awx_workflow_job_name": "Divest", "awx_job_template_name": "Divest",
         "awx_workflow_job_id": 9}


def pkg(name, version, status="installed", maintainer=MAINT):
    return {"name": name, "version": version, "arch": "amd64", "manager": "dpkg", "status": status,
            "maintainer": maintainer}


def facts(*packages, **sections):
    """A host's divest facts as vendor_facts returns them: a raw inventory through the matcher."""
    inv = {"schema": 1, "platform": {"system": "Linux", "distribution": "debian", "version": "12"},
           "root": "/", "live": True, "packages": list(packages)}
    inv.update(sections)
    return match(inv, load_catalogs(["kaspersky"]), scanned_at=SCANNED)


FLEET = {
    "web1": facts(pkg("kesl", "12.1.0-1508")),
    "web2": facts(pkg("kesl", "12.1.0-1508"), pkg("klnagent64", "15.4.0-8873")),
    "web3": facts(pkg("bash", "5.2", maintainer="Debian Bash Maintainers <bash@packages.debian.org>")),
    "db1": facts(pkg("kesl", "12.1.0-1508", status="config-files")),
    "db2": None,                                    # never scanned: nothing in the cache
}


@pytest.fixture
def awx(tmp_path):
    """A project directory: ansible.cfg with a jsonfile fact cache holding the fleet's findings
    under both file names (ansible-core 2.16-2.18 read <host>, 2.19 and later s1_<host> with
    the facts as a JSON payload), and an inventory whose hosts cannot be contacted (a connection
    plugin that does not exist: any task on them fails)."""
    cache = tmp_path / "facts"
    cache.mkdir()
    for name, divest in FLEET.items():
        if divest is None:
            continue
        data = {"divest": divest}
        (cache / name).write_text(json.dumps(data))
        (cache / ("s1_" + name)).write_text(json.dumps({"__payload__": json.dumps(data)}))
    (tmp_path / "ansible.cfg").write_text(
        "[defaults]\nfact_caching = jsonfile\nfact_caching_connection = %s\nfact_caching_timeout = 0\n"
        "show_custom_stats = true\nretry_files_enabled = false\n" % cache)
    (tmp_path / "inventory.ini").write_text(
        "[web]\nweb1\nweb2\nweb3\n[db]\ndb1\ndb2\n[all:vars]\nansible_connection=fleetsec_no_such_connection\n")
    return tmp_path


def playbook(project, name, *args, extra=None):
    env = dict(os.environ, ANSIBLE_CONFIG=str(project / "ansible.cfg"), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
               ANSIBLE_HOME=str(project / ".ansible"))
    argv = [str(BIN / "ansible-playbook"), "-i", str(project / "inventory.ini"), name, *args]
    if extra is not None:
        argv += ["-e", json.dumps(extra)]
    proc = subprocess.run(argv, cwd=str(project), env=env, capture_output=True, text=True, timeout=300, check=False)
    recap = proc.stdout.split("PLAY RECAP", 1)[-1]
    hosts = sorted(line.split()[0] for line in recap.splitlines() if ": ok=" in line)
    return proc, hosts


def fatal_messages(proc):
    return [line for line in proc.stdout.splitlines() if line.startswith("fatal:")]


# ---- report-only ---------------------------------------------------------------------------

def test_report_rebuilds_the_fleet_report_from_the_cache_without_contacting_hosts(awx):
    proc, hosts = playbook(awx, "fleetsec.divest.report")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert hosts == ["localhost"]                      # no task ran on a managed host
    report = json.loads((awx / "divest-reports" / "divest-identify.json").read_text())
    summary = report["summary"]
    assert summary["hosts"] == 5
    assert {k: v for k, v in summary["by_status"].items() if v} == {
        "affected": 2, "residual": 1, "clean": 1, "not_scanned": 1}
    by_host = {h["name"]: h["status"] for h in report["hosts"]}
    assert by_host == {"db1": "residual", "db2": "not_scanned", "web1": "affected", "web2": "affected",
                       "web3": "clean"}
    products = {"%s/%s" % (p["vendor"], p["product"]): p["hosts"] for p in summary["by_product"]}
    assert products["kaspersky/kesl"] == 3
    assert (awx / "divest-reports" / "divest-identify.html").is_file()
    assert (awx / "divest-reports" / "divest-identify.csv").is_file()
    # the summary is published for AWX workflows (set_stats without a task)
    assert '"divest_identify"' in proc.stdout or "divest_identify" in proc.stdout


@pytest.mark.parametrize("formats", [["json", "csv"], "json,csv"])     # AWX multiselect, text
def test_report_takes_a_host_pattern_and_a_survey_list_of_formats(awx, formats):
    proc, dummy = playbook(awx, "fleetsec.divest.report",
                           extra={"divest_hosts": "web", "divest_report_formats": formats, "divest_report_dir": "web"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads((awx / "web" / "divest-identify.json").read_text())
    assert sorted(h["name"] for h in report["hosts"]) == ["web1", "web2", "web3"]
    assert sorted(p.name for p in (awx / "web").iterdir()) == ["divest-identify.csv", "divest-identify.json"]


# ---- Limit without localhost, slices ---------------------------------------------------------

@pytest.mark.parametrize("name, args, message", [
    ("fleetsec.divest.plan", [], "The plan is made on localhost, and localhost is not in this run (--limit web1"),
    ("fleetsec.divest.report", [], "The fleet report is written on localhost, and localhost is not in this run "
                                   "(--limit web1"),
    ("fleetsec.divest.execute", ["-e", "divest_plan_digest=sha256:" + "0" * 64],
     "The plan gate did not run: localhost is not in this run (--limit web1)"),
])
def test_a_limit_without_localhost_fails_with_one_message(awx, name, args, message):
    # the guard's one task runs on web1 (localhost is not in the run): it must be reachable
    proc, dummy = playbook(awx, name, "--limit", "web1", "-e", "ansible_connection=local", *args)
    assert proc.returncode != 0
    fatal = fatal_messages(proc)
    assert len(fatal) == 1 and fatal[0].startswith("fatal: [web1]"), proc.stdout
    assert message in fatal[0]
    assert not (awx / "divest-reports").exists()


@pytest.mark.parametrize("name, args, undone", [
    ("fleetsec.divest.plan", [], "Nothing was planned."),
    ("fleetsec.divest.report", [], "Nothing was written."),
    ("fleetsec.divest.execute", ["-e", "divest_plan_digest=sha256:" + "0" * 64], "Nothing was done."),
])
def test_one_slice_of_a_sliced_job_is_refused(awx, name, args, undone):
    proc, hosts = playbook(awx, name, *args, extra=SLICE)
    assert proc.returncode != 0
    fatal = fatal_messages(proc)
    assert len(fatal) == 1 and fatal[0].startswith("fatal: [localhost]"), proc.stdout
    assert "one slice of the sliced AWX job template 'Divest' (workflow job 9)" in fatal[0]
    assert undone in fatal[0]
    assert hosts == ["localhost"]
    assert not (awx / "divest-reports").exists()


def test_a_workflow_node_of_the_operators_own_workflow_is_not_a_slice(awx):
    proc, dummy = playbook(awx, "fleetsec.divest.report", extra=dict(SLICE, awx_workflow_job_name="BOD 17-01"))
    assert proc.returncode == 0, proc.stdout + proc.stderr


# ---- survey-typed plan variables -------------------------------------------------------------

def test_plan_takes_survey_text_for_waves_and_exceptions(awx):
    survey = {"divest_waves": '{"canary": 1, "size": 1}',
              "divest_exceptions": "web2 | 2099-12-31 | change freeze",
              "divest_plan_formats": "json", "divest_plan_max_age": "0", "divest_plan_scan": "false",
              "divest_replacement": "linux=clamav, windows=defender"}
    proc, hosts = playbook(awx, "fleetsec.divest.plan", extra=survey)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert hosts == ["localhost"]
    plan = json.loads((awx / "divest-reports" / "divest-plan.json").read_text())
    assert plan["policy"]["waves"] == {"canary": 1, "size": 1}
    assert plan["policy"]["exceptions"] == [{"host": "web2", "reason": "change freeze", "expires": "2099-12-31"}]
    assert sorted(p.name for p in (awx / "divest-reports").iterdir()) == ["divest-plan.json"]


@pytest.mark.parametrize("extra, message", [
    ({"divest_exceptions": "web2, 2099-12-31"}, "divest_exceptions: each line must give host | expires | reason"),
    # text that is no mapping: ansible-core's check of the role's arguments says it first
    ({"divest_waves": '{"canary": 1,'}, "argument 'divest_waves' is of type"),
    ({"divest_waves": '{"canary": "one"}'}, "waves.canary must be an integer, got 'one'"),
])
def test_plan_refuses_a_wrong_survey_answer_naming_the_variable(awx, extra, message):
    proc, dummy = playbook(awx, "fleetsec.divest.plan", extra=dict(extra, divest_plan_scan=False))
    assert proc.returncode != 0
    fatal = fatal_messages(proc)
    assert len(fatal) == 1 and message in fatal[0], proc.stdout
