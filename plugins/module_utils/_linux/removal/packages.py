# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Removing packages with the host's package manager, one package at a time.

Debian family: ``dpkg`` itself removes (``--purge`` or ``--remove``). It never takes another
package along: when a package outside the recipe depends on the one being removed, dpkg
refuses and says which, where ``apt-get remove`` would silently remove that package too. Its
odd states are handled: ``config-files`` is purged, ``half-installed`` and the
``reinst-required`` flag get ``--force-remove-reinstreq``. A busy dpkg lock is waited for.

rpm family: ``rpm -e --test`` first checks that no other installed package needs the one being
removed (again: refuse rather than remove more), then the host's front end removes exactly that
package, by its full NEVRA: ``dnf`` (``--disablerepo='*'``, ``clean_requirements_on_remove``
off), ``yum`` (the same), ``zypper`` (``--no-refresh``), or ``rpm -e``. The front end is the one
the host has (dnf, else yum, else zypper, else rpm), never one chosen by the distribution's name.

Locks on the rpm side: rpm's transaction lock (``<dbpath>/.rpm.lock``, held by every rpm, dnf,
yum and zypper transaction) is waited for before the front end runs, up to ``lock_timeout``;
``rpm -e`` would wait for it for ever, dnf 4 gives up at once ("can't create transaction
lock"). dnf 4 and yum run with ``exit_on_lock`` so that their own lock (another dnf running)
fails at once instead of waiting for ever; zypper fails at once on its lock ("System management
is locked"). Such a failure is retried until ``lock_timeout``; then the error names the holder
(pid and command, from ``/proc/locks``) when it can be known.

Every command is an argv list (no shell), in the C locale, non-interactive, with ``--`` between
the options and the names that come from data. With a root other than ``/``: ``dpkg --root``,
``rpm --root --dbpath``, ``dnf/yum --installroot``, ``zypper --root``.

Holds: a package about to be removed that is held is released first, explicitly, for that
package alone, and the release is a step (``holds``/``release``) with the kind of hold:

* ``apt-mark``: the dpkg selection ``hold`` (``apt-mark hold``). dpkg removes and purges a held
  package without a word (dpkg 1.21: ``--purge`` exits 0 and the selection is gone; tried in a
  ``--root`` sandbox), so the hold would vanish unseen. It is released with
  ``dpkg --set-selections`` (``<package> install``, what ``apt-mark unhold`` runs), which honours
  ``--root``; ``apt-mark`` itself would change the running system's selections even when told
  another ``Dir``.
* ``versionlock``: an entry of dnf 4's or yum's versionlock list
  (``/etc/dnf/plugins/versionlock.list``, ``/etc/yum/pluginconf.d/versionlock.list``) or of
  dnf 5's ``/etc/dnf/versionlock.toml`` (``layout``) that names that package alone, taken out of the file
  (backup when asked). A glob entry that covers other packages too (``kes*``) stays, with a
  warning: a versionlock does not stop the removal.
* ``zypper-lock``: a package lock on exactly that name in ``/etc/zypp/locks`` (``zypper remove``
  refuses a locked package), taken out of the file. A lock that covers the package and
  possibly others (a wildcard, a substring: libzypp's default) is not released: with zypper as
  the front end the removal fails, naming the lock. A lock that cannot be told without zypper
  (a regular expression: never run here) is left to zypper, with a warning.

Which entry holds which package is decided by the collector's readers (``holds``), so a
removal releases what the scan reported as held.

Private to the collection: runs on managed nodes, standard library only, Python 3.6+.
"""

from __future__ import absolute_import, division, print_function

import errno
import fcntl
import os
import re

from ansible_collections.fleetsec.divest.plugins.module_utils._linux import layout
from ansible_collections.fleetsec.divest.plugins.module_utils._linux.holds import join_evr
from ansible_collections.fleetsec.divest.plugins.module_utils._linux.host import RemovalError
from ansible_collections.fleetsec.divest.plugins.module_utils._linux.removal.files import (
    apply_edit,
    drop_versionlock,
    drop_versionlock_toml,
    drop_zypp_lock,
    read_text,
)
from ansible_collections.fleetsec.divest.plugins.module_utils._linux.text import first_lines

__metaclass__ = type

__all__ = ["Package", "Dpkg", "Rpm", "Holds", "detect", "check_name", "FRONTENDS", "HOLD_KINDS"]

FRONTENDS = ("dnf", "yum", "zypper", "rpm")
HOLD_KINDS = ("apt-mark", "versionlock", "zypper-lock")
# Package names as the package managers allow them (and nothing a command line could misread).
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9+._-]*$")
# What dpkg-query and rpm print as the instance to hand back (kav4fs:i386, kesl-12.1.0-1508.x86_64).
_TARGET = re.compile(r"^[A-Za-z0-9][A-Za-z0-9+._:~^-]*$")
_DPKG_LOCKED = ("lock was locked by another process", "status database is locked", "could not get lock",
                "unable to acquire the dpkg frontend lock", "is another process using it")
_DPKG_CHATTER = ("(Reading database", "Reading database ...", "files and directories currently installed")
# Debian's rpm warns on every call; not part of any error.
_RPM_CHATTER = ("should not be used directly install RPM packages", "However assuming you know what you are doing",
                # dnf 4 on a host without any repository file, told --disablerepo=*
                "No repository match: *")
# What rpm, dnf, yum and zypper say when another process holds their lock.
_RPM_LOCKED = ("can't create transaction lock", "waiting for transaction lock", "Waiting for process with pid",
               "System management is locked", "another app is currently holding the yum lock",
               "Could not get lock", "is locked by another process")


class Package(object):
    """One installed instance of a package, as a package manager sees it."""

    __slots__ = ("name", "target", "version", "arch", "status", "flag", "manager", "want")

    def __init__(self, name, target, version, arch, status, flag, manager, want=None):
        self.name = name          # the recipe's name
        self.target = target      # what to hand the manager (kav4fs:i386, kesl-12.1.0-1508.x86_64)
        self.version = version
        self.arch = arch
        self.status = status      # dpkg state word; "installed" for rpm
        self.flag = flag          # dpkg error flag: ok | reinstreq
        self.manager = manager
        self.want = want          # dpkg selection: install | hold | deinstall | purge

    def as_dict(self):
        return {"name": self.name, "version": self.version, "arch": self.arch, "status": self.status,
                "flag": self.flag, "manager": self.manager}


def check_name(name):
    if not isinstance(name, str) or not _NAME.match(name) or len(name) > 200:
        raise RemovalError("invalid package name %r" % (name,))
    return name


def _check_target(target, manager):
    """A package instance as the package manager printed it (it goes back on its command line)."""
    if not _TARGET.match(target) or len(target) > 400:
        raise RemovalError("%s printed an invalid package name %r" % (manager, target))
    return target


class Dpkg(object):
    name = "dpkg"

    def __init__(self, host, lock_timeout=60):
        self.host = host
        self.lock_timeout = lock_timeout
        self.dpkg = host.which("dpkg")
        self.query_bin = host.which("dpkg-query")

    def _root_args(self, query=False):
        if self.host.live:
            return []
        if query:
            return ["--admindir=%s" % self.host.fs.host(layout.DPKG_DIR)]
        return ["--root=%s" % self.host.root]

    def query(self, names):
        """``{name: [Package, ...]}`` of the names dpkg knows in any state but not-installed."""
        if not names:
            return {}
        fmt = "${binary:Package}\\t${Package}\\t${Version}\\t${Architecture}\\t${Status}\\n"
        argv = [self.query_bin or "dpkg-query"] + self._root_args(query=True) + ["--show", "--showformat=" + fmt, "--"]
        rc, out, err = self.host.run(argv + list(names))
        if rc not in (0, 1):
            raise RemovalError("dpkg-query failed (exit %s): %s" % (rc, first_lines(err)))
        found = {}
        for line in out.splitlines():
            fields = line.split("\t")
            if len(fields) != 5:
                continue
            target, name, version, arch, status = fields
            words = status.split()
            if len(words) != 3 or words[2] == "not-installed":
                continue
            found.setdefault(name, []).append(Package(name, _check_target(target or name, "dpkg-query"),
                                                      version or None, arch or None, words[2], words[1], "dpkg",
                                                      want=words[0]))
        return found

    def _ops(self, pkg, purge):
        """dpkg's operation for a package in its state, or None when there is nothing to do."""
        if pkg.status == "config-files" and not purge:
            return None
        ops = ["--purge" if purge or pkg.status == "config-files" else "--remove"]
        if pkg.status == "half-installed" or pkg.flag == "reinstreq":
            ops.append("--force-remove-reinstreq")
        return ops

    def acts(self, pkg, purge):
        """True when removing ``pkg`` (as the recipe says) has something to do."""
        return self._ops(pkg, purge) is not None

    def remove(self, pkg, purge):
        """Remove (purge) one package instance. Raises RemovalError with dpkg's own message."""
        ops = self._ops(pkg, purge)
        if ops is None:
            return None
        argv = [self.dpkg or "dpkg"] + self._root_args() + ops + ["--", pkg.target]
        if self.host.check_mode:
            return argv
        shown = "dpkg %s" % " ".join(ops + [pkg.target])
        deadline = self.host.monotonic() + self.lock_timeout
        while True:
            rc, out, err = self.host.run(argv)
            if rc == 0:
                return argv
            text = "%s\n%s" % (err, out)
            if any(s in text for s in _DPKG_LOCKED) and self.host.monotonic() < deadline:
                self.host.sleep(2)
                continue
            raise RemovalError("%s: %s failed (exit %s): %s" % (
                pkg.name, shown, rc, first_lines(err or out, skip=_DPKG_CHATTER)),
                package=pkg.name, rc=rc, stdout=out[-4000:], stderr=err[-4000:], command=argv)

    def simulate(self, pkgs, purge):
        """Check mode: ask dpkg (``--no-act``) whether removing ``pkgs`` together (in this
        order) would go through; returns dpkg's complaint, or None."""
        todo = [p for p in pkgs if self._ops(p, purge) is not None]
        if not todo:
            return None
        ops = ["--purge" if purge else "--remove"]
        if any(p.status == "half-installed" or p.flag == "reinstreq" for p in todo):
            ops.append("--force-remove-reinstreq")
        argv = [self.dpkg or "dpkg"] + self._root_args() + ["--no-act"] + ops + ["--"] + [p.target for p in todo]
        rc, out, err = self.host.run(argv)
        if rc != 0:
            return first_lines(err or out, skip=_DPKG_CHATTER)
        return None


def rpm_lock_holder(host, dbpath):
    """Who holds rpm's transaction lock in ``dbpath`` (inner path) right now: ``None`` when
    nobody does (or there is no lock file), else ``{"pid": int or None, "command": str or None}``.

    The lock is tried without waiting (``fcntl``, as rpm takes it) and let go at once; the
    holder's pid comes from ``/proc/locks`` (on the running system only)."""
    if not dbpath:
        return None
    try:
        path = host.fs.host_path(dbpath + "/" + layout.RPM_LOCK)
        fd = os.open(path, os.O_RDWR | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except (OSError, ValueError):
        return None
    try:
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except (IOError, OSError) as exc:
            if exc.errno not in (errno.EACCES, errno.EAGAIN):
                return None
            info = os.fstat(fd)
            pid = _lock_pid(host, "%02x:%02x:%d" % (os.major(info.st_dev), os.minor(info.st_dev), info.st_ino))
            return {"pid": pid, "command": _comm(host, pid)}
        fcntl.lockf(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def _lock_pid(host, key):
    """The pid that holds a POSIX lock on the file ``key`` (``maj:min:inode``), from /proc/locks."""
    if not host.live:
        return None
    try:
        with open(os.path.join(host.proc, layout.PROC_LOCKS)) as handle:
            lines = handle.read(1024 * 1024).splitlines()
    except (OSError, IOError):
        return None
    for line in lines:
        fields = line.split()
        # 1: POSIX  ADVISORY  WRITE 4242 00:2f:1234 0 EOF   (waiters are marked "->")
        if len(fields) >= 6 and "->" not in fields and fields[1] in ("POSIX", "OFDLCK") and fields[5] == key:
            try:
                pid = int(fields[4])
            except ValueError:
                return None
            return pid if pid > 0 else None
    return None


def _comm(host, pid):
    if pid is None:
        return None
    try:
        with open(os.path.join(host.proc, str(pid), "comm")) as handle:
            return handle.read(64).strip() or None
    except (OSError, IOError):
        return None


def _holder_text(holder):
    if not holder or holder.get("pid") is None:
        return "another process"
    return "pid %d (%s)" % (holder["pid"], holder.get("command") or "?")


class Rpm(object):
    def __init__(self, host, frontend="auto", dbpath=None, lock_timeout=60):
        self.host = host
        self.rpm = host.which("rpm")
        self.dbpath = dbpath
        self.lock_timeout = lock_timeout
        if frontend == "auto":
            frontend = "rpm"
            for name in ("dnf", "yum", "zypper"):
                if host.which(name):
                    frontend = name
                    break
        self.name = frontend
        self.frontend = host.which(frontend) if frontend != "rpm" else self.rpm
        # dnf 5 has no exit_on_lock (it fails at once on its lock by itself)
        real = os.path.basename(os.path.realpath(self.frontend)) if self.frontend else ""
        self.dnf5 = frontend == "dnf" and real.startswith("dnf5")

    def _rpm_root(self):
        if self.host.live:
            return []
        return ["--root", self.host.root] + (["--dbpath", self.dbpath] if self.dbpath else [])

    def query(self, names):
        if not names:
            return {}
        fmt = "%{NAME}\\t%{EPOCH}\\t%{VERSION}\\t%{RELEASE}\\t%{ARCH}\\n"
        argv = [self.rpm or "rpm", "--query", "--queryformat", fmt] + self._rpm_root() + ["--"] + list(names)
        rc, out, err = self.host.run(argv)
        found = {}
        for line in out.splitlines():
            fields = line.split("\t")
            if len(fields) != 5:
                continue  # "package kesl is not installed"
            name, epoch, version, release, arch = fields
            full = join_evr(epoch, version, release)
            target = "%s-%s-%s.%s" % (name, version, release, arch) if arch and arch != "(none)" else \
                "%s-%s-%s" % (name, version, release)
            _check_target(target, "rpm")
            found.setdefault(name, []).append(Package(name, target, full, None if arch == "(none)" else arch,
                                                      "installed", "ok", "rpm"))
        if rc != 0 and not found and "is not installed" not in out and first_lines(err, skip=_RPM_CHATTER):
            raise RemovalError("rpm --query failed (exit %s): %s" % (rc, first_lines(err, skip=_RPM_CHATTER)))
        return found

    def _test(self, pkgs):
        argv = [self.rpm or "rpm", "--erase", "--test"] + self._rpm_root() + ["--"] + [p.target for p in pkgs]
        rc, out, err = self.host.run(argv)
        if rc != 0:
            return first_lines(err or out, skip=_RPM_CHATTER)
        return None

    def _argv(self, pkg):
        if self.name == "dnf" or self.name == "yum":
            argv = [self.frontend, "--assumeyes", "--disablerepo=*", "--setopt=clean_requirements_on_remove=False"]
            if not self.dnf5:
                argv.append("--setopt=exit_on_lock=True")   # never wait for ever on another dnf
            if not self.host.live:
                argv.append("--installroot=%s" % self.host.root)
            return argv + ["remove", "--", pkg.target]
        if self.name == "zypper":
            argv = [self.frontend, "--non-interactive", "--no-refresh"]
            if not self.host.live:
                argv += ["--root", self.host.root]
            # zypper takes a name (or name.arch), not a NEVRA
            return argv + ["remove", "--", "%s.%s" % (pkg.name, pkg.arch) if pkg.arch else pkg.name]
        return [self.rpm or "rpm", "--erase"] + self._rpm_root() + ["--", pkg.target]

    def acts(self, pkg, purge):
        """rpm has no half-removed state: an installed package is always removed."""
        del pkg, purge
        return True

    def simulate(self, pkgs, purge):
        """Check mode: ``rpm --erase --test`` of ``pkgs`` together; returns rpm's complaint, or None."""
        del purge
        return self._test(pkgs) if pkgs else None

    def remove(self, pkg, purge):
        del purge  # rpm has no purge: leftovers are deleted as residue
        argv = self._argv(pkg)
        if self.host.check_mode:
            return argv
        problem = self._test([pkg])
        if problem:
            raise RemovalError("%s: not removed, rpm --erase --test refuses: %s" % (pkg.name, problem),
                               package=pkg.name, command=argv)
        deadline = self.host.monotonic() + self.lock_timeout
        while True:
            holder = rpm_lock_holder(self.host, self.dbpath or layout.find_rpmdb(self.host.fs))
            if holder is None:
                rc, out, err = self.host.run(argv)
                if rc == 0:
                    return argv
                text = "%s\n%s" % (err, out)
                if not any(s in text for s in _RPM_LOCKED):
                    raise RemovalError("%s: %s remove failed (exit %s): %s" % (
                        pkg.name, self.name, rc, _rpm_problem(out, err)),
                        package=pkg.name, rc=rc, stdout=out[-4000:], stderr=err[-4000:], command=argv)
            if self.host.monotonic() >= deadline:
                if holder is not None:
                    why = "rpm's transaction lock is held by %s" % _holder_text(holder)
                else:
                    why = "%s: %s" % (self.name, first_lines(err or out, skip=_RPM_CHATTER))
                raise RemovalError("%s: not removed, the package database stayed locked for %d s: %s" % (
                    pkg.name, self.lock_timeout, why), package=pkg.name, command=argv, locked=True,
                    holder=holder)
            self.host.sleep(2)


def _rpm_problem(out, err):
    """What a failed rpm front end said: its error lines and, when a scriptlet failed, what the
    scriptlet itself printed (dnf prints that on stdout, the error on stderr)."""
    said = first_lines(err or out, skip=_RPM_CHATTER)
    lines = out.splitlines()
    for i, line in enumerate(lines):
        if re.match(r"^\s*error: %\w+\(.*\) scriptlet failed", line, re.IGNORECASE):
            before = []
            for prev in reversed(lines[max(0, i - 5):i]):
                if "Running scriptlet" in prev or not prev.strip():
                    break
                before.insert(0, prev.strip())
            scriptlet = " / ".join(before + [line.strip()])
            if scriptlet not in said:
                said = "%s (%s)" % (said, scriptlet) if said else scriptlet
            break
    return said


class Holds(object):
    """Releases the holds on the packages a removal takes out (see the module docstring) and
    remembers them: ``released`` is ``[{package, kind}]``. One instance per removal run: the
    hold files are read once and edited in memory, so check mode predicts each release once."""

    def __init__(self, host, record, backup=False):
        self.host = host
        self.record = record
        self.backup = backup
        self.released = []
        self._texts = {}
        self._backed_up = set()

    def _note(self, name, kind):
        entry = {"package": name, "kind": kind}
        if entry not in self.released:
            self.released.append(entry)

    def _text(self, path):
        if path not in self._texts:
            self._texts[path] = read_text(self.host, path)[0]
        return self._texts[path]

    def _edit(self, path, before, after, name, kind, **details):
        apply_edit(self.host, self.record, "holds", path, before, after, action="release",
                   backup=self.backup and path not in self._backed_up, package=name, kind=kind, **details)
        self._backed_up.add(path)
        self._texts[path] = after
        self._note(name, kind)

    def release(self, mgr, pkg):
        """Release every hold on ``pkg`` (about to be removed by ``mgr``)."""
        if mgr.name == "dpkg":
            if pkg.want == "hold":
                self._dpkg(mgr, pkg)
            return
        for path in layout.VERSIONLOCK_LISTS + (layout.VERSIONLOCK_TOML,):
            text = self._text(path)
            if text is None:
                continue
            if path == layout.VERSIONLOCK_TOML:
                new, removed, wider = drop_versionlock_toml(text, pkg.name)
            else:
                new, removed, wider = drop_versionlock(text, pkg.name, pkg.version, pkg.arch)
            if removed:
                self._edit(path, text, new, pkg.name, "versionlock", lines=removed)
            for entry in wider:
                self.record.warn("%s: the versionlock entry %r in %s also covers other packages: left in place"
                                 % (pkg.name, entry, path))
        text = self._text(layout.ZYPP_LOCKS)
        if text is None:
            return
        new, released, wider, unknown = drop_zypp_lock(text, pkg.name, pkg.arch)
        zypper = mgr.name == "zypper"
        if wider and zypper:
            raise RemovalError("%s: zypper would refuse the removal: the lock %s in %s covers it and may cover "
                               "other packages, so it is not released here; narrow or remove that lock by hand"
                               % (pkg.name, ", ".join(repr(w) for w in wider), layout.ZYPP_LOCKS), package=pkg.name)
        if released:
            self._edit(layout.ZYPP_LOCKS, text, new, pkg.name, "zypper-lock", locks=released)
        for lock in unknown if zypper else ():
            self.record.warn("%s: the zypper lock %r in %s may cover it (not evaluated here); if zypper refuses "
                             "the removal, release that lock by hand" % (pkg.name, lock, layout.ZYPP_LOCKS))

    def _dpkg(self, mgr, pkg):
        argv = [mgr.dpkg or "dpkg"] + mgr._root_args() + ["--set-selections"]
        if not self.host.check_mode:
            rc, out, err = self.host.run(argv, data="%s install\n" % pkg.target)
            if rc != 0:
                raise RemovalError("%s: releasing its hold failed: dpkg --set-selections (exit %s): %s"
                                   % (pkg.name, rc, first_lines(err or out)), package=pkg.name, command=argv)
        self.record.step("holds", "release", pkg.target, package=pkg.name, kind="apt-mark", command=argv)
        self._note(pkg.name, "apt-mark")


def detect(host, manager="auto", lock_timeout=60):
    """The package managers to ask, in order: ``[Dpkg]``, ``[Rpm]``, both, or ``[]``.

    ``manager`` forces one: ``dpkg`` (also ``apt``), ``dnf``, ``yum``, ``zypper`` or ``rpm``.
    Otherwise a manager is used when its database exists in the root and its command is found.
    """
    if manager in ("dpkg", "apt"):
        return [Dpkg(host, lock_timeout)]
    if manager in FRONTENDS:
        return [Rpm(host, manager, layout.find_rpmdb(host.fs), lock_timeout)]
    found = []
    if host.fs.isfile(layout.DPKG_STATUS) and host.which("dpkg"):
        found.append(Dpkg(host, lock_timeout))
    dbpath = layout.find_rpmdb(host.fs)
    if dbpath and host.which("rpm"):
        found.append(Rpm(host, "auto", dbpath, lock_timeout))
    return found
