# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Path resolution *inside* a filesystem root (the live ``/`` or a mounted image).

An offline scan of ``/mnt/img`` must see the image the way its own kernel would: a symlink
``/opt/kaspersky/kesl -> /var/opt/kaspersky/kesl/install_12.2.0.2412/opt/kaspersky/kesl``
is followed to ``/mnt/img/var/...``, never to the scanning machine's ``/var/...``, and
``..`` stops at the root. ``RootFS`` walks paths component by component, re-rooting
absolute link targets, with a bounded number of links (loops end with ``ELOOP``).

Paths handed to and returned by ``RootFS`` are *inner* paths (as seen inside the root,
absolute, ``/``-separated); ``host()`` turns a resolved inner path into the path on the
scanning machine.

Private to the collection: runs on managed nodes, standard library only, Python 3.6+.
"""

from __future__ import absolute_import, division, print_function

import errno
import fnmatch
import os
import stat

from ansible_collections.fleetsec.divest.plugins.module_utils._patterns import has_magic

__metaclass__ = type

__all__ = ["RootFS", "MAX_SYMLINKS", "MAX_LISTING", "has_magic", "read_names"]

# Linux follows at most 40 links while resolving one path.
MAX_SYMLINKS = 40
# Names read from one directory while expanding a glob; a directory with more is reported (and
# not matched at all), never read whole.
MAX_LISTING = 10000


def read_names(directory, limit, accept=None):
    """``(names, cut)``: at most ``limit`` entry names of the host directory ``directory`` (those
    ``accept(name)`` keeps, when given), read incrementally: a directory of millions of entries
    costs no more than the bound; ``cut`` is True when there were more. Raises OSError."""
    names = []
    cut = False
    entries = os.scandir(directory)
    try:
        for entry in entries:
            if accept is not None and not accept(entry.name):
                continue
            if len(names) >= limit:
                cut = True
                break
            names.append(entry.name)
    finally:
        entries.close()
    return names, cut


def _components(path):
    return [part for part in path.split("/") if part and part != "."]


def _error(code, path):
    return OSError(code, os.strerror(code), path)


class RootFS(object):
    """Resolve, list, stat and open paths inside ``root`` (an absolute host directory)."""

    __slots__ = ("root", "_prefix")

    def __init__(self, root):
        root = os.path.normpath(root)
        if not os.path.isabs(root):
            raise ValueError("root must be absolute: %r" % (root,))
        self.root = root
        self._prefix = "" if root == "/" else root

    def host(self, inner):
        """The host path of an inner path (no resolution: resolve first)."""
        if inner == "/" or not inner:
            return self.root
        return self._prefix + inner

    def _walk(self, path, follow_last=True, allow_missing=False):
        """``(parts, missing_from)``: the components of ``path`` resolved inside the root, links
        followed (and re-rooted) one component at a time, at most ``MAX_SYMLINKS`` of them; the
        last one only with ``follow_last``. A missing last component is taken as it is; with
        ``allow_missing`` every missing component is, and ``parts[missing_from:]`` do not exist
        (``None``: all exist). Raises ``OSError`` (``ENOENT``, ``ENOTDIR``, ``ELOOP``)."""
        pending = _components(path)
        pending.reverse()  # a stack: the next component is pending[-1]
        parts = []
        links = 0
        missing_from = None
        while pending:
            comp = pending.pop()
            if comp == "..":
                if parts:
                    parts.pop()
                if missing_from is not None and len(parts) <= missing_from:
                    missing_from = None
                continue
            candidate = parts + [comp]
            if missing_from is not None:
                parts = candidate
                continue
            host = self._prefix + "/" + "/".join(candidate)
            last = not pending
            try:
                info = os.lstat(host)
            except OSError as exc:
                if exc.errno != errno.ENOENT or not (last or allow_missing):
                    raise
                missing_from = len(parts)
                parts = candidate
                continue
            if stat.S_ISLNK(info.st_mode) and (follow_last or not last):
                links += 1
                if links > MAX_SYMLINKS:
                    raise _error(errno.ELOOP, path)
                target = os.readlink(host)
                if target.startswith("/"):
                    parts = []
                more = _components(target)
                more.reverse()
                pending.extend(more)
                continue
            if not last and not stat.S_ISDIR(info.st_mode):
                raise _error(errno.ENOTDIR, path)
            parts = candidate
        return parts, missing_from

    def resolve(self, path, follow_last=True):
        """Resolve every symlink of an inner path inside the root.

        Returns the resolved inner path. Every component but the last must exist; the last
        may be missing (the caller's ``lstat``/``open`` reports it). Raises ``OSError``
        with ``ENOENT``, ``ENOTDIR`` or ``ELOOP``.
        """
        return "/" + "/".join(self._walk(path, follow_last)[0])

    def resolve_new(self, path):
        """Resolve an inner path that may not exist yet (a file about to be created).

        Returns ``(resolved, missing)``: the resolved inner path, every existing component
        resolved as :meth:`resolve` does (links followed and re-rooted inside the root, the
        last one too, so a dangling link leads to its target inside the root), and the number
        of directories of it that do not exist yet (from the first missing component on, the
        rest is taken lexically). Raises ``OSError`` (``ENOTDIR``, ``ELOOP``) like :meth:`resolve`.
        """
        parts, missing_from = self._walk(path, allow_missing=True)
        missing = 0 if missing_from is None else max(0, len(parts) - 1 - missing_from)
        return "/" + "/".join(parts), missing

    def host_path(self, path, follow_last=True):
        """Resolve an inner path and return its host path."""
        return self.host(self.resolve(path, follow_last=follow_last))

    def lstat(self, path):
        """``os.lstat`` of an inner path: parents resolved, the last component not followed."""
        return os.lstat(self.host_path(path, follow_last=False))

    def readlink(self, path):
        return os.readlink(self.host_path(path, follow_last=False))

    def listdir(self, path, limit=None):
        """The names in an inner directory. With ``limit``, at most that many are read
        (incrementally: a hostile directory of millions of entries is never held whole) and
        ``OSError(EFBIG)`` says the directory has more."""
        host = self.host_path(path)
        if limit is None:
            return os.listdir(host)
        names, cut = read_names(host, limit)
        if cut:
            raise OSError(errno.EFBIG, "more than %d entries: only the first %d were read" % (limit, limit), path)
        return names

    def try_listdir(self, path):
        """The names in an inner directory, or none when it cannot be listed (missing, not a
        directory, unreadable): for readers to whom a failure means "nothing there"."""
        try:
            return self.listdir(path)
        except (OSError, ValueError):
            return []

    def isdir(self, path):
        try:
            return stat.S_ISDIR(os.stat(self.host_path(path)).st_mode)
        except (OSError, ValueError):
            return False

    def isfile(self, path):
        try:
            return stat.S_ISREG(os.stat(self.host_path(path)).st_mode)
        except (OSError, ValueError):
            return False

    def read_bytes(self, path, limit=None):
        """Read a regular file (``limit`` bytes at most). Returns ``(data, truncated)``."""
        host = self.host_path(path)
        # O_NONBLOCK: a FIFO planted where a file is expected must not block the scan.
        flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(host, flags)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise OSError(errno.EINVAL, "not a regular file", path)
            handle = os.fdopen(fd, "rb")
        except BaseException:
            os.close(fd)
            raise
        with handle:
            if limit is None:
                return handle.read(), False
            data = handle.read(limit + 1)
        if len(data) > limit:
            return data[:limit], True
        return data, False

    def glob(self, pattern, limit=None):
        """Expand an absolute inner path with optional shell globs in any component.

        Returns ``(paths, errors)``: existing or not, the inner paths the pattern names (a
        component without magic is taken as is; a magic one is matched against the entries
        of its resolved parent, hidden names only by a pattern that starts with ``.``), and
        ``(path, OSError)`` pairs for directories that could not be listed, or that hold more
        than ``MAX_LISTING`` names (``EFBIG``: not matched at all). ``..`` is applied lexically
        and stops at the root.
        """
        found = [[]]
        errors = []
        for comp in _components(pattern):
            expanded = []
            for parts in found:
                if comp == "..":
                    expanded.append(parts[:-1])
                elif not has_magic(comp):
                    expanded.append(parts + [comp])
                else:
                    directory = "/" + "/".join(parts)
                    try:
                        names = self.listdir(directory, MAX_LISTING)
                    except OSError as exc:
                        if exc.errno not in (errno.ENOENT, errno.ENOTDIR):
                            errors.append((directory, exc))
                        continue
                    hidden = comp.startswith(".")
                    for name in sorted(names):
                        if (hidden or not name.startswith(".")) and fnmatch.fnmatchcase(name, comp):
                            expanded.append(parts + [name])
                if limit is not None and len(expanded) > limit:
                    del expanded[limit + 1:]
                    break
            found = expanded
        return ["/" + "/".join(parts) for parts in found], errors
