# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The guards on residue paths: what a recipe may name for deletion, checked by the catalog when
it is loaded (on the controller) and again by the removal modules before they delete anything
(``paths``, on the host), with the same rules.

Residue paths come from the catalog (and through the plan, from a file an operator could edit):
a typo there must never cost a system directory or file. The rules, in the order they apply:

* every pattern passes :func:`check_pattern`: absolute, no ``.`` or ``..`` component, no NUL,
  at least two components (``/opt/kaspersky``, never ``/opt``), never ``/``, a top-level
  directory or one of :data:`PROTECTED` (``/etc``, ``/usr``, ``/var/lib``, ``/usr/bin`` ...);
  a glob component (``kesl*``) needs at least three literal characters, and directly inside a
  protected directory it must start with them (``/etc/opt/kaspersky/kesl*`` is fine,
  ``/usr/bin/*kes*`` and ``/opt/*`` are refused);
* a ``residue`` entry must lie at or below one of the vendor's own directories (``vendor_dirs``,
  for Kaspersky ``/opt/kaspersky``, ``/var/opt/kaspersky``, ``/etc/opt/kaspersky``,
  ``/var/log/kaspersky``; each passes the same guards and has no glob). Without them, every
  ``residue`` entry is refused;
* nothing in container storage (``layout.CONTAINER_STORAGE``: ``/var/lib/containers``,
  ``/var/lib/docker`` ..., rootless ``~/.local/share/containers``) is ever a residue path, a
  vendor directory or a residue file: a container's filesystem is not the host's;
* a file of the vendor outside those directories is named in ``residue_files`` (absolute, no
  glob): it is deleted when it is a file or a link, refused when it is a directory or one of
  :data:`PROTECTED_FILES` (``/etc/passwd``, ``/etc/sudoers``, ``/etc/fstab`` ...).

Kept apart from the deletion walker (``paths``) because the controller needs only these rules:
every task of every host imports, and so compiles, what the catalog imports.

Private to the collection: runs on managed nodes, standard library only, Python 3.6+.
"""

from __future__ import absolute_import, division, print_function

from ansible_collections.fleetsec.divest.plugins.module_utils._patterns import has_magic
from ansible_collections.fleetsec.divest.plugins.module_utils._linux.layout import (
    SYSTEM_DIRS,
    SYSTEM_FILES,
    container_storage,
)

__metaclass__ = type

__all__ = ["PROTECTED", "PROTECTED_FILES", "MIN_LITERAL", "UnsafePath", "check_pattern", "check_vendor_dirs",
           "check_residue_file", "inside_dirs", "is_protected", "path_components"]

#: Directories no residue may be or resolve to (besides ``/`` and every top-level directory), the
#: ones ``layout`` names included.
PROTECTED = frozenset([
    "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib32", "/lib64", "/libx32", "/lost+found", "/media",
    "/mnt", "/opt", "/proc", "/root", "/run", "/sbin", "/snap", "/srv", "/sys", "/tmp", "/usr", "/var",
    "/usr/bin", "/usr/sbin", "/usr/lib", "/usr/lib32", "/usr/lib64", "/usr/libx32", "/usr/libexec",
    "/usr/include", "/usr/share", "/usr/src", "/usr/games", "/usr/local", "/usr/local/bin", "/usr/local/sbin",
    "/usr/local/lib", "/usr/local/share", "/usr/local/etc", "/usr/local/src", "/usr/lib/systemd",
    "/lib/systemd", "/usr/share/doc", "/usr/share/man", "/usr/share/applications", "/var/lib", "/var/log",
    "/var/opt", "/var/cache", "/var/tmp", "/var/spool", "/var/mail", "/var/run", "/var/lock", "/var/www",
    "/var/backups", "/var/local", "/var/lib/apt", "/var/lib/systemd", "/var/cache/apt", "/etc/opt",
    "/etc/default", "/etc/systemd", "/etc/apt", "/etc/apt/trusted.gpg.d", "/etc/dnf", "/etc/pki", "/etc/ssl",
    "/etc/security", "/etc/pam.d", "/etc/sudoers.d", "/etc/cron.d", "/etc/cron.daily", "/etc/cron.hourly",
    "/etc/cron.weekly", "/etc/cron.monthly", "/etc/profile.d", "/etc/xdg", "/etc/xdg/autostart",
    "/etc/logrotate.d", "/etc/rc.d", "/etc/samba", "/etc/squid", "/etc/selinux", "/etc/ld.so.conf.d",
    "/etc/modprobe.d", "/etc/sysconfig", "/etc/network", "/etc/ssh",
]) | SYSTEM_DIRS

#: Files no ``residue_files`` entry may name: the system's identity, accounts, privileges,
#: boot and name resolution, the package managers' own configuration, the files other recipes
#: edit (``config_edits``), and the programs a host needs to be repaired (a shell, sudo); the
#: ones ``layout`` names included.
PROTECTED_FILES = frozenset([
    "/etc/passwd-", "/etc/shadow", "/etc/shadow-", "/etc/group-", "/etc/gshadow", "/etc/gshadow-",
    "/etc/subuid", "/etc/subgid", "/etc/sudoers", "/etc/login.defs", "/etc/pam.conf", "/etc/securetty",
    "/etc/shells", "/etc/nsswitch.conf", "/etc/fstab", "/etc/crypttab", "/etc/mtab", "/etc/hosts",
    "/etc/hostname", "/etc/resolv.conf", "/etc/machine-id", "/etc/localtime", "/etc/timezone",
    "/etc/environment", "/etc/profile", "/etc/bash.bashrc", "/etc/inittab", "/etc/crontab", "/etc/ld.so.conf",
    "/etc/ld.so.cache", "/etc/ld.so.preload", "/etc/sysctl.conf", "/etc/modules", "/etc/default/grub",
    "/etc/selinux/config", "/etc/ssh/sshd_config", "/etc/krb5.conf", "/etc/krb5.keytab", "/etc/zypp/zypp.conf",
    "/etc/samba/smb.conf", "/etc/squid/squid.conf", "/bin/sh", "/bin/bash", "/usr/bin/sh", "/usr/bin/bash",
    "/usr/bin/env", "/usr/bin/sudo", "/usr/bin/su", "/sbin/init", "/usr/sbin/init", "/lib/systemd/systemd",
    "/usr/lib/systemd/systemd",
]) | SYSTEM_FILES

#: Literal characters a glob component must carry (``kesl*``: 4).
MIN_LITERAL = 3


class UnsafePath(ValueError):
    """A residue pattern or path the guards refuse; the message says why."""


def path_components(path):
    return [part for part in path.split("/") if part]


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
    storage = container_storage(normal)
    if storage:
        raise UnsafePath("residue path %r lies in container storage (%s): a container's files are never deleted"
                         % (pattern, storage))
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


def check_vendor_dirs(dirs):
    """The vendor's own directories, normalised; each passes :func:`check_pattern` and has no
    glob. Raises :class:`UnsafePath` naming the first bad one."""
    if dirs is None:
        return []
    if isinstance(dirs, str) or not isinstance(dirs, (list, tuple)):
        raise UnsafePath("vendor_dirs must be a list of absolute paths, got %r" % (dirs,))
    out = []
    for directory in dirs:
        try:
            normal = check_pattern(directory)
        except UnsafePath as exc:
            raise UnsafePath("vendor_dirs: %s" % exc)
        if has_magic(normal):
            raise UnsafePath("vendor_dirs: %r is a glob; the vendor's directories are plain paths" % (directory,))
        if normal not in out:
            out.append(normal)
    return out


def inside_dirs(path, dirs):
    """True when the normalised ``path`` (a glob may follow) is one of ``dirs`` or below one,
    component by component (``/opt/kaspersky2`` is not below ``/opt/kaspersky``)."""
    parts = path_components(path)
    for directory in dirs:
        prefix = path_components(directory)
        if parts[:len(prefix)] == prefix:
            return True
    return False


def check_residue_file(path):
    """Refuse a ``residue_files`` entry that is not an absolute plain path passing
    :func:`check_pattern`, or that is one of :data:`PROTECTED_FILES`. Returns it normalised."""
    normal = check_pattern(path)
    if has_magic(normal):
        raise UnsafePath("residue file %r is a glob; residue_files names files one by one" % (path,))
    if normal in PROTECTED_FILES:
        raise UnsafePath("residue file %s is a protected system file" % normal)
    return normal
