#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet-scale benchmark of the controller side (issue 13, "Fleet scale"); no host is contacted.

For each size (default 10,000 and 100,000 hosts) it writes the synthetic fleet of
``plan_bench.py`` (YAML inventory, jsonfile fact cache written by ansible-core's own cache
plugin, so in the file naming of the installed ansible-core) and runs, in one run, alternating:

* ``floor``: a no-op play over the same inventory (ansible-core's startup and inventory parsing);
* ``unstored``: the same without storing the parts in the hosts' facts
  (``divest_plan_store_host_facts=false``, another new plan): what the storing costs;
* ``plan``: ``playbooks/plan.yml`` (a new plan: every planned host's part is written);
* ``report``: the report-only playbook ``fleetsec.divest.report`` (the fleet report rebuilt from
  the fact cache).

It prints the best wall time of each, the ratios plan/floor and report/floor, the peak memory
(the PSS of ansible-playbook and all its children summed: each page shared by forked processes
counted once, split among them, which is what the run really uses and what the 1 GiB target is
about; also the RSS of the largest process and the RSS of all summed, which counts a forked
worker's shared pages once per process), the growth of each from the smallest to the largest
size against the growth in hosts, and checks correctness at every size: every affected or
residual host of the facts is in exactly one wave of the plan, the plan's and the report's
counts equal the counts of the facts, and the ``divest_plan`` facts of a sample of 500 planned
hosts, read back through ansible-core's cache plugin, are their entries of the plan and fold up
to its digest. ansible-playbook runs with Python's bytecode cache, as on
a controller (``--no-bytecode``: as the environment says). Then it runs ``pages_bench.py`` (the
identify, plan and execute pages of 7 hosts and of the largest size in headless chromium).
Targets: plan and report <= 2 x floor, peak <= 1 GiB, linear growth;
pages <= 3 x the 7-host page. It asserts nothing about time (that depends on the machine); a
correctness check that fails stops it with an error.

    . tests/harness/env.sh
    python tests/bench/scale_bench.py                       # or: make bench-scale
    python tests/bench/scale_bench.py --hosts 10000 50000 --repeat 1 --no-pages
"""

from __future__ import annotations

import argparse
import collections
import datetime
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
# pylint: disable=wrong-import-position
from plan_bench import NOOP, PLAYBOOK, ROOT, _env, fact_cache, host_facts, run_measured, write_fleet  # noqa: E402

GIB = 1024.0


def expected(count, now):
    """What the facts say, host by host: the status of each (computed from the same generator
    that wrote the cache)."""
    scanned = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"host%05d.example.net" % index: host_facts(index, scanned)["status"] for index in range(count)}


def canonical(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def check_parts(plan, facts_dir, sample=500):
    """Every ``len/sample``-th planned host's ``divest_plan`` fact, read back through ansible-core's
    own cache plugin, is its entry of the plan and folds up to the plan's digest (the recipe of
    docs/plan.md, "Digest", written out here)."""
    cache = fact_cache(facts_dir)
    names = sorted(plan["hosts"])
    for name in names[::max(1, len(names) // sample)]:
        part = cache.get(name).get("divest_plan") or {}
        entry = {k: v for k, v in part.items() if k not in ("digest", "proof")}
        node = hashlib.sha256(b"\x00" + canonical(name) + b":" + canonical(entry)).digest()
        for step in (part.get("proof") or {}).get("path", []):
            sibling = bytes.fromhex(step[2:])
            node = hashlib.sha256(b"\x01" + (sibling + node if step[0] == "L" else node + sibling)).digest()
        proof = part.get("proof") or {}
        top = canonical({"body": proof.get("body"), "hosts": proof.get("hosts"), "root": node.hex()})
        if entry != plan["hosts"][name] or "sha256:" + hashlib.sha256(top).hexdigest() != plan["digest"]:
            raise SystemExit("plan: the divest_plan fact of %s is not its part of the plan %s" % (name, plan["digest"]))
    return len(names[::max(1, len(names) // sample)])


def check_plan(path, statuses, facts_dir):
    with open(path, "rb") as handle:
        plan = json.loads(handle.read())
    waved = collections.Counter(host for wave in plan["waves"] for host in wave["hosts"])
    twice = [host for host, times in waved.items() if times > 1]
    if twice:
        raise SystemExit("plan: %d host(s) in more than one wave, e.g. %s" % (len(twice), twice[:3]))
    want = {host for host, status in statuses.items() if status != "clean"}
    if set(waved) != want:
        raise SystemExit("plan: waves hold %d hosts, the facts %d affected or residual (missing %s, extra %s)"
                         % (len(waved), len(want), sorted(want - set(waved))[:3], sorted(set(waved) - want)[:3]))
    facts = collections.Counter(statuses.values())
    summary = plan["summary"]
    got = {"total": summary["hosts"]["total"], "clean": summary["hosts"]["clean"],
           "affected": summary["by_status"]["affected"], "residual": summary["by_status"]["residual"]}
    want_counts = {"total": len(statuses), "clean": facts["clean"], "affected": facts["affected"],
                   "residual": facts["residual"]}
    if got != want_counts or set(plan["hosts"]) != want:
        raise SystemExit("plan: counts %r, the facts %r" % (got, want_counts))
    checked = check_parts(plan, facts_dir)
    return "%d hosts in %d waves, each once, %d stored parts checked" % (len(waved), len(plan["waves"]), checked)


def check_report(path, statuses):
    with open(path, "rb") as handle:
        report = json.loads(handle.read())
    facts = collections.Counter(statuses.values())
    by_status = {k: v for k, v in report["summary"]["by_status"].items() if v}
    if report["summary"]["hosts"] != len(statuses) or by_status != dict(facts) or len(report["hosts"]) != len(statuses):
        raise SystemExit("report: %d hosts %r, the facts %d %r" % (
            report["summary"]["hosts"], by_status, len(statuses), dict(facts)))
    return "%d hosts, %s" % (len(statuses), ", ".join("%s %d" % kv for kv in sorted(facts.items())))


def bench(count, repeat, tmp, bytecode=True):
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    directory = tempfile.mkdtemp(prefix="divest-scale-bench-", dir=tmp)
    try:
        start = time.perf_counter()
        # every host scanned at the same minute, so that the statuses can be recomputed
        inventory, facts_dir = write_fleet(directory, count, now)
        setup = time.perf_counter() - start
        statuses = expected(count, now)
        env = _env(facts_dir)
        if bytecode:
            # as on a controller: Python caches each module's bytecode (here in this fleet's
            # directory, the first run of each playbook writes it; the best run counts)
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = os.path.join(directory, "pycache")
        reports = os.path.join(directory, "reports")
        noop = os.path.join(directory, "floor.yml")
        with open(noop, "w") as handle:
            handle.write(NOOP)
        plan = ["ansible-playbook", "-i", inventory, PLAYBOOK, "-e", "divest_report_dir=%s" % reports,
                "-e", "divest_plan_max_age=1d"]
        commands = {
            "floor": ["ansible-playbook", "-i", inventory, noop],
            # the same plan without storing the parts in the hosts' facts: what the storing costs
            # (before "plan", so that the parts checked are those of the last plan file)
            "unstored": plan + ["-e", "divest_plan_store_host_facts=false"],
            "plan": plan,
            "report": ["ansible-playbook", "-i", inventory, "fleetsec.divest.report",
                       "-e", "divest_report_dir=%s" % reports],
        }
        runs = {kind: [] for kind in commands}
        checks = {}
        for run in range(repeat):
            for kind, command in commands.items():
                if kind in ("plan", "unstored"):   # a new plan each time (another start date: another digest)
                    command = command + ["-e", "divest_directive_start=2026-%d-%02d" % (10 if kind == "plan" else 11, run + 1)]
                log = os.path.join(directory, "%s-%d.log" % (kind, run))
                rc, wall, rss, cpu, tree, pss = run_measured(command, env, ROOT, log, tree=True)
                if rc != 0:
                    with open(log) as handle:
                        sys.stderr.write(handle.read()[-6000:])
                    raise SystemExit("%s failed (rc %d) for %d hosts; log: %s" % (kind, rc, count, log))
                runs[kind].append((wall, rss, tree, cpu, pss))
            checks["plan"] = check_plan(os.path.join(reports, "divest-plan.json"), statuses, facts_dir)
            checks["report"] = check_report(os.path.join(reports, "divest-identify.json"), statuses)
        planned = sum(1 for status in statuses.values() if status != "clean")
        return {"hosts": count, "setup": setup, "runs": runs, "checks": checks, "planned": planned}
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--hosts", type=int, nargs="+", default=[10000, 100000], help="fleet sizes")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each playbook per size (the best counts)")
    parser.add_argument("--tmpdir", help="where the temporary fleets go (default: the system's)")
    parser.add_argument("--no-pages", action="store_true", help="skip the pages in chromium")
    parser.add_argument("--page-repeat", type=int, default=2, help="loads per page (pages_bench --repeat)")
    parser.add_argument("--no-bytecode", action="store_true",
                        help="run ansible-playbook without Python's bytecode cache (PYTHONDONTWRITEBYTECODE as set)")
    args = parser.parse_args(argv)
    sizes = sorted(args.hosts)

    print("fleetsec.divest fleet-scale benchmark: %s hosts, %d CPU(s), load %.1f, best of %d run(s), "
          "no host contacted, bytecode cache %s" % (
              " and ".join(str(s) for s in sizes), os.cpu_count() or 0, os.getloadavg()[0], args.repeat,
              "off" if args.no_bytecode else "on"))
    print("  peak MiB: PSS of ansible-playbook and all its children summed (each shared page counted once: the")
    print("  memory the run uses; the target applies to it) / RSS of the largest process / RSS of all summed")
    print("  (forked workers share their parent's pages, counted here once per process)")
    print()
    print("%7s %-7s %8s %8s %22s %8s" % ("hosts", "kind", "wall s", "x floor", "peak MiB pss/max/sum", "cpu s"))
    rows = []
    for count in sizes:
        row = bench(count, args.repeat, args.tmpdir, bytecode=not args.no_bytecode)
        rows.append(row)
        floor = min(r[0] for r in row["runs"]["floor"])
        for kind in ("floor", "plan", "unstored", "report"):
            best = min(row["runs"][kind])
            print("%7d %-7s %8.2f %8.2f %6.0f / %5.0f / %5.0f %8.2f" % (
                count, kind, best[0], best[0] / floor, max(r[4] for r in row["runs"][kind]),
                max(r[1] for r in row["runs"][kind]), max(r[2] for r in row["runs"][kind]),
                min(r[3] for r in row["runs"][kind])))
        print("        fact cache written in %.0f s; plan: %s; report: %s" % (
            row["setup"], row["checks"]["plan"], row["checks"]["report"]), flush=True)

    print()
    large = rows[-1]
    floor = min(r[0] for r in large["runs"]["floor"])
    for kind in ("plan", "report"):
        best = min(r[0] for r in large["runs"][kind])
        peak = max(r[4] for r in large["runs"][kind])
        print("%d hosts, %-6s %5.2f x floor (target <= 2), peak %4.0f MiB PSS of all processes summed (target <= %d)"
              % (large["hosts"], kind, best / floor, peak, GIB))
    stored = min(r[0] for r in large["runs"]["plan"]) - min(r[0] for r in large["runs"]["unstored"])
    print("%d hosts, storing the %d planned hosts' parts in their facts: %.2f s of the plan's wall time; the plan "
          "without it %.2f x floor" % (large["hosts"], large["planned"], stored,
                                       min(r[0] for r in large["runs"]["unstored"]) / floor))
    if len(rows) > 1:
        small = rows[0]
        grow = large["hosts"] / small["hosts"]
        for kind in ("floor", "plan", "report"):
            ratio = min(r[0] for r in large["runs"][kind]) / min(r[0] for r in small["runs"][kind])
            print("growth %d -> %d hosts (x %.0f), %-6s x %.2f (linear: x %.0f or less)"
                  % (small["hosts"], large["hosts"], grow, kind, ratio, grow))
    sys.stdout.flush()
    if not args.no_pages:
        print()
        print("pages (tests/bench/pages_bench.py):", flush=True)
        subprocess.run([sys.executable, os.path.join(HERE, "pages_bench.py"), "--sizes", "7", str(sizes[-1]),
                        "--repeat", str(args.page_repeat)], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
