"""Bring up (or down) a small demo fleet of systemd containers carrying fake Kaspersky packages.

    python tests/harness/demo.py up       create + prepare the fleet, show it, run the main job on it
    python tests/harness/demo.py status   show what each host carries
    python tests/harness/demo.py down     remove the containers

The main job is the collection's own playbooks, run as an operator would run them:
fleetsec.divest.identify (BOD 17-01 day 30), fleetsec.divest.plan (day 60), then
fleetsec.divest.execute (day 90) with the digest the plan printed, as the operator's approval.
Reports go to divest-reports/ (before: the identify report and divest-plan.html; after: the execute
report and a second identify report in divest-reports/after/).

ClamAV, the replacement antivirus, comes from the local Debian mirror (.cache/repos/debian),
with a tiny offline signature bundle generated under .cache/demo (molecule/clamav/eicar.py):
no network is needed.

Containers are named divest-<ns>-demo-<host>, where <ns> is this checkout's namespace (DIVEST_NS,
tests/harness/env.sh), and labelled divest.checkout=<ns> and divest.scenario=demo: a demo fleet of
another checkout on the same machine is never reached nor removed.  The inventory for
the collection's playbooks is written to .cache/demo/inventory.yml (hosts reachable with the
containers.podman.podman connection).  `up` reuses running containers; when an earlier `up` already cleaned
them, it recreates the fleet so the whole flow runs again.  The work is done by the same playbooks as the molecule scenarios
(molecule/shared/create.yml, prepare.yml, destroy.yml).

Every vendor package on these hosts is a TEST DOUBLE without vendor code (tests/harness/README.md).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

HARNESS = Path(__file__).resolve().parent
ROOT = HARNESS.parent.parent
SHARED = ROOT / "molecule" / "shared"
SCENARIO = "demo"

# host -> what prepare.yml puts on it (same variables as the molecule inventories)
# the site's Debian mirror (ClamAV comes from there), written only when missing
MIRROR = [{"path": "/etc/apt/sources.list.d/site-mirror.list",
           "content": "deb [trusted=yes] file:/srv/divest-repos/debian ./\n"}]
FLEET: dict[str, dict] = {
    "web01": {"harness_packages": ["kesl=12.2.0-2412", "kesl-gui=12.2.0-2412", "klnagent64"]},
    "app01": {"harness_packages": ["kesl=12.1.0-1508", "klnagent64"], "harness_apt_sources": True},
    "files01": {"harness_packages": ["kav4fs", "kes4lwks"], "harness_smb_conf": True},
    "proxy01": {"harness_packages": ["kav4proxy", "klnagent"], "harness_squid_conf": True},
    "ksc01": {"harness_packages": ["ksc64", "ksc-web-console", "klnagent64"]},
    "old01": {"harness_packages": ["kesl=11.4.0-1096", "klnagent64"], "harness_after": "remove"},
    "db01": {"harness_packages": []},
}


def checkout_namespace(root: Path = ROOT) -> str:
    """This checkout's namespace, DIVEST_NS of tests/harness/env.sh: sha256 of its path, 8 hex."""
    return hashlib.sha256(str(root).encode()).hexdigest()[:8]


NS = checkout_namespace()


def environment() -> dict[str, str]:
    """The variables tests/harness/env.sh exports, always for this checkout.

    Values a shell inherited from another checkout's env.sh are replaced, so this script never
    reaches or removes another checkout's fleet; only the shared test image can be chosen.
    """
    env = dict(os.environ)
    cache = ROOT / ".cache"
    env.update({
        "DIVEST_ROOT": str(ROOT),
        "DIVEST_CACHE": str(cache),
        "DIVEST_NS": NS,
        "CONTAINERS_CONF": str(ROOT / "containers.conf"),
        "ANSIBLE_COLLECTIONS_PATH": str(cache / "collections"),
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        "ANSIBLE_HOME": str(cache / "ansible-home"),
    })
    env.setdefault("DIVEST_TEST_IMAGE", "localhost/fleetsec-debian:12")
    venv_bin = str(ROOT / ".venv" / "bin")
    path = [p for p in env.get("PATH", "").split(os.pathsep) if p and p != venv_bin]
    env["PATH"] = os.pathsep.join([venv_bin, *path])
    env.setdefault("ANSIBLE_FORCE_COLOR", "0")
    return env


ENV = environment()
DEMO_DIR = Path(ENV["DIVEST_CACHE"]) / "demo"
INVENTORY = DEMO_DIR / "inventory.yml"
BUNDLE = DEMO_DIR / "clamav-bundle"


def write_bundle() -> None:
    """The tiny ClamAV signature bundle that detects EICAR (never committed: made here)."""
    sys.path.insert(0, str(ROOT / "molecule" / "clamav"))
    import eicar  # noqa: E402  pylint: disable=import-outside-toplevel
    BUNDLE.mkdir(parents=True, exist_ok=True)
    for name, content in eicar.bundle().items():
        path = BUNDLE / name
        if not path.exists() or path.read_text() != content:
            path.write_text(content)


def write_inventory() -> None:
    inventory = {
        "all": {
            # what the site decided for its plan and its replacement antivirus
            "vars": {
                "divest_waves": {"canary": 1},          # a canary, then the rest, KSC last
                "divest_directive_start": "2026-10-01",
                "divest_clamav_signatures": "offline",  # no Internet: the local bundle
                "divest_clamav_offline_bundle": str(BUNDLE),
                "divest_clamav_start_timeout": 60,
                "divest_kill_timeout": 5,
            },
            "children": {
                "harness_hosts": {
                    "vars": {
                        "harness_scenario": SCENARIO,
                        "ansible_host": f"divest-{NS}-{{{{ harness_scenario }}}}-{{{{ inventory_hostname }}}}",
                        "ansible_connection": "containers.podman.podman",
                        "ansible_python_interpreter": "/usr/bin/python3",
                        # the podman connection is root already; the image has no sudo
                        "divest_become": False,
                        "harness_seed_files": MIRROR,
                    },
                    "hosts": FLEET,
                }
            }
        }
    }
    DEMO_DIR.mkdir(parents=True, exist_ok=True)
    header = (
        "# Demo fleet written by tests/harness/demo.py; regenerated by every `demo.py up`.\n"
        "# Every vendor package on these hosts is a TEST DOUBLE (tests/harness/README.md).\n"
    )
    INVENTORY.write_text(header + yaml.safe_dump(inventory, sort_keys=False))


REPORTS = ROOT / "divest-reports"


def playbook(*names: str, extra: tuple[str, ...] = (), log_name: str = "ansible.log") -> None:
    log = DEMO_DIR / log_name
    """Run playbooks: a file name of molecule/shared, or a collection playbook's FQCN."""
    paths = [str(SHARED / n) if n.endswith(".yml") else n for n in names]
    cmd = ["ansible-playbook", "-i", str(INVENTORY), *extra, *paths]
    with open(log, "w") as fh:
        proc = subprocess.run(cmd, env=ENV, stdout=fh, stderr=subprocess.STDOUT, cwd=ROOT, check=False)
    lines = log.read_text().splitlines()
    if proc.returncode != 0:
        print("\n".join(lines[-40:]), file=sys.stderr)
        sys.exit(f"ansible-playbook failed (full log: {log})")
    recap = lines[next((i for i, l in enumerate(lines) if l.startswith("PLAY RECAP")), len(lines)):]
    changed = sum(int(part.split("=")[1]) for line in recap for part in line.split() if part.startswith("changed="))
    print(f"  {' + '.join(names)}: ok ({changed} changes; log {log.relative_to(ROOT) if log.is_relative_to(ROOT) else log})")


def podman(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["podman", *args], env=ENV, capture_output=True, text=True, check=check)


def container_name(host: str) -> str:
    """The container of a demo host: divest-<ns>-demo-<host> (create.yml checks the same)."""
    return f"divest-{NS}-{SCENARIO}-{host}"


def own_demo_containers() -> list[str]:
    """IDs of this checkout's demo containers (label divest.checkout=<ns> and divest.scenario=demo)."""
    listing = podman("ps", "--all", "--format", "json", "--filter", f"label=divest.checkout={NS}").stdout
    return [c["Id"] for c in json.loads(listing or "[]")
            if (c.get("Labels") or {}).get("divest.checkout") == NS
            and (c.get("Labels") or {}).get("divest.scenario") == SCENARIO]


def vendor_units() -> set[str]:
    index = json.loads((Path(ENV["DIVEST_CACHE"]) / "packages" / "index.json").read_text())["packages"]
    return {svc["name"] for e in index for svc in e["services"]}


HOST_PROBE = r"""
dpkg-query --show --showformat='${Package} ${Version} ${db:Status-Abbrev}\n' 2>/dev/null \
  | awk '$3 != "un" && $1 ~ /^(kesl|klnagent|kav4|kes4lwks|klms|kess|kwts|kics|ksc)/ {print "pkg", $1, $2, $3}'
systemctl list-units --type=service --state=running --no-legend --plain | awk '{print "unit", $1}'
"""


def table() -> None:
    units_of_vendor = vendor_units()
    rows = []
    for host in FLEET:
        name = container_name(host)
        res = podman("exec", name, "sh", "-c", HOST_PROBE, check=False)
        if res.returncode != 0:
            rows.append((host, name, "(not running)", ""))
            continue
        pkgs, units = [], []
        for line in res.stdout.splitlines():
            kind, *rest = line.split()
            if kind == "pkg":
                pkg, version, status = rest
                pkgs.append(f"{pkg} {version}" + ("" if status == "ii" else f" [{status}]"))
            elif kind == "unit" and rest[0].removesuffix(".service") in units_of_vendor:
                units.append(rest[0].removesuffix(".service"))
        rows.append((host, name, ", ".join(pkgs) or "-", ", ".join(units) or "-"))
    headers = ("HOST", "CONTAINER", "VENDOR PACKAGES (dpkg; [rc] = removed, config left)", "RUNNING VENDOR UNITS")
    widths = [max(len(r[i]) for r in rows + [headers]) for i in range(4)]
    for row in [headers, tuple("-" * w for w in widths)] + rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())


def identify(reports: Path = REPORTS, label: str = "identify (BOD 17-01 day 30)") -> None:
    start = time.monotonic()
    print(f"\n== {label}: ansible-playbook fleetsec.divest.identify")
    playbook("fleetsec.divest.identify", extra=("-e", f"divest_report_dir={reports}"),
             log_name="identify-after.log" if reports != REPORTS else "identify.log")
    report = json.loads((reports / "divest-identify.json").read_text())
    counts = report["summary"]["by_status"]
    print(f"  {report['summary']['hosts']} hosts in {time.monotonic() - start:.0f} s: "
          + ", ".join(f"{counts[k]} {k}" for k in counts if counts[k]))
    for host in report["hosts"]:
        found = ", ".join(f"{f['name']} {f['version'] or ''}".strip() + ("" if f["state"] == "installed" else " (residual)")
                          for f in host["findings"]) or "-"
        print(f"  {host['name']:<10} {host['status']:<11} {found}")
    print(f"  report: {reports / 'divest-identify.html'} (also .json, .csv)")


def plan() -> str:
    start = time.monotonic()
    print("\n== plan (BOD 17-01 day 60): ansible-playbook fleetsec.divest.plan")
    playbook("fleetsec.divest.plan", extra=("-e", f"divest_report_dir={REPORTS}"), log_name="plan.log")
    document = json.loads((REPORTS / "divest-plan.json").read_text())
    hosts = document["summary"]["hosts"]
    print(f"  {hosts['planned']} hosts planned in {len(document['waves'])} waves, {hosts['clean']} clean, "
          f"in {time.monotonic() - start:.0f} s: "
          + "; ".join(f"{w['name']}: {', '.join(w['hosts'])}" for w in document["waves"]))
    print(f"  plan: {REPORTS / 'divest-plan.html'}")
    print(f"  digest: {document['digest']}")
    return document["digest"]


def execute(digest: str) -> None:
    start = time.monotonic()
    print("\n== execute (BOD 17-01 day 90): ansible-playbook fleetsec.divest.execute "
          f"-e divest_plan_digest={digest}")
    print("  (the operator approves the plan by passing the digest the plan printed)")
    playbook("fleetsec.divest.execute", extra=("-e", f"divest_report_dir={REPORTS}", "-e", f"divest_plan_digest={digest}"),
             log_name="execute.log")
    report = json.loads((REPORTS / "divest-execute.json").read_text())
    counts = report["summary"]["by_status"]
    print(f"  {report['summary']['hosts']} hosts in {time.monotonic() - start:.0f} s: "
          + ", ".join(f"{counts[k]} {k}" for k in counts if counts[k]))
    for host in report["hosts"]:
        removed = ", ".join(f"{r['product']} ({', '.join(r.get('packages') or [])})" for r in host["removed"]) or "-"
        print(f"  {host['name']:<10} {host['wave']:<11} {host['status']:<14} {removed}")
    for item in report["not_in_plan"]:
        print(f"  {item['host']:<10} {'-':<11} {'not in plan':<14} {item['reason']}")


def already_executed() -> bool:
    """True when an earlier `up` cleaned the fleet (its reinstall pin is on a host)."""
    for host in FLEET:
        res = podman("exec", container_name(host), "test", "-e",
                     "/etc/apt/preferences.d/divest-kaspersky.pref", check=False)
        if res.returncode == 0:
            return True
    return False


def up() -> None:
    start = time.monotonic()
    write_inventory()
    write_bundle()
    print(f"demo fleet: {len(FLEET)} hosts, inventory {INVENTORY}")
    if already_executed():
        print("  an earlier run already cleaned the fleet: recreating it")
        playbook("destroy.yml")
    playbook("create.yml", "prepare.yml")
    print(f"ready in {time.monotonic() - start:.0f} s\n")
    table()
    identify()
    digest = plan()
    execute(digest)
    identify(REPORTS / "after", "identify again, after execute")
    print("\nBefore:")
    print(f"  {REPORTS / 'divest-identify.html'}   what was found (day 30)")
    print(f"  {REPORTS / 'divest-plan.html'}   the approved plan (day 60)")
    print("After:")
    print(f"  {REPORTS / 'divest-execute.html'}   per host: what the plan expected, what happened")
    print(f"  {REPORTS / 'after' / 'divest-identify.html'}   what a scan finds now")
    print(f"\nTry: ansible-playbook -i {INVENTORY} fleetsec.divest.execute -e divest_plan_digest={digest} --check"
          "   (down: make demo-down)")


def down() -> None:
    if INVENTORY.exists():
        playbook("destroy.yml")
    leftovers = own_demo_containers()
    if leftovers:
        podman("rm", "--force", "--ignore", "--time", "0", *leftovers)
    if INVENTORY.exists():
        INVENTORY.unlink()
    print(f"demo fleet removed ({len(FLEET)} hosts)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    ap.add_argument("action", choices=["up", "down", "status"])
    args = ap.parse_args()
    if shutil.which("podman", path=ENV["PATH"]) is None:
        sys.exit("podman is not installed: run tests/harness/bootstrap.sh demo")
    if args.action == "up":
        up()
    elif args.action == "down":
        down()
    else:
        table()
    return 0


if __name__ == "__main__":
    sys.exit(main())
