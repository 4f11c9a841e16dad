#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark of the plan playbook at fleet scale (no host is contacted).

For each size N (default 10,000 and 20,000) it writes, in a temporary directory, a YAML
inventory of N synthetic hosts and a jsonfile fact cache holding fresh ``divest`` findings for
every one of them (a realistic mix: most hosts clean, Linux and Windows hosts with Kaspersky
products, leftovers only, Security Center servers, unknown products, password-protected
Windows installs), then runs ``ansible-playbook playbooks/plan.yml`` against it twice:

* ``new``: a new plan (each repetition changes the directive start date, so the digest
  changes): every file and every planned host's ``divest_plan`` fact is written, as on a
  first run;
* ``same``: the same plan again: nothing changes (the idempotent path).

It prints the best and the median wall time of each kind, the peak RSS (``resource.getrusage``
of the child processes, measured in a separate wrapper process per run), a baseline (a no-op
play on the same inventory: ansible-core's own startup and inventory parsing), and the ratio
of the largest to the smallest size. Targets: 10,000 hosts in 5 s or less, 20,000 hosts within 2.2 times that.
It checks that each run worked (exit code, every host accounted for in divest-plan.json) but asserts
nothing about time: timing depends on the machine.

    . tests/harness/env.sh
    python tests/bench/plan_bench.py                       # 10000 and 20000 hosts
    python tests/bench/plan_bench.py --sizes 1000 --repeat 1 --keep /tmp/plan-bench   # keep the files
    python tests/bench/plan_bench.py --sizes 10000 --profile /tmp/plan.prof

Only the standard library and ansible-core (its jsonfile cache plugin writes the facts) are used.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOK = os.path.join(ROOT, "playbooks", "plan.yml")
MAINT = "AO Kaspersky Lab <support@kaspersky.com>"

# --------------------------------------------------------------------------------- findings
# Findings shaped exactly like the matcher's (tests/unit/plugins/plugin_utils/test_matcher.py).

KESL_RESIDUE = ["/opt/kaspersky/kesl", "/var/opt/kaspersky/kesl", "/etc/opt/kaspersky/kesl*",
                "/var/log/kaspersky/kesl", "/usr/bin/kesl-control"]
AGENT_RESIDUE = ["/opt/kaspersky/klnagent64", "/opt/kaspersky/klnagent", "/var/opt/kaspersky/klnagent",
                 "/etc/opt/kaspersky/klnagent*", "/var/log/kaspersky/klnagent", "/usr/bin/klnagent"]


def _pkg(name, version, status="installed"):
    return {"kind": "package", "name": name, "version": version, "manager": "dpkg", "status": status, "arch": "amd64"}


def kesl(version="12.1.0.1508", gui=True, state="installed"):
    raw = version.rsplit(".", 1)
    raw = "%s-%s" % (raw[0], raw[1])
    status = "installed" if state == "installed" else "config-files"
    evidence = [_pkg("kesl", raw, status)]
    packages = ["kesl"]
    if gui:
        evidence.append(_pkg("kesl-gui", raw, status))
        packages = ["kesl-gui", "kesl"]
    if state == "installed":
        evidence += [{"kind": "service", "name": "kesl", "state": "running", "enabled": "enabled", "init": "systemd"},
                     {"kind": "process", "name": "kesl", "pid": 412},
                     {"kind": "path", "name": "/opt/kaspersky/kesl"}]
    return {"vendor": "kaspersky", "product": "kesl", "name": "Kaspersky Endpoint Security for Linux",
            "version": version, "state": state, "role": "protection", "evidence": evidence,
            "removal": {"method": "package", "order": 10, "packages": packages,
                        **({"services": ["kesl"]} if state == "installed" else {}),
                        "processes": ["kesl", "kesl-supervisor"], "purge": True, "residue": KESL_RESIDUE,
                        "reboot": False, "password": "none"}}


def klnagent(version="15.4.0.8873"):
    raw = version.rsplit(".", 1)
    return {"vendor": "kaspersky", "product": "klnagent", "name": "Kaspersky Security Center Network Agent for Linux",
            "version": version, "state": "installed", "role": "agent",
            "evidence": [_pkg("klnagent64", "%s-%s" % (raw[0], raw[1])),
                         {"kind": "service", "name": "klnagent64", "state": "running", "enabled": "enabled",
                          "init": "systemd"},
                         {"kind": "process", "name": "klnagent", "pid": 500}],
            "removal": {"method": "package", "order": 50, "packages": ["klnagent64"], "services": ["klnagent64"],
                        "processes": ["klnagent"], "purge": True, "residue": AGENT_RESIDUE, "reboot": False,
                        "password": "none"}}


def ksc64():
    return {"vendor": "kaspersky", "product": "ksc64", "name": "Kaspersky Security Center Administration Server for Linux",
            "version": "15.4.0.8873", "state": "installed", "role": "management",
            "evidence": [_pkg("ksc64", "15.4.0-8873"),
                         {"kind": "service", "name": "kladminserver_srv", "state": "running", "enabled": "enabled",
                          "init": "systemd"}],
            "removal": {"method": "package", "order": 90, "packages": ["ksc64"],
                        "services": ["kladminserver_srv"],
                        "processes": ["klserver", "klwebsrv", "kliam", "klactprx"], "purge": True,
                        "residue": ["/opt/kaspersky/ksc64", "/var/opt/kaspersky/ksc64", "/etc/opt/kaspersky/ksc64*",
                                    "/var/log/kaspersky/ksc64"],
                        "accounts": {"users": ["ksc"], "groups": ["kladmins"]}, "reboot": False, "password": "none"}}


def leftovers(repo=False):
    evidence = [{"kind": "path", "name": "/opt/kaspersky"}, {"kind": "path", "name": "/var/log/kaspersky"}]
    removal = {"method": "residue", "order": 100,
               "residue": ["/opt/kaspersky", "/var/opt/kaspersky", "/etc/opt/kaspersky", "/var/log/kaspersky"],
               "reboot": False, "password": "none"}
    if repo:
        evidence.append({"kind": "repo", "name": "/etc/apt/sources.list.d/kaspersky.list",
                         "line": "deb https://repo.example/kaspersky stable main"})
        removal["repo_files"] = ["/etc/apt/sources.list.d/kaspersky.list"]
    return {"vendor": "kaspersky", "product": "leftovers", "name": "Kaspersky leftovers", "version": None,
            "state": "residual", "evidence": evidence, "removal": removal}


def unknown_linux():
    return {"vendor": "kaspersky", "product": "unknown", "name": "Unrecognised Kaspersky software",
            "version": "4.2.0.1432", "state": "installed",
            "evidence": [_pkg("kaspersky-update-utility", "4.2.0-1432")],
            "removal": {"method": "unknown", "order": 100, "reboot": False, "password": "none",
                        "candidates": ["kaspersky-update-utility"]}}


def win(product, name, version, role, order, code, password="optional"):
    return {"vendor": "kaspersky", "product": product, "name": name, "version": version, "state": "installed",
            "role": role,
            "evidence": [{"kind": "uninstall_entry", "name": name, "version": version, "publisher": "AO Kaspersky Lab",
                          "key": code, "hive": "HKLM", "view": 64, "msi": True},
                         {"kind": "service", "name": "avp" if role == "protection" else "klnagent",
                          "state": "running", "start": "Auto"}],
            "removal": {"method": "msi", "order": order, "properties": {"REBOOT": "ReallySuppress"},
                        "password": password, "password_properties": {"login": "KLLOGIN", "password": "KLPASSWD"},
                        "success_codes": [0, 1641, 3010], "absent_codes": [1605], "reboot": role == "protection",
                        "product_codes": [code]}}


def kes_win(version="12.3.0.493", password="optional"):
    return win("kes", "Kaspersky Endpoint Security for Windows", version, "protection", 10,
               "{7EC66A95-AC2D-4127-940B-0445A526AB2F}", password)


def klnagent_win():
    return win("klnagent_win", "Kaspersky Security Center Network Agent", "15.1.0.20748", "agent", 50,
               "{2924BEDA-E0D7-4DAF-A224-50D2E0B12F5B}", "none")


LINUX_PLATFORMS = [{"system": "Linux", "distribution": "debian", "version": "12"},
                   {"system": "Linux", "distribution": "ubuntu", "version": "22.04"},
                   {"system": "Linux", "distribution": "redhat", "version": "9.4"}]
WINDOWS_PLATFORMS = [{"system": "Windows", "distribution": "Microsoft Windows Server 2022 Standard", "version": "10.0.20348"},
                     {"system": "Windows", "distribution": "Microsoft Windows 11 Enterprise", "version": "10.0.22631"}]


def host_facts(index, scanned_at):
    """The divest facts of synthetic host ``index``: about 58% clean, 30% affected, 10%
    residual, 2% needing a human (unknown product, required password); 1 in 500 is a
    Security Center Administration Server."""
    windows = index % 5 == 4                       # 20% Windows
    platform = (WINDOWS_PLATFORMS if windows else LINUX_PLATFORMS)[index % (2 if windows else 3)]
    bucket = (index * 7919) % 100
    findings = []
    if index % 500 == 7:
        findings = [ksc64(), klnagent()] if not windows else [kes_win(), klnagent_win()]
    elif bucket < 58:
        findings = []
    elif bucket < 88:
        if windows:
            findings = [kes_win(("12.3.0.493", "12.5.0.579", "11.11.0.452")[index % 3]), klnagent_win()]
        else:
            findings = [kesl(("12.1.0.1508", "12.2.0.2412", "11.4.0.1096")[index % 3], gui=index % 2 == 0)]
            if index % 3:
                findings.append(klnagent())
            if index % 11 == 0:
                findings.append(leftovers(repo=True))
    elif bucket < 98:
        findings = [kesl(state="residual"), leftovers()] if index % 2 else [leftovers(repo=index % 4 == 1)]
        if windows:
            findings = []          # Windows leftovers are manual: kept rare (see below)
    else:
        findings = [kes_win(password="required")] if windows else [kesl(), unknown_linux()]
    installed = any(f["state"] == "installed" for f in findings)
    status = "affected" if installed else ("residual" if findings else "clean")
    return {"schema": 1, "scanned_at": scanned_at, "platform": platform, "status": status, "findings": findings,
            "scan": {"live": True, "skipped": [], "errors": [], **({} if windows else {"root": "/"})}}


# ------------------------------------------------------------------------------------ fleet


_LOADER = []


def fact_cache(facts_dir):
    """ansible-core's own jsonfile cache plugin on ``facts_dir``: the files are written exactly
    as a scan would leave them, in the format of the installed ansible-core (2.19 and later
    wrap each host's facts and prefix the file names)."""
    for key, value in _env(facts_dir).items():
        if key.startswith("ANSIBLE_CACHE_PLUGIN"):
            os.environ[key] = value
    from ansible.plugins.loader import cache_loader, init_plugin_loader
    if not _LOADER:
        init_plugin_loader()
        _LOADER.append(True)
    return cache_loader.get("ansible.builtin.jsonfile")


def write_fleet(directory, count, now):
    """Inventory + jsonfile fact cache for ``count`` hosts under ``directory``."""
    facts_dir = os.path.join(directory, "facts")
    os.makedirs(facts_dir, exist_ok=True)
    cache = fact_cache(facts_dir)
    sites = ["east", "west", "north", "south"]
    members = {}  # (platform, site) -> host names; every host is listed once
    for index in range(count):
        name = "host%05d.example.net" % index
        platform = "windows" if index % 5 == 4 else "linux"
        members.setdefault((platform, sites[index % 4]), []).append(name)
        scanned = (now - datetime.timedelta(minutes=(index % 600))).strftime("%Y-%m-%dT%H:%M:%SZ")
        cache.set(name, {"divest": host_facts(index, scanned), "discovered_interpreter_python": "/usr/bin/python3"})
    # Sites and platforms as parents of <platform>_<site> groups: the usual shape of a large
    # static inventory (host names resolve in DNS, so no per-host variables).
    lines = ["---", "all:", "  children:"]
    for platform in ("linux", "windows"):
        lines += ["    %s:" % platform]
        if platform == "windows":
            lines += ["      vars:", "        ansible_connection: winrm", "        ansible_port: 5986"]
        lines += ["      children:"]
        for site in sites:
            lines += ["        %s_%s:" % (platform, site), "          hosts:"]
            lines += ["            %s:" % n for n in members.get((platform, site), [])]
    for site in sites:
        lines += ["    site_%s:" % site, "      children:", "        linux_%s:" % site, "        windows_%s:" % site]
    inventory = os.path.join(directory, "inventory.yml")
    with open(inventory, "w") as handle:
        handle.write("\n".join(lines) + "\n")
    return inventory, facts_dir


def _env(facts_dir):
    env = dict(os.environ)
    env.update({
        "ANSIBLE_CONFIG": os.path.join(ROOT, "ansible.cfg"),
        "ANSIBLE_CACHE_PLUGIN": "jsonfile",
        "ANSIBLE_CACHE_PLUGIN_CONNECTION": facts_dir,
        "ANSIBLE_CACHE_PLUGIN_TIMEOUT": "0",
        "ANSIBLE_COLLECTIONS_PATH": os.environ.get("ANSIBLE_COLLECTIONS_PATH",
                                                   os.path.join(ROOT, ".cache", "collections")),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
    })
    return env


def run_measured(command, env, cwd, log, tree=False):
    """Run ``command`` in a fresh wrapper process; return (rc, wall seconds, peak RSS in MiB of
    its largest process, CPU seconds: user + system of every process of the run), and with
    ``tree`` also the peak of the RSS summed over ansible-playbook and all its children at the
    same moment (sampled every 50 ms, MiB; forked workers share pages, so this sum is an upper
    bound) and the peak of their PSS summed (proportional set size: each shared page counted
    once, split among the processes sharing it; sampled every 250 ms, MiB): the memory the run
    really uses."""
    wrapper = [sys.executable, os.path.abspath(__file__), "--child", log, "--"] + command
    out = subprocess.run(wrapper, env=env, cwd=cwd, stdout=subprocess.PIPE, check=False)
    figures = tuple(json.loads(out.stdout.decode().strip().splitlines()[-1]))
    return figures if tree else figures[:4]


def tree_pids(pid):
    """``pid`` and its descendants, with their RSS in bytes, from /proc (nothing where there is no /proc)."""
    children, rss = {}, {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return {}
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry, "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
        rss[int(entry)] = int(fields[21]) * resource.getpagesize()
    found, todo = {}, [pid]
    while todo:
        current = todo.pop()
        found[current] = rss.get(current, 0)
        todo.extend(children.get(current, []))
    return found


def _tree_rss(pid):
    """RSS (MiB) of ``pid`` and its descendants summed."""
    return sum(tree_pids(pid).values()) / 1048576.0


def tree_pss(pids):
    """PSS (MiB) of ``pids`` summed, from /proc/<pid>/smaps_rollup (0 where it is not readable)."""
    total = 0
    for pid in pids:
        try:
            with open("/proc/%d/smaps_rollup" % pid, "rb") as handle:
                for line in handle:
                    if line.startswith(b"Pss:"):
                        total += int(line.split()[1]) * 1024
                        break
        except OSError:
            continue
    return total / 1048576.0


def child(log, command):
    start = time.perf_counter()
    peak = pss = 0.0
    ticks = 0
    with open(log, "wb") as handle:
        proc = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT)
        while proc.poll() is None:
            pids = tree_pids(proc.pid)
            peak = max(peak, sum(pids.values()) / 1048576.0)
            if ticks % 5 == 0:
                pss = max(pss, tree_pss(pids))
            ticks += 1
            time.sleep(0.05)
        rc = proc.returncode
    wall = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    rss = usage.ru_maxrss / 1024.0  # KiB on Linux
    print(json.dumps([rc, wall, rss, usage.ru_utime + usage.ru_stime, peak, pss]))
    return 0


def profiled(path, args):
    """Run ansible-playbook ``args`` in this process under cProfile: the main process' profile to
    ``path``, each task's worker process' (where an action's own work runs) to
    ``path.<pid>.<task>``."""
    import cProfile
    import re
    from ansible.executor.process import worker
    from ansible.cli.playbook import main as playbook
    main = cProfile.Profile()
    run = worker.WorkerProcess._run

    def run_profiled(self):
        main.disable()            # inherited from the main process by the fork
        prof = cProfile.Profile()
        prof.enable()
        try:
            return run(self)
        finally:
            prof.disable()
            prof.dump_stats("%s.%d.%s" % (path, os.getpid(), re.sub(r"[^A-Za-z0-9]+", "_", self._task.get_name())[:60]))
    worker.WorkerProcess._run = run_profiled
    sys.argv = ["ansible-playbook"] + args
    main.enable()
    try:
        return playbook()
    finally:
        main.disable()
        main.dump_stats(path)


def check_plan(reports, count):
    with open(os.path.join(reports, "divest-plan.json"), "rb") as handle:
        plan = json.loads(handle.read().decode("utf-8"))
    hosts = plan["summary"]["hosts"]
    accounted = hosts["planned"] + hosts["clean"] + hosts["not_selected"] + hosts["not_scanned"]
    if hosts["total"] != count or accounted != count or hosts["not_scanned"]:
        raise SystemExit("divest-plan.json does not account for the %d hosts: %r" % (count, hosts))
    return plan


NOOP = """---
- name: Baseline, ansible-core alone (startup and inventory parsing)
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Nothing
      ansible.builtin.meta: noop
"""


def _stats(values):
    values = sorted(values)
    return values[0], values[len(values) // 2]


def bench(count, keep, repeat, profile):
    """Time the plan playbook on ``count`` hosts. Each repetition makes a new plan (another
    directive start date, so a new digest: every planned host's divest_plan fact is
    written, as on a first run: "new") and then the same plan again ("same": nothing
    changes). Returns the timings (wall s, peak RSS MiB) of each kind."""
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    directory = keep or tempfile.mkdtemp(prefix="divest-plan-bench-")
    if keep:
        shutil.rmtree(directory, ignore_errors=True)
        os.makedirs(directory)
    try:
        start = time.perf_counter()
        inventory, facts_dir = write_fleet(directory, count, now)
        setup = time.perf_counter() - start
        reports = os.path.join(directory, "reports")
        env = _env(facts_dir)
        noop = os.path.join(directory, "noop.yml")
        with open(noop, "w") as handle:
            handle.write(NOOP)
        baseline = []
        for run in range(repeat):
            rc, wall, rss, cpu = run_measured(["ansible-playbook", "-i", inventory, noop], env, ROOT,
                                              os.path.join(directory, "noop.log"))
            baseline.append(wall)
        kinds = {"new": [], "same": []}
        for run in range(repeat):
            for kind in ("new", "same"):
                command = ["ansible-playbook", "-i", inventory, PLAYBOOK, "-e", "divest_report_dir=%s" % reports,
                           "-e", "divest_plan_max_age=1d", "-e", "divest_directive_start=2026-10-%02d" % (run + 1)]
                if profile and run == 0 and kind == "new":
                    command = [sys.executable, os.path.abspath(__file__), "--profiled", profile, "--"] + command[1:]
                log = os.path.join(directory, "run%d-%s.log" % (run + 1, kind))
                rc, wall, rss, cpu = run_measured(command, env, ROOT, log)
                if rc != 0:
                    with open(log) as handle:
                        sys.stderr.write(handle.read()[-6000:])
                    raise SystemExit("ansible-playbook failed (rc %d) for %d hosts; log: %s" % (rc, count, log))
                with open(log) as handle:
                    text = handle.read()
                expected = "changed=1" if kind == "new" else "changed=0"
                if "localhost                  : ok" not in text or expected not in text.split("PLAY RECAP")[-1]:
                    raise SystemExit("unexpected outcome of the %s run (expected %s); log: %s" % (kind, expected, log))
                plan = check_plan(reports, count)
                kinds[kind].append((wall, rss, cpu))
        return {"hosts": count, "setup": setup, "baseline": _stats(baseline), "kinds": kinds,
                "summary": plan["summary"]["hosts"], "waves": len(plan["waves"]), "digest": plan["digest"],
                "dir": directory}
    finally:
        if not keep:
            shutil.rmtree(directory, ignore_errors=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10000, 20000], help="fleet sizes (hosts)")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions; the best and the median are shown")
    parser.add_argument("--keep", help="generate into this directory and keep it (one size only)")
    parser.add_argument("--tmpdir", help="where the temporary fleets go (default: the system's temporary directory)")
    parser.add_argument("--profile", help="write a cProfile of the first new plan's ansible-playbook process to this file, "
                        "and of each of its task workers to FILE.<pid>.<task>")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--profiled", help=argparse.SUPPRESS)
    args, rest = parser.parse_known_args(argv)
    if args.child:
        return child(args.child, rest[1:] if rest[:1] == ["--"] else rest)
    if args.profiled:
        return profiled(args.profiled, rest[1:] if rest[:1] == ["--"] else rest)
    if args.keep and len(args.sizes) > 1:
        parser.error("--keep takes one size")
    if args.tmpdir:
        tempfile.tempdir = args.tmpdir

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print("fleetsec.divest plan benchmark: ansible-playbook playbooks/plan.yml on a jsonfile fact cache, "
          "every finding fresh, no host contacted")
    print("temporary files in %s; %d CPU(s), load average %.1f; best and median of %d run(s); inventory plugins: %s"
          % (tempfile.gettempdir(), os.cpu_count() or 0, load, args.repeat,
             os.environ.get("ANSIBLE_INVENTORY_ENABLED", "ansible.cfg / default")))
    print("  new:  a new plan (new digest): every planned host's divest_plan fact is written, as on a first run")
    print("  same: the same plan again: nothing changes")
    print("  base: ansible-core alone on the same inventory (no-op play): startup and inventory parsing")
    print("  cpu:  user + system CPU time of all processes of a run, lowest of the runs (less sensitive to a busy machine)")
    print()
    header = ("hosts", "planned", "new s (med)", "same s (med)", "base s", "peak MiB", "cpu s new/same")
    print("%7s %8s %15s %15s %11s %9s %13s" % header)
    rows = []
    for count in args.sizes:
        row = bench(count, args.keep, args.repeat, args.profile)
        rows.append(row)
        new = _stats([run[0] for run in row["kinds"]["new"]])
        same = _stats([run[0] for run in row["kinds"]["same"]])
        rss = max(run[1] for kind in row["kinds"].values() for run in kind)
        cpu = [_stats([run[2] for run in row["kinds"][kind]])[0] for kind in ("new", "same")]
        print("%7d %8d %7.2f (%5.2f) %7.2f (%5.2f) %5.2f (%4.2f) %9.0f %6.2f/%5.2f" % (
            count, row["summary"]["planned"], new[0], new[1], same[0], same[1], row["baseline"][0],
            row["baseline"][1], rss, cpu[0], cpu[1]))
        sys.stdout.flush()
    if len(rows) > 1:
        small, large = rows[0], rows[-1]
        for kind in ("new", "same"):
            ratio = _stats([run[0] for run in large["kinds"][kind]])[0] / _stats([run[0] for run in small["kinds"][kind]])[0]
            print("ratio %d/%d hosts, %s: %.2f (target <= 2.2)" % (large["hosts"], small["hosts"], kind, ratio))
    for row in rows:
        if row["hosts"] == 10000:
            print("10000 hosts: new plan %.2f s, same plan %.2f s (target <= 5 s)" % (
                _stats([run[0] for run in row["kinds"]["new"]])[0], _stats([run[0] for run in row["kinds"]["same"]])[0]))
    if args.keep:
        print("kept in %s" % args.keep)
    return 0


if __name__ == "__main__":
    sys.exit(main())
