# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Container hosts: what runs in a container, or lies in container storage, is not the host's.

Recorded /proc layouts (the cgroup lines and pid namespaces the kernel shows for podman, Docker,
containerd, CRI-O, the kubelet and LXC, seen from the host) are written into temporary /proc
trees; the collector, the matcher and the removal's process step read them through the Host.
"""

import os
import pathlib
import signal
import sys

import pytest

from ansible_collections.fleetsec.divest.plugins.module_utils._linux import layout
from ansible_collections.fleetsec.divest.plugins.module_utils._linux import proc as procmod
from ansible_collections.fleetsec.divest.plugins.module_utils._linux.host import Record, RemovalError
from ansible_collections.fleetsec.divest.plugins.module_utils._linux.inventory import collector as inv
from ansible_collections.fleetsec.divest.plugins.module_utils._linux.removal import files, paths, system
from ansible_collections.fleetsec.divest.plugins.plugin_utils._catalog import load_catalogs
from ansible_collections.fleetsec.divest.plugins.plugin_utils._matcher import build_query, match

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from removal_fakes import make_host, write  # noqa: E402  pylint: disable=wrong-import-position

CATALOGS = load_catalogs(["kaspersky"])
HOST_NS = "pid:[4026531836]"
POD_ID = "1a3bb1070ecf6ebf618ce905632ee7a25587f855bf436908cb8028d565cd7701"   # recorded on a podman host
DOCKER_ID = "9f2c1e7d4b3a29180f6e5d4c3b2a19087f6e5d4c3b2a19087f6e5d4c3b2a1908"
CTRD_ID = "4be8a6b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3"
CRIO_ID = "77aa01bb02cc03dd04ee05ff06aa07bb08cc09dd10ee11ff12aa13bb14cc15dd"
POD_UID = "5d1f0a8e_4b3c_4d2e_9f10_2a3b4c5d6e7f"


def v1(path):
    """The cgroup v1 lines of a process whose every hierarchy is at ``path`` (podman's cgroupfs
    manager on a hybrid host, as recorded)."""
    names = ["name=systemd", "pids", "blkio", "freezer", "devices", "memory", "cpuset", "cpuacct", "cpu"]
    return "".join("%d:%s:%s\n" % (9 - i, name, path) for i, name in enumerate(names)) + "0::%s\n" % path


def v2(path):
    return "0::%s\n" % path


# name -> (exe, pid namespace, cgroup text): what the host's /proc shows for one process.
LAYOUTS = {
    "host": ("/opt/kaspersky/kesl/libexec/kesl", HOST_NS, v2("/system.slice/kesl.service")),
    "host-v1": ("/opt/kaspersky/kesl/libexec/kesl", HOST_NS, v1("/system.slice/kesl.service")),
    "podman": ("/opt/kaspersky/kesl/libexec/kesl", "pid:[4026532742]", v1("/libpod_parent/libpod-%s" % POD_ID)),
    "podman-systemd": ("/opt/kaspersky/kesl/libexec/kesl", "pid:[4026532801]",
                       v2("/machine.slice/libpod-%s.scope/container/system.slice/kesl.service" % POD_ID)),
    "podman-rootless": ("/opt/kaspersky/kesl/libexec/kesl", "pid:[4026532802]",
                        v2("/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-%s.scope/container"
                           % POD_ID)),
    "docker": ("/opt/kaspersky/kesl/libexec/kesl", "pid:[4026532900]", v2("/system.slice/docker-%s.scope" % DOCKER_ID)),
    "docker-cgroupfs": ("/opt/kaspersky/kesl/libexec/kesl", "pid:[4026532901]", v1("/docker/%s" % DOCKER_ID)),
    "docker-host-pid": ("/opt/kaspersky/kesl/libexec/kesl", HOST_NS, v2("/system.slice/docker-%s.scope" % DOCKER_ID)),
    "containerd": ("/opt/kaspersky/kesl/libexec/kesl", "pid:[4026533000]",
                   v2("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod%s.slice/"
                      "cri-containerd-%s.scope" % (POD_UID, CTRD_ID))),
    "cri-o": ("/opt/kaspersky/kesl/libexec/kesl", "pid:[4026533001]",
              v2("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod%s.slice/crio-%s.scope"
                 % (POD_UID, CRIO_ID))),
    "kubelet-cgroupfs": ("/opt/kaspersky/kesl/libexec/kesl", "pid:[4026533002]",
                         v1("/kubepods/burstable/pod%s/%s" % (POD_UID.replace("_", "-"), CTRD_ID))),
    "lxc": ("/opt/kaspersky/kesl/libexec/kesl", "pid:[4026533100]", v2("/lxc.payload.web1/system.slice/kesl.service")),
    "lxc-legacy": ("/opt/kaspersky/kesl/libexec/kesl", "pid:[4026533101]", v1("/lxc/web1")),
    "other-pidns": ("/opt/kaspersky/kesl/libexec/kesl", "pid:[4026533200]", v2("/user.slice/user-1000.slice")),
    "ns-unreadable": ("/opt/kaspersky/kesl/libexec/kesl", None, v2("/system.slice/kesl.service")),
    "podman-conmon": ("/opt/kaspersky/kesl/libexec/kesl", HOST_NS,
                      v2("/machine.slice/libpod-conmon-%s.scope" % POD_ID)),
}


class RecordedProc(object):
    """A /proc tree: ``self`` (the collector) and processes with ``exe``, ``comm``, ``cmdline``,
    ``stat`` (start time), ``ns/pid`` and ``cgroup``. A pid namespace of None is unreadable
    (``ns/pid`` is no link: readlink fails, as it does with EACCES for a process the collector
    may not inspect). ``kill`` records the signal and ends the process."""

    def __init__(self, base, own_ns=HOST_NS, own_cgroup=v2("/user.slice/user-0.slice/session-1.scope")):
        self.base = pathlib.Path(base)
        self.signals = []
        self.on_signal = None
        self._task(self.base / "self", own_ns, own_cgroup)

    @staticmethod
    def _task(d, pidns, cgroup):
        (d / "ns").mkdir(parents=True)
        if pidns is None:
            (d / "ns" / "pid").write_text("")
        else:
            os.symlink(pidns, str(d / "ns" / "pid"))
        (d / "cgroup").write_text(cgroup)

    def add(self, pid, exe, pidns, cgroup, start=1000):
        d = self.base / str(pid)
        self._task(d, pidns, cgroup)
        os.symlink(exe, str(d / "exe"))
        (d / "comm").write_text(os.path.basename(exe)[:15] + "\n")
        (d / "cmdline").write_bytes(exe.encode() + b"\0")
        self.set_start(pid, start)

    def add_layout(self, pid, name, start=1000):
        exe, pidns, cgroup = LAYOUTS[name]
        self.add(pid, exe, pidns, cgroup, start)

    def set_start(self, pid, start):
        (self.base / str(pid) / "stat").write_text("%d (kesl) S 1 %d %d 0 -1 4194560 %s %d 0 0\n"
                                                   % (pid, pid, pid, " ".join(["0"] * 12), start))

    def replace(self, pid, name, start):
        """pid ``pid`` now belongs to another process (the first ended, the pid was reused)."""
        import shutil
        shutil.rmtree(str(self.base / str(pid)))
        self.add_layout(pid, name, start)

    def kill(self, pid, sig):
        import shutil
        self.signals.append((pid, sig))
        if self.on_signal:
            self.on_signal(pid, sig)
        shutil.rmtree(str(self.base / str(pid)), ignore_errors=True)


def scope_of(tmp_path, name, own_cgroup=None):
    proc = RecordedProc(tmp_path / "proc", **({"own_cgroup": own_cgroup} if own_cgroup else {}))
    proc.add_layout(4242, name)
    return procmod.Scope(str(proc.base)).of(4242)


# --- who runs a process --------------------------------------------------------------------------

@pytest.mark.parametrize("name, expected", [
    ("host", ("host", None, None, None)),
    ("host-v1", ("host", None, None, None)),
    ("podman", ("container", "podman", POD_ID, "cgroup")),
    ("podman-systemd", ("container", "podman", POD_ID, "cgroup")),
    ("podman-rootless", ("container", "podman", POD_ID, "cgroup")),
    ("docker", ("container", "docker", DOCKER_ID, "cgroup")),
    ("docker-cgroupfs", ("container", "docker", DOCKER_ID, "cgroup")),
    ("docker-host-pid", ("container", "docker", DOCKER_ID, "cgroup")),     # --pid=host: the cgroup tells
    ("containerd", ("container", "containerd", CTRD_ID, "cgroup")),
    ("cri-o", ("container", "cri-o", CRIO_ID, "cgroup")),
    ("kubelet-cgroupfs", ("container", "kubernetes", CTRD_ID, "cgroup")),
    ("lxc", ("container", "lxc", "web1", "cgroup")),
    ("lxc-legacy", ("container", "lxc", "web1", "cgroup")),
    ("other-pidns", ("container", None, None, "pid namespace")),
    ("podman-conmon", ("host", None, None, None)),                         # the runtime's monitor, on the host
])
def test_scope_of_recorded_layouts(tmp_path, name, expected):
    assert scope_of(tmp_path, name) == expected


def test_unreadable_namespace_is_unknown_and_says_why(tmp_path):
    scope, runtime, cid, reason = scope_of(tmp_path, "ns-unreadable")
    assert (scope, runtime, cid) == ("unknown", None, None)
    assert reason.startswith("pid namespace unreadable: ")


def test_a_collector_inside_a_container_sees_that_container_as_its_host(tmp_path):
    """The harness scans its containers from inside them (podman exec): the container's own
    processes are the scanned host's, a container nested in it is not."""
    own = v1("/libpod_parent/libpod-%s" % POD_ID)
    proc = RecordedProc(tmp_path / "proc", own_ns="pid:[4026532742]", own_cgroup=own)
    proc.add(412, "/opt/kaspersky/kesl/libexec/kesl", "pid:[4026532742]",
             v1("/libpod_parent/libpod-%s/system.slice/kesl.service" % POD_ID))
    proc.add(413, "/opt/kaspersky/kesl/libexec/kesl", "pid:[4026532999]",
             v2("/libpod_parent/libpod-%s/libpod-%s" % (POD_ID, DOCKER_ID[:64])))
    scope = procmod.Scope(str(proc.base))
    assert scope.of(412) == ("host", None, None, None)
    assert scope.of(413) == ("container", "podman", DOCKER_ID, "cgroup")


def test_an_ended_process_has_no_scope(tmp_path):
    proc = RecordedProc(tmp_path / "proc")
    assert procmod.Scope(str(proc.base)).of(999) is None


def test_a_kernel_without_namespace_files_has_one_pid_namespace(tmp_path):
    """Older fake trees and kernels: no ns/ at all. Processes are the host's unless a cgroup
    names a container."""
    base = tmp_path / "proc"
    (base / "self").mkdir(parents=True)
    (base / "5").mkdir()
    (base / "6").mkdir()
    (base / "6" / "cgroup").write_text(v2("/system.slice/docker-%s.scope" % DOCKER_ID))
    scope = procmod.Scope(str(base))
    assert scope.of(5) == ("host", None, None, None)
    assert scope.of(6)[:2] == ("container", "docker")


# --- the collector --------------------------------------------------------------------------------

def live(tmp_path, proc, **kwargs):
    (tmp_path / "root").mkdir(exist_ok=True)
    return make_host(tmp_path / "root", proc=str(proc.base), live=True, **kwargs)


def collect_live(tmp_path, proc, **query):
    return inv.collect(inv.Query(**query), live(tmp_path, proc))


def fleet_proc(tmp_path):
    """The issue's machine: no Kaspersky of its own, the test fleet's containers running the
    fake daemons, a host shell and one process whose namespace cannot be read."""
    proc = RecordedProc(tmp_path / "proc")
    proc.add(100, "/usr/bin/bash", HOST_NS, v2("/user.slice"))
    proc.add_layout(4242, "podman")
    proc.add(4300, "/opt/kaspersky/klnagent64/sbin/klnagent", "pid:[4026532742]", v1("/libpod_parent/libpod-%s" % POD_ID))
    proc.add_layout(5000, "docker")
    proc.add_layout(6000, "lxc")
    return proc


def test_collector_reports_container_processes_apart(tmp_path):
    result = collect_live(tmp_path, fleet_proc(tmp_path), processes=["kesl", "klnagent", "bash"])
    assert [(p["pid"], p["name"]) for p in result["processes"]] == [(100, "bash")]
    assert [(c["kind"], c["pid"], c["name"], c["scope"], c["runtime"], c["id"]) for c in result["containers"]] == [
        ("process", 4242, "kesl", "container", "podman", POD_ID),
        ("process", 4300, "klnagent", "container", "podman", POD_ID),
        ("process", 5000, "kesl", "container", "docker", DOCKER_ID),
        ("process", 6000, "kesl", "container", "lxc", "web1"),
    ]
    assert result["errors"] == []


def test_collector_lists_an_unreadable_namespace_as_unknown(tmp_path):
    proc = RecordedProc(tmp_path / "proc")
    proc.add_layout(77, "ns-unreadable")
    result = collect_live(tmp_path, proc, processes=["kesl"])
    assert result["processes"] == []
    assert [(c["pid"], c["scope"], c["runtime"]) for c in result["containers"]] == [(77, "unknown", None)]
    assert "pid namespace unreadable" in result["containers"][0]["reason"]


@pytest.mark.parametrize("links, query, container, own", [
    pytest.param({}, "/var/lib/containers/storage/overlay/*/diff/opt/kaspersky",
                 ["/var/lib/containers/storage/overlay/abc/diff/opt/kaspersky"], [], id="podman-storage-glob"),
    pytest.param({"/var/opt/kaspersky": "/var/lib/docker/volumes/kav/_data"}, "/var/opt/kaspersky",
                 ["/var/opt/kaspersky"], [], id="link-into-a-docker-volume"),
    pytest.param({}, "/home/*/.local/share/containers/storage/overlay/*/diff/opt/kaspersky",
                 ["/home/ci/.local/share/containers/storage/overlay/def/diff/opt/kaspersky"], [], id="rootless"),
    pytest.param({}, "/opt/kaspersky", [], ["/opt/kaspersky"], id="the-root-own"),
])
def test_offline_scan_keeps_container_storage_apart(tmp_path, links, query, container, own):
    root = tmp_path / "img"
    for inner in ("/var/lib/containers/storage/overlay/abc/diff/opt/kaspersky/kesl",
                  "/var/lib/docker/volumes/kav/_data/kesl",
                  "/home/ci/.local/share/containers/storage/overlay/def/diff/opt/kaspersky/kesl",
                  "/opt/kaspersky/kesl"):
        write(root, inner + "/bin", "")
    for inner, target in links.items():
        (root / inner.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, str(root / inner.lstrip("/")))
    result = inv.collect(inv.Query(paths=[query]), make_host(root))
    assert result["live"] is False
    assert [p["path"] for p in result["paths"]] == own
    assert [c["path"] for c in result["containers"]] == container
    assert all(c["kind"] == "path" and c["storage"] for c in result["containers"])


# --- the matcher: status and the listing --------------------------------------------------------------

def facts_of(result):
    return match(result, CATALOGS)


def test_a_host_whose_only_vendor_processes_run_in_containers_is_clean(tmp_path):
    """The issue: vendor_facts on the container host said residual with kesl and Network Agent."""
    query = build_query(CATALOGS, "linux")
    facts = facts_of(collect_live(tmp_path, fleet_proc(tmp_path), **query))
    assert (facts["status"], facts["findings"]) == ("clean", [])
    listed = [(c["runtime"], c["id"], c["product"], [e["pid"] for e in c["evidence"]]) for c in facts["containers"]]
    assert listed == [("docker", DOCKER_ID, "kesl", [5000]), ("lxc", "web1", "kesl", [6000]),
                      ("podman", POD_ID, "kesl", [4242]), ("podman", POD_ID, "klnagent", [4300])]


def test_a_host_process_still_counts_next_to_container_ones(tmp_path):
    proc = fleet_proc(tmp_path)
    proc.add_layout(412, "host")
    facts = facts_of(collect_live(tmp_path, proc, **build_query(CATALOGS, "linux")))
    assert facts["status"] == "residual"
    assert [(f["product"], [(e["kind"], e.get("pid")) for e in f["evidence"]]) for f in facts["findings"]] == [
        ("kesl", [("process", 412)])]
    assert len(facts["containers"]) == 4


def test_an_unknown_namespace_is_never_clean_nor_evidence(tmp_path):
    proc = RecordedProc(tmp_path / "proc")
    proc.add_layout(77, "ns-unreadable")
    facts = facts_of(collect_live(tmp_path, proc, **build_query(CATALOGS, "linux")))
    assert (facts["status"], facts["findings"]) == ("unknown", [])
    assert [(c["scope"], c["product"]) for c in facts["containers"]] == [("unknown", "kesl")]
    assert facts["scan"]["errors"][0]["section"] == "processes"
    assert "may run on the host or in a container" in facts["scan"]["errors"][0]["message"]


def test_container_evidence_never_reaches_a_removal_recipe(tmp_path):
    """What execute acts on is the findings' removal: a container's process is never in it."""
    proc = fleet_proc(tmp_path)
    write(tmp_path / "root", "/var/lib/dpkg/status",
          "Package: kesl\nStatus: install ok installed\nVersion: 12.1.0-1508\nArchitecture: amd64\n"
          "Maintainer: AO Kaspersky Lab\n\n")
    facts = facts_of(collect_live(tmp_path, proc, **build_query(CATALOGS, "linux")))
    assert facts["status"] == "affected"
    kesl = facts["findings"][0]
    assert [e for e in kesl["evidence"] if e["kind"] == "process"] == []
    assert {c["id"] for c in facts["containers"]} == {POD_ID, DOCKER_ID, "web1"}


# --- the removal: never signal, stop or delete what is a container's ------------------------------------

def kill(tmp_path, proc, names=("kesl", "klnagent"), check_mode=False):
    record = Record()
    host = live(tmp_path, proc, kill=proc.kill, check_mode=check_mode)
    left = system.kill_processes(host, record, list(names), timeout=3)
    return left, record


def test_cleanup_signals_only_the_hosts_own_processes(tmp_path):
    proc = fleet_proc(tmp_path)
    proc.add_layout(412, "host")
    proc.add_layout(77, "ns-unreadable")
    left, record = kill(tmp_path, proc)
    assert proc.signals == [(412, signal.SIGTERM)]
    assert left == []
    skipped = sorted((s["pid"], s["scope"], s.get("runtime")) for s in record.steps if s["action"] == "skip")
    assert skipped == [(77, "unknown", None), (4242, "container", "podman"), (4300, "container", "podman"),
                       (5000, "container", "docker"), (6000, "container", "lxc")]
    assert all(not s["changed"] for s in record.steps if s["action"] == "skip")


def test_check_mode_predicts_no_signal_to_a_container(tmp_path):
    proc = fleet_proc(tmp_path)
    left, record = kill(tmp_path, proc, check_mode=True)
    assert proc.signals == [] and left == []
    assert [s["action"] for s in record.steps] == ["skip"] * 4
    assert not record.changed


def test_a_pid_reused_by_a_container_process_is_not_signalled(tmp_path):
    """412 and 413 are the host's when found; 413 ends while 412 is signalled and its pid goes
    to a process of a podman container: the re-check before the signal leaves it alone."""
    proc = RecordedProc(tmp_path / "proc")
    proc.add_layout(412, "host", start=500)
    proc.add_layout(413, "host", start=501)

    def reuse(pid, sig):
        if pid == 412:
            proc.replace(413, "podman", start=9000)
    proc.on_signal = reuse
    left, record = kill(tmp_path, proc)
    assert proc.signals == [(412, signal.SIGTERM)]
    assert left == []


def test_a_pid_reused_by_another_host_process_is_not_signalled(tmp_path):
    proc = RecordedProc(tmp_path / "proc")
    proc.add_layout(412, "host", start=500)
    proc.add_layout(413, "host", start=501)

    def reuse(pid, sig):
        if pid == 412:
            proc.replace(413, "host", start=7777)
    proc.on_signal = reuse
    left, dummy = kill(tmp_path, proc)
    assert proc.signals == [(412, signal.SIGTERM)]
    assert [p["pid"] for p in left] == []   # the new 413 is not the process the removal was after


@pytest.mark.parametrize("pattern", [
    "/var/lib/docker/overlay2/abc/diff/opt/kaspersky",
    "/var/lib/containers/storage/volumes/kav/_data",
    "/home/ci/.local/share/containers/storage/overlay/x/diff/opt/kaspersky",
])
def test_residue_guards_refuse_container_storage(pattern):
    with pytest.raises(paths.UnsafePath, match="container storage"):
        paths.check_pattern(pattern)
    with pytest.raises(paths.UnsafePath, match="container storage"):
        paths.check_residue_file(pattern + "/kesl.conf")


def test_residue_files_in_container_storage_are_refused_and_kept(tmp_path):
    root = tmp_path / "root"
    target = "/var/lib/docker/volumes/kav/_data/kesl.conf"
    write(root, target, "x")
    write(root, "/etc/kesl.conf", "x")
    record = Record()
    done = paths.delete_paths(make_host(root), record, [], vendor_dirs=["/opt/kaspersky"],
                              files=[target, "/etc/kesl.conf"])
    assert done["deleted"] == ["/etc/kesl.conf"]
    assert [r["path"] for r in done["refused"]] == [target]
    assert (root / target.lstrip("/")).exists()


def test_a_config_edit_through_a_link_into_a_container_is_refused(tmp_path):
    root = tmp_path / "root"
    write(root, "/var/lib/docker/volumes/smb/_data/smb.conf", "[global]\nvfs objects = kav4fs\n")
    (root / "etc" / "samba").mkdir(parents=True)
    os.symlink("/var/lib/docker/volumes/smb/_data/smb.conf", str(root / "etc" / "samba" / "smb.conf"))
    with pytest.raises(RemovalError, match="container storage") as info:
        files.apply_edit(make_host(root), Record(), "config_edits", "/etc/samba/smb.conf",
                         "[global]\nvfs objects = kav4fs\n", "[global]\n")
    assert info.value.details["refused"] is True
    assert (root / "var/lib/docker/volumes/smb/_data/smb.conf").read_text() == "[global]\nvfs objects = kav4fs\n"


@pytest.mark.parametrize("inner, expected", [
    ("/var/lib/docker", "/var/lib/docker"),
    ("/var/lib/docker/overlay2/x", "/var/lib/docker"),
    ("/var/lib/dockerd/x", None),
    ("/var/lib/containers/storage", "/var/lib/containers"),
    ("/root/.local/share/containers/storage", "/root/.local/share/containers"),
    ("/opt/kaspersky", None),
])
def test_container_storage_is_told_by_whole_components(inner, expected):
    assert layout.container_storage(inner) == expected
