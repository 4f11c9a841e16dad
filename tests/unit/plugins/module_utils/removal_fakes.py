# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fakes for the Linux helpers, the collector's and the removal's: a command runner that answers
from a table and records argv (and what was written to the command's stdin), a clock that
advances when slept on, a fake /proc, a fake mount table, and a Host over a temporary root (the
one Host both sides take; ``live=True`` makes it pass for the running system)."""

import os
import pathlib

from ansible_collections.fleetsec.divest.plugins.module_utils._linux.host import Host


class Runner(object):
    """``run(argv, data)`` answering from ``rules``: ``[(match, answer)]`` where ``match`` is a
    tuple of argv words that must all appear (or a callable) and ``answer`` is ``(rc, out, err)``
    or a callable ``argv -> (rc, out, err)``. Unknown commands answer ``(0, "", "")``."""

    def __init__(self, rules=()):
        self.rules = list(rules)
        self.calls = []
        self.inputs = []   # (argv, data) of the commands that were given stdin

    def add(self, match, answer):
        self.rules.insert(0, (match, answer))

    def __call__(self, argv, data=None):
        self.calls.append(list(argv))
        if data is not None:
            self.inputs.append((list(argv), data))
        words = [os.path.basename(argv[0])] + list(argv[1:])
        for match, answer in self.rules:
            hit = match(words) if callable(match) else all(w in words for w in match)
            if hit:
                return answer(words) if callable(answer) else answer
        return 0, "", ""

    def commands(self, name=None):
        return [[os.path.basename(c[0])] + c[1:] for c in self.calls
                if name is None or os.path.basename(c[0]) == name]


class Clock(object):
    def __init__(self):
        self.now = 1000.0
        self.slept = []

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


def which_all(name):
    return "/usr/bin/" + name


def make_host(root, runner=None, check_mode=False, which=which_all, proc=None, systemd=False, kill=None,
              clock=None, live=False, mountinfo=None):
    clock = clock or Clock()
    kwargs = {"mountinfo": str(mountinfo)} if mountinfo is not None else {}
    host = Host(root=str(root), run=runner or Runner(), which=which, check_mode=check_mode,
                proc=proc or "/nonexistent-proc", systemd=systemd, kill=kill, sleep=clock.sleep,
                monotonic=clock.monotonic, **kwargs)
    if live:  # pretend the temporary root is the running system (services, processes)
        host.live = True
    return host


def write(root, inner, data="", mode=None):
    path = pathlib.Path(str(root) + inner)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    if mode is not None:
        path.chmod(mode)
    return path


def exists(root, inner):
    return os.path.lexists(str(root) + inner)


def mountinfo(path, *mount_points):
    """Write a mount table (``/proc/self/mountinfo`` format) with ``/`` and ``mount_points``
    (host paths; space, tab, newline and backslash escaped the kernel's way); returns its path."""
    def escape(point):
        return "".join("\\%03o" % ord(c) if c in " \t\n\\" else c for c in point)
    lines = ["22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw"]
    for index, point in enumerate(mount_points):
        lines.append("%d 22 254:0 /srv/data%d %s rw,relatime shared:%d - ext4 /dev/vda rw"
                     % (100 + index, index, escape(point), 2 + index))
    pathlib.Path(str(path)).write_text("\n".join(lines) + "\n")
    return str(path)


class FakeProc(object):
    """A /proc with ``pid/exe`` symlinks and ``pid/comm``; ``kill`` removes a pid unless it is
    stubborn (then only SIGKILL does)."""

    def __init__(self, base):
        self.base = pathlib.Path(base)
        self.base.mkdir(parents=True, exist_ok=True)
        self.stubborn = set()
        self.signals = []

    def add(self, pid, exe, comm=None):
        d = self.base / str(pid)
        d.mkdir()
        os.symlink(exe, str(d / "exe"))
        (d / "comm").write_text((comm or os.path.basename(exe))[:15] + "\n")
        (d / "cmdline").write_bytes(exe.encode() + b"\0")

    def kill(self, pid, sig):
        import shutil
        import signal
        self.signals.append((pid, sig))
        if pid in self.stubborn and sig != signal.SIGKILL:
            return
        shutil.rmtree(str(self.base / str(pid)), ignore_errors=True)
