#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark of identify on harness containers: how it compares with the alternatives.

On N systemd containers (default 10, same forks for every run) it measures, in one run and
alternating the three so that machine load hits them alike:

* ``identify``: ``ansible-playbook fleetsec.divest.identify`` (scan + fleet report);
* ``ping``: a playbook with one ``ansible.builtin.ping`` task: the floor of one module round
  trip per host;
* ``diy``: what a team would write by hand: ``package_facts`` + ``service_facts`` + ``stat``
  of the catalog's Linux paths, then a ``set_fact`` that filters the vendor's packages.

It prints the median wall time of each and the ratios identify/ping and diy/identify, the
collector's own time on a host with 2,500 dpkg packages (the collector's functions run inside
the container, timed with perf_counter), and the size of ``ansible_facts.divest`` on a clean
and on an affected host. Targets (issue "Identify on Linux"): identify <= 1.3 x ping,
>= 3 x faster than DIY, collector <= 80 ms, <= 2 KB of facts on a clean host.
It asserts nothing about time: the figures depend on the machine.

``--against REV`` also runs identify from another commit of this repository (a temporary git
worktree, used as a second collections path, removed at the end) in the same rounds, alternating
with this tree's identify and ping, and prints both with the controller's CPU time (ansible-playbook
and its workers) and the hosts' CPU time (the containers' cgroups, when readable) and the ratios:
how a change compares with the code before it, measured in one run.

Every contender runs with Python's bytecode caching on, as a controller does (the harness
environment may turn it off with PYTHONDONTWRITEBYTECODE).

    . tests/harness/env.sh
    python tests/bench/identify_bench.py              # 10 hosts, 3 rounds
    python tests/bench/identify_bench.py -n 20 --rounds 5 --keep   # keep the containers
    python tests/bench/identify_bench.py --rounds 7 --against 7218e89   # this tree against 7218e89
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.path.join(ROOT, "molecule", "shared")
# the checkout's namespace of container names (tests/harness/env.sh: DIVEST_NS)
NS = hashlib.sha256(os.path.realpath(ROOT).encode()).hexdigest()[:8]
SCENARIO = "bench"
FORKS = 10

# The same mix as the harness: most hosts carry something, some are clean.
MIX = [
    ["kesl=12.1.0-1508", "kesl-gui=12.1.0-1508", "klnagent64"],
    ["kesl=12.2.0-2412", "klnagent64"],
    [],
    ["kav4fs"],
    ["kesl=10.1.1-6421"],
]

PING = """
- name: Ping every host
  hosts: all
  gather_facts: false
  tasks:
    - name: Ping
      ansible.builtin.ping:
"""

DIY = """
- name: Do it yourself
  hosts: all
  gather_facts: false
  vars:
    vendor_packages: {packages}
    vendor_paths: {paths}
  tasks:
    - name: Packages
      ansible.builtin.package_facts:
    - name: Services
      ansible.builtin.service_facts:
    - name: Paths
      ansible.builtin.stat:
        path: "{{{{ item }}}}"
      loop: "{{{{ vendor_paths }}}}"
      register: diy_paths
    - name: Decide
      ansible.builtin.set_fact:
        diy_found: "{{{{ ansible_facts.packages | dict2items | selectattr('key', 'in', vendor_packages) | map(attribute='key') | list }}}}"
"""

# Runs inside a container: time the collector's own work (2,500 dpkg packages).
COLLECTOR_TIMER = r"""
import json, statistics, sys, time
sys.path.insert(0, "/tmp/divest-bench")
from ansible_collections.fleetsec.divest.plugins.module_utils._linux.inventory import collector as inv
from ansible_collections.fleetsec.divest.plugins.module_utils._linux.host import Host
query = json.loads(sys.argv[1])
q = inv.Query(**{k: v for k, v in query.items() if k != "root"})
import subprocess
def run(argv):
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return p.returncode, p.stdout, p.stderr
import shutil
times = []
for _ in range(30):
    t = time.perf_counter()
    out = inv.collect(q, Host(root="/", run=run, which=shutil.which))
    times.append(time.perf_counter() - t)
with open("/var/lib/dpkg/status", "rb") as fh:
    packages = fh.read().count(b"\nPackage: ") + 1
print(json.dumps({"median_ms": statistics.median(times) * 1000, "max_ms": max(times) * 1000,
                  "packages_in_db": packages, "vendor_packages": len(out["packages"])}))
"""


def env():
    e = dict(os.environ)
    e.setdefault("DIVEST_CACHE", os.path.join(ROOT, ".cache"))
    e.setdefault("CONTAINERS_CONF", os.path.join(ROOT, "containers.conf"))
    e.setdefault("ANSIBLE_COLLECTIONS_PATH", os.path.join(e["DIVEST_CACHE"], "collections"))
    e["PATH"] = os.path.join(ROOT, ".venv", "bin") + os.pathsep + e.get("PATH", "")
    e["ANSIBLE_CONFIG"] = os.path.join(ROOT, "ansible.cfg")
    e["ANSIBLE_FORKS"] = str(FORKS)
    e["ANSIBLE_CACHE_PLUGIN"] = "memory"   # every playbook starts from the same state
    e["ANSIBLE_STDOUT_CALLBACK"] = "ansible.builtin.minimal"
    e.pop("PYTHONDONTWRITEBYTECODE", None)   # a controller caches bytecode
    return e


ENV = env()


def sh(*argv, check=True, **kw):
    return subprocess.run(argv, env=ENV, check=check, capture_output=True, text=True, **kw)


def timed(argv):
    start = time.perf_counter()
    proc = subprocess.run(argv, env=ENV, capture_output=True, text=True, check=False)
    took = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit("failed: %s\n%s" % (" ".join(argv), proc.stdout[-3000:] + proc.stderr[-2000:]))
    return took


def write_inventory(work, n):
    hosts = {}
    for i in range(n):
        hosts["bench%02d" % i] = {"harness_packages": MIX[i % len(MIX)]}
    inventory = {"all": {"children": {"harness_hosts": {
        "vars": {"harness_scenario": SCENARIO,
                 "ansible_host": "divest-%s-{{ harness_scenario }}-{{ inventory_hostname }}" % NS,
                 "ansible_connection": "containers.podman.podman",
                 "ansible_python_interpreter": "/usr/bin/python3",
                 "divest_become": False},
        "hosts": hosts}}}}
    path = os.path.join(work, "inventory.yml")
    with open(path, "w") as fh:
        yaml.safe_dump(inventory, fh)
    return path, sorted(hosts)


def catalog_query():
    sys.path.insert(0, ENV["ANSIBLE_COLLECTIONS_PATH"])
    from ansible_collections.fleetsec.divest.plugins.plugin_utils._catalog import load_catalogs
    from ansible_collections.fleetsec.divest.plugins.plugin_utils._matcher import build_query
    return build_query(load_catalogs(["kaspersky"]), "linux")


def fill_dpkg(container, count=2500):
    """Add synthetic (but well-formed) dpkg paragraphs so the package database is fleet-sized."""
    para = ("Package: bench-lib{i:04d}\nStatus: install ok installed\nPriority: optional\n"
            "Section: libs\nInstalled-Size: 120\nMaintainer: Debian Bench <bench@example.org>\n"
            "Architecture: amd64\nMulti-Arch: same\nVersion: 1.{i}.0-1\nDepends: libc6 (>= 2.34)\n"
            "Description: synthetic library {i} for the identify benchmark\n"
            " A long description line so the paragraph has the size of a real one, about one\n"
            " kilobyte in all, as Debian's own status paragraphs have.\n"
            " .\n This package is a benchmark fixture and holds no files.\n\n")
    blob = "".join(para.format(i=i) for i in range(count))
    sh("podman", "exec", "-i", container, "sh", "-c", "cat >> /var/lib/dpkg/status", input=blob)


def collector_time(container, query):
    base = "/tmp/divest-bench/ansible_collections/fleetsec/divest/plugins/module_utils"
    sh("podman", "exec", container, "mkdir", "-p", os.path.dirname(base))
    # the node-side code the collector imports: all of module_utils (what it imports changes)
    sh("podman", "cp", os.path.join(ROOT, "plugins", "module_utils"), "%s:%s" % (container, base))
    out = sh("podman", "exec", container, "python3", "-c", COLLECTOR_TIMER, json.dumps(query)).stdout
    return json.loads(out)


def container_cpu_files(hosts):
    """The cgroup (v1 cpuacct or v2 cpu.stat) files of the bench containers' CPU time, or []."""
    ids = sh("podman", "ps", "--no-trunc", "--format", "{{.ID}}",
             "--filter", "label=divest.checkout=%s" % NS, "--filter", "name=-%s-" % SCENARIO).stdout.split()
    files = []
    for cid in ids:
        for path in ("/sys/fs/cgroup/cpuacct/libpod_parent/libpod-%s/cpuacct.usage" % cid,
                     "/sys/fs/cgroup/libpod_parent/libpod-%s/cpu.stat" % cid,
                     "/sys/fs/cgroup/machine.slice/libpod-%s.scope/cpu.stat" % cid):
            if os.path.exists(path):
                files.append(path)
                break
    return files if len(files) == len(hosts) else []


def container_cpu(files):
    total = 0.0
    for path in files:
        with open(path) as fh:
            text = fh.read()
        if path.endswith("cpuacct.usage"):
            total += int(text) / 1e9
        else:
            total += int(dict(line.split() for line in text.splitlines())["usage_usec"]) / 1e6
    return total


def measured(argv, env, cpu_files):
    """``(wall s, controller CPU s, hosts' CPU s or None)`` of one successful run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    hosts_before = container_cpu(cpu_files) if cpu_files else None
    start = time.perf_counter()
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    took = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit("failed: %s\n%s" % (" ".join(argv), proc.stdout[-3000:] + proc.stderr[-2000:]))
    hosts_cpu = container_cpu(cpu_files) - hosts_before if cpu_files else None
    return took, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), hosts_cpu


def other_collection(rev, work):
    """A collections path whose fleetsec.divest is commit ``rev`` of this repository (a detached
    worktree under ``work``), the other collections those of this checkout."""
    tree = os.path.join(work, "against")
    subprocess.run(["git", "-C", ROOT, "worktree", "add", "--detach", "--quiet", tree, rev], check=True)
    root = os.path.join(work, "against-collections", "ansible_collections")
    os.makedirs(os.path.join(root, "fleetsec"))
    os.symlink(tree, os.path.join(root, "fleetsec", "divest"))
    mine = os.path.join(ENV["ANSIBLE_COLLECTIONS_PATH"], "ansible_collections")
    for name in os.listdir(mine):
        if name != "fleetsec":
            os.symlink(os.path.join(mine, name), os.path.join(root, name))
    return tree, os.path.dirname(root)


def compare(args, work, inventory, hosts, argv):
    """This tree's identify against commit ``args.against``'s, and ping, alternating."""
    tree, path = other_collection(args.against, work)
    try:
        other_env = dict(ENV, ANSIBLE_COLLECTIONS_PATH=path)
        other = ["ansible-playbook", "-i", inventory, "fleetsec.divest.identify",
                 "-e", "divest_report_dir=%s" % os.path.join(work, "reports-against")]
        cpu_files = container_cpu_files(hosts)
        contenders = [("identify", argv["identify"], ENV), (args.against, other, other_env), ("ping", argv["ping"], ENV)]
        for dummy, command, env in contenders:
            measured(command, env, cpu_files)   # warm up: parse caches, bytecode, AnsiballZ
        runs = {name: [] for name, dummy, dummy2 in contenders}
        for dummy in range(args.rounds):
            for name, command, env in contenders:
                runs[name].append(measured(command, env, cpu_files))
    finally:
        subprocess.run(["git", "-C", ROOT, "worktree", "remove", "--force", tree], check=False)
    med = {name: [statistics.median(r[i] for r in rows) if rows[0][i] is not None else None for i in range(3)]
           for name, rows in runs.items()}
    print()
    print("identify against %s: %d hosts, forks %d, %d rounds alternating (medians), load average %s"
          % (args.against, len(hosts), FORKS, args.rounds, " ".join("%.1f" % x for x in os.getloadavg())))
    print("  %-18s %8s %14s %12s" % ("", "wall s", "controller cpu", "hosts cpu"))
    for name in runs:
        wall, ctl, host = med[name]
        print("  %-18s %8.2f %14.2f %12s" % (name, wall, ctl, "-" if host is None else "%.2f" % host))
    this, that, ping = med["identify"], med[args.against], med["ping"]
    print("  this tree / %-8s wall %.3f, controller cpu %.3f%s" % (
        args.against, this[0] / that[0], this[1] / that[1],
        "" if this[2] is None else ", hosts cpu %.3f, all cpu %.3f" % (this[2] / that[2], (this[1] + this[2]) / (that[1] + that[2]))))
    print("  / ping: this tree %.2f, %s %.2f" % (this[0] / ping[0], args.against, that[0] / ping[0]))


def facts_size(inventory, host):
    out = sh("ansible", "-i", inventory, host, "-m", "fleetsec.divest.vendor_facts", "-o").stdout
    payload = json.loads(out.split("=>", 1)[1])
    return len(json.dumps(payload["ansible_facts"]["divest"], separators=(",", ":")))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    ap.add_argument("-n", "--hosts", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--keep", action="store_true", help="leave the containers running")
    ap.add_argument("--against", metavar="REV",
                    help="also run identify from this commit (a temporary worktree) and print the ratios")
    args = ap.parse_args()
    if args.against and shutil.which("git") is None:
        ap.error("--against needs git")

    work = tempfile.mkdtemp(prefix="divest-bench-")
    inventory, hosts = write_inventory(work, args.hosts)
    query = catalog_query()
    with open(os.path.join(work, "ping.yml"), "w") as fh:
        fh.write(PING)
    with open(os.path.join(work, "diy.yml"), "w") as fh:
        linux_paths = [p for p in query["paths"] if "*" not in p]
        fh.write(DIY.format(packages=json.dumps(query["packages"]), paths=json.dumps(linux_paths)))

    print("bringing up %d containers (scenario %s)..." % (args.hosts, SCENARIO), flush=True)
    timed(["ansible-playbook", "-i", inventory, os.path.join(SHARED, "create.yml"), os.path.join(SHARED, "prepare.yml")])
    try:
        runs = {"identify": [], "ping": [], "diy": []}
        argv = {
            "identify": ["ansible-playbook", "-i", inventory, "fleetsec.divest.identify",
                         "-e", "divest_report_dir=%s" % os.path.join(work, "reports")],
            "ping": ["ansible-playbook", "-i", inventory, os.path.join(work, "ping.yml")],
            "diy": ["ansible-playbook", "-i", inventory, os.path.join(work, "diy.yml")],
        }
        if args.against:
            compare(args, work, inventory, hosts, argv)
            return 0
        timed(argv["ping"])  # warm up caches (AnsiballZ, podman)
        for dummy in range(args.rounds):
            for name in ("identify", "ping", "diy"):
                runs[name].append(timed(argv[name]))
        med = {k: statistics.median(v) for k, v in runs.items()}

        clean = hosts[MIX.index([])]
        affected = hosts[0]
        size_clean = facts_size(inventory, clean)
        size_affected = facts_size(inventory, affected)

        big = "divest-%s-%s-%s" % (NS, SCENARIO, hosts[-1])
        fill_dpkg(big)
        coll = collector_time(big, query)
    finally:
        if not args.keep:
            timed(["ansible-playbook", "-i", inventory, os.path.join(SHARED, "destroy.yml")])

    print()
    print("identify benchmark: %d hosts, forks %d, %d rounds (median wall time)" % (args.hosts, FORKS, args.rounds))
    print("  identify (scan + report)   %6.2f s" % med["identify"])
    print("  ping                       %6.2f s" % med["ping"])
    print("  do it yourself             %6.2f s   (package_facts + service_facts + stat of %d paths)"
          % (med["diy"], len([p for p in query["paths"] if "*" not in p])))
    print("  identify / ping            %6.2f    (target <= 1.3)" % (med["identify"] / med["ping"]))
    print("  diy / identify             %6.2f    (target >= 3)" % (med["diy"] / med["identify"]))
    print("  collector on %d dpkg packages: median %.1f ms, max %.1f ms (target <= 80 ms)"
          % (coll["packages_in_db"], coll["median_ms"], coll["max_ms"]))
    print("  facts size: clean host %d bytes (target <= 2048), affected host (%s) %d bytes"
          % (size_clean, ", ".join(MIX[0]), size_affected))
    return 0


if __name__ == "__main__":
    sys.exit(main())
