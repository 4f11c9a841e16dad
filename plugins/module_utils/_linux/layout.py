# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where things live on a Linux host: the one list of paths the collector and the removal share.

Every path here is an *inner* path (as seen inside the scanned or edited root, see ``fs.RootFS``),
except ``PROC`` and ``MOUNTINFO``, which are read on the running system only. The collector reads
these locations; the removal edits or deletes in them; the residue guards protect them. When a
location matters to one side only, its comment says so. A new location is added here, never as
a second list in the code that reads it.

Private to the collection: runs on managed nodes, standard library only, Python 3.6+.
"""

from __future__ import absolute_import, division, print_function

import errno
import os
import re
import stat

__metaclass__ = type

# --- the running system (never inside another root) ----------------------------------------------

#: The process table of the running system.
PROC = "/proc"
#: The mount table of the running system (the residue walker never crosses a mount point).
MOUNTINFO = "/proc/self/mountinfo"
#: Loaded kernel modules, inside ``PROC``.
PROC_MODULES = "modules"
#: The file locks held on the running system (pid and inode of each), inside ``PROC``: the
#: removal names the process that holds the rpm transaction lock.
PROC_LOCKS = "locks"

# --- identity --------------------------------------------------------------------------------------

#: os-release, the first one found wins (systemd's own order).
OS_RELEASE = ("/etc/os-release", "/usr/lib/os-release")
#: Accounts: the removal reads them before ``userdel`` / ``groupdel``.
PASSWD = "/etc/passwd"
GROUP = "/etc/group"

# --- services --------------------------------------------------------------------------------------

#: Exists while systemd runs (on the live system only: an image's ``/run`` is not running).
SYSTEMD_RUNNING = "/run/systemd/system"
#: systemd's search path for system units, highest priority first, and whether the directory
#: only exists on a running system (runtime units: skipped for another root, by both sides).
UNIT_DIRS = (
    ("/etc/systemd/system", False),
    ("/run/systemd/system", True),
    ("/usr/local/lib/systemd/system", False),
    ("/lib/systemd/system", False),
    ("/usr/lib/systemd/system", False),
)
SERVICE_SUFFIX = ".service"
#: SysV init scripts (``/etc/init.d`` on Debian and SUSE, ``/etc/rc.d/init.d`` on the Red Hat
#: family, where ``/etc/init.d`` is a link to it); the first directory holding a name wins.
SYSV_DIRS = ("/etc/init.d", "/etc/rc.d/init.d")
#: Files of an init directory that are not services.
SYSV_NOT_SCRIPTS = frozenset(["README", "skeleton", "functions"])
#: Runlevel directories (``S<nn><script>`` links start a script in that runlevel).
SYSV_RUNLEVELS = "0123456S"
#: The runlevels in which a started script counts as enabled (the removal disables it).
SYSV_START_RUNLEVELS = "2345S"
#: systemctl refuses longer unit names.
UNIT_NAME_MAX = 256
# The unit-name rule: a prefix and, for an instance, "@" and a non-empty instance name, in the
# characters systemctl accepts. A template ("name@") has no state and makes "systemctl show" fail as
# a whole; a name that breaks the rule is never handed to systemctl. A leading "-" is allowed (a
# valid systemd name): both sides put "--" before the names they pass.
_UNIT_NAME = re.compile(r"[A-Za-z0-9:_.\\-]+(@[A-Za-z0-9:_.\\-]+)?\Z")


def rc_dir(level):
    """The directory of the SysV runlevel ``level`` (one of ``SYSV_RUNLEVELS``)."""
    return "/etc/rc%s.d" % level


def is_unit_name(name):
    """True when ``name`` (without ``.service``) may be handed to systemctl (see the rule above)."""
    return bool(_UNIT_NAME.match(name)) and len(name) + len(SERVICE_SUFFIX) <= UNIT_NAME_MAX


def service_name(entry):
    """The service name of a unit directory entry (``kesl.service`` -> ``kesl``), or None."""
    if entry.endswith(SERVICE_SUFFIX) and len(entry) > len(SERVICE_SUFFIX):
        return entry[:-len(SERVICE_SUFFIX)]
    return None


def is_sysv_script(entry):
    """True for an entry of an init directory that can be a service script."""
    return not entry.startswith(".") and entry not in SYSV_NOT_SCRIPTS


def unit_files(listdir, live):
    """Yield ``(kind, name, path)`` of the service units (``systemd``, in search-path order) and
    the init scripts (``sysv``) on disk. ``listdir(directory)`` returns the entry names of an inner
    directory (how it reports failures is the caller's business); ``live``: the runtime directory
    is read on the running system only. A name may be yielded more than once (a unit shadowed by a
    higher-priority one, a script in both init directories): the first one wins."""
    for directory, runtime_only in UNIT_DIRS:
        if runtime_only and not live:
            continue
        for entry in sorted(listdir(directory)):
            name = service_name(entry)
            if name is not None:
                yield "systemd", name, directory + "/" + entry
    for directory in SYSV_DIRS:
        for entry in sorted(listdir(directory)):
            if is_sysv_script(entry):
                yield "sysv", entry, directory + "/" + entry


# --- package databases -------------------------------------------------------------------------

#: dpkg's database: ``status`` and the ``updates/`` journal of entries written since dpkg's last
#: checkpoint (the collector reads both, the removal hands the directory to dpkg-query).
DPKG_DIR = "/var/lib/dpkg"
DPKG_STATUS = DPKG_DIR + "/status"
DPKG_UPDATES = DPKG_DIR + "/updates"
#: Where rpm keeps its database (newer distributions first) and the files that prove it is one.
RPM_DBPATHS = ("/usr/lib/sysimage/rpm", "/var/lib/rpm")
RPM_DBFILES = ("rpmdb.sqlite", "Packages", "Packages.db")
#: rpm's transaction lock, inside the database directory (``%_rpmlock_path``: every rpm, dnf, yum
#: and zypper transaction holds it with ``fcntl``; the removal waits while another process does).
RPM_LOCK = ".rpm.lock"


def probe_rpmdb(fs):
    """Where the rpm database is under ``fs`` (a ``RootFS``), saying when that cannot be known.

    Returns ``(dbpath, failures)``: the database directory or None, and ``(inner_path, OSError)``
    pairs for the candidates that could not be checked (permission denied, a symlink loop ...). A
    candidate that does not exist (``ENOENT``, ``ENOTDIR``) is no failure: a host without rpm is
    the normal case. A found database wins over earlier failures.
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


def find_rpmdb(fs):
    """The inner path of the rpm database directory under ``fs``, or None (failures ignored)."""
    return probe_rpmdb(fs)[0]


# --- repositories ------------------------------------------------------------------------------

#: apt's one-line sources file. The collector reads it and the removal edits it like the others,
#: but never deletes it, even when no entry is left (apt expects it).
SOURCES_LIST = "/etc/apt/sources.list"
NEVER_DELETE = (SOURCES_LIST,)
#: Repository files: a file (suffixes None) or a directory and the suffixes of the files in it
#: that the package manager reads (others, and hidden names, are ignored by it and by us).
REPO_LOCATIONS = (
    (SOURCES_LIST, None),
    ("/etc/apt/sources.list.d", (".list", ".sources")),
    ("/etc/yum.repos.d", (".repo",)),
    ("/etc/zypp/repos.d", (".repo",)),
)


def repo_files(listdir, isfile=None):
    """Yield the inner paths of the repository files, location by location. ``listdir(directory)``
    returns the entry names of an inner directory; a plain file location is yielded when
    ``isfile(path)`` says so (always, without ``isfile``: the reader then reports it)."""
    for location, suffixes in REPO_LOCATIONS:
        if suffixes is None:
            if isfile is None or isfile(location):
                yield location
            continue
        for entry in sorted(listdir(location)):
            if entry.endswith(suffixes) and not entry.startswith("."):
                yield location + "/" + entry


def in_repo_locations(inner):
    """True when ``inner`` is a repository file by its place and suffix (a file named by the
    operator may be hidden: ``repo_files`` only leaves hidden names out of its listing)."""
    for location, suffixes in REPO_LOCATIONS:
        if suffixes is None:
            if inner == location:
                return True
        elif inner.startswith(location + "/") and "/" not in inner[len(location) + 1:] and inner.endswith(suffixes):
            return True
    return False


def repo_format(inner):
    """The format of a repository file, by its name: ``deb822`` (``*.sources``), ``ini``
    (``*.repo``: yum, dnf, zypper) or ``list`` (one-line apt entries)."""
    if inner.endswith(".sources"):
        return "deb822"
    if inner.endswith(".repo"):
        return "ini"
    return "list"


# --- holds and reinstall blocks -------------------------------------------------------------------

#: dnf 4 and yum versionlock lists: one package spec a line, ``#`` comments; a spec that starts
#: with ``!`` is an exclude (that version may not be installed), not a lock.
VERSIONLOCK_LISTS = ("/etc/dnf/plugins/versionlock.list", "/etc/yum/pluginconf.d/versionlock.list")
#: dnf 5 keeps versionlock entries in TOML (``[[packages]]`` with ``name`` and conditions).
VERSIONLOCK_TOML = "/etc/dnf/versionlock.toml"
#: zypper's configuration directory and its package locks (libzypp's locks(5)): ``attribute:
#: value`` lines, locks separated by empty lines. The collector reads them as holds; the removal
#: releases a package's own lock there and writes its reinstall block there.
ZYPP_DIR = "/etc/zypp"
ZYPP_LOCKS = ZYPP_DIR + "/locks"
#: The reinstall blocks (removal only): apt preferences pin (one file per vendor, ours alone), the
#: dnf and yum main configurations (their ``excludepkgs=`` / ``exclude=`` lists).
APT_PREFERENCES_DIR = "/etc/apt/preferences.d"
APT_BLOCK = APT_PREFERENCES_DIR + "/divest-%s.pref"
DNF_CONF = "/etc/dnf/dnf.conf"
YUM_CONF = "/etc/yum.conf"

# --- containers -----------------------------------------------------------------------------------

#: Where container runtimes keep images, the filesystems of their containers and their volumes
#: (inner paths, with the runtime that keeps them). What lies there is a container's, never the
#: host's own software: the collector reports it apart and the removal never deletes or edits
#: in it, whatever a recipe says. ``containers/storage`` serves podman, CRI-O and buildah.
CONTAINER_STORAGE = (
    ("/var/lib/containers", "containers-storage"),
    ("/run/containers", "containers-storage"),
    ("/var/lib/docker", "docker"),
    ("/run/docker", "docker"),
    ("/var/lib/containerd", "containerd"),
    ("/run/containerd", "containerd"),
    ("/var/lib/rancher/k3s/agent/containerd", "containerd"),
    ("/var/lib/kubelet/pods", "kubernetes"),
    ("/var/lib/lxc", "lxc"),
    ("/var/lib/lxd", "lxd"),
    ("/var/snap/lxd/common/lxd", "lxd"),
    ("/var/lib/incus", "incus"),
    ("/var/lib/machines", "systemd-nspawn"),
)
#: Rootless storage inside a home directory (``/home/<user>/.local/share/containers``).
ROOTLESS_STORAGE = ((".local", "share", "containers"), (".local", "share", "docker"))


def container_storage(inner):
    """The container storage directory an inner path lies in (``/var/lib/docker`` for
    ``/var/lib/docker/overlay2/x/diff/opt/kaspersky``), or None. The path is taken lexically:
    resolve it first to know where a link leads."""
    parts = tuple(part for part in inner.split("/") if part and part != ".")
    for directory, prefix in _STORAGE_PREFIXES:
        if parts[:len(prefix)] == prefix:
            return directory
    if _ROOTLESS_FIRST.isdisjoint(parts):
        return None
    for index in range(len(parts)):
        for tail in ROOTLESS_STORAGE:
            if parts[index:index + len(tail)] == tail:
                return "/" + "/".join(parts[:index + len(tail)])
    return None


# the components of each storage directory, and the first component of a rootless one
_STORAGE_PREFIXES = tuple((directory, tuple(part for part in directory.split("/") if part))
                          for directory, dummy in CONTAINER_STORAGE)
_ROOTLESS_FIRST = frozenset(tail[0] for tail in ROOTLESS_STORAGE)


# --- what the residue guards protect ----------------------------------------------------------------

#: The directories named above: no residue pattern may be or resolve to one of them.
SYSTEM_DIRS = frozenset(
    [directory for directory, dummy in UNIT_DIRS] + list(SYSV_DIRS) + [rc_dir(level) for level in SYSV_RUNLEVELS]
    + [DPKG_DIR, DPKG_UPDATES, APT_PREFERENCES_DIR, ZYPP_DIR] + list(RPM_DBPATHS)
    + [location for location, suffixes in REPO_LOCATIONS if suffixes is not None]
)
#: The files named above: no ``residue_files`` entry may name one of them.
SYSTEM_FILES = frozenset(
    list(OS_RELEASE) + [PASSWD, GROUP, DPKG_STATUS, SOURCES_LIST, ZYPP_LOCKS, DNF_CONF, YUM_CONF, VERSIONLOCK_TOML]
    + list(VERSIONLOCK_LISTS)
)
