# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host a module reads or acts on, and the record of what it did.

``Host`` bundles everything the collector and the removal helpers need from the outside world,
so that unit tests can hand them a temporary directory root, fake commands and a fake clock. The
modules build it the same way (``module.module_host``):

* ``root``: the filesystem read or acted on (``/`` for the running system; ``check_root`` says
  which roots are accepted); paths are resolved inside it (``fs``, a ``RootFS``), so a symlink in
  an image never leads out of the image; ``live`` is True for the running system, ``shown_root``
  is the root as the results show it;
* ``run(argv)``: runs a command WITHOUT a shell, in the C locale (``C_ENV``), returns
  ``(rc, out, err)`` as text; ``can_run`` says whether commands can run at all;
* ``which(name)``: finds a command;
* ``check_mode``: predict only (the collector only reads, with or without it);
* ``proc``, ``systemd``: the running system's ``/proc`` and whether systemd runs (live only);
* ``kill``, ``sleep``, ``monotonic``: signals and time (the removal's process steps);
* ``write(path, data, mode)``: atomic replacement of a file's content (the module passes one
  that keeps SELinux contexts), ``backup(path)``: a copy before an edit;
* ``mountinfo``: where the mount table is read (``/proc/self/mountinfo``; tests pass a file of
  their own): :meth:`Host.mount_points` lists the mount points as host paths, so that residue
  deletion never crosses into another filesystem, a bind mount of the same one included.

``Record`` collects the steps, diffs and the ``changed`` flag that the removal modules return.

Private to the collection: runs on managed nodes, standard library only, Python 3.6+.
"""

from __future__ import absolute_import, division, print_function

import os
import re
import shutil
import time

from ansible_collections.fleetsec.divest.plugins.module_utils._atomic import atomic_write
from ansible_collections.fleetsec.divest.plugins.module_utils._linux.fs import RootFS
from ansible_collections.fleetsec.divest.plugins.module_utils._linux.layout import MOUNTINFO, PROC, SYSTEMD_RUNNING

__metaclass__ = type

__all__ = ["Host", "Record", "RemovalError", "OptionError", "C_ENV", "check_root", "atomic_write", "backup_copy",
           "parse_mountinfo"]

# Commands run in the C locale and never ask questions: their output is parsed, and a
# maintainer script waiting for an answer would hang the run.
C_ENV = {"LC_ALL": "C", "LANG": "C", "LANGUAGE": "C", "DEBIAN_FRONTEND": "noninteractive",
         "APT_LISTCHANGES_FRONTEND": "none", "NEEDRESTART_MODE": "l"}


class OptionError(ValueError):
    """An invalid module option; ``option`` names it, the message starts with it."""

    def __init__(self, option, message):
        super(OptionError, self).__init__("%s: %s" % (option, message))
        self.option = option


class RemovalError(Exception):
    """A step failed; ``msg`` says what and why (the package and the tool's own message)."""

    def __init__(self, msg, **details):
        super(RemovalError, self).__init__(msg)
        self.msg = msg
        self.details = details


def backup_copy(path, now=None):
    """Copy ``path`` next to itself as ``<path>.<timestamp>.divest~`` (mode and owner kept)."""
    stamp = time.strftime("%Y-%m-%d@%H:%M:%S", time.localtime(now))
    dest = "%s.%d.%s.divest~" % (path, os.getpid(), stamp)
    shutil.copy2(path, dest)
    try:
        info = os.stat(path)
        os.chown(dest, info.st_uid, info.st_gid)
    except OSError:
        pass
    return dest


_OCTAL = re.compile(br"\\([0-7]{3})")


def parse_mountinfo(data):
    """The mount points of a ``/proc/PID/mountinfo`` text (bytes), as a frozenset of ``str``
    paths (the kernel writes space, tab, newline and backslash as ``\\040``-style octal escapes;
    bytes that are not UTF-8 become surrogates, as in ``os.listdir``)."""
    points = set()
    for line in data.split(b"\n"):
        fields = line.split(b" ")
        if len(fields) < 5 or not fields[4].startswith(b"/"):
            continue
        raw = _OCTAL.sub(lambda match: bytes([int(match.group(1), 8)]), fields[4])
        points.add(os.fsdecode(raw))
    return frozenset(points)


def check_root(root):
    """Validate a ``root`` option. Returns ``(shown, real)``: the root as results show it
    (normalised) and its real path. Raises ``OptionError`` (option ``root``)."""
    if not isinstance(root, str) or not root:
        raise OptionError("root", "must be a non-empty path")
    if not root.startswith("/"):
        raise OptionError("root", "%r is not an absolute path" % (root,))
    if "\x00" in root:
        raise OptionError("root", "contains a NUL character")
    shown = os.path.normpath(root)
    if shown.startswith("//"):
        shown = "/" + shown.lstrip("/")
    real = os.path.realpath(root)
    if not os.path.isdir(real):
        raise OptionError("root", "%r does not exist or is not a directory" % (root,))
    return shown, real


class Host(object):
    """What the collector and the removal helpers may read and touch. See the module docstring."""

    def __init__(self, root="/", run=None, which=None, check_mode=False, proc=PROC, systemd=None,
                 kill=None, sleep=None, monotonic=None, write=None, backup=None, mountinfo=MOUNTINFO):
        self.shown_root, real = check_root(root)
        self.root = real
        self.fs = RootFS(real)
        self.live = real == "/"
        self._run = run
        self._which = which or shutil.which
        self.check_mode = bool(check_mode)
        self.proc = proc
        if systemd is None:
            systemd = self.live and os.path.isdir(SYSTEMD_RUNNING)
        self.systemd = bool(systemd)
        self.kill = kill or os.kill
        self.sleep = sleep or time.sleep
        self.monotonic = monotonic or time.monotonic
        self.write = write or atomic_write
        self.backup = backup or backup_copy
        self.mountinfo = mountinfo

    def mount_points(self):
        """The mount points of the running system as host paths, or None when the mount table
        cannot be read (then only a change of device tells a mount point)."""
        try:
            with open(self.mountinfo, "rb") as handle:
                return parse_mountinfo(handle.read(16 * 1024 * 1024))
        except (OSError, TypeError):
            return None

    def which(self, name):
        return self._which(name)

    @property
    def can_run(self):
        """False when this host was given no way to run commands."""
        return self._run is not None

    def run(self, argv, data=None):
        """Run ``argv`` (a list, never a shell string), with ``data`` on its standard input when
        given. Returns ``(rc, stdout, stderr)`` as text. The runner is called as ``run(argv)``,
        or ``run(argv, data)`` when there is input."""
        if not isinstance(argv, list) or not argv:
            raise ValueError("argv must be a non-empty list")
        if self._run is None:
            raise RemovalError("this module cannot run commands (%s)" % argv[0])
        rc, out, err = self._run(argv) if data is None else self._run(argv, data)
        if isinstance(out, bytes):
            out = out.decode("utf-8", "replace")
        if isinstance(err, bytes):
            err = err.decode("utf-8", "replace")
        return rc, out or "", err or ""

    def inner_exists(self, inner):
        try:
            self.fs.lstat(inner)
            return True
        except (OSError, ValueError):
            return False


class Record(object):
    """Steps, diffs and ``changed`` of one module run."""

    def __init__(self):
        self.steps = []
        self.changed = False
        self.diffs = []
        self.warnings = []

    def step(self, step, action, target, changed=True, **details):
        """Note one action (done, or predicted in check mode) on ``target``."""
        entry = {"step": step, "action": action, "target": target, "changed": bool(changed)}
        entry.update((k, v) for k, v in details.items() if v is not None)
        self.steps.append(entry)
        if changed:
            self.changed = True
        return entry

    def diff(self, before, after, before_header, after_header=None):
        self.diffs.append({"before": before, "after": after, "before_header": before_header,
                           "after_header": after_header or before_header})

    def warn(self, text):
        self.warnings.append(text)

    def counts(self):
        """``{step: number of changes}`` (done, or predicted in check mode)."""
        out = {}
        for entry in self.steps:
            if entry["changed"]:
                out[entry["step"]] = out.get(entry["step"], 0) + 1
        return out
