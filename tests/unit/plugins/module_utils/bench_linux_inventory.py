# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Micro benchmark of the Linux collector (not a test: no timing is ever asserted).

    .venv/bin/python tests/unit/plugins/module_utils/bench_linux_inventory.py [--packages 2500]
        [--repeat 30] [--python-only]

Builds an offline root with a synthetic dpkg status file (``--packages`` paragraphs of about
1.2 KB, a few of them Kaspersky's), the KESL 12.2 layout, units and repository files, then
times ``collect()`` with a catalog-like query: the whole collector (dpkg, units, paths, repos,
platform) and the dpkg parser alone. Also times a live scan of ``/`` (dpkg, processes,
kernel modules). Prints min / median / max in milliseconds. The budget is 80 ms for the
whole collector on 2,500 packages.

``bench()`` returns the numbers as a dict for callers (say, a harness that records them).
"""

import argparse
import pathlib
import statistics
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve()
REPO = HERE.parents[4]
sys.path.insert(0, str(REPO / ".cache" / "collections"))
sys.path.insert(0, str(REPO / "tests" / "unit" / "fixtures" / "linux"))

import linux_root  # noqa: E402  pylint: disable=wrong-import-position,import-error
from ansible_collections.fleetsec.divest.plugins.module_utils._linux.host import Host  # noqa: E402
from ansible_collections.fleetsec.divest.plugins.module_utils._linux.inventory import collector as inv  # noqa: E402
from ansible_collections.fleetsec.divest.plugins.module_utils._linux.inventory.dpkg import parse_status  # noqa: E402

# What vendor_facts would derive from the Kaspersky catalog (docs/catalog.md).
QUERY = dict(
    packages=["kesl", "kesl-gui", "kesl-astra", "kesl-gui-astra", "klnagent", "klnagent64", "kav4fs",
              "kes4lwks", "kav4ws", "klms", "kav4proxy", "kess", "kess-gui", "kwts", "kics", "kics-gui",
              "ksc64", "ksc-web-console", "re:kesl-.*"],
    package_maintainers=["re:kaspersky"],
    units=["kesl", "kesl-supervisor", "klnagent64", "klnagent", "kav4fs-supervisor", "kav4ws", "klms",
           "kav4proxy", "kess", "kics", "re:kl.*_srv", "re:KSC.*"],
    processes=["kesl", "klnagent", "re:kav4.*"],
    kernel_modules=["re:kl.*"],
    paths=["/opt/kaspersky", "/var/opt/kaspersky", "/etc/opt/kaspersky", "/var/log/kaspersky",
           "/opt/kaspersky/kesl", "/var/opt/kaspersky/kesl/install_*", "/usr/bin/kesl-control",
           "/usr/bin/klnagent", "/usr/local/kaspersky", "/var/db/kaspersky", "/etc/ksc-web-console-setup.json"],
    repos=["re:kaspersky"],
)


def _time(function, repeat):
    samples = []
    for _run in range(repeat):
        start = time.perf_counter()
        function()
        samples.append((time.perf_counter() - start) * 1000.0)
    return {"min": min(samples), "median": statistics.median(samples), "max": max(samples)}


def bench(packages=2500, repeat=30, live=True):
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        status = linux_root.synthetic_status(packages)
        root = linux_root.build_root(pathlib.Path(tmp) / "img", status=status)
        query = inv.Query(**QUERY)
        inventory = inv.collect(query, Host(root=str(root)))
        assert len(inventory["packages"]) == 3, inventory["packages"]
        results["status_bytes"] = len(status)
        results["collect_offline"] = _time(lambda: inv.collect(inv.Query(**QUERY), Host(root=str(root))), repeat)
        results["dpkg_parse_only"] = _time(
            lambda: parse_status(status, query.packages, query.package_maintainers), repeat)
        results["read_and_parse"] = _time(
            lambda: parse_status((root / "var/lib/dpkg/status").read_bytes(), query.packages,
                                 query.package_maintainers), repeat)
    if live:
        results["collect_live_root"] = _time(
            lambda: inv.collect(inv.Query(**QUERY), Host(root="/", run=None, which=lambda name: None)), repeat)
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--packages", type=int, default=2500)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--no-live", action="store_true", help="skip the scan of the live /")
    args = parser.parse_args(argv)
    results = bench(args.packages, args.repeat, live=not args.no_live)
    print("python %s, %d packages, status file %.2f MB, %d runs each"
          % (sys.version.split()[0], args.packages, results.pop("status_bytes") / 1e6, args.repeat))
    for name, numbers in results.items():
        print("  %-20s min %6.1f ms   median %6.1f ms   max %6.1f ms"
              % (name, numbers["min"], numbers["median"], numbers["max"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
