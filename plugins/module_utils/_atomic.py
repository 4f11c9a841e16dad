# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Replacing a file's content atomically: the one implementation for the modules on the hosts
(configuration and block files, the journal) and the controller (the report and plan files).

Standard library only, Python 3.6+: it runs on managed nodes too.
"""

from __future__ import absolute_import, division, print_function

import os
import stat
import tempfile

__metaclass__ = type

__all__ = ["atomic_write", "replace_file"]


def replace_file(path, fill, mode=None, prefix=None, suffix=""):
    """Replace ``path`` with a file that ``fill(temporary_path)`` writes: a temporary file beside
    it (so ``os.replace`` never crosses a filesystem), given ``mode`` when not ``None``, renamed
    over ``path`` only once ``fill`` returned. Any error (a full disk) removes the temporary file
    and propagates: ``path`` is as it was."""
    directory = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=prefix or ".%s." % os.path.basename(path), suffix=suffix)
    try:
        os.close(fd)
        fill(tmp)
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
        tmp = None
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def atomic_write(path, data, mode=None):
    """Replace ``path``'s content with ``data`` (bytes) atomically, synced to the disk.

    An existing file keeps its mode, owner and group; a new file gets ``mode`` (default
    0644).
    """
    try:
        info = os.stat(path)
    except OSError:
        info = None

    def fill(tmp):
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if info is not None:
            os.chmod(tmp, stat.S_IMODE(info.st_mode))
            try:
                os.chown(tmp, info.st_uid, info.st_gid)
            except OSError:
                pass  # not root: the file keeps our ownership
        else:
            os.chmod(tmp, 0o644 if mode is None else mode)
    replace_file(path, fill, suffix=".divest")
