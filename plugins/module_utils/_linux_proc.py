# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the collector and the removal modules both need to know about a Linux system:
which processes run under a given name, and where the rpm database lives.

Private to the collection; runs on managed nodes: standard library only, Python 3.6+.
"""

from __future__ import absolute_import, division, print_function

import errno
import os
import stat

from ansible_collections.fleetsec.divest.plugins.module_utils._linux_rootfs import read_names

__metaclass__ = type

#: Where rpm keeps its database (newer distributions first) and the files that prove it is one.
RPM_DBPATHS = ("/usr/lib/sysimage/rpm", "/var/lib/rpm")
RPM_DBFILES = ("rpmdb.sqlite", "Packages", "Packages.db")
_DELETED = " (deleted)"


def find_rpmdb(fs):
    """The inner path of the rpm database directory under ``fs`` (an object with
    ``isfile(inner_path)``), or None."""
    for directory in RPM_DBPATHS:
        for name in RPM_DBFILES:
            if fs.isfile(directory + "/" + name):
                return directory
    return None


def probe_rpmdb(fs):
    """Like ``find_rpmdb``, but say when the answer cannot be known.

    ``fs`` resolves inner paths (``host_path(inner)``, as ``RootFS`` does). Returns
    ``(dbpath, failures)``: the database directory or None, and ``(inner_path, OSError)``
    pairs for the candidates that could not be checked (permission denied, a symlink
    loop ...). A candidate that does not exist (``ENOENT``, ``ENOTDIR``) is no failure: a
    host without rpm is the normal case. A found database wins over earlier failures.
    """
    failures = []
    for directory in RPM_DBPATHS:
        for name in RPM_DBFILES:
            path = directory + "/" + name
            try:
                info = os.stat(fs.host_path(path))
            except OSError as exc:
                if exc.errno not in (errno.ENOENT, errno.ENOTDIR):
                    failures.append((path, exc))
                continue
            if stat.S_ISREG(info.st_mode):
                return directory, failures
    return None, failures


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
