# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Services, processes and accounts of a product being removed.

* Services are stopped and disabled with ``systemctl`` where systemd runs (SysV init scripts
  included: systemd wraps them); without systemd, a SysV script is stopped with ``service``.
  Names may be catalog patterns (``re:KSC[A-Za-z]*Web[A-Za-z]*``): they are matched against
  the unit files and init scripts on disk, found where the collector finds them (``layout``).
* Processes are found the way the collector finds them (the base name of ``/proc/PID/exe``,
  ``(deleted)`` stripped, else ``comm``), sent SIGTERM, waited for, then sent SIGKILL. Only the
  host's own: a process in another pid namespace or a container's cgroup, or one whose
  namespace cannot be read, is never signalled (a ``skip`` step says so); before each signal
  the process is checked again (pid, start time, name, scope), so a reused pid is never hit.
* Accounts are removed with ``userdel`` / ``groupdel`` (``--root`` for another root); uid or
  gid 0 is never touched.

Names come from data (the catalog, unit files on disk): ``systemctl``, ``userdel`` and
``groupdel`` get ``--`` before them, so a name starting with ``-`` is never read as an option;
``service`` (a shell script without ``--``) is not run for such a name (a warning says so).

Offline roots (a root other than ``/``) have no running services or processes: those steps
are skipped and say so.

Private to the collection: runs on managed nodes, standard library only, Python 3.6+.
"""

from __future__ import absolute_import, division, print_function

import errno
import os
import re
import signal

from ansible_collections.fleetsec.divest.plugins.module_utils._linux import layout
from ansible_collections.fleetsec.divest.plugins.module_utils._linux.host import RemovalError
from ansible_collections.fleetsec.divest.plugins.module_utils._linux.proc import (
    CONTAINER,
    HOST,
    Scope,
    iter_processes,
    start_time,
)
from ansible_collections.fleetsec.divest.plugins.module_utils._linux.systemd import parse_show, show_argv
from ansible_collections.fleetsec.divest.plugins.module_utils._linux.text import first_lines
from ansible_collections.fleetsec.divest.plugins.module_utils._patterns import PatternError, PatternSet

__metaclass__ = type

__all__ = ["resolve_services", "stop_services", "find_processes", "kill_processes", "remove_accounts"]

_ACCOUNT = re.compile(r"^[a-z_][a-z0-9_.-]*\$?$", re.IGNORECASE)


def _patterns(option, values):
    try:
        return PatternSet([v for v in values or () if isinstance(v, str) and v])
    except PatternError as exc:
        raise RemovalError("%s: %s" % (option, exc))


def _unit_files(host):
    """``{name: kind}`` of the service units and init scripts on disk (a unit wins over an init
    script of the same name: systemd runs the unit). A directory that cannot be read has none."""
    names = {}
    for kind, name, dummy in layout.unit_files(host.fs.try_listdir, host.live):
        names.setdefault(name, kind)
    return names


def resolve_services(host, services):
    """The recipe's services that exist on the host: ``[(name, kind)]`` in recipe order."""
    if not services:
        return []
    on_disk = _unit_files(host)
    out = []
    for spec in services:
        if not isinstance(spec, str) or not spec:
            continue
        if spec.startswith("re:"):
            pattern = _patterns("services", [spec])
            matched = sorted(name for name in on_disk if pattern.match(name))
        else:
            matched = [spec] if spec in on_disk else []
            if not matched and host.systemd and layout.is_unit_name(spec):
                matched = [spec]  # a unit systemd knows from elsewhere (a generator, /run)
        for name in matched:
            if layout.is_unit_name(name) and name not in [n for n, dummy in out]:
                out.append((name, on_disk.get(name, "systemd")))
    return out


def _systemctl_show(host, name):
    rc, out, err = host.run(show_argv(host.which("systemctl") or "systemctl", [name]))
    blocks = parse_show(out, 1)
    props = blocks[0] if blocks else {}
    if rc != 0 and not props:
        raise RemovalError("systemctl show %s failed (exit %s): %s" % (name, rc, first_lines(err)))
    return props


def stop_services(host, record, services, disable=True):
    """Stop (and disable) each service of the recipe. Returns the names handled."""
    found = resolve_services(host, services)
    if not host.live:
        if found:
            record.step("services", "skip", ", ".join(n for n, dummy in found), changed=False,
                        reason="offline root: services are not running")
        return []
    handled = []
    for name, kind in found:
        if host.systemd:
            props = _systemctl_show(host, name)
            if props.get("LoadState") == "not-found":
                continue
            active = props.get("ActiveState") in ("active", "activating", "reloading", "deactivating")
            enabled = props.get("UnitFileState", "") in ("enabled", "enabled-runtime", "static-enabled") or (
                kind == "sysv" and props.get("UnitFileState", "") in ("generated",) and _sysv_enabled(host, name))
            systemctl = host.which("systemctl") or "systemctl"
            if active:
                _run_step(host, record, "services", "stop", name, [systemctl, "stop", "--", name + layout.SERVICE_SUFFIX],
                          state=props.get("ActiveState"))
            if disable and enabled:
                _run_step(host, record, "services", "disable", name,
                          [systemctl, "disable", "--", name + layout.SERVICE_SUFFIX], state=props.get("UnitFileState"))
            handled.append(name)
        elif kind == "sysv":
            service = host.which("service")
            if name.startswith("-"):
                record.warn("service %r not stopped: the service command would read a name starting with - "
                            "as an option" % name)
            elif service:
                # Without systemd the state of a SysV service is only known by running its
                # script; "stop" is harmless when it is not running.
                _run_step(host, record, "services", "stop", name, [service, name, "stop"], tolerate=True)
                handled.append(name)
    return handled


def _sysv_enabled(host, name):
    """A SysV script is enabled when an S link to it exists in a runlevel directory."""
    for level in layout.SYSV_START_RUNLEVELS:
        for entry in host.fs.try_listdir(layout.rc_dir(level)):
            if entry.startswith("S") and entry[3:] == name:
                return True
    return False


def _run_step(host, record, step, action, target, argv, tolerate=False, **details):
    if host.check_mode:
        record.step(step, action, target, **details)
        return
    rc, out, err = host.run(argv)
    if rc != 0 and not tolerate:
        raise RemovalError("%s %s failed (exit %s): %s" % (action, target, rc, first_lines(err or out)),
                           command=argv, rc=rc)
    record.step(step, action, target, **details)


def _scan(proc, names, scope):
    """``(own, others)``: the running processes whose name is in ``names`` (patterns), never pid
    1 nor this module's own process. ``own``: the host's, ``[(pid, name, exe, start)]``;
    ``others``: those of containers and those whose namespace cannot be read,
    ``[(pid, name, exe, (scope, runtime, id, reason))]``."""
    wanted = _patterns("processes", names)
    own, others = [], []
    if not wanted:
        return own, others
    try:
        found = sorted(iter_processes(proc, wanted, skip=(1, os.getpid())))
    except OSError:
        return own, others
    for pid, name, exe in found:
        seen = scope.of(pid)
        if seen is None:
            continue  # ended meanwhile
        if seen[0] == HOST:
            own.append((pid, name, exe, start_time(proc, pid)))
        else:
            others.append((pid, name, exe, seen))
    return own, others


def find_processes(proc, names):
    """``[(pid, name, exe)]`` of the host's own running processes whose name is in ``names``
    (patterns), never pid 1 nor this module's own process, never a container's process nor
    one whose pid namespace cannot be read."""
    own, dummy = _scan(proc, names, Scope(proc))
    return [(pid, name, exe) for pid, name, exe, dummy2 in own]


def _still(proc, scope, pid, name, start):
    """True when ``pid`` is still the host process found as ``name`` started at ``start``:
    checked right before each signal, so a pid reused meanwhile (another process, maybe a
    container's) is never signalled."""
    if start_time(proc, pid) != start:
        return False
    current = list(iter_processes(proc, PatternSet([name]), pids=[str(pid)]))
    if [(p, n) for p, n, dummy in current] != [(pid, name)]:
        return False
    seen = scope.of(pid)
    return seen is not None and seen[0] == HOST


def _signal(host, record, scope, process, sig, what):
    """Send ``sig`` to one host process after checking it is still the one found; False when
    it is gone (or is not that process any more)."""
    pid, name, dummy, start = process
    if not _still(host.proc, scope, pid, name, start):
        return False
    try:
        host.kill(pid, sig)
    except OSError as exc:
        if exc.errno == errno.ESRCH:
            return False
        record.warn("cannot %s %s (pid %d): %s" % (what, name, pid, exc.strerror))
    return True


def _where(seen):
    kind, runtime, cid, reason = seen
    if kind == CONTAINER:
        named = " ".join(part for part in (runtime, cid[:12] if cid else None) if part)
        return "runs in a container (%s)" % (named or reason)
    return "cannot be told from a container's (%s)" % reason


def kill_processes(host, record, names, timeout=10):
    """SIGTERM the recipe's processes still running on the host, wait up to ``timeout`` s,
    SIGKILL the rest.

    Only the host's own processes are signalled: a process in another pid namespace or in a
    container's cgroup (``proc.Scope``), or one whose namespace cannot be read, is left alone
    and recorded as skipped, whatever the recipe says. Each signal goes only to the process that
    was found (same pid, start time, name and scope, checked right before it is sent).

    Returns the host processes still running afterwards (``[{pid, name, exe}]``).
    """
    if not names:
        return []
    if not host.live:
        return []
    scope = Scope(host.proc)
    running, others = _scan(host.proc, names, scope)
    for pid, name, exe, seen in others:
        record.step("processes", "skip", name, changed=False, pid=pid, exe=exe, scope=seen[0], runtime=seen[1],
                    container=seen[2], reason="%s: never signalled from the host" % _where(seen))
    if not running:
        return []
    if host.check_mode:
        for pid, name, exe, dummy in running:
            record.step("processes", "kill", name, pid=pid, exe=exe)
        return []
    for process in running:
        _signal(host, record, scope, process, signal.SIGTERM, "signal")
    deadline = host.monotonic() + max(0, timeout)

    def alive_now(among):
        now = set((pid, start) for pid, dummy, dummy2, start in _scan(host.proc, names, scope)[0])
        return set(key for key in among if key in now)

    found = set((pid, start) for pid, dummy, dummy2, start in running)
    while True:
        alive = alive_now(found)
        if not alive or host.monotonic() >= deadline:
            break
        host.sleep(0.2)
    for process in running:
        pid, name, exe, start = process
        if (pid, start) in alive:
            _signal(host, record, scope, process, signal.SIGKILL, "kill")
            record.step("processes", "kill", name, pid=pid, exe=exe, signal="KILL")
        else:
            record.step("processes", "kill", name, pid=pid, exe=exe, signal="TERM")
    if alive:
        end = host.monotonic() + 2
        while host.monotonic() < end:
            if not alive_now(alive):
                break
            host.sleep(0.2)
    left = alive_now(found)
    return [{"pid": pid, "name": name, "exe": exe} for pid, name, exe, start in running if (pid, start) in left]


def _read_db(host, path):
    """``{name: id}`` from /etc/passwd or /etc/group inside the root."""
    try:
        data, dummy = host.fs.read_bytes(path, 16 * 1024 * 1024)
    except OSError:
        return {}
    out = {}
    for line in data.decode("utf-8", "replace").splitlines():
        fields = line.split(":")
        if len(fields) >= 3 and fields[0]:
            try:
                out[fields[0]] = int(fields[2])
            except ValueError:
                out[fields[0]] = None
    return out


def remove_accounts(host, record, accounts):
    """Remove the recipe's users, then its groups, when they exist."""
    if not accounts:
        return
    users = accounts.get("users") or []
    groups = accounts.get("groups") or []
    for kind, names, db, tool in (("user", users, layout.PASSWD, "userdel"), ("group", groups, layout.GROUP, "groupdel")):
        if not names:
            continue
        known = _read_db(host, db)
        for name in names:
            if not isinstance(name, str) or not _ACCOUNT.match(name) or name == "root":
                raise RemovalError("refusing to remove %s %r: not a valid account name" % (kind, name))
            if name not in known:
                continue
            if known[name] == 0:
                raise RemovalError("refusing to remove %s %s: its id is 0" % (kind, name))
            argv = [host.which(tool) or tool]
            if not host.live:
                argv += ["--root", host.root]
            argv += ["--", name]
            _run_step(host, record, "accounts", "delete", "%s %s" % (kind, name), argv)
