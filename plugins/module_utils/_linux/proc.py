# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The running processes, found the same way by the collector (to report them) and the removal
(to stop them): which processes run under a given name, and whose they are (``Scope``): the
host's own, a container's (another pid namespace, or a cgroup naming a container the caller
does not run in), or unknown (what tells could not be read). ``start_time`` tells a process
from a later one with the same pid.

Private to the collection; runs on managed nodes: standard library only, Python 3.6+.
"""

from __future__ import absolute_import, division, print_function

import errno
import os
import re

from ansible_collections.fleetsec.divest.plugins.module_utils._linux.fs import read_names

__metaclass__ = type

_DELETED = " (deleted)"


def _read_small(path, limit=4096):
    with open(path, "rb") as handle:
        return handle.read(limit)


def list_pids(proc, limit):
    """The process directories of ``proc`` (``/proc``): ``(names, cut)``.

    At most ``limit`` numeric entries are read (``cut`` is True when more were there), so a
    host with an absurd number of processes costs bounded memory and time. Raises OSError
    when ``proc`` cannot be listed.
    """
    return read_names(proc, limit, accept=str.isdigit)


def iter_processes(proc, wanted, skip=(), pids=None):
    """Yield ``(pid, name, exe)`` of the processes under ``proc`` (``/proc``) whose name
    matches ``wanted`` (a PatternSet), in no particular order.

    ``name`` is the basename of the executable (``/proc/PID/exe``), or ``comm`` when that link
    cannot be read (another user's process without privileges); ``exe`` is then ``None``.
    Kernel threads, zombies, processes that end while they are read and pids in ``skip`` are
    left out. ``pids``: the entries of ``proc`` to look at (``list_pids``); by default all.
    Raises OSError when ``proc`` cannot be listed.
    """
    for entry in os.listdir(proc) if pids is None else pids:
        if not entry.isdigit() or int(entry) in skip:
            continue
        base = os.path.join(proc, entry)
        exe = None
        try:
            exe = os.readlink(base + "/exe")
        except OSError as exc:
            if exc.errno in (errno.ENOENT, errno.ESRCH):
                continue  # a kernel thread, a zombie or a process that just ended
        if exe:
            if exe.endswith(_DELETED):
                exe = exe[:-len(_DELETED)]
            name = exe.rsplit("/", 1)[-1]
        else:
            try:
                name = _read_small(base + "/comm", 256).decode("utf-8", "replace").rstrip("\n")
            except OSError:
                continue
        if not name or wanted.match(name) is None:
            continue
        if exe is None:
            try:  # kernel threads have no command line
                if not _read_small(base + "/cmdline", 1):
                    continue
            except OSError:
                continue
        yield int(entry), name, exe


# --- whose process: the host's own, or a container's ------------------------------------------------

#: What a process is, seen from the collector: the host's own (``HOST``), a container's
#: (``CONTAINER``: another pid namespace, or a cgroup that names a container the collector
#: does not run in) or ``UNKNOWN`` (its pid namespace or cgroup could not be read and nothing
#: else says it runs in a container).
HOST = "host"
CONTAINER = "container"
UNKNOWN = "unknown"

# One cgroup path component that names a container: (expression, runtime). The id is the
# expression's group. podman (libpod-<id>[.scope]), Docker's systemd driver (docker-<id>.scope),
# containerd's CRI plugin (cri-containerd-<id>.scope), CRI-O (crio-<id>[.scope]), LXC 4+ and LXD
# (lxc.payload.<name>). A conmon or monitor scope (libpod-conmon-<id>, crio-conmon-<id>,
# lxc.monitor.<name>) is the runtime's own process on the host, not the container.
_CONTAINER_COMPONENTS = (
    (re.compile(r"libpod-([0-9a-f]{12,64})(?:\.scope)?\Z"), "podman"),
    (re.compile(r"docker-([0-9a-f]{12,64})\.scope\Z"), "docker"),
    (re.compile(r"cri-containerd-([0-9a-f]{12,64})\.scope\Z"), "containerd"),
    (re.compile(r"crio-([0-9a-f]{12,64})(?:\.scope)?\Z"), "cri-o"),
    (re.compile(r"lxc\.payload\.(.+)\Z"), "lxc"),
)
# A component named by its parent: Docker's cgroupfs driver (/docker/<id>), LXC before 4.0
# (/lxc/<name>), and the kubelet's cgroupfs layout (/kubepods/<class>/pod<uid>/<id>: the
# runtime behind it is not named).
_HEX_ID = re.compile(r"[0-9a-f]{64}\Z")


def parse_cgroup(data):
    """The containers a ``/proc/PID/cgroup`` text (bytes) names: ``[(runtime, id)]``, outermost
    first, each once, whatever hierarchy (cgroup v1 or v2) names it."""
    found = []
    text = data.decode("utf-8", "surrogateescape") if isinstance(data, bytes) else data
    for line in text.splitlines():
        path = line.split(":", 2)[-1]
        parts = [part for part in path.split("/") if part]
        for index, part in enumerate(parts):
            hit = None
            for expression, runtime in _CONTAINER_COMPONENTS:
                match = expression.match(part)
                if match:
                    hit = (runtime, match.group(1))
                    break
            if hit is None and index:
                parent = parts[index - 1]
                if parent == "docker" and _HEX_ID.match(part):
                    hit = ("docker", part)
                elif parent == "lxc":
                    hit = ("lxc", part)
                elif parent.startswith("pod") and "kubepods" in parts[:index] and _HEX_ID.match(part):
                    hit = ("kubernetes", part)
            if hit is not None and hit not in found:
                found.append(hit)
    return found


def _errno_text(exc):
    return exc.strerror or str(exc)


class Scope(object):
    """Tells the host's own processes from containers' ones, for one look at ``proc``.

    The collector's own pid namespace (``proc/self/ns/pid``) and the containers its own cgroup
    names (``proc/self/cgroup``) are the reference: a collector that runs inside a container
    (the container is the host it scans) sees that container's processes as the host's. A
    kernel without namespace files (no ``proc/self/ns``) has one pid namespace.
    """

    __slots__ = ("proc", "pidns", "pidns_error", "own")

    def __init__(self, proc):
        self.proc = proc
        self.pidns = None
        self.pidns_error = None
        try:
            self.pidns = os.readlink(os.path.join(proc, "self", "ns", "pid"))
        except OSError as exc:
            if exc.errno not in (errno.ENOENT, errno.ENOTDIR):
                self.pidns_error = "the collector's own pid namespace cannot be read: %s" % _errno_text(exc)
        try:
            own = parse_cgroup(_read_small(os.path.join(proc, "self", "cgroup"), 65536))
        except OSError:
            own = []
        self.own = frozenset(cid for dummy, cid in own)

    def of(self, pid):
        """``(scope, runtime, id, reason)`` of process ``pid``, or None when it has ended.

        ``scope`` is :data:`HOST`, :data:`CONTAINER` or :data:`UNKNOWN`; ``runtime`` and ``id``
        are the innermost container its cgroup names (None when none is named); ``reason``
        says what told (``cgroup``, ``pid namespace``) or, for ``UNKNOWN``, what could not be
        read.
        """
        base = os.path.join(self.proc, str(pid))
        unreadable = []
        try:
            named = parse_cgroup(_read_small(base + "/cgroup", 65536))
        except OSError as exc:
            if exc.errno in (errno.ESRCH,) or not os.path.isdir(base):
                return None
            named = []
            if exc.errno not in (errno.ENOENT, errno.ENOTDIR):  # a kernel without cgroups has no file
                unreadable.append("cgroup unreadable: %s" % _errno_text(exc))
        foreign = [(runtime, cid) for runtime, cid in named if cid not in self.own]
        if foreign:
            runtime, cid = foreign[-1]
            return CONTAINER, runtime, cid, "cgroup"
        if self.pidns is not None:
            try:
                pidns = os.readlink(base + "/ns/pid")
            except OSError as exc:
                if exc.errno == errno.ESRCH or not os.path.isdir(base):
                    return None
                unreadable.append("pid namespace unreadable: %s" % _errno_text(exc))
            else:
                if pidns != self.pidns:
                    return CONTAINER, None, None, "pid namespace"
        elif self.pidns_error:
            unreadable.append(self.pidns_error)
        if unreadable:
            return UNKNOWN, None, None, "; ".join(unreadable)
        return HOST, None, None, None


def start_time(proc, pid):
    """The start time of process ``pid`` (``/proc/PID/stat`` field 22, clock ticks since boot),
    which tells a process from a later one that got the same pid; None when it cannot be read."""
    try:
        data = _read_small(os.path.join(proc, str(pid), "stat"), 4096)
    except OSError:
        return None
    fields = data.rpartition(b")")[2].split()
    try:  # fields[0] is field 3 (state): field 22 is fields[19]
        return int(fields[19])
    except (IndexError, ValueError):
        return None
