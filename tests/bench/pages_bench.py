#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark of the three report pages (identify, plan, execute) at fleet scale, in chromium.

For each size N (default 7 and 100,000 hosts) it builds a synthetic document of each kind
from the same fleet (plan_bench.host_facts: most hosts clean, Linux and Windows hosts with
Kaspersky products, leftovers, Security Center servers; some hosts unreachable, some with an
execute outcome), renders its HTML page and loads it in headless chromium:

* ``render``: seconds to render the page in Python, and its size;
* ``cold``: wall time of ``chromium --headless --screenshot`` on the page (browser start,
  parse, script, layout, paint);
* ``warm``: in one running chromium (DevTools protocol), from the navigation to the first
  frame painted once the page is loaded and its script has run (the script does all its work
  before that: the tables sort and filter every row from then on);
* ``filter`` and ``sort``: in the last warm load, the seconds until the filter box shows the
  last host of the host table alone (typing pauses 150 ms first on a large table), and to
  sort the table by host name (a check that the page is usable, not only shown).

It prints the figures and the ratio of the largest size to the smallest, per kind and
measure. Target (issue 11): the 100,000-host page within 3 times the 7-host page. It asserts
nothing about time (that depends on the machine).

    . tests/harness/env.sh
    python tests/bench/pages_bench.py                          # 7 and 100000 hosts
    python tests/bench/pages_bench.py --sizes 7 10000 --keep /tmp/pages   # keep the pages
    python tests/bench/pages_bench.py --no-browser             # rendering only

``--collections DIR`` imports the collection from ``DIR/ansible_collections`` instead of this
checkout (to measure another version of the renderers on the same documents).
"""

from __future__ import annotations

import argparse
import datetime
import os
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from plan_bench import host_facts  # noqa: E402  pylint: disable=wrong-import-position

NOW = datetime.datetime(2026, 12, 31, 12, 0, 0, tzinfo=datetime.timezone.utc)
SCANNED = "2026-12-31T10:00:00Z"
KINDS = ("identify", "plan", "execute")
RUN_ID = "9be8e5eaa984"


def _import(collections):
    sys.path.insert(0, collections)
    sys.path.insert(0, os.path.join(ROOT, "tests", "unit", "plugins", "plugin_utils"))
    from ansible_collections.fleetsec.divest.plugins.action.removal_plan import vendor_profiles
    from ansible_collections.fleetsec.divest.plugins.plugin_utils import (
        _catalog, _execute, _execute_report, _plan_report, _planner, _report)
    return {"vendor_profiles": vendor_profiles, "catalog": _catalog, "execute": _execute,
            "execute_report": _execute_report, "plan_report": _plan_report, "planner": _planner,
            "report": _report}


def name_of(index):
    return "host%05d.example.net" % index


#: A small fleet is these hosts of the large one: Linux with an agent, Windows, an unknown
#: product (blocked), a Security Center server, an unreachable host, an incomplete scan, a clean host.
PICK = (20, 4, 21, 7, 3, 5, 0)


def fleet(count):
    """``{name: divest facts or None}`` (``None``: unreachable at scan time): ``count`` hosts of
    plan_bench's fleet, where 1 host in 97 is unreachable and 1 in 89 has an incomplete scan."""
    hosts = {}
    for index in (PICK[:count] if count <= len(PICK) else range(count)):
        facts = host_facts(index, SCANNED)
        if index % 97 == 3:
            facts = None
        elif index % 89 == 5:
            facts["status"] = "unknown"
            facts["scan"]["errors"] = [{"section": "packages", "message": "dpkg status: Permission denied"}]
        hosts[name_of(index)] = facts
    return hosts


def outcome(index, digest, facts):
    """A synthetic ``divest_outcome`` of the ``index``-th host of the plan ``digest``."""
    removed = [{"vendor": f["vendor"], "product": f["product"], "version": f["version"], "run_id": RUN_ID,
                "at": "2026-12-31T11:0%d:00Z" % (index % 10)} for f in (facts or {}).get("findings") or []]
    status = ("removed", "removed", "removed", "already_clean", "failed", "unprotected", "removed", "drifted")[index % 8]
    healthy = status != "unprotected"
    reason = {"removed": "removed %s; clean" % ", ".join(r["product"] for r in removed),
              "already_clean": "nothing of the vendor found when execute re-identified the host",
              "failed": "remove: kesl: dpkg --purge kesl failed (exit code 1)",
              "unprotected": "no working antivirus: clamd is not running",
              "drifted": "new since the plan: kaspersky/kess"}[status]
    return {"status": status, "reason": reason, "digest": digest, "run_id": RUN_ID, "wave": None, "step": "done",
            "check_mode": False, "started_at": "2026-12-31T11:00:00Z", "finished_at": "2026-12-31T11:09:00Z",
            "removed": removed if status in ("removed", "unprotected") else [], "remaining": [],
            "protection": "none" if status == "unprotected" else "replacement",
            "replacement": {"product": "clamav", "version": "1.4.3", "healthy": healthy, "checked": True,
                            "reason": None if healthy else "clamd is not running"},
            "history": [{"run_id": RUN_ID, "started_at": "2026-12-31T11:00:00Z", "finished_at": "2026-12-31T11:09:00Z",
                         "status": status, "step": "done", "removed": [r["product"] for r in removed]}]}


def documents(count, mods):
    """``{kind: (render function, document)}`` for a fleet of ``count`` hosts."""
    facts = fleet(count)
    planner, execute = mods["planner"], mods["execute"]
    vendors = mods["vendor_profiles"](mods["catalog"].load_catalogs(["kaspersky"]))
    plan, parts = planner.build_plan_parts(
        {n: {"divest": f, "groups": ["site_%d" % (i % 4)], "error": None if f else {"msg": "unreachable"}}
         for i, (n, f) in enumerate(facts.items())},
        {"directive_start": "2026-10-01", "exceptions": [
            {"host": name_of(min(count - 1, 1)), "reason": "audit of the file server", "expires": "2027-03-01"}]},
        now=NOW, vendors=vendors)
    gate = execute.gate(execute.parts_from_plan(plan), list(plan["hosts"]) + plan["clean"][:3],
                        waves=plan["waves"])
    gate.update(digest=plan["digest"], run_id=RUN_ID, generated_at=plan["generated_at"], directive=plan["directive"],
                path="divest-reports/divest-plan.json")
    # identify after execute: the hosts execute worked on carry their outcome
    hostvars, outcomes = {}, {}
    for index, name in enumerate(plan["hosts"]):
        outcomes[name] = outcome(index, plan["digest"], facts[name])
    for index, (name, data) in enumerate(facts.items()):
        if data is None:
            hostvars[name] = {"divest_scan": {"kind": "unreachable", "message": "ssh: connect to host %s port 22: "
                                                                                "No route to host" % name}}
            continue
        hostvars[name] = {"ansible_facts": {"divest": data}}
        if name in outcomes and index % 3 == 0:
            hostvars[name]["ansible_facts"]["divest_outcome"] = outcomes[name]
    identify = mods["report"].build_identify_report(hostvars, "2026-12-31T12:00:00Z")
    run = {n: {"divest_outcome": outcomes.get(n), "divest": {"status": "clean", "findings": [], "scanned_at": SCANNED}}
           for i, n in enumerate(gate["order"]) if i % 11 != 10}
    executed = mods["execute_report"].build_execute_report(run, "2026-12-31T12:00:00Z", gate)
    return {
        "identify": (mods["report"].render_html, identify),
        "plan": (lambda doc: mods["plan_report"].render(doc, ("html",), parts)["html"], plan),
        "execute": (mods["execute_report"].render_html, executed),
    }


#: In the loaded page: find the last host of the "hosts-table" with the filter box, then sort by
#: the host column; ``[filter ms, sort ms, whether the filter showed that host alone]``. The
#: filter waits for typing to pause (150 ms on a table of more than 2,000 rows): that is included.
USE = """(async () => {
  const table = document.getElementById('hosts-table');
  const bar = table.parentNode.previousElementSibling;
  const input = bar.querySelector('input');
  const count = bar.querySelector('.count');
  const data = JSON.parse(document.getElementById('divest-data').textContent).tables['hosts-table'];
  const names = data.rows ? data.rows.map(row => row[0]) :   // the data of pages before issue 13: a row per host
    Array.isArray(data.cells[0]) ? data.cells[0] : data.cells[0].index.map(i => data.cells[0].values[i]);
  const name = String(names[names.length - 1]);
  const until = (test) => new Promise((done, fail) => {
    const stop = performance.now() + 60000;
    const check = () => test() ? done() : (performance.now() > stop ? fail(new Error('timeout')) : setTimeout(check, 2));
    check();
  });
  let start = performance.now();
  input.value = name;
  input.dispatchEvent(new Event('input'));
  await until(() => count.textContent.startsWith('Showing 1 of'));
  const filtered = performance.now() - start;
  const found = table.tBodies[0].rows.length === 1 && table.tBodies[0].rows[0].cells[0].textContent === name;
  input.value = '';
  input.dispatchEvent(new Event('input'));
  await until(() => !count.textContent.startsWith('Showing 1 of'));
  start = performance.now();
  table.tHead.rows[0].cells[0].querySelector('button').click();
  return [filtered, performance.now() - start, found];
})()"""


def measure(path, tmp, repeat):
    """``(cold, warm, use)`` seconds: the best of ``repeat`` loads of the page at ``path``, and
    ``use``: ``(filter, sort)`` seconds in the last warm load (:data:`USE`)."""
    import chromium  # pylint: disable=import-error,import-outside-toplevel
    url = "file://" + path
    cold, warm = [], []
    for run in range(repeat):
        start = time.perf_counter()
        proc = chromium.run(["--screenshot=%s" % os.path.join(tmp, "shot.png"), "--window-size=1280,1600", url],
                            os.path.join(tmp, "cold-%d" % run), timeout=900)
        cold.append(time.perf_counter() - start)
        if proc.returncode != 0:
            raise SystemExit("chromium failed on %s: %s" % (path, proc.stderr.decode("utf-8", "replace")[-2000:]))
        violations = chromium.csp_violations(proc.stderr)
        if violations:
            raise SystemExit("Content-Security-Policy violations on %s: %s" % (path, violations[:3]))
        tools = chromium.DevTools(os.path.join(tmp, "warm-%d" % run))
        try:
            warm.append(tools.open(url, timeout=900))
            if run == repeat - 1:
                filtered, ordered, found = tools.evaluate(USE)
                if not found:
                    raise SystemExit("the filter of %s did not find the host it was given" % path)
                use = (filtered / 1000, ordered / 1000)
        finally:
            tools.close()
    return min(cold), min(warm), use


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[7, 100_000])
    parser.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS))
    parser.add_argument("--repeat", type=int, default=3, help="loads per page (the best one counts)")
    parser.add_argument("--keep", metavar="DIR", help="write the pages to DIR and keep them")
    parser.add_argument("--no-browser", action="store_true", help="render only")
    parser.add_argument("--collections", metavar="DIR", default=os.path.join(ROOT, ".cache", "collections"),
                        help="the directory holding ansible_collections/fleetsec/divest")
    args = parser.parse_args(argv)
    mods = _import(os.path.abspath(args.collections))
    if not args.no_browser and shutil.which("chromium") is None:
        raise SystemExit("chromium is not installed (apt-get install chromium), or use --no-browser")
    out = args.keep or tempfile.mkdtemp(prefix="divest-pages-bench-")
    os.makedirs(out, exist_ok=True)
    results = {}
    try:
        for size in sorted(args.sizes):
            start = time.perf_counter()
            docs = documents(size, mods)
            print("%7d hosts: documents built in %.1f s" % (size, time.perf_counter() - start), flush=True)
            for kind in args.kinds:
                render, document = docs[kind]
                start = time.perf_counter()
                page = render(document)
                seconds = time.perf_counter() - start
                path = os.path.join(out, "%s-%d.html" % (kind, size))
                with open(path, "wb") as handle:
                    handle.write(page)
                cold = warm = use = None
                if not args.no_browser:
                    scratch = tempfile.mkdtemp(prefix="profile-", dir=out)
                    try:
                        cold, warm, use = measure(path, scratch, args.repeat)
                    finally:
                        shutil.rmtree(scratch, ignore_errors=True)
                results[kind, size] = (seconds, len(page), cold, warm)
                print("%7d hosts %-8s render %6.2f s %9.1f MB%s" % (
                    size, kind, seconds, len(page) / 1e6,
                    "" if cold is None else "   chromium cold %6.2f s  warm %6.2f s   filter %5.2f s  sort %5.2f s" % (
                        cold, warm, use[0], use[1])), flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(out, ignore_errors=True)
    small, large = min(args.sizes), max(args.sizes)
    if small != large and not args.no_browser:
        print("\n%d / %d hosts (target: 3 or less; load average %s)" % (
            large, small, " ".join("%.1f" % load for load in os.getloadavg())))
        for kind in args.kinds:
            big, little = results[kind, large], results[kind, small]
            print("  %-8s cold %5.2f x   warm %5.2f x" % (kind, big[2] / little[2], big[3] / little[3]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
