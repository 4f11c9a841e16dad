#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark of the job events execute produces (AWX stores every one of them).

On the five hosts of the ``execute`` molecule scenario (KESL 12 + GUI + Network Agent with the
vendor's apt source, KESL 10, two legacy products, a residual host, a clean host), brought up as
harness containers of this checkout (scenario ``events``, removed at the end), with the site's
Debian mirror for ClamAV and the offline test signature bundle, exactly as the scenario does:

1. prepare: the shared harness prepare, identify and plan (``molecule/execute/prepare.yml``);
2. identify, then execute with the plan's digest, then execute again (nothing left to do), each
   one under ansible-runner (AWX's own execution engine): one private data directory per job.

For each job it prints the number of job events ansible-runner wrote (the rows AWX would store),
the events per host of the inventory (the issue's measure: all events over the five hosts), the
events attributed to each host the job worked on (what a host costs in a large fleet, where the
job's own events - plays, a task start per batch, the controller's tasks - are spread thin), their
size in bytes, and the tasks that produce the most events. Target (issue 13, item 7): execute
under 60 events per host. It asserts nothing.

    . tests/harness/env.sh
    python tests/bench/execute_events_bench.py            # or: make bench-events
    python tests/bench/execute_events_bench.py --keep     # leave the containers and files
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.path.join(ROOT, "molecule", "shared")
SCENARIO_DIR = os.path.join(ROOT, "molecule", "execute")
# the checkout's namespace of container names (tests/harness/env.sh: DIVEST_NS)
NS = hashlib.sha256(os.path.realpath(ROOT).encode()).hexdigest()[:8]
SCENARIO = "events"


def env(work):
    e = dict(os.environ)
    e.setdefault("DIVEST_CACHE", os.path.join(ROOT, ".cache"))
    e["DIVEST_NS"] = NS
    e.setdefault("CONTAINERS_CONF", os.path.join(ROOT, "containers.conf"))
    e.setdefault("ANSIBLE_COLLECTIONS_PATH", os.path.join(e["DIVEST_CACHE"], "collections"))
    e["PATH"] = os.path.join(ROOT, ".venv", "bin") + os.pathsep + e.get("PATH", "")
    e.update({
        "ANSIBLE_CONFIG": os.path.join(ROOT, "ansible.cfg"),
        "ANSIBLE_FORKS": "10",
        "ANSIBLE_PIPELINING": "1",
        "ANSIBLE_HOST_KEY_CHECKING": "0",
        # facts (findings, plan parts, outcomes) survive between the jobs, as in AWX
        "ANSIBLE_CACHE_PLUGIN": "jsonfile",
        "ANSIBLE_CACHE_PLUGIN_CONNECTION": os.path.join(work, "facts"),
        "ANSIBLE_CACHE_PLUGIN_TIMEOUT": "0",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
    })
    return e


def write_inventory(work):
    """The execute scenario's inventory, in scenario ``events`` and with its files in ``work``."""
    with open(os.path.join(SCENARIO_DIR, "inventory.yml")) as handle:
        inventory = yaml.safe_load(handle)
    top = inventory["all"]["vars"]
    top["divest_report_dir"] = os.path.join(work, "reports")
    top["divest_clamav_offline_bundle"] = os.path.join(work, "clamav-bundle")
    inventory["all"]["children"]["harness_hosts"]["vars"]["harness_scenario"] = SCENARIO
    path = os.path.join(work, "inventory.yml")
    with open(path, "w") as handle:
        yaml.safe_dump(inventory, handle)
    return path, sorted(inventory["all"]["children"]["harness_hosts"]["hosts"])


def playbook(environ, inventory, *playbooks):
    for book in playbooks:
        proc = subprocess.run(["ansible-playbook", "-i", inventory, book], env=environ, cwd=ROOT,
                              capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            sys.exit("failed: %s\n%s" % (book, proc.stdout[-4000:] + proc.stderr[-2000:]))


def runner_job(work, environ, name, inventory, book, extravars=None):
    """One AWX-like job: ansible-runner in a private data directory of its own. Returns the
    job's events (each as ansible-runner wrote it) and their size in bytes."""
    import ansible_runner
    private = os.path.join(work, "jobs", name)
    os.makedirs(os.path.join(private, "env"), exist_ok=True)
    result = ansible_runner.run(private_data_dir=private, project_dir=ROOT, playbook=book, inventory=inventory,
                                extravars=extravars or {}, envvars=environ, quiet=True, ident=name)
    if result.rc != 0:
        sys.exit("%s failed (rc %s): %s" % (name, result.rc, result.stdout.read()[-4000:]))
    directory = os.path.join(private, "artifacts", name, "job_events")
    events, size = [], 0
    for entry in sorted(os.listdir(directory)):
        with open(os.path.join(directory, entry), "rb") as handle:
            raw = handle.read()
        size += len(raw)
        events.append(json.loads(raw))
    return events, size


def summary(name, events, size, hosts, top):
    per_host = collections.Counter(e.get("event_data", {}).get("host") for e in events)
    tasks = collections.Counter("%s: %s" % (e["event_data"].get("role") or "-", e["event_data"]["task"])
                                if e.get("event_data", {}).get("task") else e["event"] for e in events)
    roles = collections.Counter(e.get("event_data", {}).get("role") or "-" for e in events)
    kinds = collections.Counter(e["event"] for e in events)
    print("%-10s %6d events, %5.1f per host (%d hosts), %8d bytes (%.0f per host)" % (
        name, len(events), len(events) / hosts, hosts, size, size / hosts))
    print("           attributed to a host: %s; to none: %d" % (
        ", ".join("%s %d" % (h, n) for h, n in sorted(per_host.items(), key=lambda kv: str(kv[0])) if h), per_host.get(None, 0)))
    # the hosts the job worked on (not the controller): what each one costs, without the job's own
    # events (plays, task starts per batch, the controller's tasks), which a large fleet spreads thin
    worked = {h: n for h, n in per_host.items() if h and h != "localhost"}
    if worked:
        print("           per host worked on (%d): %.1f events attributed to it; the job's own: %d (%d to no host, %d to localhost)" % (
            len(worked), sum(worked.values()) / len(worked), len(events) - sum(worked.values()),
            per_host.get(None, 0), per_host.get("localhost", 0)))
    print("           by kind: %s" % ", ".join("%s %d" % kv for kv in kinds.most_common()))
    print("           by role: %s" % ", ".join("%s %d" % kv for kv in roles.most_common()))
    print("           per host, by role: %s" % ", ".join("%s %.1f" % (r, n / hosts) for r, n in roles.most_common()))
    host_runs, batches, starts = role_runs(events)
    if host_runs:
        print("           role runs on hosts: %s; tasks started per run: %s" % (
            ", ".join("%s %d (%.1f per host)" % (r, n, n / hosts) for r, n in sorted(host_runs.items())),
            ", ".join("%s %.1f" % (r, starts[r] / n) for r, n in sorted(batches.items()) if n)))
    if top:
        print("           most events: %s" % "; ".join("%s: %d" % kv for kv in tasks.most_common(top)))
    return {"events": len(events), "per_host": len(events) / hosts, "bytes": size,
            "per_worked_host": sum(worked.values()) / len(worked) if worked else None,
            "per_host_by_role": {r: n / hosts for r, n in roles.items()},
            "role_runs": dict(host_runs), "tasks_per_run": {r: starts[r] / n for r, n in batches.items() if n}}


def role_runs(events):
    """How often each role ran: on hosts (its argument validation starts once per host and run)
    and as task batches (the validation's task start, once per run of the role over a batch of
    hosts); and how many task starts each role produced, the validation left out. Task starts
    per batch are the role's tasks per run (the tasks of its includes counted when they ran)."""
    host_runs, batches, starts = collections.Counter(), collections.Counter(), collections.Counter()
    for event in events:
        data = event.get("event_data", {})
        role = data.get("role")
        if not role:
            continue
        validation = str(data.get("task", "")).startswith("Validating arguments")
        if event["event"] == "runner_on_start" and validation:
            host_runs[role] += 1
        elif event["event"] == "playbook_on_task_start":
            (batches if validation else starts)[role] += 1
    return host_runs, batches, starts


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--keep", action="store_true", help="leave the containers and the files")
    parser.add_argument("--top", type=int, default=12, help="show the tasks with the most events")
    parser.add_argument("--json", metavar="FILE", help="also write the figures to FILE")
    args = parser.parse_args(argv)

    work = tempfile.mkdtemp(prefix="divest-events-")
    environ = env(work)
    inventory, hosts = write_inventory(work)
    print("bringing up %d containers (scenario %s), identify and plan ..." % (len(hosts), SCENARIO), flush=True)
    figures = {}
    try:
        playbook(environ, inventory, os.path.join(SHARED, "create.yml"))
        playbook(environ, inventory, os.path.join(SCENARIO_DIR, "prepare.yml"))
        with open(os.path.join(work, "reports", "divest-plan.json")) as handle:
            digest = json.load(handle)["digest"]
        print("jobs under ansible-runner (plan %s) ..." % digest, flush=True)
        print()
        jobs = [("identify", "fleetsec.divest.identify", {}),
                ("execute", "fleetsec.divest.execute", {"divest_plan_digest": digest}),
                ("again", "fleetsec.divest.execute", {"divest_plan_digest": digest})]
        for name, book, extravars in jobs:
            events, size = runner_job(work, environ, name, inventory, book, extravars)
            figures[name] = summary(name, events, size, len(hosts), args.top)
    finally:
        if not args.keep:
            playbook(environ, inventory, os.path.join(SHARED, "destroy.yml"))
            shutil.rmtree(work, ignore_errors=True)
    print()
    print("execute: %.1f events per host (target < 60), %d bytes in all; identify %.1f per host"
          % (figures["execute"]["per_host"], figures["execute"]["bytes"], figures["identify"]["per_host"]))
    print("execute: %.1f events attributed to each host it worked on (again: %.1f), the job's own events aside"
          % (figures["execute"]["per_worked_host"] or 0, figures["again"]["per_worked_host"] or 0))
    for name in ("execute", "again"):
        by_role = figures[name]["per_host_by_role"]
        print("%s: per host, the clamav role %.1f events (%.0f%%), the execute role %.1f" % (
            name, by_role.get("clamav", 0), 100.0 * by_role.get("clamav", 0) / figures[name]["per_host"],
            by_role.get("execute", 0)))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(figures, handle, indent=2)
    if args.keep:
        print("containers kept; files in %s" % work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
