# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Deleting vendor residue safely: inside the vendor's footprint, never through a link, never
across a mount point.

Residue paths come from the catalog (and through the plan, from a file an operator could edit):
a typo there must never cost a system directory or file. Every path first passes the guards of
``guards`` (absolute, inside the vendor's own directories or named in ``residue_files``, never a
protected system directory or file, never in container storage); they are re-exported here.

Deletion walks the tree with file descriptors (``O_NOFOLLOW | O_DIRECTORY``, ``dir_fd``), so no
symbolic link is ever followed, not even one swapped in while the deletion runs:

* a link that is itself the residue path (or inside a deleted directory) is removed as a link;
* a link on the way to a residue path (``/opt/kaspersky -> /data/kaspersky`` for
  ``/opt/kaspersky/kesl``) is not followed: the path below it is refused and reported;
* a mount point is never descended into nor deleted, whether another filesystem (its device
  differs) or a bind mount of the same one (the mount table says so): it is refused and
  reported, and the rest around it is still deleted (the step then says ``partial``);
* every deletion is a step of the record, a partial one too, so ``changed`` tells the truth.

After deleting, parents left empty are removed too, up to the first directory that is
protected, not empty, a mount point, or outside the vendor's directories (``/var/opt/kaspersky``
goes with its last product; ``/usr/bin`` never does).

Private to the collection: runs on managed nodes, standard library only, Python 3.6+.
"""

from __future__ import absolute_import, division, print_function

import errno
import fnmatch
import os
import stat

from ansible_collections.fleetsec.divest.plugins.module_utils._patterns import has_magic
from ansible_collections.fleetsec.divest.plugins.module_utils._linux.layout import container_storage
from ansible_collections.fleetsec.divest.plugins.module_utils._linux.removal.guards import (
    MIN_LITERAL,
    PROTECTED,
    PROTECTED_FILES,
    UnsafePath,
    check_pattern,
    check_residue_file,
    check_vendor_dirs,
    inside_dirs,
    is_protected,
    path_components,
)
from ansible_collections.fleetsec.divest.plugins.module_utils._linux.text import clean_text

__metaclass__ = type

# the guards are re-exported: the removal modules and their tests know them as ``paths``
__all__ = ["PROTECTED", "PROTECTED_FILES", "MIN_LITERAL", "MAX_DEPTH", "UnsafePath", "check_pattern",
           "check_vendor_dirs", "check_residue_file", "inside_dirs", "is_protected", "path_components",
           "delete_paths", "delete_entry"]

#: Directory levels below a residue path the deletion goes down (deeper: refused, reported).
MAX_DEPTH = 256

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


def _kind(info):
    if stat.S_ISLNK(info.st_mode):
        return "link"
    if stat.S_ISDIR(info.st_mode):
        return "directory"
    return "file"


def _why(exc):
    return getattr(exc, "strerror", None) or str(exc)


class _Tree(object):
    """The host's root, walked with file descriptors: no component is ever followed when it is
    a symbolic link, and a directory replaced between ``lstat`` and ``open`` is refused.

    ``mounts`` are the host's mount points (host paths) or None when the mount table could not
    be read; a change of ``st_dev`` tells a mount point in any case."""

    def __init__(self, host):
        self.host = host
        self.mounts = host.mount_points()
        self.root_fd = os.open(host.root, _DIR_FLAGS)  # a real path: Host resolved it
        self.root_info = os.fstat(self.root_fd)

    def close(self):
        os.close(self.root_fd)

    def mount_reason(self, inner, info, parent_info):
        """Why ``inner`` (``info`` its lstat, ``parent_info`` its directory's) is a mount point, or None."""
        if stat.S_ISLNK(info.st_mode):
            return None
        if info.st_dev != parent_info.st_dev:
            return "a mount point (another filesystem)"
        if self.mounts and self.host.fs.host(inner) in self.mounts:
            return "a mount point (in the mount table)"
        return None

    def open_dir(self, fd, name, info, inner):
        """Open the directory ``name`` of ``fd`` (``info``: its lstat) without following a link."""
        try:
            new = os.open(name, _DIR_FLAGS, dir_fd=fd)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                raise UnsafePath("%s was replaced by a link or a file during the deletion: not followed" % inner)
            raise
        now = os.fstat(new)
        if (now.st_dev, now.st_ino) != (info.st_dev, info.st_ino):
            os.close(new)
            raise UnsafePath("%s was replaced during the deletion: not followed" % inner)
        return new

    def parent(self, inner):
        """``(fd, name, parent_info)``: the directory holding ``inner``, opened without following
        links (the caller closes ``fd``). Raises :class:`UnsafePath` when a directory on the way
        is a symbolic link, ``OSError`` (ENOENT, ENOTDIR) when one is missing."""
        parts = path_components(inner)
        fd = os.dup(self.root_fd)
        info = self.root_info
        prefix = ""
        try:
            for comp in parts[:-1]:
                prefix += "/" + comp
                here = os.stat(comp, dir_fd=fd, follow_symlinks=False)
                if stat.S_ISLNK(here.st_mode):
                    raise UnsafePath(self._via_link(inner, prefix, fd, comp))
                if not stat.S_ISDIR(here.st_mode):
                    raise OSError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), prefix)
                new = self.open_dir(fd, comp, here, prefix)
                os.close(fd)
                fd = new
                info = here
            return fd, parts[-1], info
        except BaseException:
            os.close(fd)
            raise

    @staticmethod
    def _via_link(inner, link, fd, name):
        try:
            target = " -> %s" % clean_text(os.readlink(name, dir_fd=fd), 200)[0]
        except OSError:
            target = ""
        return "%s is reached through the symbolic link %s%s, which is not followed" % (inner, link, target)

    def expand(self, pattern):
        """``(paths, refused)``: the existing inner paths a checked ``pattern`` names (globs
        matched against directory listings, hidden names only by a pattern starting with ``.``),
        and ``{pattern, path, message}`` for links on the way and directories that could not be
        listed. No link is followed."""
        parts = path_components(pattern)
        found = []
        refused = []

        def visit(fd, prefix, index):
            comp = parts[index]
            last = index == len(parts) - 1
            if has_magic(comp):
                try:
                    names = os.listdir(fd)
                except OSError as exc:
                    refused.append({"pattern": pattern, "path": prefix or "/",
                                    "message": "cannot list %s: %s" % (prefix or "/", _why(exc))})
                    return
                hidden = comp.startswith(".")
                names = sorted(n for n in names if (hidden or not n.startswith(".")) and fnmatch.fnmatchcase(n, comp))
            else:
                names = [comp]
            for name in names:
                path = prefix + "/" + name
                try:
                    info = os.stat(name, dir_fd=fd, follow_symlinks=False)
                except OSError as exc:
                    if exc.errno not in (errno.ENOENT, errno.ENOTDIR):
                        refused.append({"pattern": pattern, "path": path,
                                        "message": "cannot examine %s: %s" % (path, _why(exc))})
                    continue
                if last:
                    found.append(path)
                    continue
                if stat.S_ISLNK(info.st_mode):
                    refused.append({"pattern": pattern, "path": path,
                                    "message": self._via_link(pattern, path, fd, name)})
                    continue
                if not stat.S_ISDIR(info.st_mode):
                    continue
                try:
                    new = self.open_dir(fd, name, info, path)
                except UnsafePath as exc:
                    refused.append({"pattern": pattern, "path": path, "message": str(exc)})
                    continue
                except OSError:
                    continue
                try:
                    visit(new, path, index + 1)
                finally:
                    os.close(new)

        visit(self.root_fd, "", 0)
        return found, refused

    def remove(self, inner, check_mode, no_directory=None):
        """Delete ``inner`` (predict it in check mode): a file, a link as a link, a directory
        with everything in it except mount points (unless ``no_directory``, the reason a
        directory is refused). Returns ``{kind, count, complete, refused, errors}``: entries
        deleted, whether ``inner`` itself went, ``{path, message}`` refused inside it,
        ``(path, OSError)`` failures. Returns None when ``inner`` does not exist. Raises
        :class:`UnsafePath` when ``inner`` itself may not be deleted."""
        try:
            fd, name, parent_info = self.parent(inner)
        except OSError as exc:
            if exc.errno in (errno.ENOENT, errno.ENOTDIR):
                return None
            raise
        try:
            try:
                info = os.stat(name, dir_fd=fd, follow_symlinks=False)
            except OSError as exc:
                if exc.errno in (errno.ENOENT, errno.ENOTDIR):
                    return None
                raise
            kind = _kind(info)
            reason = self.mount_reason(inner, info, parent_info)
            if reason:
                raise UnsafePath("%s is %s: not deleted" % (inner, reason))
            out = {"kind": kind, "count": 0, "complete": True, "refused": [], "errors": []}
            if kind != "directory":
                if not check_mode:
                    os.unlink(name, dir_fd=fd)
                out["count"] = 1
                return out
            if no_directory:
                raise UnsafePath("%s is a directory: %s" % (inner, no_directory))
            out["complete"] = self._remove_dir(fd, name, info, inner, check_mode, out, 0)
            return out
        finally:
            os.close(fd)

    def _remove_dir(self, parent_fd, name, info, inner, check_mode, out, depth):
        """Empty and remove the directory ``name`` of ``parent_fd``; True when it went."""
        if depth >= MAX_DEPTH:
            out["refused"].append({"path": inner, "message": "%s is more than %d levels below the residue path: "
                                                             "not deleted" % (inner, MAX_DEPTH)})
            return False
        try:
            fd = self.open_dir(parent_fd, name, info, inner)
        except UnsafePath as exc:
            out["refused"].append({"path": inner, "message": str(exc)})
            return False
        except OSError as exc:
            out["errors"].append((inner, exc))
            return False
        complete = True
        try:
            try:
                names = sorted(os.listdir(fd))
            except OSError as exc:
                out["errors"].append((inner, exc))
                return False
            for child in names:
                path = inner + "/" + child
                try:
                    child_info = os.stat(child, dir_fd=fd, follow_symlinks=False)
                except OSError as exc:
                    if exc.errno != errno.ENOENT:
                        out["errors"].append((path, exc))
                        complete = False
                    continue
                reason = self.mount_reason(path, child_info, info)
                if reason:
                    out["refused"].append({"path": path, "message": "%s is %s: not descended into, not deleted"
                                                                    % (path, reason)})
                    complete = False
                    continue
                if stat.S_ISDIR(child_info.st_mode):
                    complete = self._remove_dir(fd, child, child_info, path, check_mode, out, depth + 1) and complete
                    continue
                try:
                    if not check_mode:
                        os.unlink(child, dir_fd=fd)
                    out["count"] += 1
                except OSError as exc:
                    if exc.errno != errno.ENOENT:
                        out["errors"].append((path, exc))
                        complete = False
        finally:
            os.close(fd)
        if not complete:
            return False
        try:
            if not check_mode:
                os.rmdir(name, dir_fd=parent_fd)
            out["count"] += 1
        except OSError as exc:
            out["errors"].append((inner, exc))
            return False
        return True

    def prune(self, directory, check_mode, gone):
        """Remove ``directory`` when it is (would be, in check mode: ``gone`` holds what goes)
        empty; True when it went. Refuses links on the way and mount points (returns False)."""
        try:
            fd, name, parent_info = self.parent(directory)
        except (UnsafePath, OSError):
            return False
        try:
            try:
                info = os.stat(name, dir_fd=fd, follow_symlinks=False)
            except OSError:
                return False
            if not stat.S_ISDIR(info.st_mode) or self.mount_reason(directory, info, parent_info):
                return False
            if check_mode:
                try:
                    inner_fd = self.open_dir(fd, name, info, directory)
                except (UnsafePath, OSError):
                    return False
                try:
                    names = os.listdir(inner_fd)
                except OSError:
                    return False
                finally:
                    os.close(inner_fd)
                return all(directory + "/" + n in gone for n in names)
            try:
                os.rmdir(name, dir_fd=fd)  # fails, changing nothing, unless the directory is empty
            except OSError:
                return False
            return True
        finally:
            os.close(fd)


def _targets(tree, patterns, files, dirs):
    """``([(path, is_file_entry)], refused)`` of the existing paths to delete, deduplicated."""
    targets = []
    refused = []
    seen = set()
    for pattern in patterns or ():
        try:
            normal = check_pattern(pattern)
        except UnsafePath as exc:
            refused.append({"pattern": pattern, "message": str(exc)})
            continue
        if not inside_dirs(normal, dirs):
            refused.append({"pattern": pattern, "message": "residue path %s is not inside the vendor's directories "
                            "(vendor_dirs): %s; a file of the vendor elsewhere belongs in residue_files"
                            % (normal, ", ".join(dirs) if dirs else "none were given")})
            continue
        paths, problems = tree.expand(normal)
        refused.extend(problems)
        for path in paths:
            if is_protected(path):
                refused.append({"pattern": pattern, "path": path,
                                "message": "%s is / , a top-level or a protected system directory" % path})
            elif path not in seen:
                seen.add(path)
                targets.append((path, False))
    for entry in files or ():
        try:
            normal = check_residue_file(entry)
        except UnsafePath as exc:
            refused.append({"path": entry, "message": str(exc)})
            continue
        if normal not in seen:
            seen.add(normal)
            targets.append((normal, True))
    return targets, refused


def delete_paths(host, record, patterns, prune_empty_parents=True, step="residue", vendor_dirs=(), files=()):
    """Delete the residue ``patterns`` (inside ``vendor_dirs``) and the ``files`` (the recipe's
    ``residue_files``) in ``host``'s root; predict it in check mode.

    Returns ``{deleted: [...], refused: [{pattern|path, message}], remaining: [...]}``; every
    deletion (or prediction), a partial one too, is a step of ``record``. Raises
    :class:`UnsafePath` for bad ``vendor_dirs``. Guards: see the module docstring.
    """
    dirs = check_vendor_dirs(vendor_dirs)
    check_mode = host.check_mode
    deleted, remaining = [], []
    tree = _Tree(host)
    try:
        targets, refused = _targets(tree, patterns, files, dirs)
        if targets and tree.mounts is None:
            record.warn("the mount table (%s) could not be read: only a change of device tells a mount point, "
                        "not a bind mount of the same filesystem" % host.mountinfo)
        gone = set()
        # Deepest first, so that a directory is not listed as deleted twice.
        for path, is_file in sorted(targets, key=lambda item: item[0].count("/"), reverse=True):
            try:
                done = tree.remove(path, check_mode, no_directory="residue_files names files only" if is_file else None)
            except UnsafePath as exc:
                refused.append({"path": path, "message": str(exc)})
                continue
            except OSError as exc:
                record.warn("cannot delete %s: %s" % (path, _why(exc)))
                remaining.append(path)
                continue
            if done is None:
                continue  # gone with a deeper target's parent, or never there
            refused.extend(done["refused"])
            if done["errors"]:
                first_path, first_exc = done["errors"][0]
                record.warn("cannot delete %s: %s (%d error(s), first at %s)"
                            % (path, _why(first_exc), len(done["errors"]), first_path))
            if not done["complete"]:
                remaining.append(path)
            if done["count"]:
                details = {"kind": done["kind"]}
                if done["kind"] == "directory":
                    details["entries"] = done["count"]
                if not done["complete"]:
                    details["partial"] = True
                record.step(step, "delete", path, **details)
                deleted.append(path)
            if done["complete"]:
                gone.add(path)

        if prune_empty_parents:
            pruned = set()
            parents = set(p.rsplit("/", 1)[0] for p in gone)
            # Walk up from the deepest parents; a directory goes when everything in it went.
            for parent in sorted(parents, key=lambda p: p.count("/"), reverse=True):
                current = parent
                while current and not is_protected(current) and inside_dirs(current, dirs) and current not in pruned:
                    if not tree.prune(current, check_mode, gone | pruned):
                        break
                    record.step(step, "delete", current, kind="directory", reason="left empty")
                    deleted.append(current)
                    pruned.add(current)
                    current = current.rsplit("/", 1)[0]
    finally:
        tree.close()
    return {"deleted": deleted, "refused": refused, "remaining": remaining}


def delete_entry(host, inner, check_mode=None):
    """Delete one file or link (as a link) at ``inner`` without following a link on the way;
    ``check_mode`` (default: the host's) only checks that it could. Returns its kind (``file``,
    ``link``), or None when it is not there. Raises :class:`UnsafePath` (a directory, a mount
    point, a link on the way, container storage) or ``OSError``."""
    storage = container_storage(inner)
    if storage:
        raise UnsafePath("%s lies in container storage (%s): a container's files are never deleted" % (inner, storage))
    tree = _Tree(host)
    try:
        done = tree.remove(inner, host.check_mode if check_mode is None else check_mode,
                           no_directory="only a file or a link is deleted here")
    finally:
        tree.close()
    return done["kind"] if done else None
