# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Deleting vendor residue safely.

Residue paths come from the catalog (and through the plan, from a file an operator could edit):
a typo there must never cost a system directory. Every pattern and every path it expands to
passes :func:`check_pattern` / :func:`check_target` first:

* absolute, no ``.`` or ``..`` component, no NUL, at least two components (``/opt/kaspersky``,
  never ``/opt``);
* never ``/``, a top-level directory, or one of :data:`PROTECTED` (``/etc``, ``/usr``,
  ``/var/lib``, ``/usr/bin`` ...), neither as written nor after resolving the symbolic links of
  its parents inside the root;
* never a mount point;
* a glob component (``kesl*``) needs at least three literal characters, and directly inside a
  protected directory it must start with them (``/etc/opt/kaspersky/kesl*`` is fine,
  ``/usr/bin/*kes*`` and ``/opt/*`` are refused).

A symbolic link is removed as a link, never followed; directories are removed with
``shutil.rmtree``, which does not follow links either. After deleting, parents left empty are
removed too, up to the first protected or non-empty directory (``/var/opt/kaspersky`` once its
last product is gone).

Private to the collection: runs on managed nodes, standard library only, Python 3.6+.
"""

from __future__ import absolute_import, division, print_function

import errno
import os
import shutil
import stat

from ansible_collections.fleetsec.divest.plugins.module_utils._linux_rootfs import has_magic

__metaclass__ = type

__all__ = ["PROTECTED", "UnsafePath", "check_pattern", "check_target", "is_protected",
           "expand", "delete_paths"]

#: Directories no residue may be or resolve to (besides ``/`` and every top-level directory).
PROTECTED = frozenset([
    "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib32", "/lib64", "/libx32", "/lost+found",
    "/media", "/mnt", "/opt", "/proc", "/root", "/run", "/sbin", "/snap", "/srv", "/sys", "/tmp",
    "/usr", "/var",
    "/usr/bin", "/usr/sbin", "/usr/lib", "/usr/lib32", "/usr/lib64", "/usr/libx32", "/usr/libexec",
    "/usr/include", "/usr/share", "/usr/src", "/usr/games", "/usr/local", "/usr/local/bin",
    "/usr/local/sbin", "/usr/local/lib", "/usr/local/share", "/usr/local/etc", "/usr/local/src",
    "/usr/lib/systemd", "/usr/lib/systemd/system", "/lib/systemd", "/lib/systemd/system",
    "/usr/share/doc", "/usr/share/man", "/usr/share/applications",
    "/var/lib", "/var/log", "/var/opt", "/var/cache", "/var/tmp", "/var/spool", "/var/mail",
    "/var/run", "/var/lock", "/var/www", "/var/backups", "/var/local", "/var/lib/dpkg",
    "/var/lib/rpm", "/var/lib/apt", "/var/lib/systemd", "/var/cache/apt",
    "/etc/opt", "/etc/default", "/etc/init.d", "/etc/systemd", "/etc/systemd/system",
    "/etc/apt", "/etc/apt/sources.list.d", "/etc/apt/preferences.d", "/etc/apt/trusted.gpg.d",
    "/etc/yum.repos.d", "/etc/dnf", "/etc/zypp", "/etc/zypp/repos.d", "/etc/pki", "/etc/ssl",
    "/etc/security", "/etc/pam.d", "/etc/sudoers.d", "/etc/cron.d", "/etc/cron.daily",
    "/etc/cron.hourly", "/etc/cron.weekly", "/etc/cron.monthly", "/etc/profile.d", "/etc/xdg",
    "/etc/xdg/autostart", "/etc/logrotate.d", "/etc/rc.d", "/etc/rc.d/init.d",
    "/etc/rc0.d", "/etc/rc1.d", "/etc/rc2.d", "/etc/rc3.d", "/etc/rc4.d", "/etc/rc5.d", "/etc/rc6.d",
    "/etc/rcS.d", "/etc/samba", "/etc/squid", "/etc/selinux", "/etc/ld.so.conf.d", "/etc/modprobe.d",
    "/etc/sysconfig", "/etc/network", "/etc/ssh",
])

#: Literal characters a glob component must carry (``kesl*``: 4).
MIN_LITERAL = 3


class UnsafePath(ValueError):
    """A residue pattern or path the guards refuse; the message says why."""


def _components(path):
    return path.split("/")[1:]


def is_protected(path):
    """True for ``/``, a top-level directory or a :data:`PROTECTED` one (``path`` normalised)."""
    if path in ("/", ""):
        return True
    parts = [p for p in path.split("/") if p]
    return len(parts) < 2 or "/" + "/".join(parts) in PROTECTED


def _literal(component):
    """The literal characters of a glob component (brackets count as magic)."""
    out = []
    depth = 0
    for char in component:
        if char == "[":
            depth += 1
        elif char == "]" and depth:
            depth -= 1
        elif depth == 0 and char not in "*?":
            out.append(char)
    return "".join(out)


def check_pattern(pattern):
    """Refuse a residue pattern that could reach a system directory. Returns it normalised."""
    if not isinstance(pattern, str) or not pattern:
        raise UnsafePath("a residue path must be a non-empty string, got %r" % (pattern,))
    if "\x00" in pattern:
        raise UnsafePath("residue path %r contains a NUL character" % (pattern,))
    if not pattern.startswith("/"):
        raise UnsafePath("residue path %r is not absolute" % (pattern,))
    parts = [p for p in pattern.split("/") if p]
    if any(p in (".", "..") for p in parts):
        raise UnsafePath("residue path %r contains . or .. components" % (pattern,))
    normal = "/" + "/".join(parts)
    if is_protected(normal):
        raise UnsafePath("residue path %r is / , a top-level or a protected system directory" % (pattern,))
    for index, part in enumerate(parts):
        if not has_magic(part):
            continue
        parent = "/" + "/".join(parts[:index])
        literal = _literal(part)
        if index == 0:
            raise UnsafePath("residue path %r has a glob in its first component" % (pattern,))
        if len(literal) < MIN_LITERAL:
            raise UnsafePath("residue path %r: the glob component %r needs at least %d literal characters"
                             % (pattern, part, MIN_LITERAL))
        if is_protected(parent) and not (len(part) > MIN_LITERAL and not has_magic(part[:MIN_LITERAL])):
            raise UnsafePath("residue path %r: a glob directly inside %s must start with at least %d literal "
                             "characters" % (pattern, parent, MIN_LITERAL))
    return normal


def check_target(fs, inner):
    """Refuse an expanded residue path that is, or resolves to, a protected directory or a
    mount point. Returns the inner path with its parents resolved (the path to delete)."""
    if is_protected(inner):
        raise UnsafePath("%s is / , a top-level or a protected system directory" % inner)
    resolved = fs.resolve(inner, follow_last=False)
    if is_protected(resolved):
        raise UnsafePath("%s resolves to %s, a protected system directory" % (inner, resolved))
    host = fs.host(resolved)
    try:
        info = os.lstat(host)
    except OSError:
        return resolved
    if stat.S_ISDIR(info.st_mode) and os.path.ismount(host):
        raise UnsafePath("%s is a mount point" % inner)
    return resolved


def expand(fs, patterns):
    """``(paths, errors)``: existing inner paths the patterns name (sorted, unique), and
    ``{pattern, message}`` for patterns the guards refused or directories that could not be
    listed. A refused pattern expands to nothing."""
    found = []
    errors = []
    seen = set()
    for pattern in patterns or ():
        try:
            normal = check_pattern(pattern)
        except UnsafePath as exc:
            errors.append({"pattern": pattern, "message": str(exc)})
            continue
        paths, listing_errors = fs.glob(normal)
        for directory, exc in listing_errors:
            errors.append({"pattern": pattern, "message": "cannot list %s: %s" % (directory, exc.strerror or exc)})
        for path in paths:
            try:
                fs.lstat(path)
            except OSError:
                continue
            if path not in seen:
                seen.add(path)
                found.append(path)
    return sorted(found), errors


def _kind(info):
    if stat.S_ISLNK(info.st_mode):
        return "link"
    if stat.S_ISDIR(info.st_mode):
        return "directory"
    return "file"


def _would_be_empty(fs, directory, doomed):
    try:
        names = fs.listdir(directory)
    except OSError:
        return False
    prefix = directory.rstrip("/") + "/"
    return all((prefix + name) in doomed for name in names)


def delete_paths(host, record, patterns, prune_empty_parents=True, step="residue"):
    """Delete the residue ``patterns`` name inside ``host``'s root (predict in check mode).

    Returns ``{deleted: [...], refused: [{pattern|path, message}], remaining: [...]}``; every
    deletion (or prediction) is a step of ``record``. Guards: see the module docstring.
    """
    fs = host.fs
    paths, refused = expand(fs, patterns)
    targets = []
    for path in paths:
        try:
            resolved = check_target(fs, path)
        except UnsafePath as exc:
            refused.append({"path": path, "message": str(exc)})
            continue
        except OSError as exc:
            refused.append({"path": path, "message": "cannot resolve: %s" % (exc.strerror or exc)})
            continue
        targets.append((path, resolved))

    deleted, remaining = [], []
    doomed = set(resolved for dummy, resolved in targets)
    # Deepest first, so that a directory is not listed as deleted twice.
    for path, resolved in sorted(targets, key=lambda item: item[1].count("/"), reverse=True):
        hostpath = fs.host(resolved)
        try:
            info = os.lstat(hostpath)
        except OSError:
            continue  # gone with a parent deleted just before
        kind = _kind(info)
        if host.check_mode:
            record.step(step, "delete", path, kind=kind, resolved=None if resolved == path else resolved)
            deleted.append(path)
            continue
        try:
            if kind == "directory":
                errors = []
                shutil.rmtree(hostpath, onerror=lambda func, p, exc: errors.append((p, exc[1])))
                if errors:
                    first_path, first_exc = errors[0]
                    why = getattr(first_exc, "strerror", None) or str(first_exc)
                    raise OSError(getattr(first_exc, "errno", errno.EIO),
                                  "%s (%d error(s), first at %s)" % (why, len(errors), first_path))
            else:
                os.unlink(hostpath)
        except OSError as exc:
            record.warn("cannot delete %s: %s" % (path, exc.strerror or exc))
            remaining.append(path)
            continue
        record.step(step, "delete", path, kind=kind, resolved=None if resolved == path else resolved)
        deleted.append(path)

    if prune_empty_parents:
        parents = set()
        for dummy, resolved in targets:
            parent = resolved.rsplit("/", 1)[0] or "/"
            parents.add(parent)
        pruned = set()
        # Walk up from the deepest parents; a directory goes when everything in it went.
        for parent in sorted(parents, key=lambda p: p.count("/"), reverse=True):
            current = parent
            while not is_protected(current) and current not in pruned:
                hostpath = fs.host(current)
                try:
                    info = os.lstat(hostpath)
                except OSError:
                    break
                if not stat.S_ISDIR(info.st_mode) or os.path.ismount(hostpath):
                    break
                if host.check_mode:
                    if not _would_be_empty(fs, current, doomed | pruned):
                        break
                else:
                    try:
                        if os.listdir(hostpath):
                            break
                        os.rmdir(hostpath)
                    except OSError:
                        break
                record.step(step, "delete", current, kind="directory", reason="left empty")
                deleted.append(current)
                pruned.add(current)
                current = current.rsplit("/", 1)[0] or "/"
    return {"deleted": deleted, "refused": refused, "remaining": remaining}
