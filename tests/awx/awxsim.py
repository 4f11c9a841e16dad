# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""AWX's side of a job, reproduced around ansible-runner (AWX's own execution engine).

What AWX does for a job template with Enable Fact Storage (awx/main/tasks/facts.py,
``start_fact_cache`` / ``finish_fact_cache``; awx/main/tasks/jobs.py, ``build_env``):

* before the job, each host of the job's inventory that has stored facts gets them written as
  ``<artifacts>/fact_cache/<host>`` (plain JSON, backdated 2 s), and a summary
  ``host_cache_summary.json`` lists the hosts (True: a file was written);
* the job runs with ``ANSIBLE_CACHE_PLUGIN=jsonfile`` and ``ANSIBLE_CACHE_PLUGIN_CONNECTION`` at
  that directory, and AWX's job variables (``awx_job_id`` ...) as extra variables;
* after the job, each listed host's ``<host>`` file, when newer than the summary, replaces its
  stored facts; a missing file clears them when one had been written;
* a job sliced into more than one slice stores no facts (ansible/awx#13863, open);
* the ``set_stats`` data (the stats event's ``artifact_data``) become extra variables of the
  later nodes of a workflow.
"""

from __future__ import annotations

import json
import os
import shutil
import time

import ansible_runner

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROJECT = os.path.join(ROOT, "examples", "awx-project")


class Job(object):
    def __init__(self, ident, runner, artifacts):
        self.ident = ident
        self.runner = runner
        self.rc = runner.rc
        self.status = runner.status
        self.artifacts = artifacts
        self.events = list(runner.events)

    @property
    def stdout(self):
        return "".join(e.get("stdout", "") + "\n" for e in self.events)

    def results(self, action):
        """The ``(host, event_data)`` of every runner_on_ok / failed event of the action."""
        out = []
        for e in self.events:
            data = e.get("event_data") or {}
            if e.get("event") in ("runner_on_ok", "runner_on_failed") and data.get("task_action", "").endswith(action):
                out.append((data.get("host"), data))
        return out


class Awx(object):
    """One AWX: an inventory, its hosts' stored facts (the "database"), jobs run one by one."""

    def __init__(self, work, inventory, binary, envvars):
        self.work = work
        self.inventory = inventory          # {"all": {"children": {...}}}, hosts in order
        self.binary = binary                # ansible-playbook of the execution environment
        self.envvars = dict(envvars)
        self.db = {}                        # host -> {"facts": {...}, "modified": time}
        self.jobs = 0

    def hosts(self):
        names = []
        for group in self.inventory["all"]["children"].values():
            names.extend(h for h in group.get("hosts", {}) if h not in names)
        return names

    def _slice_inventory(self, hosts):
        out = {"all": {"children": {}}}
        for name, group in self.inventory["all"]["children"].items():
            members = {h: v for h, v in group.get("hosts", {}).items() if h in hosts}
            if members:
                out["all"]["children"][name] = dict(group, hosts=members)
        return out

    # -------------------------------------------------------------- awx/main/tasks/facts.py

    def start_fact_cache(self, hosts, artifacts):
        cache = os.path.join(artifacts, "fact_cache")
        os.makedirs(cache, mode=0o700, exist_ok=True)
        cached, last = {}, None
        for host in hosts:
            row = self.db.get(host)
            if not row or not row.get("modified"):
                cached[host] = False
                continue
            path = os.path.join(cache, host)
            with open(path, "w", encoding="utf-8") as fh:
                json.dump(row["facts"], fh)
            os.chmod(path, 0o600)
            back = os.path.getmtime(path) - 2
            os.utime(path, (back, back))
            last = back
            cached[host] = True
        with open(os.path.join(artifacts, "host_cache_summary.json"), "w", encoding="utf-8") as fh:
            json.dump({"last_write_time": last, "hosts_cached": cached}, fh, indent=2)

    def finish_fact_cache(self, artifacts):
        summary = os.path.join(artifacts, "host_cache_summary.json")
        with open(summary, encoding="utf-8") as fh:
            cached = json.load(fh)["hosts_cached"]
        written = os.path.getmtime(summary)
        cache = os.path.join(artifacts, "fact_cache")
        for host, had_file in cached.items():
            path = os.path.join(cache, host)
            if os.path.exists(path):
                if os.path.getmtime(path) >= written:
                    try:
                        with open(path, encoding="utf-8") as fh:
                            facts = json.load(fh)
                    except ValueError:
                        continue
                    if facts != (self.db.get(host) or {}).get("facts"):
                        self.db[host] = {"facts": facts, "modified": time.time()}
            elif had_file:
                self.db[host] = {"facts": {}, "modified": time.time()}

    # -------------------------------------------------------------------------------- jobs

    def run(self, playbook, extravars=None, template=None, slice_of=None, workflow=None, cancel_on=None):
        """Run one job of ``playbook`` (a file of the project). ``slice_of``: ``(number, count)``
        of a sliced job template (the job's inventory holds that slice; no facts stored).
        ``workflow``: the id of the workflow job that launched it. ``cancel_on(event)``: cancel
        the job (AWX's Cancel button: ansible-runner's cancel callback) once it returns true for
        one of the job's events; AWX still reads the fact cache back after a cancelled job."""
        self.jobs += 1
        ident = str(self.jobs)
        pdd = os.path.join(self.work, "job-%s" % ident)
        artifacts = os.path.join(pdd, "artifacts", ident)
        os.makedirs(os.path.join(pdd, "env"))
        os.makedirs(os.path.join(pdd, "inventory"))
        shutil.copytree(PROJECT, os.path.join(pdd, "project"))
        hosts = self.hosts()
        template = template or "Divest - %s" % playbook.split(".")[0]
        extra = dict(extravars or {})
        extra.update(awx_job_id=int(ident), awx_job_template_name=template,
                     awx_job_launch_type="workflow" if (slice_of or workflow) else "manual")
        if slice_of:
            number, count = slice_of
            hosts = hosts[number - 1::count]  # AWX: Inventory.get_sliced_hosts
            extra.update(awx_workflow_job_name=template, awx_workflow_job_id=1000 + int(ident))
        elif workflow:
            extra.update(awx_workflow_job_name="Divest workflow", awx_workflow_job_id=workflow)
        with open(os.path.join(pdd, "inventory", "hosts.json"), "w") as fh:
            json.dump(self._slice_inventory(hosts), fh)
        env = dict(self.envvars, ANSIBLE_CACHE_PLUGIN="jsonfile",
                   ANSIBLE_CACHE_PLUGIN_CONNECTION=os.path.join(artifacts, "fact_cache"))
        self.start_fact_cache(hosts, artifacts)
        seen = []

        def event_handler(event):
            if cancel_on is not None and not seen and cancel_on(event):
                seen.append(event)
            return True

        runner = ansible_runner.run(private_data_dir=pdd, playbook=playbook, ident=ident, extravars=extra,
                                    envvars=env, quiet=True, event_handler=event_handler,
                                    cancel_callback=lambda: bool(seen))
        if not slice_of:  # ansible/awx#13863: no facts stored for a sliced job
            self.finish_fact_cache(artifacts)
        stats = [e for e in runner.events if e.get("event") == "playbook_on_stats"]
        data = (stats[-1].get("event_data") or {}).get("artifact_data") if stats else None
        return Job(ident, runner, data or {})
