# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Blocking the reinstallation of a vendor's packages (``linux_reinstall_block``).

* apt: ``/etc/apt/preferences.d/divest-<vendor>.pref`` pins the names (every architecture) to
  priority -1; the file is ours alone.
* dnf: ``excludepkgs=`` in ``[main]`` of ``/etc/dnf/dnf.conf``; yum: ``exclude=`` in
  ``/etc/yum.conf``; merged with the values already there.
* zypper: one package lock per name in ``/etc/zypp/locks``, other locks kept.

Where these files are: ``layout``. Blocks only grow with ``state: present`` (names already blocked stay); ``state: absent`` takes
the given names out (apt without names: the whole file).

``manager: auto`` configures every package manager the host has, by what is on it (its
database, configuration and command), never by the distribution's name: a Debian host that also
carries an rpm database and dnf (or zypper) gets the apt pin *and* the dnf exclude (zypper lock),
since either could bring a package back.

Private to the collection: runs on managed nodes, standard library only, Python 3.6+.
"""

from __future__ import absolute_import, division, print_function

import re

from ansible_collections.fleetsec.divest.plugins.module_utils._linux import layout
from ansible_collections.fleetsec.divest.plugins.module_utils._linux.host import Record, RemovalError
from ansible_collections.fleetsec.divest.plugins.module_utils._linux.removal.files import (
    apply_edit,
    apt_preferences,
    merge_exclude,
    read_text,
    zypp_locks,
)
from ansible_collections.fleetsec.divest.plugins.module_utils._linux.removal.packages import check_name

__metaclass__ = type

__all__ = ["block", "detect_manager", "detect_managers", "MANAGERS"]

MANAGERS = ("apt", "dnf", "yum", "zypper")
_VENDOR = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_PACKAGE_LINE = re.compile(r"^Package:\s*(.*)$", re.MULTILINE)


def detect_managers(host):
    """Every package manager the host has, in the order apt, dnf or yum, zypper: apt when a dpkg
    database exists; dnf by its configuration (or, on the running system, an rpm database and
    the dnf command); yum by its configuration when there is no dnf (on EL 8 and later
    ``/etc/yum.conf`` is dnf's); zypper by its configuration directory (or an rpm database and
    the zypper command on the running system)."""
    fs = host.fs
    found = []
    rpmdb = layout.find_rpmdb(fs)
    if fs.isfile(layout.DPKG_STATUS):
        found.append("apt")
    if fs.isfile(layout.DNF_CONF) or (rpmdb and host.live and host.which("dnf")):
        found.append("dnf")
    elif fs.isfile(layout.YUM_CONF):
        found.append("yum")
    if fs.isdir(layout.ZYPP_DIR) or (rpmdb and host.live and host.which("zypper")):
        found.append("zypper")
    return found


def detect_manager(host):
    """The first of :func:`detect_managers`, or None."""
    found = detect_managers(host)
    return found[0] if found else None


def _apt(host, record, vendor, names, present, backup):
    path = layout.APT_BLOCK % vendor
    before, dummy = read_text(host, path)
    current = []
    if before is not None:
        match = _PACKAGE_LINE.search(before)
        if match:
            current = [n for n in match.group(1).split() if not n.endswith(":any")]
    if present:
        wanted = sorted(set(current) | set(names))
    else:
        wanted = sorted(set(current) - set(names)) if names else []
    if not wanted:
        if before is None:
            return path, current, []
        apply_edit(host, record, "block", path, before, "", backup=backup, delete=True)
        return path, current, []
    after = apt_preferences(vendor, wanted)
    apply_edit(host, record, "block", path, before, after, backup=backup, action="write", packages=wanted)
    return path, current, wanted


def block(host, vendor, packages, state="present", manager="auto", backup=False):
    """Add (remove) the reinstall block; returns the result dict (see linux_reinstall_block)."""
    record = Record()
    if not isinstance(vendor, str) or not _VENDOR.match(vendor):
        raise RemovalError("vendor must be a catalog id ([a-z0-9_-]), got %r" % (vendor,))
    names = sorted(set(check_name(p) for p in packages or []))
    present = state == "present"
    if manager == "auto":
        managers = detect_managers(host)
        if not managers:
            raise RemovalError("no apt, dnf, yum or zypper configuration found in %s" % host.shown_root)
    elif manager in MANAGERS:
        managers = [manager]
    else:
        raise RemovalError("unknown package manager %r" % (manager,))
    result = {"vendor": vendor, "state": state, "manager": ", ".join(managers), "root": host.shown_root}
    if present and not names:
        result.update(path=None, before=[], after=[], blocks=[], changed=False, steps=[], diffs=[], counts={},
                      warnings_list=["no package names to block"])
        return result
    if not names and managers != ["apt"]:
        raise RemovalError("state=absent on %s needs the package names to take out of its block"
                           % ", ".join(m for m in managers if m != "apt"))
    blocks = [_one(host, record, one, vendor, names, present, backup) for one in managers]
    first = blocks[0]
    result.update(path=first["path"], before=first["before"], after=first["after"], blocks=blocks,
                  changed=record.changed, steps=record.steps, diffs=record.diffs, counts=record.counts(),
                  warnings_list=record.warnings)
    return result


def _one(host, record, manager, vendor, names, present, backup):
    """The block of one package manager: ``{manager, path, before, after}``."""
    if manager == "apt":
        path, before, after = _apt(host, record, vendor, names, present, backup)
    elif manager in ("dnf", "yum"):
        path, key = (layout.DNF_CONF, "excludepkgs") if manager == "dnf" else (layout.YUM_CONF, "exclude")
        text, dummy = read_text(host, path)
        new, before, after = merge_exclude(text or "", names, present=present, key=key)
        if text is not None or present:
            apply_edit(host, record, "block", path, text, new, backup=backup, action="write", key=key)
    else:
        path = layout.ZYPP_LOCKS
        text, dummy = read_text(host, path)
        new, before, after = zypp_locks(text, vendor, names, present=present)
        if text is not None or present:
            apply_edit(host, record, "block", path, text, new, backup=backup, action="write")
    return {"manager": manager, "path": path, "before": before, "after": after}
