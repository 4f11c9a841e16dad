"""Helpers for the testinfra tests of the harness scenarios (podman backend).

The scenario conftest.py files put this directory on sys.path.  Everything is read the way
detection code would read it (dpkg-query, systemctl, /proc), but in as few `podman exec` round
trips as possible: snapshot() gathers packages, units, processes and ports in one.
"""

from __future__ import annotations

import functools
import hashlib
import json
import shlex
from pathlib import Path

import testinfra

# The checkout these tests belong to (physical path, as tests/harness/env.sh computes it).
ROOT = Path(__file__).resolve().parents[2]

# Every package name the reference lists for Linux (footprint section 0).
KASPERSKY_PACKAGES = (
    "kesl", "kesl-gui", "kesl-astra", "kesl-gui-astra", "klnagent", "klnagent64", "kav4fs",
    "kes4lwks", "kav4ws", "klms", "kav4proxy", "kess", "kess-gui", "kwts", "kics", "kics-gui",
    "ksc64", "ksc-web-console",
)
KASPERSKY_DIRS = ("/opt/kaspersky", "/var/opt/kaspersky", "/etc/opt/kaspersky", "/var/log/kaspersky")

# Runs inside the container with its python3 (argv: unit names); prints one JSON document.
_SNAPSHOT = r"""
import glob, json, os, pwd, subprocess, sys

def run(*argv):
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    return p.returncode, p.stdout

def read(path, mode="r"):
    try:
        with open(path, mode) as fh:
            return fh.read()
    except OSError:
        return None

out = {"packages": {}, "units": {}, "processes": [], "ports": [], "foreign_archs": []}
fmt = "${Package}\x1f${Version}\x1f${Architecture}\x1f${db:Status-Abbrev}\x1f${Depends}\x1f${Conffiles}\x1f${Description}\x1e"
for rec in run("dpkg-query", "--show", "--showformat=" + fmt)[1].split("\x1e"):
    f = rec.split("\x1f")
    if len(f) == 7 and f[3].strip() not in ("", "un"):
        out["packages"][f[0]] = {
            "version": f[1], "arch": f[2], "status": f[3].strip(), "depends": f[4],
            "conffiles": [c.split()[0] for c in f[5].splitlines() if c.strip()],
            "description": f[6],
        }
for unit in sys.argv[1:]:
    props = dict(
        line.split("=", 1)
        for line in run("systemctl", "show", "-p", "LoadState,ActiveState,SourcePath,FragmentPath", unit)[1].splitlines()
        if "=" in line
    )
    props["enabled"] = run("systemctl", "is-enabled", unit)[1].strip()
    out["units"][unit] = props
for d in glob.glob("/proc/[0-9]*"):
    comm = read(d + "/comm")
    if comm is None:
        continue
    try:
        exe = os.readlink(d + "/exe")
    except OSError:
        exe = ""
    try:
        user = pwd.getpwuid(os.stat(d).st_uid).pw_name
    except (OSError, KeyError):
        user = ""
    cgroup = read(d + "/cgroup") or ""
    out["processes"].append({
        "pid": int(d[6:]), "comm": comm.strip(), "exe": exe,
        "argv": [a for a in (read(d + "/cmdline", "rb") or b"").decode(errors="replace").split("\0") if a],
        "user": user,
        "units": sorted({p for line in cgroup.splitlines() for p in line.split("/") if p.endswith(".service")}),
    })
for table in ("/proc/net/tcp", "/proc/net/tcp6"):
    for line in (read(table) or "").splitlines()[1:]:
        f = line.split()
        if len(f) > 3 and f[3] == "0A":
            out["ports"].append(int(f[1].rsplit(":", 1)[1], 16))
out["foreign_archs"] = run("dpkg", "--print-foreign-architectures")[1].split()
print(json.dumps(out))
"""


def checkout_namespace(root: Path = ROOT) -> str:
    """The checkout's namespace, DIVEST_NS of tests/harness/env.sh: sha256 of its path, 8 hex."""
    return hashlib.sha256(str(root).encode()).hexdigest()[:8]


def container_name(scenario: str, role: str) -> str:
    """Name of the container of `role` in `scenario` of this checkout: divest-<ns>-<scenario>-<role>."""
    return f"divest-{checkout_namespace()}-{scenario}-{role}"


@functools.cache
def container(scenario: str, role: str):
    """testinfra host for the container of `role` in `scenario` of this checkout."""
    return testinfra.get_host(f"podman://{container_name(scenario, role)}")


def sh(host, *argv: str):
    """Run argv (quoted) in the container; returns testinfra's CommandResult."""
    return host.run(" ".join(shlex.quote(a) for a in argv))


def snapshot(host, units=()) -> dict:
    """Packages (any dpkg state but not-installed), the given units, processes, ports, archs."""
    res = sh(host, "python3", "-c", _SNAPSHOT, *units)
    assert res.rc == 0, res.stderr
    return json.loads(res.stdout)


def vendor_packages(snap: dict) -> dict[str, dict]:
    return {name: pkg for name, pkg in snap["packages"].items() if name in KASPERSKY_PACKAGES}


def processes(snap: dict, comm: str | None = None, exe: str | None = None) -> list[dict]:
    return [
        p for p in snap["processes"]
        if (comm is None or p["comm"] == comm) and (exe is None or p["exe"] == exe)
    ]


def paths_exist(host, *paths: str) -> dict[str, bool]:
    """path -> exists (a dangling symlink counts as existing), in one round trip."""
    script = 'for p in "$@"; do if [ -e "$p" ] || [ -L "$p" ]; then echo 1; else echo 0; fi; done'
    res = sh(host, "sh", "-c", script, "sh", *paths)
    return dict(zip(paths, (line == "1" for line in res.stdout.split())))


def apt_get(host, *args: str):
    """apt-get non-interactively; returns the CommandResult."""
    return host.run(
        "DEBIAN_FRONTEND=noninteractive apt-get -y -q -o Dpkg::Use-Pty=0 "
        + " ".join(shlex.quote(a) for a in args)
    )


def reset(host):
    """Purge whatever an earlier (maybe failed) test left, so that a test starts clean."""
    snap = snapshot(host)
    names = sorted(vendor_packages(snap))
    if names:
        res = apt_get(host, "purge", *names)
        assert res.rc == 0, res.stdout + res.stderr
    for proc in snap["processes"]:
        if "/kaspersky/" in proc["exe"]:
            sh(host, "kill", "-9", str(proc["pid"]))
    sh(host, "rm", "-rf", *KASPERSKY_DIRS)
    sh(host, "systemctl", "daemon-reload")
