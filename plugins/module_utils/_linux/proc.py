# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The running processes, found the same way by the collector (to report them) and the removal
(to stop them): which processes run under a given name.

Private to the collection; runs on managed nodes: standard library only, Python 3.6+.
"""

from __future__ import absolute_import, division, print_function

import errno
import os

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
